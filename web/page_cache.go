package web

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/a-h/templ"

	"paydesk/views"
)

// defaultPageCacheBytes is the page cache's size when Config.PageCacheBytes is 0: about
// 250 list pages.
const defaultPageCacheBytes = 8 << 20

// pageCache keeps rendered page bodies that depend on nothing but their URL's query and
// the stored data — the payments list and its searches, the refund history — so that
// asking again for a page nothing has changed skips the query and the rendering (a list
// page costs 0.6 ms of CPU, its cached body a few µs; docs/benchmarks.md).
//
// An entry is only ever served for the data it was rendered from: every lookup passes
// the database's data version (storage.DB.DataVersion), which moves with any commit by
// anyone, and a new version empties the cache. A refund, a webhook, an import in another
// process: the next page is rendered afresh. The body holds nothing about the user (the
// layout around it, rendered on each request, does) but its times, written in the
// person's time zone: the key carries the zone, so one entry serves everyone allowed on
// the page who reads times in the same zone.
//
// The cache holds at most max bytes; when full, entries are dropped in map order (an
// arbitrary one each time) until the new one fits. A request that read the version just
// before a commit may move the cache back to the older version: that empties it too, so
// an entry is only ever served to requests that read the version it was rendered at.
type pageCache struct {
	mu      sync.Mutex
	version int64
	entries map[string][]byte
	size    int
	max     int
	onHit   func(hit bool) // counts hits and misses (metrics)
}

func newPageCache(max int, onHit func(bool)) *pageCache {
	return &pageCache{entries: map[string][]byte{}, max: max, onHit: onHit}
}

// get returns the body stored under key for the data at version.
func (c *pageCache) get(version int64, key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	c.at(version)
	body, ok := c.entries[key]
	c.mu.Unlock()
	if c.onHit != nil {
		c.onHit(ok)
	}
	return body, ok
}

// put stores body under key for the data at version. A body rendered from an older
// version than the cache has seen since is not stored: it may already be stale. (One
// from a newer version than the lookup's is stored under the lookup's version: it is at
// least as fresh, and goes with the next version's first lookup.)
func (c *pageCache) put(version int64, key string, body []byte) {
	if c == nil || len(body)+len(key) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.size -= len(old) + len(key)
		delete(c.entries, key)
	}
	for k, v := range c.entries {
		if c.size+len(body)+len(key) <= c.max {
			break
		}
		c.size -= len(v) + len(k)
		delete(c.entries, k)
	}
	c.entries[key] = body
	c.size += len(body) + len(key)
}

// at moves the cache to version, emptying it if the data changed. c.mu is held.
func (c *pageCache) at(version int64) {
	if version != c.version {
		clear(c.entries)
		c.size = 0
		c.version = version
	}
}

// pageSlot is where a page's body goes in the page cache: its key, and the data version
// it is being worked out from. The zero slot (cache off, version unknown) keeps nothing.
type pageSlot struct {
	cache   *pageCache
	version int64
	key     string
}

// cachedPage returns the body kept for key (a path and its sorted query) and the
// person's time zone if the data has not changed since it was rendered; otherwise the
// slot to keep the new one in.
func (s *Server) cachedPage(r *http.Request, key string) ([]byte, pageSlot, bool) {
	return s.cachedIn(s.pages, r, key)
}

// cachedIn is cachedPage in the cache c (the page cache, or the navigation's).
func (s *Server) cachedIn(c *pageCache, r *http.Request, key string) ([]byte, pageSlot, bool) {
	if c == nil {
		return nil, pageSlot{}, false
	}
	version, err := s.db.DataVersion(r.Context())
	if err != nil {
		return nil, pageSlot{}, false // cannot tell whether a kept page is current: work it out
	}
	// The body shows times in the person's zone: one entry per zone.
	key += "#tz=" + views.Zone(r.Context()).String()
	slot := pageSlot{cache: c, version: version, key: key}
	body, ok := c.get(version, key)
	return body, slot, ok
}

// keep stores a body rendered for the slot.
func (p pageSlot) keep(body []byte) {
	if p.cache != nil {
		p.cache.put(p.version, p.key, body)
	}
}

// serveBody renders body (the page's main content, for the slot) into the layout and
// keeps it in the page cache.
func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, slot pageSlot, title, section string, body templ.Component) {
	b, err := renderBytes(r.Context(), body)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, title+" unavailable", "This page could not be shown. Try again in a moment.", err)
		return
	}
	slot.keep(b)
	s.render(w, r, s.page(w, r, title, section), cachedBody(b))
}

// cachedBody is a body kept by the page cache, as a component for the layout.
func cachedBody(body []byte) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := w.Write(body)
		return err
	})
}
