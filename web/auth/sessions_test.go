package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web/auth"
)

// countingRecords counts the writes that renew a session (and the inserts).
type countingRecords struct {
	auth.SessionRecords
	touches, inserts atomic.Int64
}

func (c *countingRecords) TouchSession(ctx context.Context, h []byte, seen, expires, notAfter time.Time) (bool, error) {
	ok, err := c.SessionRecords.TouchSession(ctx, h, seen, expires, notAfter)
	if ok {
		c.touches.Add(1)
	}
	return ok, err
}

func (c *countingRecords) InsertSession(ctx context.Context, s storage.Session) error {
	c.inserts.Add(1)
	return c.SessionRecords.InsertSession(ctx, s)
}

// countWrites wraps the configuration's session store in a counter.
func countWrites(c *auth.Config) *countingRecords {
	r := &countingRecords{SessionRecords: c.Sessions}
	c.Sessions = r
	return r
}

// record reads the browser's session record from the database (the test fails if none).
func (b *browser) record() storage.Session {
	b.t.Helper()
	c := b.sessionCookie()
	if c == nil {
		b.t.Fatal("no session cookie")
	}
	h := sha256.Sum256([]byte(c.Value))
	rec, err := b.a.db.Session(context.Background(), h[:])
	if err != nil {
		b.t.Fatalf("the session's record: %v", err)
	}
	return rec
}

// withCookie is a new browser holding a copy of value as its session cookie.
func (a *app) withCookie(value string) *browser {
	b := a.browser()
	u, _ := url.Parse(a.srv.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.DefaultCookieName, Value: value, Path: "/"}})
	return b
}

// refused checks that a browser holding a copied cookie is signed out: no user, and a
// money-moving POST is refused.
func refused(t *testing.T, b *browser, when string) {
	t.Helper()
	if m := b.me(); m.SignedIn {
		t.Errorf("%s: a copied cookie signs in as %s; want refused", when, m.Subject)
	}
	if r := b.post(b.a.srv.URL+"/refund?return_to="+formPath, url.Values{"amount": {"1.00"}}); r.Status != http.StatusUnauthorized {
		t.Errorf("%s: a refund with a copied cookie got %d %q; want 401", when, r.Status, r.Body)
	}
}

// TestRecordHoldsTheSession: the cookie carries only a random id (256 bits, base64url);
// the database keeps its SHA-256, never the id, and what the session holds — the person,
// their roles, the sign-in times, the browser — with no token but the ID token kept as
// the sign-out's hint.
func TestRecordHoldsTheSession(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "tess"), "/")
	c := b.sessionCookie()
	if len(c.Value) != 43 || strings.ContainsAny(c.Value, "+/=.") {
		t.Errorf("cookie value %q: want 43 base64url characters (32 random bytes)", c.Value)
	}
	rec := b.record()
	now := a.clock.Now()
	if rec.Subject != "tess" || rec.Email != "tess@paydesk.example" || !rec.SignedInAt.Equal(now) || !rec.LastSeen.Equal(now) ||
		!rec.ExpiresAt.Equal(now.Add(auth.DefaultIdleTimeout)) || !strings.HasPrefix(rec.UserAgent, "Go-http-client") {
		t.Errorf("record: %+v", rec)
	}
	var data map[string]any
	if err := json.Unmarshal(rec.Data, &data); err != nil {
		t.Fatalf("record data %q: %v", rec.Data, err)
	}
	if roles, _ := data["roles"].([]any); len(roles) != 2 || roles[0] != "support" || roles[1] != "finance" {
		t.Errorf("record roles: %v; want support and finance", data["roles"])
	}
	// The ID token is kept only as the sign-out's id_token_hint, in its own field: no
	// access or refresh token, and no token anywhere else in the record.
	idToken, _ := data["idt"].(string)
	if !strings.HasPrefix(idToken, "eyJ") || strings.Contains(strings.Replace(string(rec.Data), idToken, "", 1), "eyJ") {
		t.Errorf("record data: want the ID token once, as the sign-out hint, and no other token: %s", rec.Data)
	}
	for _, k := range []string{"access_token", "refresh_token", "at", "rt"} {
		if _, ok := data[k]; ok {
			t.Errorf("record data holds %q: %s", k, rec.Data)
		}
	}
	// Nothing in the database is the cookie's id: a database reader cannot replay it.
	var n int
	err := a.db.SQL().QueryRow("SELECT count(*) FROM sessions WHERE instr(CAST(id_hash AS TEXT), ?) > 0 OR instr(data, ?) > 0", c.Value, c.Value).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the cookie's id is in the database (%d rows, %v)", n, err)
	}
	// The hash itself, as a cookie, is nobody's session.
	refused(t, a.withCookie(base64.RawURLEncoding.EncodeToString(rec.IDHash)), "the record's hash as a cookie")
}

