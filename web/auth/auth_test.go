package auth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/web/auth"
)

func TestSignInEachDemoUser(t *testing.T) {
	tests := []struct {
		user  string
		roles []auth.Role
	}{
		{"sam", []auth.Role{auth.RoleSupport}},
		{"fran", []auth.Role{auth.RoleFinance}},
		{"max", []auth.Role{auth.RoleManager}},
		{"mia", []auth.Role{auth.RoleManager}},
		{"tess", []auth.Role{auth.RoleSupport, auth.RoleFinance}},
		{"nora", nil},
	}
	a := newApp(t, nil)
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			u := demoUser(t, tt.user)
			b := a.browser()

			// Login sends the browser to the provider with PKCE, state and nonce.
			start := b.get(a.srv.URL + "/login?next=" + url.QueryEscape("/payments?status=paid"))
			authz := start.Location()
			if start.Status != http.StatusFound || authz == nil || !strings.HasPrefix(authz.String(), a.idp.Issuer()+"/authorize?") {
				t.Fatalf("GET /login: got %d to %q; want 302 to the provider's authorize endpoint", start.Status, start.Header.Get("Location"))
			}
			q := authz.Query()
			for k, want := range map[string]string{"client_id": testClientID, "response_type": "code", "code_challenge_method": "S256", "scope": "openid email profile groups", "redirect_uri": a.srv.URL + "/auth/callback"} {
				if q.Get(k) != want {
					t.Errorf("authorize %s: got %q; want %q", k, q.Get(k), want)
				}
			}
			for _, k := range []string{"state", "nonce", "code_challenge"} {
				if len(q.Get(k)) < 43 {
					t.Errorf("authorize %s: got %q; want at least 43 random characters", k, q.Get(k))
				}
			}
			if q.Has("prompt") || q.Has("max_age") || q.Has("code_verifier") {
				t.Errorf("authorize: got %v; want no prompt, max_age or verifier", q)
			}

			end := b.follow(b.submitLogin(b.follow(start, nil), u.Username, u.Password), nil)
			if end.Status != http.StatusOK || end.URL.RequestURI() != "/payments?status=paid" || end.Body != "payments" {
				t.Fatalf("after sign-in: got %d at %s; want 200 at /payments?status=paid", end.Status, end.URL)
			}
			m := b.me()
			if !m.SignedIn || m.Subject != u.Username || m.Email != u.Email || m.Name != u.Name {
				t.Errorf("/me: got %+v; want %s signed in as %s, %s", m, u.Username, u.Email, u.Name)
			}
			if !slices.Equal(m.Roles, tt.roles) {
				t.Errorf("roles: got %v; want %v", m.Roles, tt.roles)
			}
			if m.NoAccess != (len(tt.roles) == 0) {
				t.Errorf("NoAccess: got %v; want %v", m.NoAccess, len(tt.roles) == 0)
			}
			if now := a.clock.Now().Unix(); m.AuthTime != now || m.SignedInAt != now || !m.Fresh {
				t.Errorf("times: got auth_time %d, signed in %d, fresh %v; want %d, %d, fresh", m.AuthTime, m.SignedInAt, m.Fresh, now, now)
			}
			e, ok := a.audits.last(auth.KindSignIn)
			if !ok || e.Actor != u.Email || e.Remote == "" {
				t.Fatalf("audit: got %+v; want a sign_in by %s with the remote address", e, u.Email)
			}
			if len(tt.roles) == 0 && !strings.Contains(e.Message, "no access") {
				t.Errorf("audit message: got %q; want it to say no access", e.Message)
			}
			if len(tt.roles) > 0 && !strings.Contains(e.Message, string(tt.roles[0])) {
				t.Errorf("audit message: got %q; want the roles in it", e.Message)
			}
		})
	}
}

