package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"paydesk/ops/opstest"
	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web/auth"
	"paydesk/web/devidp"
	"paydesk/web/devidp/idptest"
)

// auditEntry is one call of Config.Audit.
type auditEntry struct {
	Actor, Kind, Message, Remote string
}

type auditLog struct {
	mu      sync.Mutex
	entries []auditEntry
}

func (l *auditLog) record(_ context.Context, r *http.Request, actor, kind, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, auditEntry{actor, kind, message, r.RemoteAddr})
}

// last returns the latest entry of kind.
func (l *auditLog) last(kind string) (auditEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.entries) - 1; i >= 0; i-- {
		if l.entries[i].Kind == kind {
			return l.entries[i], true
		}
	}
	return auditEntry{}, false
}

// app is Paydesk's sign-in mounted on a test server, against a development provider.
type app struct {
	t       *testing.T
	clock   *opstest.Clock
	idp     *idptest.Provider
	auth    *auth.Auth
	srv     *httptest.Server
	audits  *auditLog
	db      *storage.DB  // where the sessions are kept
	cfg     auth.Config  // what auth was built with (restart builds it again)
	handler atomic.Value // a serving: what the test server serves
}

const (
	testClientID     = idptest.ClientID
	testClientSecret = idptest.ClientSecret
	formPath         = "/refund/form"
)

// newApp starts a provider and the app; edit may change the auth configuration.
func newApp(t *testing.T, edit func(*auth.Config)) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := &app{t: t, clock: opstest.NewWallClock(), audits: &auditLog{}}
	db := openSessionDB(t, a.clock)
	a.db = db

	a.handler.Store(serving{http.NotFoundHandler()})
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handler.Load().(serving).ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	a.idp = idptest.Start(t, idptest.Options{AppURL: a.srv.URL, Now: a.clock.Now})

	groupRoles, err := auth.ParseRoleMap(devidp.DemoRoleMap())
	if err != nil {
		t.Fatalf("ParseRoleMap(DemoRoleMap()): %v", err)
	}
	hashKey, blockKey := auth.NewSessionKeys()
	cfg := auth.Config{
		IssuerURL:    a.idp.Issuer(),
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURL:  a.idp.CallbackURL(),
		GroupRoles:   groupRoles,
		HashKey:      hashKey,
		BlockKey:     blockKey,
		Now:          a.clock.Now,
		Logger:       slog.New(slog.DiscardHandler),
		Audit:        a.audits.record,
		Sessions:     db,
	}
	if edit != nil {
		edit(&cfg)
	}
	a.cfg = cfg
	a.auth, err = auth.New(ctx, cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	a.handler.Store(serving{a.routes()})
	return a
}

// serving is the handler the test server serves (one type, for atomic.Value).
type serving struct{ http.Handler }

// openSessionDB opens a fresh database for the sessions, on the test's clock.
func openSessionDB(t *testing.T, clock *opstest.Clock) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = clock.Now
	t.Cleanup(func() { db.Close() })
	return db
}

// restart builds a new auth.Auth from the same configuration and database, as a
// restarted server does, and serves the app with it.
func (a *app) restart() {
	a.t.Helper()
	var err error
	if a.auth, err = auth.New(context.Background(), a.cfg); err != nil {
		a.t.Fatalf("auth.New after a restart: %v", err)
	}
	a.handler.Store(serving{a.routes()})
}

// me is what GET /me reports.
type me struct {
	SignedIn   bool        `json:"signed_in"`
	Subject    string      `json:"subject"`
	Email      string      `json:"email"`
	Name       string      `json:"name"`
	Roles      []auth.Role `json:"roles"`
	AuthTime   int64       `json:"auth_time"`
	SignedInAt int64       `json:"signed_in_at"`
	SessionID  string      `json:"session_id"`
	NoAccess   bool        `json:"no_access"`
	Fresh      bool        `json:"fresh"`
}

