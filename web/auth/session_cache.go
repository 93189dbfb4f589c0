package auth

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gorilla/sessions"
)

// maxKnownCookies bounds the cookies a cookieStore remembers (about 1 KB each).
const maxKnownCookies = 4096

// cookieStore is gorilla's cookie store remembering, for the session cookie, what each
// cookie value it verified decoded to: the same cookie comes back with every request
// until the session changes, and checking its signature, decrypting it and decoding its
// JSON cost 16 % of a list page's CPU under load (docs/benchmarks.md). A cookie value
// seen before is the same signed and encrypted bytes, so it decodes to the same session:
// remembering it skips no check that could turn out differently — but the signed
// timestamp's age, which CurrentUser's own idle and absolute expiry (on the session's
// timestamps, at every request) make stricter anyway.
type cookieStore struct {
	*sessions.CookieStore
	name string // the session cookie's name: the only one remembered

	mu    sync.Mutex
	known map[string]knownCookie // cookie value → what it decoded to
}

// knownCookie is what a session cookie decoded to: its JSON and that decoded.
type knownCookie struct {
	raw  string
	data sessionData
}

func newCookieStore(name string, keys ...[]byte) *cookieStore {
	return &cookieStore{CookieStore: sessions.NewCookieStore(keys...), name: name, known: map[string]knownCookie{}}
}

// Get returns the named session of this request, as gorilla's registry keeps them.
func (c *cookieStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(c, name)
}

// New reads the named session from its cookie: from memory when the session cookie's
// value was verified before, else as gorilla's cookie store does.
func (c *cookieStore) New(r *http.Request, name string) (*sessions.Session, error) {
	ck, err := r.Cookie(name)
	if err != nil || name != c.name {
		return c.CookieStore.New(r, name)
	}
	c.mu.Lock()
	known, ok := c.known[ck.Value]
	c.mu.Unlock()
	if ok {
		s := sessions.NewSession(c, name)
		opts := *c.Options
		s.Options = &opts
		s.IsNew = false
		s.Values[sessionValue] = known.raw
		s.Values[decodedKey{}] = known.data.clone()
		return s, nil
	}
	s, err := c.CookieStore.New(r, name)
	if err != nil || s.IsNew {
		return s, err
	}
	raw, _ := s.Values[sessionValue].(string)
	var data sessionData
	if raw == "" || json.Unmarshal([]byte(raw), &data) != nil {
		return s, nil
	}
	s.Values[decodedKey{}] = data.clone()
	c.mu.Lock()
	for k := range c.known {
		if len(c.known) < maxKnownCookies {
			break
		}
		delete(c.known, k) // an arbitrary one: map order
	}
	c.known[ck.Value] = knownCookie{raw: raw, data: data.clone()}
	c.mu.Unlock()
	return s, nil
}

// Save writes the session's cookie (gorilla's cookie store).
func (c *cookieStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	return c.CookieStore.Save(r, w, s)
}