func TestSessionHoldsNoToken(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	c := b.sessionCookie()
	if c == nil {
		t.Fatalf("no session cookie after sign-in")
	}
	// The cookie is encrypted, so its size is the evidence: an ID token alone is ~900
	// bytes before encryption and encoding.
	if len(c.Value) > 700 {
		t.Errorf("session cookie: got %d bytes; want a small session without tokens", len(c.Value))
	}
	for _, forbidden := range []string{"eyJ", "sam@paydesk.example"} {
		if strings.Contains(c.Value, forbidden) {
			t.Errorf("session cookie: got %q in clear", forbidden)
		}
	}
}

func TestSessionRenewedAtSignIn(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	first, firstMe := b.sessionCookie(), b.me()
	// Signing in again (e.g. a step-up) must not keep the old session's id or cookie.
	r := b.follow(b.get(a.srv.URL+"/login?stepup=1"), nil)
	b.follow(b.submitLogin(r, "sam", "sam-demo"), nil)
	second, secondMe := b.sessionCookie(), b.me()
	if first.Value == second.Value || firstMe.SessionID == "" || firstMe.SessionID == secondMe.SessionID {
		t.Errorf("got session id %q then %q (cookie changed: %v); want a new session at sign-in", firstMe.SessionID, secondMe.SessionID, first.Value != second.Value)
	}
	// A session cookie planted before a sign-in does not survive it: whoever signs in
	// gets a session of their own, not the planted one.
	victim := a.browser()
	u, _ := url.Parse(a.srv.URL)
	victim.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.DefaultCookieName, Value: first.Value, Path: "/"}})
	r = victim.follow(victim.get(a.srv.URL+"/login?stepup=1"), nil)
	victim.follow(victim.submitLogin(r, "fran", "fran-demo"), nil)
	if got := victim.me(); got.Subject != "fran" || got.SessionID == firstMe.SessionID {
		t.Errorf("after a planted cookie: got %+v; want fran with a new session id", got)
	}
}

// callbackRefusal checks a refused callback: 400, the safe page, no session, audited.
func callbackRefusal(t *testing.T, a *app, b *browser, r *response, wantMessage string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("callback: got status %d; want 400", r.Status)
	}
	if !strings.Contains(r.Body, `data-testid="signin-error"`) || !strings.Contains(r.Body, wantMessage) {
		t.Errorf("callback page: got %q; want the sign-in error with %q", r.Body, wantMessage)
	}
	for _, leak := range []string{"eyJ", "goroutine", "code=", "oidc:"} {
		if strings.Contains(r.Body, leak) {
			t.Errorf("callback page: got %q in it", leak)
		}
	}
	if c := r.Cookie(auth.DefaultCookieName); c != nil && c.MaxAge >= 0 {
		t.Errorf("callback: got a session cookie set; want none")
	}
	if m := b.me(); m.SignedIn {
		t.Errorf("after a refused callback: got signed in as %s; want no session", m.Subject)
	}
	if e, ok := a.audits.last(auth.KindSignInFailed); !ok || e.Actor != "anonymous" || e.Remote == "" {
		t.Errorf("audit: got %+v; want a sign_in_failed by anonymous with the remote address", e)
	}
}

