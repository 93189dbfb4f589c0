// Package opstest holds the test helpers any package's tests may share: a settable clock
// today. It imports nothing of Paydesk's, so that every package — storage's internal tests
// included — can use it without an import cycle.
package opstest

import (
	"sync"
	"time"
)

// Clock is a settable clock for tests, safe for concurrent use: the app, the provider, the
// database and the test all read the same time, and only the test moves it. Its Now method
// is the value to pass wherever Paydesk takes a `func() time.Time` (storage.DB.Now,
// ops.Config.Now, auth.Config.Now, devidp.Config.Now, resilient.Options.Now).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// NewWallClock returns a clock stopped at the current wall-clock time, in UTC and
// truncated to the second. Tests that involve an OpenID provider start there, because the
// provider library signs tokens with the wall clock; the truncation keeps a time that
// travels as Unix seconds equal to Now.
func NewWallClock() *Clock { return NewClock(time.Now().UTC().Truncate(time.Second)) }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
