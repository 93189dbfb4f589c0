package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"paydesk/ops/opstest"
	"paydesk/web/auth"
	"paydesk/web/devidp/idptest"
)

// mockApp is the app against mockoidc, a second, independent provider: it has no login
// page (it signs in whoever is queued), no auth_time and no end_session, reads the client
// secret from the form, and lets the test tamper with what it signs.
type mockApp struct {
	t       *testing.T
	m       *mockoidc.MockOIDC
	clock   *opstest.Clock
	auth    *auth.Auth
	srv     *httptest.Server
	browser *idptest.Browser
	audits  *auditLog
}

// newMockApp starts mockoidc and the app signing in against it; edit, when set, may
// change the auth configuration.
func newMockApp(t *testing.T, edit func(*auth.Config)) *mockApp {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("mockoidc.Run: %v", err)
	}
	t.Cleanup(func() { m.Shutdown() })
	ma := &mockApp{t: t, m: m, clock: opstest.NewClock(time.Now()), audits: &auditLog{}}
	var handler http.Handler = http.NotFoundHandler()
	ma.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ma.srv.Close)

	hashKey, blockKey := auth.NewSessionKeys()
	cfg := auth.Config{
		IssuerURL:    m.Issuer(),
		ClientID:     m.ClientID,
		ClientSecret: m.ClientSecret,
		RedirectURL:  ma.srv.URL + "/auth/callback",
		GroupRoles:   map[string][]auth.Role{"ops": {auth.RoleSupport}, "money": {auth.RoleFinance}},
		HashKey:      hashKey,
		BlockKey:     blockKey,
		AuthStyle:    oauth2.AuthStyleInParams,
		Now:          ma.clock.Now,
		Logger:       slog.New(slog.DiscardHandler),
		Audit:        ma.audits.record,
		Sessions:     openSessionDB(t, ma.clock),
	}
	if edit != nil {
		edit(&cfg)
	}
	ma.auth, err = auth.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("auth.New against mockoidc: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", ma.auth.Login)
	mux.HandleFunc("GET /auth/callback", ma.auth.Callback)
	mux.HandleFunc("POST /logout", ma.auth.Logout)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := ma.auth.CurrentUser(w, r)
		json.NewEncoder(w).Encode(me{SignedIn: ok, Subject: u.Subject, Email: u.Email, Roles: u.Roles, AuthTime: u.AuthTime.Unix()})
	})
	mux.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		u, ok := ma.auth.CurrentUser(w, r)
		json.NewEncoder(w).Encode(struct {
			SignedIn bool
			User     auth.User
			Actor    string
		}{ok, u, u.Actor()})
	})
	handler = mux

	ma.browser = idptest.NewBrowser(t, idptest.FollowNone)
	return ma
}

// get is one step of the browser, which stops at every redirect.
func (ma *mockApp) get(u string) (*response, string) {
	ma.t.Helper()
	r := ma.browser.Get(u)
	return r, r.Body
}

// toCallback starts a sign-in, lets edit change the authorize URL, and returns the
// provider's redirect to the callback.
func (ma *mockApp) toCallback(edit func(url.Values)) string {
	ma.t.Helper()
	resp, _ := ma.get(ma.srv.URL + "/login")
	authz, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), ma.m.AuthorizationEndpoint()) {
		ma.t.Fatalf("GET /login: got %q; want a redirect to mockoidc", resp.Header.Get("Location"))
	}
	if edit != nil {
		q := authz.Query()
		edit(q)
		authz.RawQuery = q.Encode()
	}
	resp, _ = ma.get(authz.String())
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, ma.srv.URL+"/auth/callback") {
		ma.t.Fatalf("mockoidc authorize: got %d to %q; want the callback", resp.Status, cb)
	}
	return cb
}

func (ma *mockApp) me() me {
	ma.t.Helper()
	_, body := ma.get(ma.srv.URL + "/me")
	var m me
	json.Unmarshal([]byte(body), &m)
	return m
}