func TestCallbackRefusals(t *testing.T) {
	a := newApp(t, nil)
	sam := demoUser(t, "sam")
	tests := []struct {
		name   string
		mutate func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL)
		want   string
		reason string
	}{
		{"tampered state", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			q := cb.Query()
			q.Set("state", q.Get("state")[:42]+"x")
			cb.RawQuery = q.Encode()
			return b, cb
		}, "was not started in this browser", "unknown state"},
		{"missing state", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return b, cb
		}, "has no state", ""},
		{"no flow cookie (another browser)", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			return b.a.browser(), cb
		}, "was not started in this browser", "unknown state"},
		{"flow older than 10 minutes", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			b.a.clock.Advance(11 * time.Minute)
			return b, cb
		}, "took longer than 10 minutes", "state expired"},
		{"provider refused", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "<script>x</script>")
			cb.RawQuery = q.Encode()
			return b, cb
		}, "did not sign you in (access_denied)", "<script>"},
		{"no code", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			q := cb.Query()
			q.Del("code")
			cb.RawQuery = q.Encode()
			return b, cb
		}, "has no code", ""},
		{"wrong code", func(t *testing.T, b *browser, cb *url.URL) (*browser, *url.URL) {
			q := cb.Query()
			q.Set("code", "forged")
			cb.RawQuery = q.Encode()
			return b, cb
		}, "did not accept the sign-in code", "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A minute apart, each refusal is the first of its address's minute: audited at
			// once with its reason (the others of a minute are summarised in one row, see
			// callback_flood_test.go).
			a.clock.Advance(time.Minute)
			b := a.browser()
			cb := b.toCallback(b.startLogin("/"), sam)
			b, cb = tt.mutate(t, b, cb)
			r := b.get(cb.String())
			callbackRefusal(t, a, b, r, tt.want)
			if e, _ := a.audits.last(auth.KindSignInFailed); !strings.Contains(e.Message, tt.reason) {
				t.Errorf("audit message: got %q; want %q in it", e.Message, tt.reason)
			}
		})
	}
}

func TestCallbackReplay(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	cb := b.toCallback(b.startLogin("/"), demoUser(t, "sam"))
	if r := b.follow(b.get(cb.String()), nil); r.Status != http.StatusOK || !b.me().SignedIn {
		t.Fatalf("first use of the callback: got status %d; want signed in", r.Status)
	}
	// The same URL again, in the same browser: the state was used.
	r := b.get(cb.String())
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "already used") {
		t.Errorf("replay in the same browser: got %d %q; want 400 'already used'", r.Status, r.Body)
	}
	// And in another browser (a stolen callback URL): refused, no session there.
	thief := a.browser()
	callbackRefusal(t, a, thief, thief.get(cb.String()), "was not started in this browser")
}

func TestSeveralTabs(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	first := b.startLogin("/payments")
	second := b.startLogin("/")
	// The first tab finishes after the second started: both flows are kept.
	r := b.follow(b.submitLogin(first, "fran", "fran-demo"), nil)
	if r.Status != http.StatusOK || r.URL.Path != "/payments" {
		t.Fatalf("first tab: got %d at %s; want 200 at /payments", r.Status, r.URL)
	}
	r = b.follow(b.submitLogin(second, "fran", "fran-demo"), nil)
	if r.Status != http.StatusOK || r.URL.Path != "/" {
		t.Errorf("second tab: got %d at %s; want 200 at /", r.Status, r.URL)
	}
}

