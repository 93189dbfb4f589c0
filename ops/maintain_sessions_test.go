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

// TestMaintainSweepsRateLimits: the maintenance round deletes shared rate-limit budgets
// that are whole again and keeps those still spent.
func TestMaintainSweepsRateLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	lim := storage.RateLimit{Every: time.Minute, Burst: 1}
	f.db.SpendRate(ctx, "whole again", lim, now.Add(-2*time.Minute))
	f.db.SpendRate(ctx, "spent", lim, now)
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	// A swept budget is whole: its next spend goes through, then the second is refused.
	if ok, _, _ := f.db.SpendRate(ctx, "whole again", lim, now.Add(-2*time.Minute)); !ok {
		t.Error("the budget whole again was kept")
	}
	if limited, _, _ := f.db.RateLimited(ctx, "spent", lim, now); !limited {
		t.Error("the spent budget was swept")
	}
}