func TestCopiedCookieRefusedAfterSignOut(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	copied := b.sessionCookie().Value
	if m := a.withCookie(copied).me(); !m.SignedIn {
		t.Fatalf("a copied cookie before sign-out: got signed out; want the session (it is the same id)")
	}
	b.post(a.srv.URL+"/logout", nil)
	refused(t, a.withCookie(copied), "after sign-out")
	if n := countSessions(t, a, "sam"); n != 0 {
		t.Errorf("%d records left for sam after sign-out; want 0", n)
	}
}

func TestCopiedCookieRefusedAfterSignOutEverywhere(t *testing.T) {
	a := newApp(t, nil)
	laptop, phone, other := a.browser(), a.browser(), a.browser()
	laptop.signIn(demoUser(t, "sam"), "/")
	phone.signIn(demoUser(t, "sam"), "/")
	other.signIn(demoUser(t, "fran"), "/")
	copied := phone.sessionCookie().Value
	// What the "sign out everywhere" button does (web/sessions.go): every record of the
	// person goes, then the browser signs out.
	if n, err := a.db.DeleteSessionsOf(context.Background(), "sam"); n != 2 || err != nil {
		t.Fatalf("DeleteSessionsOf(sam): %d, %v; want 2", n, err)
	}
	refused(t, laptop, "the laptop, after sign out everywhere")
	refused(t, phone, "the phone, after sign out everywhere")
	refused(t, a.withCookie(copied), "a copy, after sign out everywhere")
	if !other.me().SignedIn {
		t.Errorf("fran was signed out by sam's sign out everywhere")
	}
}

func TestCopiedCookieRefusedAfterIdleExpiry(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	copied := b.sessionCookie().Value
	a.clock.Advance(31 * time.Minute)
	refused(t, a.withCookie(copied), "after 31 idle minutes")
	// The first refused request ended the record: the owner's browser is out too.
	if n := countSessions(t, a, "sam"); n != 0 {
		t.Errorf("%d records left after the idle expiry was found; want 0", n)
	}
	if b.me().SignedIn {
		t.Errorf("the owner's browser after the idle expiry: signed in")
	}
}

func TestCopiedCookieRefusedAfterAbsoluteExpiry(t *testing.T) {
	a := newApp(t, func(c *auth.Config) { c.AbsoluteTimeout = time.Hour })
	b := a.browser()
	b.signIn(demoUser(t, "max"), "/")
	copied := b.sessionCookie().Value
	for range 3 { // kept active: the idle expiry never comes
		a.clock.Advance(25 * time.Minute)
		b.me()
	}
	refused(t, a.withCookie(copied), "after the absolute expiry (1h15m, active)")
	if e, ok := a.audits.last(auth.KindSessionExpired); !ok || !strings.Contains(e.Message, "more than 1h0m0s ago") {
		t.Errorf("audit: got %+v; want session_expired (absolute)", e)
	}
}