func TestWrongNonce(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	// Tamper with the nonce on the way to the provider: the provider puts the tampered
	// value in the ID token, which must no longer match the flow.
	start := b.get(a.srv.URL + "/login")
	authz := start.Location()
	q := authz.Query()
	q.Set("nonce", "attacker-chosen-nonce-attacker-chosen-nonce")
	authz.RawQuery = q.Encode()
	page := b.get(authz.String())
	page = b.follow(page, nil)
	r := b.follow(b.submitLogin(page, "sam", "sam-demo"), nil)
	callbackRefusal(t, a, b, r, "does not belong to this sign-in")
	if e, _ := a.audits.last(auth.KindSignInFailed); !strings.Contains(e.Message, "nonce mismatch") {
		t.Errorf("audit message: got %q; want nonce mismatch", e.Message)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")

	// Activity keeps the session alive past the idle timeout.
	for i := 0; i < 4; i++ {
		a.clock.Advance(29 * time.Minute)
		if !b.me().SignedIn {
			t.Fatalf("after %d × 29 minutes of activity: got signed out; want signed in", i+1)
		}
	}
	a.clock.Advance(31 * time.Minute)
	r := b.get(a.srv.URL + "/me")
	if strings.Contains(r.Body, `"signed_in":true`) {
		t.Fatalf("after 31 idle minutes: got signed in; want expired")
	}
	if c := r.Cookie(auth.DefaultCookieName); c == nil || c.MaxAge >= 0 {
		t.Errorf("expired session: got cookie %v; want it deleted", c)
	}
	if e, ok := a.audits.last(auth.KindSessionExpired); !ok || e.Actor != "sam@paydesk.example" || !strings.Contains(e.Message, "idle") {
		t.Errorf("audit: got %+v; want session_expired (idle) for sam", e)
	}
	if b.me().SignedIn {
		t.Errorf("after expiry: got signed in again")
	}
}

func TestSessionAbsoluteExpiry(t *testing.T) {
	a := newApp(t, func(c *auth.Config) { c.AbsoluteTimeout = 2 * time.Hour })
	b := a.browser()
	b.signIn(demoUser(t, "max"), "/")
	for elapsed := 25 * time.Minute; elapsed <= 2*time.Hour; elapsed += 25 * time.Minute {
		a.clock.Advance(25 * time.Minute)
		if !b.me().SignedIn {
			t.Fatalf("after %s of activity: got signed out; want signed in until 2h", elapsed)
		}
	}
	a.clock.Advance(25 * time.Minute) // 2h05m
	if b.me().SignedIn {
		t.Fatalf("after the absolute timeout: got signed in; want expired despite activity")
	}
	if e, ok := a.audits.last(auth.KindSessionExpired); !ok || !strings.Contains(e.Message, "more than 2h0m0s ago") {
		t.Errorf("audit: got %+v; want session_expired (absolute)", e)
	}
}

// TestIdleTimerSavedAtMostOncePerMinute: the idle expiry moves with a write of the
// session's record at most once a minute, never at every request, and no request re-sends
// the cookie (it carries only the id, which does not change).
func TestIdleTimerSavedAtMostOncePerMinute(t *testing.T) {
	var records *countingRecords
	a := newApp(t, func(c *auth.Config) { records = countWrites(c) })
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	tests := []struct {
		advance  time.Duration
		wantSave bool
	}{
		{30 * time.Second, false},
		{20 * time.Second, false},
		{15 * time.Second, true}, // 65s since sign-in
		{10 * time.Second, false},
		{61 * time.Second, true},
	}
	for i, tt := range tests {
		a.clock.Advance(tt.advance)
		before := records.touches.Load()
		r := b.get(a.srv.URL + "/me")
		if got := records.touches.Load() > before; got != tt.wantSave {
			t.Errorf("request %d (+%s): got the record renewed %v; want %v", i+1, tt.advance, got, tt.wantSave)
		}
		if c := r.Cookie(auth.DefaultCookieName); c != nil {
			t.Errorf("request %d: the cookie was sent again (%v); want it only at sign-in and sign-out", i+1, c)
		}
	}
	if rec := b.record(); !rec.LastSeen.Equal(a.clock.Now()) {
		t.Errorf("record last seen %s; want the last renewal, %s", rec.LastSeen, a.clock.Now())
	}
}

func TestTamperedCookie(t *testing.T) {
	a := newApp(t, nil)
	other := newApp(t, nil) // same code, different keys
	b := a.browser()
	b.signIn(demoUser(t, "max"), "/")
	good := b.sessionCookie().Value

	ob := other.browser()
	ob.signIn(demoUser(t, "max"), "/")
	foreign := ob.sessionCookie().Value

	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := map[string]string{
		"one character changed at the start":  flip(good, 3),
		"one character changed in the middle": flip(good, len(good)/2),
		"truncated":                           good[:len(good)-4],
		"garbage":                             "not-a-session",
		"signed with other keys":              foreign,
		"empty":                               "",
	}
	u, _ := url.Parse(a.srv.URL)
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			tb := a.browser()
			tb.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.DefaultCookieName, Value: value, Path: "/"}})
			if m := tb.me(); m.SignedIn {
				t.Errorf("got signed in as %s; want not signed in", m.Subject)
			}
		})
	}
	if !b.me().SignedIn {
		t.Errorf("the untampered cookie: got signed out; want signed in")
	}
}

