package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// TestCookieStoreRemembersVerifiedCookies: a session cookie read once is read again from
// memory, to the same session; a forged or altered cookie is never taken from memory;
// another cookie name is not remembered; memory stays bounded.
func TestCookieStoreRemembersVerifiedCookies(t *testing.T) {
	hash, block := NewSessionKeys()
	store := newCookieStore("paydesk_session", hash, block)
	store.Options = &sessions.Options{Path: "/", HttpOnly: true}
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).SetSerializer(sessionSerializer{})
	}
	cookieFor := func(name, raw string) *http.Cookie {
		t.Helper()
		s := sessions.NewSession(store, name)
		s.Values[sessionValue] = raw
		rec := httptest.NewRecorder()
		if err := store.Save(httptest.NewRequest(http.MethodGet, "/", nil), rec, s); err != nil {
			t.Fatal(err)
		}
		return rec.Result().Cookies()[0]
	}
	read := func(c *http.Cookie) (*sessions.Session, sessionData) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		s, err := store.Get(r, c.Name)
		if err != nil && s == nil {
			t.Fatal(err)
		}
		d, _ := s.Values[decodedKey{}].(sessionData)
		return s, d
	}

	c := cookieFor("paydesk_session", `{"sub":"u1","email":"a@example.com","roles":["support"]}`)
	for i := range 2 { // the first read verifies, the second remembers
		s, d := read(c)
		if s.IsNew || d.Subject != "u1" || len(d.Roles) != 1 || d.Roles[0] != "support" || s.Values[sessionValue] != `{"sub":"u1","email":"a@example.com","roles":["support"]}` {
			t.Fatalf("read %d: new %v, data %+v, values %v", i, s.IsNew, d, s.Values)
		}
		d.Roles[0] = "manager" // a caller changing its copy changes nothing remembered
	}
	if len(store.known) != 1 {
		t.Fatalf("%d cookies remembered, want 1", len(store.known))
	}
	// An altered cookie: not in memory, and refused by the full check.
	bad := *c
	bad.Value = c.Value[:len(c.Value)-2] + "AA"
	if s, d := read(&bad); !s.IsNew || d.Subject != "" {
		t.Fatalf("an altered cookie read as %+v", d)
	}
	// A cookie sealed with other keys, under the remembered cookie's name.
	otherHash, otherBlock := NewSessionKeys()
	forged, err := securecookie.EncodeMulti("paydesk_session", map[any]any{sessionValue: `{"sub":"u2"}`}, securecookie.New(otherHash, otherBlock))
	if err != nil {
		t.Fatal(err)
	}
	if s, d := read(&http.Cookie{Name: "paydesk_session", Value: forged}); !s.IsNew || d.Subject != "" {
		t.Fatalf("a forged cookie read as %+v", d)
	}
	// The sign-in flow's cookie is read the usual way, not remembered.
	read(cookieFor("paydesk_session_login", `[{"state":"x"}]`))
	if len(store.known) != 1 {
		t.Fatalf("%d cookies remembered after another cookie name, want 1", len(store.known))
	}
	for i := range maxKnownCookies + 10 {
		read(cookieFor("paydesk_session", fmt.Sprintf(`{"sub":"user%d"}`, i)))
	}
	if len(store.known) > maxKnownCookies {
		t.Fatalf("%d cookies remembered, bound is %d", len(store.known), maxKnownCookies)
	}
}
