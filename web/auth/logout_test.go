package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"paydesk/web/auth"
)

// Sign-out sends the provider the sign-in's ID token as id_token_hint: a strict provider
// (ORY Hydra) refuses a post_logout_redirect_uri without it and keeps its session.
func TestLogoutSendsIDTokenHint(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "tess"), "/")
	r := b.post(a.srv.URL+"/logout", nil)
	loc, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), a.idp.Issuer()+"/end_session?") {
		t.Fatalf("POST /logout: got %d to %q; want 303 to the end_session_endpoint", r.Status, r.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != testClientID || q.Get("post_logout_redirect_uri") != a.srv.URL+"/" {
		t.Errorf("end-session query: got %v; want client_id and post_logout_redirect_uri", q)
	}
	parts := strings.Split(q.Get("id_token_hint"), ".")
	if len(parts) != 3 {
		t.Fatalf("id_token_hint: got %q; want the ID token (a JWT)", q.Get("id_token_hint"))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("id_token_hint payload: %v", err)
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	json.Unmarshal(payload, &claims)
	var aud []string
	if json.Unmarshal(claims.Aud, &aud) != nil {
		var one string
		json.Unmarshal(claims.Aud, &one)
		aud = []string{one}
	}
	if claims.Iss != a.idp.Issuer() || claims.Sub != "tess" || !slices.Contains(aud, testClientID) {
		t.Errorf("id_token_hint claims: got %+v; want tess's ID token from this issuer for this client", claims)
	}
	// The provider accepts the hint, ends its own session and sends the browser back.
	end := b.follow(r, nil)
	if end.Status != http.StatusOK || end.URL.String() != a.srv.URL+"/" {
		t.Errorf("after end_session: got %d at %s; want the app", end.Status, end.URL)
	}
	if page := b.startLogin("/"); !hasLoginForm(page) {
		t.Errorf("sign-in after logout: got status %d without a login form; want the provider to ask again", page.Status)
	}
}

// With provider logout off, sign-out goes straight to the signed-out page on this site;
// the provider's own session is left alone (documented: the next sign-in may not ask).
func TestProviderLogoutOff(t *testing.T) {
	a := newApp(t, func(c *auth.Config) {
		u, _ := url.Parse(c.RedirectURL)
		c.PostLogoutRedirectURL = u.Scheme + "://" + u.Host + auth.SignedOutPath
		c.ProviderLogout = auth.ProviderLogoutOff
	})
	b := a.browser()
	b.signIn(demoUser(t, "tess"), "/")
	r := b.post(a.srv.URL+"/logout", nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != auth.SignedOutPath {
		t.Errorf("POST /logout: got %d to %q; want 303 to %s", r.Status, r.Header.Get("Location"), auth.SignedOutPath)
	}
	if b.me().SignedIn {
		t.Errorf("after logout: got signed in")
	}
	if e, ok := a.audits.last(auth.KindSignOut); !ok || e.Actor != "tess@paydesk.example" {
		t.Errorf("audit: got %+v; want sign_out by tess", e)
	}
}
