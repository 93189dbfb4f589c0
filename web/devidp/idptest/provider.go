// Package idptest signs tests in as in production: it starts the development OpenID
// provider (paydesk/web/devidp) with the demo users for one test, and gives the test
// browsers — a cookie jar and an HTTP client — that fill the provider's login page as a
// given user and keep the session cookie the app sets. The web package's harness and the
// web/auth package's tests share it; it knows nothing of Paydesk's app, so the app under
// test supplies its own sign-in URL.
package idptest

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/web/devidp"
)

// The client the app is registered as at the provider, unless Options say otherwise.
const (
	ClientID     = "paydesk"
	ClientSecret = "paydesk-test-secret"
	// CallbackPath is where the app receives the provider's answer, under Options.AppURL.
	CallbackPath = "/auth/callback"
)

// Options configure Start.
type Options struct {
	// AppURL is the app's base URL (scheme and host): the provider sends the browser back
	// to AppURL+CallbackPath after sign-in and to AppURL+"/" after sign-out.
	AppURL string
	// ClientID and ClientSecret register the app; ClientID and ClientSecret when empty.
	ClientID, ClientSecret string
	// Users may sign in; devidp.DemoUsers when nil.
	Users []devidp.User
	// Now is the provider's clock (auth_time, request expiry); time.Now when nil. Share
	// the app's clock (an opstest.Clock started with NewWallClock) so that both agree.
	Now func() time.Time
}

// Provider is a development OpenID provider running for one test, with the app registered
// as its one client. It is closed when the test ends.
type Provider struct {
	*devidp.Server
	// ClientID and ClientSecret are the app's credentials at the provider.
	ClientID, ClientSecret string
	// AppURL is the app's base URL, as given in Options.
	AppURL string
	users  []devidp.User
}

// Start starts a provider for t; a failure to start fails the test.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	if o.ClientID == "" {
		o.ClientID = ClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = ClientSecret
	}
	if o.Users == nil {
		o.Users = devidp.DemoUsers()
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := devidp.Start(ctx, devidp.Config{
		Clients: []devidp.Client{{
			ID: o.ClientID, Secret: o.ClientSecret,
			RedirectURIs:           []string{o.AppURL + CallbackPath},
			PostLogoutRedirectURIs: []string{o.AppURL + "/"},
		}},
		Users:  o.Users,
		Now:    o.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("idptest: start the development provider: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &Provider{Server: s, ClientID: o.ClientID, ClientSecret: o.ClientSecret, AppURL: o.AppURL, users: o.Users}
}

// CallbackURL is the app's callback, as registered at the provider.
func (p *Provider) CallbackURL() string { return p.AppURL + CallbackPath }

// IsCallback reports whether u is the app's callback.
func (p *Provider) IsCallback(u *url.URL) bool { return strings.HasPrefix(u.String(), p.CallbackURL()) }

// Ours reports whether u is on the app or on the provider: a sign-in never leaves them.
func (p *Provider) Ours(u *url.URL) bool {
	app, _ := url.Parse(p.AppURL)
	idp, _ := url.Parse(p.Issuer())
	return u.Scheme == "http" && (u.Host == app.Host || u.Host == idp.Host)
}

// User returns the provider's user named username; an unknown name fails the test.
func (p *Provider) User(t testing.TB, username string) devidp.User {
	t.Helper()
	return findUser(t, p.users, username)
}

// DemoUser returns the demo user named username (devidp.DemoUsers); an unknown name fails
// the test.
func DemoUser(t testing.TB, username string) devidp.User {
	t.Helper()
	return findUser(t, devidp.DemoUsers(), username)
}

func findUser(t testing.TB, users []devidp.User, username string) devidp.User {
	t.Helper()
	i := slices.IndexFunc(users, func(u devidp.User) bool { return u.Username == username })
	if i < 0 {
		t.Fatalf("idptest: no user %q", username)
	}
	return users[i]
}

var loginFormID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// LoginFormID returns the hidden id of the provider's login form shown in body: the
// sign-in request the form answers.
func LoginFormID(body string) (string, bool) {
	m := loginFormID.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// SubmitLogin fills the provider's login form that page shows with username and
// password, and returns the answer (where the browser ends, if it follows redirects). A
// page without the form fails the test.
func (p *Provider) SubmitLogin(b *Browser, page *Page, username, password string) *Page {
	b.t.Helper()
	id, ok := LoginFormID(page.Body)
	if page.Status != 200 || !ok {
		b.t.Fatalf("idptest: want the provider's login page at %s; got status %d: %.500s", page.URL, page.Status, page.Body)
	}
	return b.Post(p.Issuer()+"/login", url.Values{"id": {id}, "username": {username}, "password": {password}})
}

// SignIn signs b in as username with the user's own password: it opens loginURL (the
// app's page that sends the browser to the provider), fills the login form, and follows
// the redirects back to the app, which sets its session cookie in b's jar. It returns
// the page the browser lands on.
func (p *Provider) SignIn(b *Browser, loginURL, username string) *Page {
	b.t.Helper()
	u := p.User(b.t, username)
	page := b.FollowWhile(b.Get(loginURL), p.Ours)
	return b.FollowWhile(p.SubmitLogin(b, page, u.Username, u.Password), p.Ours)
}