// TestExpiredSessionsAreSwept: a session nobody comes back to is deleted by the sweep
// (what the maintenance round calls), not left in the table.
func TestExpiredSessionsAreSwept(t *testing.T) {
	a := newApp(t, nil)
	idle, active := a.browser(), a.browser()
	idle.signIn(demoUser(t, "sam"), "/")
	active.signIn(demoUser(t, "fran"), "/")
	copied := idle.sessionCookie().Value
	a.clock.Advance(20 * time.Minute)
	active.me()
	a.clock.Advance(11 * time.Minute)
	n, err := a.db.DeleteExpiredSessions(context.Background(), a.clock.Now())
	if n != 1 || err != nil {
		t.Fatalf("sweep: %d, %v; want sam's idle session", n, err)
	}
	if countSessions(t, a, "sam") != 0 || countSessions(t, a, "fran") != 1 {
		t.Errorf("after the sweep: sam %d, fran %d sessions; want 0 and 1", countSessions(t, a, "sam"), countSessions(t, a, "fran"))
	}
	refused(t, a.withCookie(copied), "after the sweep")
}

// TestRestartKeepsSessions: a new auth.Auth on the same database (a restarted server, a
// second instance) knows the sessions; sign-out there ends them here too.
func TestRestartKeepsSessions(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "fran"), "/")
	before := b.me()
	a.restart()
	after := b.me()
	if !after.SignedIn || after.SessionID != before.SessionID || after.SignedInAt != before.SignedInAt || !slices.Equal(after.Roles, before.Roles) {
		t.Fatalf("after a restart: got %+v; want the same session as %+v", after, before)
	}
	copied := b.sessionCookie().Value
	b.post(a.srv.URL+"/logout", nil)
	refused(t, a.withCookie(copied), "after sign-out on the restarted server")
}

// TestConcurrentRequestsRenewOnce: twenty requests of one session at once, a minute after
// the last renewal, write the record once.
func TestConcurrentRequestsRenewOnce(t *testing.T) {
	var records *countingRecords
	a := newApp(t, func(c *auth.Config) { records = countWrites(c) })
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	copied := b.sessionCookie().Value
	a.clock.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	var signedIn atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/me", nil)
			req.AddCookie(&http.Cookie{Name: auth.DefaultCookieName, Value: copied})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var m me
			if json.NewDecoder(resp.Body).Decode(&m) == nil && m.SignedIn {
				signedIn.Add(1)
			}
		}()
	}
	wg.Wait()
	if signedIn.Load() != 20 {
		t.Errorf("%d of 20 requests signed in; want all", signedIn.Load())
	}
	if n := records.touches.Load(); n != 1 {
		t.Errorf("the record was renewed %d times by 20 concurrent requests; want once", n)
	}
	if rec := b.record(); !rec.LastSeen.Equal(a.clock.Now()) {
		t.Errorf("last seen %s; want %s", rec.LastSeen, a.clock.Now())
	}
}

// TestRolesComeFromTheRecordUntilTheNextSignIn: roles are written into the record at
// sign-in; a change of mapping (here, of the configuration, as a change of groups at the
// identity provider would) applies to the next sign-in, not to a session under way.
func TestRolesComeFromTheRecordUntilTheNextSignIn(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	a.cfg.EmailRoles = map[string][]auth.Role{"sam@paydesk.example": {auth.RoleManager}}
	a.restart()
	if got := b.me().Roles; !slices.Equal(got, []auth.Role{auth.RoleSupport}) {
		t.Errorf("session under way: roles %v; want the ones written at sign-in", got)
	}
	r := b.follow(b.get(a.srv.URL+"/login?stepup=1"), nil)
	b.follow(b.submitLogin(r, "sam", "sam-demo"), nil)
	if got := b.me().Roles; !slices.Equal(got, []auth.Role{auth.RoleSupport, auth.RoleManager}) {
		t.Errorf("after the next sign-in: roles %v; want the new ones", got)
	}
}

