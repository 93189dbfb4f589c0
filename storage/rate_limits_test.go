package storage

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSpendRate: a budget gives Burst at once, refuses the next without spending, gives
// one back every Every, and keeps budgets apart by key.
func TestSpendRate(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	lim := RateLimit{Every: 6 * time.Second, Burst: 3}
	now := testEpoch
	for i := range 3 {
		if ok, _, err := db.SpendRate(ctx, "webhook:198.51.100.7", lim, now); err != nil || !ok {
			t.Fatalf("spend %d of the burst: %v, %v", i+1, ok, err)
		}
	}
	if limited, _, err := db.RateLimited(ctx, "webhook:198.51.100.7", lim, now); err != nil || !limited {
		t.Errorf("RateLimited after the burst = %v, %v; want true", limited, err)
	}
	ok, wait, err := db.SpendRate(ctx, "webhook:198.51.100.7", lim, now)
	if err != nil || ok || wait != 6*time.Second {
		t.Fatalf("spend past the burst: ok %v, wait %v, %v; want refused, 6s", ok, wait, err)
	}
	// Refusals spend nothing: after one interval exactly one goes through.
	for range 5 {
		db.SpendRate(ctx, "webhook:198.51.100.7", lim, now.Add(time.Second))
	}
	later := now.Add(6 * time.Second)
	if ok, _, _ := db.SpendRate(ctx, "webhook:198.51.100.7", lim, later); !ok {
		t.Error("no token back after one interval")
	}
	if ok, wait, _ := db.SpendRate(ctx, "webhook:198.51.100.7", lim, later); ok || wait != 6*time.Second {
		t.Errorf("second spend after one interval: ok %v, wait %v; want refused, 6s", ok, wait)
	}
	// Another key has its own budget; a key never seen is not limited.
	if ok, _, _ := db.SpendRate(ctx, "webhook:203.0.113.9", lim, later); !ok {
		t.Error("another source is refused")
	}
	if limited, _, err := db.RateLimited(ctx, "sign-in:192.0.2.1", lim, later); err != nil || limited {
		t.Errorf("an unknown key: limited %v, %v", limited, err)
	}
	// Idle long enough, the whole burst is back.
	whole := later.Add(3 * 6 * time.Second)
	for i := range 3 {
		if ok, _, _ := db.SpendRate(ctx, "webhook:198.51.100.7", lim, whole); !ok {
			t.Fatalf("spend %d of the refilled burst refused", i+1)
		}
	}
}

// TestSpendRateConcurrent: two database handles (two instances) spending one budget at
// once together get exactly its burst.
func TestSpendRateConcurrent(t *testing.T) {
	a, b := twoInstances(t)
	lim := RateLimit{Every: time.Minute, Burst: 10}
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := range 40 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := db.SpendRate(context.Background(), "sign-in:192.0.2.1", lim, testEpoch)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != 10 {
		t.Errorf("%d spends went through, want the burst of 10", granted)
	}
}

// TestSweepRateLimits: maintenance deletes the budgets that are whole again, and only those.
func TestSweepRateLimits(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	lim := RateLimit{Every: time.Second, Burst: 5}
	db.SpendRate(ctx, "idle", lim, testEpoch)
	for range 5 {
		db.SpendRate(ctx, "busy", lim, testEpoch.Add(time.Minute))
	}
	n, err := db.SweepRateLimits(ctx, testEpoch.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want the idle one", n, err)
	}
	if limited, _, _ := db.RateLimited(ctx, "busy", lim, testEpoch.Add(time.Minute)); !limited {
		t.Error("the busy budget was swept")
	}
}

// twoInstances opens one fresh database of the run's engine twice, as two instances would.
func twoInstances(t *testing.T) (*DB, *DB) {
	t.Helper()
	dsn := testDSN(t)
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("open test db: %v", err)
		}
		db.Now = func() time.Time { return testEpoch }
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}
