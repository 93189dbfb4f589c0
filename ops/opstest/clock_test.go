package opstest_test

import (
	"sync"
	"testing"
	"time"

	"paydesk/ops/opstest"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := opstest.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %s; want %s", got, start)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: %s; want %s", got, want)
	}
	c.Advance(-time.Hour)
	if got, want := c.Now(), start.Add(90*time.Second-time.Hour); !got.Equal(want) {
		t.Errorf("after Advance back: %s; want %s", got, want)
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("after Set: %s; want %s", got, start)
	}
}

func TestWallClock(t *testing.T) {
	before := time.Now().Add(-time.Second)
	now := opstest.NewWallClock().Now()
	if now.Location() != time.UTC || now.Nanosecond() != 0 || now.Before(before) || now.After(time.Now()) {
		t.Errorf("NewWallClock().Now() = %s; want the current time in UTC, to the second", now)
	}
}

// TestClockConcurrent is for the race detector: readers and movers at once.
func TestClockConcurrent(t *testing.T) {
	c := opstest.NewClock(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Unix(); got != 800 {
		t.Errorf("after 800 advances of a second: %d; want 800", got)
	}
}