func TestLogout(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "tess"), "/")
	r := b.post(a.srv.URL+"/logout", nil)
	// The end-session request names the client, where to come back, and — a strict
	// provider refuses the redirect without it — the sign-in's ID token as the hint
	// (logout_test.go checks the hint is that token).
	loc, _ := url.Parse(r.Header.Get("Location"))
	hint := loc.Query().Get("id_token_hint")
	want := a.idp.Issuer() + "/end_session?" + url.Values{"client_id": {testClientID}, "id_token_hint": {hint}, "post_logout_redirect_uri": {a.srv.URL + "/"}}.Encode()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want || !strings.HasPrefix(hint, "eyJ") {
		t.Fatalf("POST /logout: got %d to %q; want 303 to %q with the ID token as the hint", r.Status, r.Header.Get("Location"), want)
	}
	if c := r.Cookie(auth.DefaultCookieName); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout: got session cookie %v; want it deleted", c)
	}
	if b.me().SignedIn {
		t.Errorf("after logout: got signed in")
	}
	if e, ok := a.audits.last(auth.KindSignOut); !ok || e.Actor != "tess@paydesk.example" {
		t.Errorf("audit: got %+v; want sign_out by tess", e)
	}
	// The provider signs out too and sends the browser back to the app's root.
	end := b.follow(r, nil)
	if end.Status != http.StatusOK || end.URL.String() != a.srv.URL+"/" {
		t.Errorf("after end_session: got %d at %s; want the app's root", end.Status, end.URL)
	}
	// So the next sign-in asks for the password again.
	if page := b.startLogin("/"); !hasLoginForm(page) {
		t.Errorf("sign-in after logout: got status %d without a login form; want the provider to ask again", page.Status)
	}
}

func TestStepUp(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	before := b.me()

	// Fresh sign-in: the action goes through.
	if r := b.post(a.srv.URL+"/refund?return_to="+formPath, url.Values{"amount": {"12.34"}}); r.Status != http.StatusOK || r.Body != "refunded 12.34" {
		t.Fatalf("fresh refund: got %d %q; want it done", r.Status, r.Body)
	}

	a.clock.Advance(16 * time.Minute)
	if b.me().Fresh {
		t.Fatalf("16 minutes later: got Fresh; want a step-up needed")
	}
	typed := url.Values{"amount": {"12.34"}, "reason": {"duplicate charge"}, "csrf_token": {"abc"}, "note": {strings.Repeat("x", 2000)}}
	r := b.post(a.srv.URL+"/refund?return_to="+formPath, typed)
	want := "/login?" + url.Values{"next": {formPath}, "stepup": {"1"}}.Encode()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Fatalf("stale refund: got %d to %q; want 303 to %q", r.Status, r.Header.Get("Location"), want)
	}

	login := b.get(r.Location().String())
	q := login.Location().Query()
	if q.Get("prompt") != "login" || q.Get("max_age") != "0" {
		t.Errorf("step-up authorize: got prompt=%q max_age=%q; want prompt=login max_age=0", q.Get("prompt"), q.Get("max_age"))
	}
	// The provider still has its own session, yet asks for the password.
	page := b.follow(login, nil)
	end := b.follow(b.submitLogin(page, "sam", "sam-demo"), nil)
	if end.Status != http.StatusOK || end.URL.Path != formPath {
		t.Fatalf("after step-up: got %d at %s; want back on %s", end.Status, end.URL, formPath)
	}
	var got struct {
		Saved  bool       `json:"saved"`
		Values url.Values `json:"values"`
	}
	if err := json.Unmarshal([]byte(end.Body), &got); err != nil {
		t.Fatalf("saved form: %v", err)
	}
	wantForm := url.Values{"amount": {"12.34"}, "reason": {"duplicate charge"}}
	if !got.Saved || len(got.Values) != len(wantForm) || got.Values.Get("amount") != "12.34" || got.Values.Get("reason") != "duplicate charge" {
		t.Errorf("saved form: got %v (saved %v); want %v (no CSRF token, no oversized field)", got.Values, got.Saved, wantForm)
	}
	if again := b.get(a.srv.URL + formPath); !strings.Contains(again.Body, `"saved":false`) {
		t.Errorf("saved form a second time: got %s; want it gone", again.Body)
	}

	after := b.me()
	if !after.Fresh || after.AuthTime <= before.AuthTime || after.AuthTime != a.clock.Now().Unix() {
		t.Errorf("after step-up: got auth_time %d (fresh %v); want now %d, newer than %d", after.AuthTime, after.Fresh, a.clock.Now().Unix(), before.AuthTime)
	}
	if e, _ := a.audits.last(auth.KindSignIn); !strings.Contains(e.Message, "step-up") {
		t.Errorf("audit: got %q; want the sign-in marked step-up", e.Message)
	}
	if r := b.post(a.srv.URL+"/refund?return_to="+formPath, url.Values{"amount": {"12.34"}}); r.Body != "refunded 12.34" {
		t.Errorf("refund after step-up: got %d %q; want it done", r.Status, r.Body)
	}
}

