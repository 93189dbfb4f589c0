package auth_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web/auth"
)

// instances is two Paydesk instances behind one address: two auth.Auth built from the
// same configuration (the same cookie keys), each on its own handle of one database, as
// two processes on one PostgreSQL are. Requests go to the one use names.
type instances struct {
	a, b *app
	toB  atomic.Bool
}

// use sends the next requests to x (i.a or i.b).
func (i *instances) use(x *app) { i.toB.Store(x == i.b) }

func newInstances(t *testing.T) *instances {
	t.Helper()
	dsn := sharedTestDSN(t)
	open := func() *storage.DB {
		db, err := storage.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	a := newApp(t, func(c *auth.Config) { c.Sessions, c.RateLimits = dbA, dbA })
	dbA.Now, dbB.Now = a.clock.Now, a.clock.Now
	a.db = dbA
	cfg := a.cfg
	cfg.Sessions, cfg.RateLimits = dbB, dbB
	b := &app{t: t, clock: a.clock, idp: a.idp, srv: a.srv, audits: a.audits, db: dbB, cfg: cfg}
	var err error
	if b.auth, err = auth.New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	i := &instances{a: a, b: b}
	ra, rb := a.routes(), b.routes()
	a.handler.Store(serving{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i.toB.Load() {
			rb.ServeHTTP(w, r)
			return
		}
		ra.ServeHTTP(w, r)
	})})
	return i
}

// sharedTestDSN is the database two instances of a test share, on the run's engine.
func sharedTestDSN(t *testing.T) string {
	return storagetest.DSN(t)
}

// A sign-in started on one instance completes on the other (the flow cookie is sealed
// with the keys both share); the session is seen by both; a sign-out on one ends it on the
// other at once, even right after the other read it.
func TestSessionsAcrossInstances(t *testing.T) {
	i := newInstances(t)
	br := i.a.browser()
	i.use(i.a)
	page := br.startLogin("/payments")
	cb := br.toCallback(page, demoUser(t, "sam"))
	i.use(i.b)
	if r := br.get(cb.String()); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/payments" {
		t.Fatalf("callback on the other instance: %d to %q; want 303 to /payments", r.Status, r.Header.Get("Location"))
	}
	for _, x := range []*app{i.b, i.a} {
		i.use(x)
		if m := br.me(); !m.SignedIn || m.Subject != "sam" {
			t.Fatalf("instance %v: %+v; want sam signed in", x == i.b, m)
		}
	}
	// a has just read the session; b ends it; a's next request finds it ended.
	copied := br.sessionCookie()
	i.use(i.b)
	if r := br.post(i.a.srv.URL+"/logout", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("logout on b: %d", r.Status)
	}
	// The sign-out cleared the browser's cookie: put the copy back (another tab, a stolen
	// cookie), which must no longer work on a.
	u, _ := url.Parse(i.a.srv.URL)
	br.client.Jar.SetCookies(u, []*http.Cookie{{Name: copied.Name, Value: copied.Value, Path: "/"}})
	i.use(i.a)
	if m := br.me(); m.SignedIn {
		t.Fatal("signed in on a after signing out on b")
	}
}

// A copy of the session cookie stops working on every instance when the session is ended
// on one, including on the instance that read it a moment before.
func TestSignOutEndsCopiesOnOtherInstance(t *testing.T) {
	i := newInstances(t)
	br := i.a.browser()
	i.use(i.a)
	br.signIn(demoUser(t, "sam"), "/")
	cookie := br.sessionCookie()
	if cookie == nil {
		t.Fatal("no session cookie after the sign-in")
	}
	me := func() int {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		x := i.a
		if i.toB.Load() {
			x = i.b
		}
		u, ok := x.auth.CurrentUser(w, req)
		if ok && u.Subject == "sam" {
			return 1
		}
		return 0
	}
	if me() != 1 {
		t.Fatal("the cookie does not work on a")
	}
	i.use(i.b)
	br.post(i.a.srv.URL+"/logout", nil)
	i.use(i.a)
	if me() != 0 {
		t.Error("a copy of the cookie still works on a after the sign-out on b")
	}
}

// Failed sign-in callbacks from one address are limited across instances: spread over
// two, they get the budget of one (about 20 answered 400, then 429 on both).
func TestCallbackFailuresLimitedAcrossInstances(t *testing.T) {
	i := newInstances(t)
	statuses := map[int]int{}
	for n := range 60 {
		x := i.a
		if n%2 == 1 {
			x = i.b
		}
		req := httptest.NewRequest(http.MethodGet, "/auth/callback?state=forged-state&code=forged-code", nil)
		req.RemoteAddr = "203.0.113.7:40000"
		w := httptest.NewRecorder()
		x.auth.Callback(w, req)
		statuses[w.Code]++
	}
	if statuses[http.StatusBadRequest] < 18 || statuses[http.StatusBadRequest] > 25 {
		t.Errorf("statuses over two instances: %v; want about 20 answered 400 in all, the rest 429", statuses)
	}
	// Both instances refuse now.
	for _, x := range []*app{i.a, i.b} {
		req := httptest.NewRequest(http.MethodGet, "/auth/callback?state=forged-state&code=forged-code", nil)
		req.RemoteAddr = "203.0.113.7:40001"
		w := httptest.NewRecorder()
		x.auth.Callback(w, req)
		if w.Code != http.StatusTooManyRequests {
			t.Errorf("instance b=%v: %d, want 429", x == i.b, w.Code)
		}
	}
}

// A session ended on one instance (here straight in its database, as a manager's "end
// session" or a sign-out does) is ended on the other at its very next request, with no
// wait for the other to hear of the commit.
func TestEndedSessionEndsAtOnceOnOtherInstance(t *testing.T) {
	i := newInstances(t)
	br := i.a.browser()
	i.use(i.a)
	br.signIn(demoUser(t, "sam"), "/")
	cookie := br.sessionCookie()
	if cookie == nil {
		t.Fatal("no session cookie after the sign-in")
	}
	signedIn := func() bool {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.AddCookie(cookie)
		_, ok := i.a.auth.CurrentUser(httptest.NewRecorder(), req)
		return ok
	}
	for n := range 20 {
		if !signedIn() {
			t.Fatal("the cookie does not work on a")
		}
		if n < 19 {
			continue
		}
		h := sha256.Sum256([]byte(cookie.Value))
		if ok, err := i.b.db.DeleteSession(context.Background(), h[:]); err != nil || !ok {
			t.Fatalf("end the session on b: %v, %v", ok, err)
		}
		if signedIn() {
			t.Error("the session ended on b still works on a")
		}
	}
}
