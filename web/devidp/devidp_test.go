package devidp_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"paydesk/ops/opstest"
	"paydesk/web/devidp"
	"paydesk/web/devidp/idptest"
)

const (
	clientID     = "paydesk"
	clientSecret = "paydesk-secret"
	// appURL is the client's address: nothing listens there, the browser stops before.
	appURL      = "http://127.0.0.1:1"
	redirectURI = appURL + idptest.CallbackPath
	afterLogout = appURL + "/"
)

// fixture is a running provider with a browser and an OpenID client pointed at it.
type fixture struct {
	t        *testing.T
	clock    *opstest.Clock
	server   *idptest.Provider
	browser  *http.Client
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clk := opstest.NewWallClock()
	s := idptest.Start(t, idptest.Options{AppURL: appURL, ClientID: clientID, ClientSecret: clientSecret, Now: clk.Now})
	provider, err := oidc.NewProvider(ctx, s.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &fixture{
		t:      t,
		clock:  clk,
		server: s,
		// Stop at the client's callback and its page after sign-out: nothing listens there.
		browser: idptest.NewBrowser(t, func(next *url.URL) bool {
			return !strings.HasPrefix(next.String(), redirectURI) && !strings.HasPrefix(next.String(), afterLogout)
		}).Client,
		oauth: &oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI,
			Endpoint: provider.Endpoint(),
			Scopes:   []string{oidc.ScopeOpenID, "email", "profile", "groups"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID, Now: clk.Now}),
	}
}

