package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"paydesk/ops/opstest"
	"paydesk/web/auth"
	"paydesk/web/devidp/idptest"
)

// thirdParty is Paydesk's sign-in against mockoidc — a provider we did not write — with
// the settings a test chooses: the one mockoidc app (mockoidc_test.go), whose /who page
// shows the whole user.
type thirdParty = mockApp

func newThirdParty(t *testing.T, edit func(*auth.Config)) *thirdParty { return newMockApp(t, edit) }

// signIn queues user at mockoidc and runs a sign-in to its callback's answer.
func (tp *thirdParty) signIn(user mockoidc.User) *idptest.Page {
	tp.t.Helper()
	tp.m.QueueUser(user)
	start := tp.browser.Get(tp.srv.URL + "/login")
	authz := tp.browser.Get(start.Header.Get("Location"))
	cb := authz.Header.Get("Location")
	if !strings.HasPrefix(cb, tp.srv.URL+"/auth/callback") {
		tp.t.Fatalf("mockoidc authorize: got %d to %q; want the callback", authz.Status, cb)
	}
	return tp.browser.Get(cb)
}

func (tp *thirdParty) who() (auth.User, string, bool) {
	tp.t.Helper()
	var w struct {
		SignedIn bool
		User     auth.User
		Actor    string
	}
	if err := json.Unmarshal([]byte(tp.browser.Get(tp.srv.URL+"/who").Body), &w); err != nil {
		tp.t.Fatalf("/who: %v", err)
	}
	return w.User, w.Actor, w.SignedIn
}

