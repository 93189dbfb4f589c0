package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// TestSessionLifecycle: a session is inserted, read by its hash, updated without moving
// its times back, and deleted; an update never brings an ended session back.
func TestSessionLifecycle(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := testEpoch
	s := Session{
		IDHash: sessionHash("a"), Subject: "sam", Email: "sam@example.com", Name: "Sam",
		UserAgent: strings.Repeat("é", 200), SignedInAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute),
		Data: []byte(`{"sub":"sam"}`),
	}
	if err := db.InsertSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.Session(ctx, s.IDHash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "sam" || got.Email != s.Email || !got.SignedInAt.Equal(now) || !got.ExpiresAt.Equal(s.ExpiresAt) || string(got.Data) != `{"sub":"sam"}` {
		t.Errorf("read back %+v", got)
	}
	if len(got.UserAgent) > MaxUserAgent || !strings.HasPrefix(s.UserAgent, got.UserAgent) || !strings.HasSuffix(got.UserAgent, "é") {
		t.Errorf("user agent kept as %d bytes %q, want at most %d whole characters", len(got.UserAgent), got.UserAgent, MaxUserAgent)
	}
	if err := db.InsertSession(ctx, s); err == nil {
		t.Error("inserting the same id hash twice: no error")
	}

	// An update with older times keeps the newer ones.
	s.Data, s.LastSeen, s.ExpiresAt = []byte(`{"sub":"sam","flash":[]}`), now.Add(-time.Hour), now
	if err := db.UpdateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Session(ctx, s.IDHash)
	if string(got.Data) != `{"sub":"sam","flash":[]}` || !got.LastSeen.Equal(now) || !got.ExpiresAt.Equal(now.Add(30*time.Minute)) {
		t.Errorf("after update: %+v", got)
	}

	if ok, err := db.DeleteSession(ctx, s.IDHash); !ok || err != nil {
		t.Fatalf("delete: %v, %v", ok, err)
	}
	if _, err := db.Session(ctx, s.IDHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("read after delete: %v, want not found", err)
	}
	if err := db.UpdateSession(ctx, s); !errors.Is(err, ErrNotFound) {
		t.Errorf("update after delete: %v, want not found", err)
	}
	if _, err := db.Session(ctx, s.IDHash); !errors.Is(err, ErrNotFound) {
		t.Errorf("an update brought the session back: %v", err)
	}
	if ok, _ := db.DeleteSession(ctx, s.IDHash); ok {
		t.Error("deleting twice reports a session")
	}
	for _, bad := range [][]byte{nil, []byte("short")} {
		if _, err := db.Session(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("hash %q: %v, want a refusal", bad, err)
		}
	}
}

// TestTouchSessionOnce: of 20 concurrent renewals of one session, exactly one writes;
// another within the interval writes nothing; one after it writes again.
func TestTouchSessionOnce(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := testEpoch
	h := sessionHash("b")
	if err := db.InsertSession(ctx, Session{IDHash: h, Subject: "sam", SignedInAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	touch := func(at time.Time) bool {
		ok, err := db.TouchSession(ctx, h, at, at.Add(30*time.Minute), at.Add(-time.Minute))
		if err != nil {
			t.Error(err)
		}
		return ok
	}
	later := now.Add(90 * time.Second)
	var mu sync.Mutex
	var wg sync.WaitGroup
	renewed := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if touch(later) {
				mu.Lock()
				renewed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if renewed != 1 {
		t.Errorf("%d of 20 concurrent renewals wrote, want 1", renewed)
	}
	if touch(later.Add(59 * time.Second)) {
		t.Error("renewed again within the minute")
	}
	if !touch(later.Add(60 * time.Second)) {
		t.Error("not renewed a minute later")
	}
	got, _ := db.Session(ctx, h)
	if !got.LastSeen.Equal(later.Add(60*time.Second)) || !got.ExpiresAt.Equal(later.Add(60*time.Second+30*time.Minute)) {
		t.Errorf("after renewals: last seen %s, expires %s", got.LastSeen, got.ExpiresAt)
	}
	if ok, _ := db.TouchSession(ctx, sessionHash("nobody"), later, later, later); ok {
		t.Error("renewed a session that does not exist")
	}
}

// TestSessionsOfAPersonAndSweep: sign out everywhere ends one person's sessions only; the
// active list leaves out visitors' and expired sessions; the sweep deletes expired ones.
func TestSessionsOfAPersonAndSweep(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := testEpoch
	add := func(id, subject string, seen time.Time, expires time.Duration) {
		t.Helper()
		err := db.InsertSession(ctx, Session{IDHash: sessionHash(id), Subject: subject, Email: subject + "@example.com",
			SignedInAt: now.Add(-time.Hour), LastSeen: seen, ExpiresAt: now.Add(expires), Data: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("s1", "sam", now.Add(-time.Minute), 29*time.Minute)
	add("s2", "sam", now, 30*time.Minute)
	add("f1", "fran", now, 30*time.Minute)
	add("old", "fran", now.Add(-40*time.Minute), -10*time.Minute)
	add("visitor", "", now, 30*time.Minute)

	list, err := db.ActiveSessions(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.Subject+"@"+s.LastSeen.Sub(now).String())
	}
	if want := "fran@0s sam@0s sam@-1m0s"; strings.Join(got, " ") != want {
		t.Errorf("active sessions: %v, want %s", got, want)
	}
	if !bytes.Equal(list[1].IDHash, sessionHash("s2")) {
		t.Errorf("sam's most recent session is not first")
	}

	if n, err := db.DeleteSessionsOf(ctx, "sam"); n != 2 || err != nil {
		t.Errorf("sign out everywhere: %d, %v; want 2", n, err)
	}
	if _, err := db.DeleteSessionsOf(ctx, " "); err == nil {
		t.Error("ending the sessions of nobody: no error")
	}
	if _, err := db.Session(ctx, sessionHash("f1")); err != nil {
		t.Errorf("fran's session went with sam's: %v", err)
	}
	if n, err := db.DeleteExpiredSessions(ctx, now); n != 1 || err != nil {
		t.Errorf("sweep: %d, %v; want the one expired session", n, err)
	}
	if _, err := db.Session(ctx, sessionHash("old")); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session after the sweep: %v", err)
	}
	if n, _ := db.DeleteExpiredSessions(ctx, now.Add(30*time.Minute)); n != 2 {
		t.Errorf("sweep 30 minutes later: %d, want fran's and the visitor's", n)
	}
}

// BenchmarkSessionRead is what every signed-in request pays for its session: one point
// read by the id hash (with 1,000 sessions in the table).
func BenchmarkSessionRead(b *testing.B) {
	db, err := Open(context.Background(), b.TempDir()+"/paydesk.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := range 1000 {
		s := Session{IDHash: sessionHash(strings.Repeat("x", i)), Subject: "sam", SignedInAt: testEpoch, LastSeen: testEpoch,
			ExpiresAt: testEpoch.Add(time.Hour), Data: []byte(`{"sid":"abc","sub":"sam","email":"sam@example.com","roles":["support"],"auth":1,"in":1,"seen":1}`)}
		if err := db.InsertSession(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	h := sessionHash(strings.Repeat("x", 500))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Session(ctx, h); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