func TestStepUpAsSomeoneElseDropsTheForm(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	a.clock.Advance(20 * time.Minute)
	r := b.post(a.srv.URL+"/refund?return_to="+formPath, url.Values{"amount": {"99.00"}})
	page := b.follow(b.get(r.Location().String()), nil)
	end := b.follow(b.submitLogin(page, "fran", "fran-demo"), nil)
	if !strings.Contains(end.Body, `"saved":false`) {
		t.Errorf("form after fran signed in over sam's step-up: got %s; want nothing saved for fran", end.Body)
	}
	if m := b.me(); m.Subject != "fran" {
		t.Errorf("got %s signed in; want fran", m.Subject)
	}
}

func TestStepUpNotSignedInSavesNothing(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	// The handler calls StepUp for someone not signed in (e.g. right after expiry).
	r := b.post(a.srv.URL+"/refund?return_to="+formPath, url.Values{"amount": {"1"}})
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("got %d; want 401 from the handler", r.Status)
	}
	if g := b.get(a.srv.URL + formPath); !strings.Contains(g.Body, `"saved":false`) {
		t.Errorf("got %s; want nothing saved", g.Body)
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	a := newApp(t, nil)
	tests := []struct {
		next string
		want string
	}{
		{"//evil.example", "/"},
		{"https://evil.example", "/"},
		{"http://evil.example/payments", "/"},
		{`/\evil.example`, "/"},
		{"/\t/evil.example", "/"},
		{"/%0a/evil.example", "/%0a/evil.example"}, // escaped: stays a path on this site
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"", "/"},
		{"/" + strings.Repeat("a", 600), "/"},
		{"/payments?status=paid", "/payments?status=paid"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			b := a.browser()
			cb := b.toCallback(b.startLogin(tt.next), demoUser(t, "fran"))
			r := b.get(cb.String())
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tt.want {
				t.Errorf("after sign-in: got %d to %q; want 303 to %q", r.Status, r.Header.Get("Location"), tt.want)
			}
			// Signed in already, /login goes straight to next: the same check.
			r = b.get(a.srv.URL + "/login?next=" + url.QueryEscape(tt.next))
			if r.Header.Get("Location") != tt.want {
				t.Errorf("signed in: got /login to %q; want %q", r.Header.Get("Location"), tt.want)
			}
		})
	}
	// StepUp's returnTo goes through the same check.
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	a.clock.Advance(20 * time.Minute)
	r := b.post(a.srv.URL+"/refund?return_to="+url.QueryEscape("https://evil.example"), url.Values{"amount": {"1"}})
	if want := "/login?next=%2F&stepup=1"; r.Header.Get("Location") != want {
		t.Errorf("StepUp to an absolute URL: got %q; want %q", r.Header.Get("Location"), want)
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		a := newApp(t, func(c *auth.Config) { c.Secure = secure })
		b := a.browser()
		start := b.get(a.srv.URL + "/login")
		cb := b.toCallback(b.follow(start, nil), demoUser(t, "sam"))
		end := b.get(cb.String())
		for _, c := range []*http.Cookie{start.Cookie(auth.DefaultCookieName + "_login"), end.Cookie(auth.DefaultCookieName)} {
			if c == nil {
				t.Fatalf("secure=%v: a cookie is missing (login %v, session %v)", secure, start.Cookies, end.Cookies)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
				t.Errorf("secure=%v: cookie %s: got HttpOnly=%v SameSite=%v Secure=%v Path=%q; want HttpOnly, Lax, Secure=%v, /",
					secure, c.Name, c.HttpOnly, c.SameSite, c.Secure, c.Path, secure)
			}
		}
		if c := end.Cookie(auth.DefaultCookieName); c.MaxAge != int((12 * time.Hour).Seconds()) {
			t.Errorf("session cookie Max-Age: got %d; want 12h", c.MaxAge)
		}
		if c := start.Cookie(auth.DefaultCookieName + "_login"); c.MaxAge != 600 {
			t.Errorf("sign-in cookie Max-Age: got %d; want 600", c.MaxAge)
		}
	}
}