// TestEndedByAnotherRequestStaysEnded: a session ended elsewhere (a manager, another
// browser) while a request of it is under way is not written back by that request.
func TestEndedByAnotherRequestStaysEnded(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	h := b.record().IDHash
	// What the request would write after the session was ended: UpdateSession refuses.
	rec := b.record()
	if ok, err := a.db.DeleteSession(context.Background(), h); !ok || err != nil {
		t.Fatal(err)
	}
	if err := a.db.UpdateSession(context.Background(), rec); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update of an ended session: %v; want not found", err)
	}
	// A flash after the end starts a visitor's session, not the ended one.
	b.post(a.srv.URL+"/flash", url.Values{"kind": {"info"}, "msg": {"x"}})
	if b.me().SignedIn {
		t.Errorf("signed in again after the session was ended")
	}
}

// countSessions counts the records of a person.
func countSessions(t *testing.T, a *app, subject string) int {
	t.Helper()
	var n int
	if err := a.db.SQL().QueryRow("SELECT count(*) FROM sessions WHERE subject = ?", subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDatabaseOutageGrace: when the database does not answer, a session read from it less
// than a minute ago still reads (pages then fail as every query does, rather than sending
// everyone to sign in); after that minute, nobody is signed in.
func TestDatabaseOutageGrace(t *testing.T) {
	a := newApp(t, nil)
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	b.me()
	a.db.Close()
	if !b.me().SignedIn {
		t.Errorf("database down, session read just before: got signed out; want the grace")
	}
	if m := a.browser().me(); m.SignedIn {
		t.Errorf("database down: a browser without a session got %s", m.Subject)
	}
	a.clock.Advance(61 * time.Second)
	if b.me().SignedIn {
		t.Errorf("database down for over a minute: got signed in; want no session")
	}
}

// readCounting is the database as the session store sees it, counting record reads.
type readCounting struct {
	*storage.DB
	reads atomic.Int64
}

func (c *readCounting) Session(ctx context.Context, h []byte) (storage.Session, error) {
	c.reads.Add(1)
	return c.DB.Session(ctx, h)
}

// TestRecordReadAgainOnlyAfterACommit: while the database's data version stays the same
// (nothing committed, by any connection), a request reuses the record it read; after any
// commit it reads it again — so a session ended from another connection (another Paydesk
// process, a manager's page) ends at the next request.
func TestRecordReadAgainOnlyAfterACommit(t *testing.T) {
	var records *readCounting
	a := newApp(t, func(c *auth.Config) {
		records = &readCounting{DB: c.Sessions.(*storage.DB)}
		c.Sessions = records
	})
	b := a.browser()
	b.signIn(demoUser(t, "sam"), "/")
	if !b.me().SignedIn {
		t.Fatal("not signed in")
	}
	before := records.reads.Load()
	for range 5 {
		if !b.me().SignedIn {
			t.Fatal("signed out with nothing changed")
		}
	}
	// On PostgreSQL every request reads its record: another instance's sign-out reaches
	// this one's data version only when its notification arrives (web/auth/store.go).
	idle := int64(0)
	if storagetest.Postgres() {
		idle = 5
	}
	if n := records.reads.Load() - before; n != idle {
		t.Errorf("5 requests with nothing committed read the record %d times; want %d", n, idle)
	}
	// Ended behind the store's back (plain SQL, as another process would): the version
	// moves, the record is read again, and it is gone.
	h := sha256.Sum256([]byte(b.sessionCookie().Value))
	if res, err := a.db.SQL().Exec(`DELETE FROM sessions WHERE id_hash = ?`, h[:]); err != nil {
		t.Fatalf("delete the record: %v", err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("deleted %d records; want 1", n)
	}
	if b.me().SignedIn {
		t.Error("signed in after the record was deleted by another connection")
	}
	if n := records.reads.Load() - before; n != idle+1 {
		t.Errorf("after the commit the record was read %d times; want %d", n, idle+1)
	}
}
