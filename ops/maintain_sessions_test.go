package ops

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"paydesk/storage"
)

// TestMaintainSweepsExpiredSessions: the maintenance round deletes sign-in sessions past
// their expiry and keeps the others.
func TestMaintainSweepsExpiredSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	hash := func(id string) []byte { h := sha256.Sum256([]byte(id)); return h[:] }
	for id, expires := range map[string]time.Duration{"gone": -time.Second, "kept": time.Minute} {
		err := f.db.InsertSession(ctx, storage.Session{IDHash: hash(id), Subject: id, SignedInAt: now.Add(-time.Hour),
			LastSeen: now.Add(-29 * time.Minute), ExpiresAt: now.Add(expires), Data: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Session(ctx, hash("gone")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired session after the round: %v, want swept", err)
	}
	if _, err := f.db.Session(ctx, hash("kept")); err != nil {
		t.Errorf("live session after the round: %v, want kept", err)
	}
	f.clock.Advance(2 * time.Minute)
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Session(ctx, hash("kept")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("session expired since: %v, want swept", err)
	}
}