// A provider that sends no e-mail (Hydra by default) signs people in with their roles,
// names them by their name, and gives them the stable key of issuer and subject.
func TestSignInWithoutEmail(t *testing.T) {
	tp := newThirdParty(t, nil)
	r := tp.signIn(&mockoidc.MockUser{Subject: "u-pat", PreferredUsername: "pat.ops", Groups: []string{"ops"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("callback: got %d %q; want 303 signed in", r.Status, r.Body)
	}
	u, actor, ok := tp.who()
	if !ok || u.Email != "" || u.Name != "pat.ops" || !u.Has(auth.RoleSupport) {
		t.Fatalf("/who: got %+v (signed in %v); want pat.ops, no e-mail, support", u, ok)
	}
	if actor != "pat.ops" {
		t.Errorf("Actor: got %q; want the name, pat.ops", actor)
	}
	if want := auth.PersonKey(tp.m.Issuer(), "u-pat"); u.Key != want || !strings.HasPrefix(u.Key, "p1:") {
		t.Errorf("Key: got %q; want %q", u.Key, want)
	}
	if e, ok := tp.audits.last(auth.KindSignIn); !ok || e.Actor != "pat.ops" {
		t.Errorf("audit: got %+v; want a sign_in by pat.ops", e)
	}
}

// The person key depends on the issuer and the subject only: the same subject at another
// issuer is another person, and a changed e-mail is the same person.
func TestPersonKey(t *testing.T) {
	a := auth.PersonKey("https://idp.example", "42")
	if a != auth.PersonKey("https://idp.example", "42") {
		t.Errorf("PersonKey is not stable")
	}
	for _, other := range []string{auth.PersonKey("https://other.example", "42"), auth.PersonKey("https://idp.example", "43"), auth.PersonKey("https://idp.example/", "42")} {
		if other == a {
			t.Errorf("PersonKey: %q for another issuer or subject", other)
		}
	}
	if u := (auth.User{Subject: strings.Repeat("x", 60)}); len(u.Actor()) > 30 || u.Actor() == "" {
		t.Errorf("Actor of a long subject alone: got %q; want a short, non-empty form", u.Actor())
	}
}

// A token without what Paydesk needs to name the person, or without a subject, is
// refused at sign-in with the claim named, audited, and no session.
func TestSignInRefusesTokensWithoutRequiredClaims(t *testing.T) {
	tests := []struct {
		name   string
		user   *mockoidc.MockUser
		claims []string // named on the page
	}{
		{"no e-mail and no name", &mockoidc.MockUser{Subject: "u-anon", Groups: []string{"ops"}}, []string{`"email"`, `"name"`}},
		{"no sub", &mockoidc.MockUser{Subject: "", Email: "nosub@example.com", EmailVerified: true, Groups: []string{"ops"}}, []string{`"sub"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := newThirdParty(t, nil)
			r := tp.signIn(tt.user)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `data-testid="signin-error"`) {
				t.Fatalf("callback: got %d %q; want 400 with the sign-in error", r.Status, r.Body)
			}
			page := strings.ReplaceAll(r.Body, "&#34;", `"`)
			for _, c := range tt.claims {
				if !strings.Contains(page, c) {
					t.Errorf("page: got %q; want the claim %s named", r.Body, c)
				}
			}
			if _, _, ok := tp.who(); ok {
				t.Errorf("after the refusal: signed in; want no session")
			}
			if e, ok := tp.audits.last(auth.KindSignInFailed); !ok || !strings.Contains(e.Message, tt.claims[0]) {
				t.Errorf("audit: got %+v; want a sign_in_failed naming %s", e, tt.claims[0])
			}
		})
	}
}

// The issuer must be exactly the provider's: one with a trailing slash added fails at
// start-up with a message that says so.
func TestIssuerMustMatchExactly(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	hashKey, blockKey := auth.NewSessionKeys()
	_, err = auth.New(context.Background(), auth.Config{
		IssuerURL: m.Issuer() + "/", ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: "http://127.0.0.1:1/auth/callback", GroupRoles: map[string][]auth.Role{"ops": {auth.RoleSupport}},
		HashKey: hashKey, BlockKey: blockKey, Logger: slog.New(slog.DiscardHandler),
		Sessions: openSessionDB(t, opstest.NewWallClock()),
	})
	if err == nil || !strings.Contains(err.Error(), "exactly") || !strings.Contains(err.Error(), "trailing slash") {
		t.Errorf("auth.New with a trailing slash: got %v; want the exact-issuer message", err)
	}
}

// A non-loopback issuer must be https; provider logout takes auto, on or off.
func TestConfigIdentityRules(t *testing.T) {
	hashKey, blockKey := auth.NewSessionKeys()
	base := auth.Config{
		IssuerURL: "http://login.example.com/realms/paydesk", ClientID: "c", ClientSecret: "s",
		RedirectURL: "https://paydesk.example.com/auth/callback", Secure: true,
		GroupRoles: map[string][]auth.Role{"ops": {auth.RoleSupport}}, HashKey: hashKey, BlockKey: blockKey,
		ProviderLogout: "sometimes", Sessions: openSessionDB(t, opstest.NewWallClock()),
	}
	err := base.Validate()
	if err == nil || !strings.Contains(err.Error(), "IssuerURL") || !strings.Contains(err.Error(), "https") {
		t.Errorf("http issuer: got %v; want IssuerURL must use https", err)
	}
	if err == nil || !strings.Contains(err.Error(), "ProviderLogout") {
		t.Errorf("ProviderLogout sometimes: got %v; want it refused", err)
	}
	base.IssuerURL, base.ProviderLogout = "https://login.example.com/realms/paydesk", auth.ProviderLogoutOff
	if err := base.Validate(); err != nil {
		t.Errorf("valid config: got %v", err)
	}
}

// Provider logout on with a provider that has no end_session_endpoint fails at start-up.
func TestProviderLogoutOnNeedsEndSession(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	hashKey, blockKey := auth.NewSessionKeys()
	_, err = auth.New(context.Background(), auth.Config{
		IssuerURL: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: "http://127.0.0.1:1/auth/callback", GroupRoles: map[string][]auth.Role{"ops": {auth.RoleSupport}},
		HashKey: hashKey, BlockKey: blockKey, Logger: slog.New(slog.DiscardHandler), ProviderLogout: auth.ProviderLogoutOn,
		Sessions: openSessionDB(t, opstest.NewWallClock()),
	})
	if err == nil || !strings.Contains(err.Error(), "end_session_endpoint") {
		t.Errorf("ProviderLogout on without end_session: got %v; want a start-up error", err)
	}
}

// mockoidc has no end_session: sign-out goes straight to the signed-out page.
func TestLogoutWithoutProviderEndSession(t *testing.T) {
	tp := newThirdParty(t, func(c *auth.Config) { c.PostLogoutRedirectURL = tp0URL(c) + auth.SignedOutPath })
	tp.signIn(&mockoidc.MockUser{Subject: "u-pat", PreferredUsername: "pat.ops", Groups: []string{"ops"}})
	req, _ := http.NewRequest(http.MethodPost, tp.srv.URL+"/logout", nil)
	r := tp.browser.Do(req)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != auth.SignedOutPath {
		t.Errorf("logout: got %d to %q; want 303 to %s", r.Status, r.Header.Get("Location"), auth.SignedOutPath)
	}
	if _, _, ok := tp.who(); ok {
		t.Errorf("after logout: signed in")
	}
}

// tp0URL is the site of the config's RedirectURL.
func tp0URL(c *auth.Config) string {
	u, _ := url.Parse(c.RedirectURL)
	return u.Scheme + "://" + u.Host
}