// authorize starts a code flow and returns the response the browser ends on: the login
// page, or the redirect to the client's callback.
func (f *fixture) authorize(extra url.Values) (*http.Response, string) {
	f.t.Helper()
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email profile groups"}, "state": {"st-" + random()}, "nonce": {"n-" + random()},
	}
	for k, v := range extra {
		q[k] = v
	}
	for _, k := range []string{"code_challenge", "code_challenge_method"} {
		if q.Get(k) == "-" {
			q.Del(k)
		}
	}
	resp, err := f.browser.Get(f.server.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		f.t.Fatalf("GET /authorize: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// login submits the login form found in page.
func (f *fixture) login(page, username, password string) (*http.Response, string) {
	f.t.Helper()
	id, ok := idptest.LoginFormID(page)
	if !ok {
		f.t.Fatalf("no login form in page:\n%s", page)
	}
	resp, err := f.browser.PostForm(f.server.Issuer()+"/login", url.Values{"id": {id}, "username": {username}, "password": {password}})
	if err != nil {
		f.t.Fatalf("POST /login: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// callback returns the query of a redirect to the client's callback.
func (f *fixture) callback(resp *http.Response) url.Values {
	f.t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirectURI) {
		f.t.Fatalf("got status %d to %q; want a redirect to the callback", resp.StatusCode, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		f.t.Fatalf("callback URL: %v", err)
	}
	return u.Query()
}

// claims are the ID token claims the tests look at.
type claims struct {
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	Groups        []string `json:"groups"`
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce"`
}

// signIn runs the whole flow for a user and returns the verified ID token's claims.
func (f *fixture) signIn(u devidp.User, extra url.Values) (*oidc.IDToken, claims) {
	f.t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}, "nonce": {"nonce-" + u.Username}}
	for k, v := range extra {
		q[k] = v
	}
	resp, page := f.authorize(q)
	if resp.StatusCode == http.StatusOK {
		resp, _ = f.login(page, u.Username, u.Password)
	}
	code := f.callback(resp).Get("code")
	tok, err := f.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		f.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.verifier.Verify(context.Background(), raw)
	if err != nil {
		f.t.Fatalf("verify ID token: %v", err)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		f.t.Fatalf("claims: %v", err)
	}
	return idt, c
}

func random() string {
	b := make([]byte, 8)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestStartRefusesBadConfig(t *testing.T) {
	good := devidp.Client{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:8080/cb"}}
	tests := []struct {
		name string
		cfg  devidp.Config
		want string
	}{
		{"all interfaces", devidp.Config{Addr: "0.0.0.0:0", Clients: []devidp.Client{good}}, "not a loopback address"},
		{"no host", devidp.Config{Addr: ":0", Clients: []devidp.Client{good}}, "not a loopback address"},
		{"public host", devidp.Config{Addr: "192.0.2.1:80", Clients: []devidp.Client{good}}, "not a loopback address"},
		{"not host:port", devidp.Config{Addr: "127.0.0.1", Clients: []devidp.Client{good}}, "not host:port"},
		{"no client", devidp.Config{}, "no client registered"},
		{"no secret", devidp.Config{Clients: []devidp.Client{{ID: "c", RedirectURIs: good.RedirectURIs}}}, `client "c" has no Secret`},
		{"no redirect", devidp.Config{Clients: []devidp.Client{{ID: "c", Secret: "s"}}}, `client "c" has no RedirectURIs`},
		{"relative redirect", devidp.Config{Clients: []devidp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"/cb"}}}}, `"/cb" is not an absolute http(s) URL`},
		{"twice", devidp.Config{Clients: []devidp.Client{good, good}}, `client "c" is registered twice`},
		{"no users", devidp.Config{Clients: []devidp.Client{good}, Users: []devidp.User{}}, "no users"},
		{"user twice", devidp.Config{Clients: []devidp.Client{good}, Users: []devidp.User{{Username: "a", Password: "p"}, {Username: "a", Password: "p"}}}, `user "a" is listed twice`},
		{"no password", devidp.Config{Clients: []devidp.Client{good}, Users: []devidp.User{{Username: "a"}}}, `user "a" has no password`},
		{"upper-case username", devidp.Config{Clients: []devidp.Client{good}, Users: []devidp.User{{Username: "Ann", Password: "p"}}}, "must be non-empty, lower-case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := devidp.Start(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Start: got no error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "devidp: ") {
				t.Errorf("Start: got error %q; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDemoUsersAndRoleMap(t *testing.T) {
	want := map[string][]string{
		"sam":  {devidp.GroupSupport},
		"fran": {devidp.GroupFinance},
		"max":  {devidp.GroupManager},
		"mia":  {devidp.GroupManager},
		"tess": {devidp.GroupSupport, devidp.GroupFinance},
		"nora": nil,
	}
	users := devidp.DemoUsers()
	if len(users) != len(want) {
		t.Fatalf("got %d demo users; want %d", len(users), len(want))
	}
	for _, u := range users {
		g, ok := want[u.Username]
		if !ok {
			t.Errorf("unexpected demo user %q", u.Username)
			continue
		}
		if !slices.Equal(u.Groups, g) {
			t.Errorf("%s: got groups %v; want %v", u.Username, u.Groups, g)
		}
		if u.Password != u.Username+"-demo" || u.Email == "" || u.Name == "" {
			t.Errorf("%s: got password %q, email %q, name %q; want %q and a non-empty email and name", u.Username, u.Password, u.Email, u.Name, u.Username+"-demo")
		}
	}
	if got, want := devidp.DemoRoleMap(), "paydesk-support:support,paydesk-finance:finance,paydesk-manager:manager"; got != want {
		t.Errorf("DemoRoleMap: got %q; want %q", got, want)
	}
}

func TestDiscoveryAndKeys(t *testing.T) {
	f := newFixture(t)
	var disc struct {
		Issuer        string   `json:"issuer"`
		EndSession    string   `json:"end_session_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		Challenge     []string `json:"code_challenge_methods_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
		ScopesOffered []string `json:"scopes_supported"`
	}
	getJSON(t, f.server.Issuer()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != f.server.Issuer() {
		t.Errorf("issuer: got %q; want %q", disc.Issuer, f.server.Issuer())
	}
	if want := f.server.Issuer() + "/end_session"; disc.EndSession != want {
		t.Errorf("end_session_endpoint: got %q; want %q", disc.EndSession, want)
	}
	if !slices.Contains(disc.Challenge, "S256") {
		t.Errorf("code_challenge_methods_supported: got %v; want S256 in it", disc.Challenge)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		if !slices.Contains(disc.AuthMethods, m) {
			t.Errorf("token_endpoint_auth_methods_supported: got %v; want %s in it", disc.AuthMethods, m)
		}
	}
	if !slices.Equal(disc.SigningAlgs, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported: got %v; want [RS256]", disc.SigningAlgs)
	}
	if !slices.Contains(disc.ScopesOffered, "groups") {
		t.Errorf("scopes_supported: got %v; want groups in it", disc.ScopesOffered)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, disc.JWKS, &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS: got %d keys; want 1", len(jwks.Keys))
	}
	k := jwks.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["n"] == nil {
		t.Errorf("JWKS key: got %v; want an RSA RS256 signing key", k)
	}
	if _, private := k["d"]; private {
		t.Errorf("JWKS key: got the private exponent published")
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d; want 200", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func pkce() url.Values {
	return url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
}

func TestLoginPage(t *testing.T) {
	f := newFixture(t)
	resp, page := f.authorize(pkce())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d; want the login page (200)", resp.StatusCode)
	}
	for _, want := range []string{
		`data-testid="login-username"`, `data-testid="login-password"`, `data-testid="login-submit"`,
		`<form method="post" action="/login"`, `type="password"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("login page: want %s in it", want)
		}
	}
	for _, u := range devidp.DemoUsers() {
		row := regexp.MustCompile(`(?s)<tr data-testid="demo-user-` + u.Username + `">.*?</tr>`).FindString(page)
		if row == "" {
			t.Errorf("login page: no row for %s", u.Username)
			continue
		}
		if !strings.Contains(row, "<code>"+u.Password+"</code>") {
			t.Errorf("row for %s: got %s; want the password %s in it", u.Username, row, u.Password)
		}
	}
	for user, roles := range map[string]string{"sam": "support", "tess": "support, finance", "max": "manager", "nora": "none (no access)"} {
		row := regexp.MustCompile(`(?s)<tr data-testid="demo-user-` + user + `">.*?</tr>`).FindString(page)
		if !strings.Contains(row, "<td>"+roles+"</td>") {
			t.Errorf("row for %s: got %s; want role %q", user, row, roles)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("login page: want no scripts and no external resources")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy: got %q; want default-src 'none'", csp)
	}
}

func TestSignInEachDemoUser(t *testing.T) {
	for _, u := range devidp.DemoUsers() {
		t.Run(u.Username, func(t *testing.T) {
			f := newFixture(t)
			f.clock.Advance(-3 * time.Minute) // auth_time must come from the injected clock
			idt, c := f.signIn(u, nil)
			if idt.Subject != u.Username {
				t.Errorf("sub: got %q; want %q", idt.Subject, u.Username)
			}
			if !slices.Equal(idt.Audience, []string{clientID}) {
				t.Errorf("aud: got %v; want [%s]", idt.Audience, clientID)
			}
			if c.Email != u.Email || !c.EmailVerified || c.Name != u.Name {
				t.Errorf("claims: got email %q (verified %v), name %q; want %q (verified), %q", c.Email, c.EmailVerified, c.Name, u.Email, u.Name)
			}
			if len(c.Groups) != len(u.Groups) || (len(u.Groups) > 0 && !slices.Equal(c.Groups, u.Groups)) {
				t.Errorf("groups: got %v; want %v", c.Groups, u.Groups)
			}
			if c.Nonce != "nonce-"+u.Username {
				t.Errorf("nonce: got %q; want %q", c.Nonce, "nonce-"+u.Username)
			}
			if want := f.clock.Now().Unix(); c.AuthTime != want {
				t.Errorf("auth_time: got %d; want %d (the injected clock)", c.AuthTime, want)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	f := newFixture(t)
	_, page := f.authorize(pkce())
	for _, tt := range []struct{ user, password string }{{"sam", "wrong"}, {"nobody", "sam-demo"}, {"sam", ""}} {
		resp, body := f.login(page, tt.user, tt.password)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s/%q: got status %d; want 401", tt.user, tt.password, resp.StatusCode)
		}
		if !strings.Contains(body, `data-testid="login-error"`) || !strings.Contains(body, "Wrong username or password.") {
			t.Errorf("%s/%q: want the error message on the page again", tt.user, tt.password)
		}
	}
	// The same request can still be completed with the right password.
	resp, _ := f.login(page, "sam", "sam-demo")
	if code := f.callback(resp).Get("code"); code == "" {
		t.Errorf("right password after wrong ones: got no code")
	}
}

func TestPKCERequired(t *testing.T) {
	f := newFixture(t)
	for name, q := range map[string]url.Values{
		"no challenge": {"code_challenge": {"-"}, "code_challenge_method": {"-"}},
		"plain":        {"code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"}, "code_challenge_method": {"plain"}},
	} {
		resp, _ := f.authorize(q)
		got := f.callback(resp)
		if got.Get("error") != "invalid_request" || got.Get("code") != "" {
			t.Errorf("%s: got callback %v; want error=invalid_request and no code", name, got)
		}
	}
}

// tokenRequest posts to the token endpoint directly and returns the status and error code.
func (f *fixture) tokenRequest(form url.Values, basic bool) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.oauth.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(form.Get("client_id"), form.Get("client_secret"))
		form.Del("client_secret")
		req.Body = io.NopCloser(strings.NewReader(form.Encode()))
		req.ContentLength = int64(len(form.Encode()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		IDToken string `json:"id_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode == http.StatusOK && body.IDToken == "" {
		f.t.Errorf("token response: got 200 without an id_token")
	}
	return resp.StatusCode, body.Error
}

// codeFor signs sam in and returns a fresh code and its PKCE verifier.
func (f *fixture) codeFor() (string, string) {
	f.t.Helper()
	verifier := oauth2.GenerateVerifier()
	resp, page := f.authorize(url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}})
	if resp.StatusCode == http.StatusOK {
		resp, _ = f.login(page, "sam", "sam-demo")
	}
	return f.callback(resp).Get("code"), verifier
}

func TestTokenEndpoint(t *testing.T) {
	f := newFixture(t)
	form := func(code, verifier, secret string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {redirectURI}, "client_id": {clientID}, "client_secret": {secret}}
	}
	tests := []struct {
		name       string
		verifier   func(string) string
		secret     string
		basic      bool
		wantStatus int
		wantError  string
	}{
		{"basic auth", func(v string) string { return v }, clientSecret, true, http.StatusOK, ""},
		{"form auth", func(v string) string { return v }, clientSecret, false, http.StatusOK, ""},
		{"wrong verifier", func(string) string { return oauth2.GenerateVerifier() }, clientSecret, true, http.StatusBadRequest, "invalid_grant"},
		{"no verifier", func(string) string { return "" }, clientSecret, false, http.StatusBadRequest, "invalid_request"},
		{"wrong secret", func(v string) string { return v }, "guess", true, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret in form", func(v string) string { return v }, "guess", false, http.StatusUnauthorized, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := f.codeFor()
			status, errCode := f.tokenRequest(form(code, tt.verifier(verifier), tt.secret), tt.basic)
			if status != tt.wantStatus || errCode != tt.wantError {
				t.Errorf("got %d %q; want %d %q", status, errCode, tt.wantStatus, tt.wantError)
			}
		})
	}
	t.Run("code used twice", func(t *testing.T) {
		code, verifier := f.codeFor()
		if status, errCode := f.tokenRequest(form(code, verifier, clientSecret), true); status != http.StatusOK {
			t.Fatalf("first use: got %d %q; want 200", status, errCode)
		}
		if status, errCode := f.tokenRequest(form(code, verifier, clientSecret), true); status != http.StatusBadRequest || errCode != "invalid_grant" {
			t.Errorf("second use: got %d %q; want 400 invalid_grant", status, errCode)
		}
	})
	t.Run("code too old", func(t *testing.T) {
		code, verifier := f.codeFor()
		f.clock.Advance(6 * time.Minute)
		if status, errCode := f.tokenRequest(form(code, verifier, clientSecret), true); status != http.StatusBadRequest || errCode != "invalid_grant" {
			t.Errorf("got %d %q; want 400 invalid_grant", status, errCode)
		}
	})
}

func TestSingleSignOnPromptLoginAndMaxAge(t *testing.T) {
	f := newFixture(t)
	sam := devidp.DemoUsers()[0]
	_, first := f.signIn(sam, nil)

	// Without prompt or max_age the provider's own sign-in is reused: no login page,
	// and auth_time stays the first sign-in's.
	f.clock.Advance(5 * time.Minute)
	resp, _ := f.authorize(pkce())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("second authorize: got status %d; want a redirect straight back (single sign-on)", resp.StatusCode)
	}
	_, again := f.signIn(sam, nil)
	if again.AuthTime != first.AuthTime {
		t.Errorf("single sign-on: got auth_time %d; want the first sign-in's %d", again.AuthTime, first.AuthTime)
	}

	tests := []struct {
		name      string
		extra     url.Values
		wantLogin bool
	}{
		{"max_age met", url.Values{"max_age": {"3600"}}, false},
		{"max_age exceeded", url.Values{"max_age": {"60"}}, true},
		{"max_age zero", url.Values{"max_age": {"0"}}, true},
		{"prompt login", url.Values{"prompt": {"login"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := pkce()
			for k, v := range tt.extra {
				q[k] = v
			}
			resp, page := f.authorize(q)
			if gotLogin := resp.StatusCode == http.StatusOK && isLoginPage(page); gotLogin != tt.wantLogin {
				t.Fatalf("got login page %v (status %d); want %v", gotLogin, resp.StatusCode, tt.wantLogin)
			}
			if !tt.wantLogin {
				return
			}
			f.clock.Advance(time.Minute)
			_, c := f.signIn(sam, tt.extra)
			if want := f.clock.Now().Unix(); c.AuthTime != want {
				t.Errorf("after a forced login: got auth_time %d; want now, %d", c.AuthTime, want)
			}
		})
	}
}

func TestPromptNoneWithoutSignIn(t *testing.T) {
	f := newFixture(t)
	q := pkce()
	q.Set("prompt", "none")
	resp, _ := f.authorize(q)
	if got := f.callback(resp); got.Get("error") != "login_required" || got.Get("code") != "" {
		t.Errorf("got callback %v; want error=login_required", got)
	}
}

func TestExpiredAuthRequest(t *testing.T) {
	f := newFixture(t)
	_, page := f.authorize(pkce())
	f.clock.Advance(11 * time.Minute)
	resp, body := f.login(page, "sam", "sam-demo")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `data-testid="login-gone"`) {
		t.Errorf("got status %d; want 400 and the expired page", resp.StatusCode)
	}
}

func TestEndSession(t *testing.T) {
	f := newFixture(t)
	f.signIn(devidp.DemoUsers()[1], nil)

	resp, err := f.browser.Get(f.server.Issuer() + "/end_session?" + url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {afterLogout}}.Encode())
	if err != nil {
		t.Fatalf("end_session: %v", err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != afterLogout {
		t.Errorf("end_session: got %d to %q; want 302 to %q", resp.StatusCode, loc, afterLogout)
	}
	// The provider's own sign-in is gone: the next authorize shows the login page.
	if resp, page := f.authorize(pkce()); resp.StatusCode != http.StatusOK || !isLoginPage(page) {
		t.Errorf("authorize after end_session: got status %d; want the login page", resp.StatusCode)
	}

	resp, err = f.browser.Get(f.server.Issuer() + "/end_session?" + url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if err != nil {
		t.Fatalf("end_session: %v", err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil.example") || resp.StatusCode == http.StatusFound {
		t.Errorf("end_session to an unregistered URL: got %d to %q; want no redirect there", resp.StatusCode, loc)
	}
}

func TestStopsWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := devidp.Start(ctx, devidp.Config{Clients: []devidp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{redirectURI}}}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if resp, err := http.Get(s.Issuer() + "/.well-known/openid-configuration"); err != nil {
		t.Fatalf("before cancel: %v", err)
	} else {
		resp.Body.Close()
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(s.Issuer() + "/.well-known/openid-configuration")
		if err != nil {
			var uerr *url.Error
			if !errors.As(err, &uerr) {
				t.Fatalf("after cancel: got %v; want a connection error", err)
			}
			return
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after cancel: the provider still answers")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isLoginPage reports whether page is the provider's login form.
func isLoginPage(page string) bool {
	_, ok := idptest.LoginFormID(page)
	return ok
}