// routes is a miniature of Paydesk's route table: the sign-in handlers, a page that
// shows the user, and a money-moving form behind a step-up.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.auth.Login)
	mux.HandleFunc("GET /auth/callback", a.auth.Callback)
	mux.HandleFunc("POST /logout", a.auth.Logout)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	mux.HandleFunc("GET /payments", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "payments") })
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.auth.CurrentUser(w, r)
		m := me{SignedIn: ok}
		if ok {
			m = me{true, u.Subject, u.Email, u.Name, u.Roles, u.AuthTime.Unix(), u.SignedInAt.Unix(), u.SessionID, u.NoAccess(), a.auth.Fresh(u)}
		}
		json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("POST /refund", func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.auth.CurrentUser(w, r)
		if !ok {
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		if !a.auth.Fresh(u) {
			a.auth.StepUp(w, r, r.URL.Query().Get("return_to"), r.PostForm)
			return
		}
		io.WriteString(w, "refunded "+r.PostForm.Get("amount"))
	})
	mux.HandleFunc("GET "+formPath, func(w http.ResponseWriter, r *http.Request) {
		v, ok := a.auth.SavedForm(w, r, formPath)
		json.NewEncoder(w).Encode(struct {
			Saved  bool       `json:"saved"`
			Values url.Values `json:"values"`
		}{ok, v})
	})
	mux.HandleFunc("POST /flash", func(w http.ResponseWriter, r *http.Request) {
		a.auth.AddFlash(w, r, r.FormValue("kind"), r.FormValue("msg"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /flash", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(a.auth.Flashes(w, r))
	})
	return mux
}

// response is one HTTP exchange as a browser sees it.
type response = idptest.Page

// browser has a cookie jar and follows redirects one step at a time, only to the app
// and the provider: a redirect anywhere else is where the test stops.
type browser struct {
	t      *testing.T
	a      *app
	b      *idptest.Browser
	client *http.Client
}

func (a *app) browser() *browser {
	b := idptest.NewBrowser(a.t, idptest.FollowNone)
	return &browser{t: a.t, a: a, b: b, client: b.Client}
}

func (b *browser) get(u string) *response {
	b.t.Helper()
	return b.b.Get(u)
}

func (b *browser) post(u string, form url.Values) *response {
	b.t.Helper()
	return b.b.Post(u, form)
}

// ours reports whether u is on the app or the provider.
func (b *browser) ours(u *url.URL) bool { return b.a.idp.Ours(u) }

// follow follows redirects until a page, a redirect off our hosts, or stop says so.
func (b *browser) follow(r *response, stop func(*url.URL) bool) *response {
	b.t.Helper()
	return b.b.FollowWhile(r, func(next *url.URL) bool { return b.ours(next) && (stop == nil || !stop(next)) })
}

// submitLogin fills the provider's login form on page.
func (b *browser) submitLogin(page *response, username, password string) *response {
	b.t.Helper()
	return b.a.idp.SubmitLogin(b.b, page, username, password)
}

// isCallback reports whether u is the app's callback.
func (b *browser) isCallback(u *url.URL) bool { return b.a.idp.IsCallback(u) }

// startLogin goes to /login?next=… and on to the provider's login page.
func (b *browser) startLogin(next string) *response {
	b.t.Helper()
	q := ""
	if next != "" {
		q = "?next=" + url.QueryEscape(next)
	}
	return b.follow(b.get(b.a.srv.URL+"/login"+q), nil)
}

// toCallback signs in at the provider and stops at the redirect to the app's callback.
func (b *browser) toCallback(page *response, u devidp.User) *url.URL {
	b.t.Helper()
	r := b.follow(b.submitLogin(page, u.Username, u.Password), b.isCallback)
	if loc := r.Location(); loc == nil || !b.isCallback(loc) {
		b.t.Fatalf("want a redirect to the callback; got status %d to %q", r.Status, r.Header.Get("Location"))
	}
	return r.Location()
}

// signIn runs the whole sign-in for u and returns where the browser lands.
func (b *browser) signIn(u devidp.User, next string) *response {
	b.t.Helper()
	return b.follow(b.submitLogin(b.startLogin(next), u.Username, u.Password), nil)
}

func (b *browser) me() me {
	b.t.Helper()
	r := b.get(b.a.srv.URL + "/me")
	var m me
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		b.t.Fatalf("GET /me: %v in %q", err, r.Body)
	}
	return m
}

// sessionCookie returns the browser's session cookie for the app, or nil.
func (b *browser) sessionCookie() *http.Cookie {
	return b.b.Cookie(b.a.srv.URL, auth.DefaultCookieName)
}

func demoUser(t *testing.T, name string) devidp.User {
	t.Helper()
	return idptest.DemoUser(t, name)
}

// hasLoginForm reports whether page is the provider's login form.
func hasLoginForm(page *response) bool {
	_, ok := idptest.LoginFormID(page.Body)
	return ok
}
