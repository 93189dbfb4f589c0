package web

import (
	"bytes"
	"strings"
	"testing"
)

// TestPageCacheKeepsOnlyCurrentPages: an entry is served for the version it was stored
// at only; a new version empties the cache; a body rendered before the version moved is
// not stored; the size stays within its bound.
func TestPageCacheKeepsOnlyCurrentPages(t *testing.T) {
	var hits, misses int
	c := newPageCache(100, func(hit bool) {
		if hit {
			hits++
		} else {
			misses++
		}
	})
	if _, ok := c.get(1, "a"); ok {
		t.Fatal("an empty cache answered")
	}
	c.put(1, "a", []byte("page a v1"))
	if body, ok := c.get(1, "a"); !ok || string(body) != "page a v1" {
		t.Fatalf("get after put: %q, %v", body, ok)
	}
	if _, ok := c.get(1, "b"); ok {
		t.Fatal("another key answered")
	}
	// The data changed: what was kept is gone, for every key.
	if _, ok := c.get(2, "a"); ok {
		t.Fatal("a page of version 1 was served at version 2")
	}
	// A page rendered from version 1 arriving after version 2 was seen is not kept.
	c.put(1, "a", []byte("page a v1, late"))
	if body, ok := c.get(2, "a"); ok {
		t.Fatalf("a late page of version 1 was kept: %q", body)
	}
	c.put(2, "a", []byte("page a v2"))
	if body, ok := c.get(2, "a"); !ok || string(body) != "page a v2" {
		t.Fatalf("get at version 2: %q, %v", body, ok)
	}
	// Going back (another handle's counter, a restart) is a change too.
	if _, ok := c.get(1, "a"); ok {
		t.Fatal("a page of version 2 was served at version 1")
	}
	if hits != 2 || misses != 5 {
		t.Errorf("counted %d hits and %d misses, want 2 and 5", hits, misses)
	}

	// Bounded: 100 bytes hold at most three 30-byte entries; the newest is always there.
	for i := range 10 {
		key := string(rune('a' + i))
		c.put(1, key, bytes.Repeat([]byte{'x'}, 29))
		if _, ok := c.get(1, key); !ok {
			t.Fatalf("entry %s was not kept", key)
		}
		if c.size > c.max || len(c.entries) > 3 {
			t.Fatalf("after %d puts: %d bytes in %d entries, over the bound of %d", i+1, c.size, len(c.entries), c.max)
		}
	}
	c.put(1, "big", []byte(strings.Repeat("x", 200)))
	if _, ok := c.get(1, "big"); ok {
		t.Error("a body larger than the whole cache was kept")
	}
	// Replacing an entry does not count it twice.
	c.put(1, "z", []byte("12345"))
	c.put(1, "z", []byte("123"))
	want := 0
	for k, v := range c.entries {
		want += len(k) + len(v)
	}
	if c.size != want {
		t.Errorf("size %d, entries hold %d", c.size, want)
	}
	var off *pageCache // the cache turned off
	off.put(1, "a", []byte("x"))
	if _, ok := off.get(1, "a"); ok {
		t.Error("a nil cache answered")
	}
}