func TestFlashes(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	add := func(kind, msg string) {
		if r := b.post(a.srv.URL+"/flash", url.Values{"kind": {kind}, "msg": {msg}}); r.Status != http.StatusNoContent {
			t.Fatalf("POST /flash: got %d", r.Status)
		}
	}
	take := func() []auth.Flash {
		var f []auth.Flash
		json.Unmarshal([]byte(b.get(a.srv.URL+"/flash").Body), &f)
		return f
	}
	add(auth.FlashSuccess, "Refund requested.")
	add("bogus", "Shown as info.")
	got := take()
	want := []auth.Flash{{Kind: "success", Message: "Refund requested."}, {Kind: "info", Message: "Shown as info."}}
	if !slices.Equal(got, want) {
		t.Errorf("flashes: got %v; want %v", got, want)
	}
	if again := take(); len(again) != 0 {
		t.Errorf("flashes a second time: got %v; want none", again)
	}
	for i := 0; i < 7; i++ {
		add(auth.FlashError, string(rune('a'+i)))
	}
	add(auth.FlashInfo, strings.Repeat("é", 400))
	got = take()
	if len(got) != 5 || got[0].Message != "d" || !strings.HasSuffix(got[4].Message, "…") || len(got[4].Message) > 310 {
		t.Errorf("capped flashes: got %d, first %q, last %d bytes; want the newest 5, the long one cut", len(got), got[0].Message, len(got[4].Message))
	}
	// A flash survives sign-in's session renewal only if added after it; the session
	// after sign-in starts clean.
	add(auth.FlashInfo, "before sign-in")
	b.signIn(demoUser(t, "sam"), "/")
	if got := take(); len(got) != 0 {
		t.Errorf("flashes after sign-in: got %v; want a clean session", got)
	}
}

// TestEmailRoles checks that e-mail mappings (any case) add up with the groups' roles.
func TestEmailRoles(t *testing.T) {
	a := newApp(t, func(c *auth.Config) {
		c.EmailRoles = map[string][]auth.Role{"SAM@paydesk.example": {auth.RoleManager}, "nora@paydesk.example": {auth.RoleFinance}}
	})
	for _, tt := range []struct {
		user  string
		roles []auth.Role
	}{
		{"sam", []auth.Role{auth.RoleSupport, auth.RoleManager}},
		{"nora", []auth.Role{auth.RoleFinance}},
		{"fran", []auth.Role{auth.RoleFinance}},
	} {
		b := a.browser()
		b.signIn(demoUser(t, tt.user), "/")
		if got := b.me().Roles; !slices.Equal(got, tt.roles) {
			t.Errorf("%s: got roles %v; want %v", tt.user, got, tt.roles)
		}
	}
}
