package idptest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"paydesk/ops/opstest"
	"paydesk/web/devidp/idptest"
)

// TestSignIn signs a browser in at a minimal app: the app's /login sends it to the
// provider, its callback sets a cookie when a code arrives, and the browser keeps it.
func TestSignIn(t *testing.T) {
	var p *idptest.Provider
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			q := url.Values{"client_id": {p.ClientID}, "redirect_uri": {p.CallbackURL()}, "response_type": {"code"},
				"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
			http.Redirect(w, r, p.Issuer()+"/authorize?"+q.Encode(), http.StatusFound)
		case idptest.CallbackPath:
			if r.URL.Query().Get("code") == "" {
				http.Error(w, "no code", http.StatusBadRequest)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "yes", Path: "/"})
			http.Redirect(w, r, "/home", http.StatusSeeOther)
		default:
			io.WriteString(w, "home")
		}
	}))
	t.Cleanup(app.Close)
	p = idptest.Start(t, idptest.Options{AppURL: app.URL, Now: opstest.NewWallClock().Now})

	for name, follow := range map[string]func(*url.URL) bool{"following": idptest.FollowAll, "stepping": idptest.FollowNone} {
		t.Run(name, func(t *testing.T) {
			b := idptest.NewBrowser(t, follow)
			got := p.SignIn(b, app.URL+"/login", "sam")
			if got.Status != http.StatusOK || got.Body != "home" || got.URL.Path != "/home" {
				t.Fatalf("SignIn landed on %s with %d %q; want the app's home page", got.URL, got.Status, got.Body)
			}
			if c := b.Cookie(app.URL, "session"); c == nil || c.Value != "yes" {
				t.Errorf("session cookie: got %v; want the app's cookie kept", c)
			}
		})
	}
	if u := idptest.DemoUser(t, "fran"); u.Password != "fran-demo" {
		t.Errorf("DemoUser(fran): got %+v", u)
	}
	if _, ok := idptest.LoginFormID(`<input type="hidden" name="id" value="abc">`); !ok {
		t.Error("LoginFormID missed the hidden id")
	}
}