func TestMockOIDC(t *testing.T) {
	user := &mockoidc.MockUser{Subject: "u-42", Email: "Ops.Lead@example.com", EmailVerified: true, Groups: []string{"ops", "money", "unmapped"}}

	t.Run("sign-in with the secret in the form", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.QueueUser(user)
		resp, _ := ma.get(ma.toCallback(nil))
		if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("callback: got %d to %q; want 303 to /", resp.Status, resp.Header.Get("Location"))
		}
		m := ma.me()
		if !m.SignedIn || m.Subject != "u-42" || m.Email != "Ops.Lead@example.com" || !slices.Equal(m.Roles, []auth.Role{auth.RoleSupport, auth.RoleFinance}) {
			t.Errorf("/me: got %+v; want u-42 with support and finance", m)
		}
		// mockoidc sends no auth_time: the token's issue time stands in.
		if d := time.Since(time.Unix(m.AuthTime, 0)); d < 0 || d > time.Minute {
			t.Errorf("auth_time: got %d; want about now (the ID token's iat)", m.AuthTime)
		}
	})

	t.Run("wrong nonce", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.QueueUser(user)
		cb := ma.toCallback(func(q url.Values) { q.Set("nonce", "not-the-flow-nonce") })
		resp, body := ma.get(cb)
		if resp.Status != http.StatusBadRequest || !strings.Contains(body, "does not belong to this sign-in") {
			t.Errorf("callback: got %d %q; want 400 nonce refusal", resp.Status, body)
		}
		if ma.me().SignedIn {
			t.Errorf("after a wrong nonce: got signed in")
		}
		if e, _ := ma.audits.last(auth.KindSignInFailed); !strings.Contains(e.Message, "nonce mismatch") {
			t.Errorf("audit: got %q; want nonce mismatch", e.Message)
		}
	})

	t.Run("missing nonce", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.QueueUser(user)
		cb := ma.toCallback(func(q url.Values) { q.Del("nonce") })
		if resp, _ := ma.get(cb); resp.Status != http.StatusBadRequest || ma.me().SignedIn {
			t.Errorf("callback: got %d; want 400 and no session", resp.Status)
		}
	})

	t.Run("expired ID token", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.AccessTTL = time.Minute
		ma.m.QueueUser(user)
		cb := ma.toCallback(nil)
		ma.clock.Advance(5 * time.Minute) // the flow is still valid; the token is not
		resp, body := ma.get(cb)
		if resp.Status != http.StatusBadRequest || !strings.Contains(body, "The ID token is not valid") {
			t.Errorf("callback: got %d %q; want 400 invalid ID token", resp.Status, body)
		}
		if e, _ := ma.audits.last(auth.KindSignInFailed); !strings.Contains(e.Message, "expired") {
			t.Errorf("audit: got %q; want the expiry named", e.Message)
		}
		if ma.me().SignedIn {
			t.Errorf("after an expired ID token: got signed in")
		}
	})

	t.Run("PKCE verifier checked by the provider", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.QueueUser(user)
		// A challenge that is not the flow's: the code exchange with the flow's verifier fails.
		cb := ma.toCallback(func(q url.Values) {
			q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
		})
		resp, body := ma.get(cb)
		if resp.Status != http.StatusBadRequest || !strings.Contains(body, "did not accept the sign-in code") || ma.me().SignedIn {
			t.Errorf("callback: got %d %q; want 400 and no session", resp.Status, body)
		}
	})

	t.Run("step-up the provider ignored", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.AccessTTL = time.Hour // the token itself stays valid on the app's clock
		ma.m.QueueUser(user)
		// mockoidc ignores prompt=login; its tokens are issued "now" by the wall clock,
		// while the app's clock is 20 minutes ahead: the re-authentication is too old.
		ma.clock.Advance(20 * time.Minute)
		resp, _ := ma.get(ma.srv.URL + "/login?stepup=1")
		authz, _ := url.Parse(resp.Header.Get("Location"))
		resp, _ = ma.get(authz.String())
		resp, body := ma.get(resp.Header.Get("Location"))
		if resp.Status != http.StatusBadRequest || !strings.Contains(body, "did not ask you to sign in again") {
			t.Errorf("callback: got %d %q; want 400 refusing a stale step-up", resp.Status, body)
		}
	})

	t.Run("logout without end_session", func(t *testing.T) {
		ma := newMockApp(t, nil)
		ma.m.QueueUser(user)
		ma.get(ma.toCallback(nil))
		req, _ := http.NewRequest(http.MethodPost, ma.srv.URL+"/logout", nil)
		resp := ma.browser.Do(req)
		if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("logout: got %d to %q; want 303 to /", resp.Status, resp.Header.Get("Location"))
		}
		if ma.me().SignedIn {
			t.Errorf("after logout: got signed in")
		}
	})
}
