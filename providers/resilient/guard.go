// Package resilient puts one guard in front of each provider so that an outage or a rate
// limit is met calmly instead of piling up requests:
//
//   - reads (GET) are retried with exponential backoff and jitter on a connection error,
//     a 5xx or a 429, within the client's own timeout (Transport);
//   - a 429 or 503 answer's Retry-After is honoured: reads wait for it when it fits in
//     their time budget, and every call to that provider, money-moving ones included,
//     fails fast until it has passed (Transport and Wrap);
//   - a per-provider circuit breaker opens after consecutive calls with no usable answer
//     and fails fast with a message people understand, then lets one trial call through
//     after a cool-down (Wrap).
//
// Transport is the one place reads are retried: the clients send each call once (through
// providers/apicall), so a read is never retried by two layers. Calls that may move money
// (any POST) are never retried: their unknown outcomes are for the reconciler. A call refused by the guard was not sent, so a money-moving one ends as
// providers.Refused, never as providers.Unknown.
package resilient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"paydesk/providers"
)

// ErrCircuitOpen is wrapped by the errors of calls the breaker refused.
var ErrCircuitOpen = errors.New("resilient: circuit open")

// ErrRateLimited is wrapped by the errors of calls refused because the provider asked,
// with Retry-After, to wait.
var ErrRateLimited = errors.New("resilient: provider asked to wait (Retry-After)")

// State is the circuit breaker's state.
type State string

// The breaker's states.
const (
	// Closed: calls go through; consecutive failures are counted.
	Closed State = "closed"
	// Open: calls fail fast until the cool-down has passed.
	Open State = "open"
	// HalfOpen: one trial call is let through; its result closes or re-opens the circuit.
	HalfOpen State = "half_open"
)

// Call is one call through a guard, as reported to Options.Observe.
type Call struct {
	Provider providers.Name
	// Operation is fetch, cancel, expire, refund or payer_link.
	Operation string
	// Outcome is ok, not_found, refused, unknown (for reads), the providers.OutcomeKind
	// (for actions), or circuit_open / rate_limited when the guard refused the call.
	Outcome  string
	Duration time.Duration
}

// Options tune a guard; zero values take the defaults.
type Options struct {
	// Threshold is how many calls in a row with no usable answer open the circuit (5).
	Threshold int
	// Cooldown is how long an open circuit refuses calls before a trial one (30s).
	Cooldown time.Duration
	// Retries is how many times a read is retried after its first attempt (2).
	Retries int
	// BaseDelay is the first backoff before jitter (100ms); each retry doubles it.
	BaseDelay time.Duration
	// MaxDelay caps one backoff (2s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After a read waits for before retrying (5s);
	// a longer one is still honoured by failing every call fast until it has passed.
	MaxRetryAfter time.Duration
	// MaxHold caps how long a Retry-After can hold every call back (5m), so that a
	// provider's mistake cannot lock Paydesk out for days.
	MaxHold time.Duration

	// Now is the clock (time.Now); Sleep waits d or until the context ends (tests
	// replace both); Jitter returns a number in [0, 1) (math/rand/v2).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64

	// Observe is called after every call through Wrap (metrics).
	Observe func(Call)
	// OnRetry is called before a read is retried, with why: connection, status_5xx,
	// rate_limited.
	OnRetry func(provider providers.Name, reason string)
	// OnState is called when the breaker changes state.
	OnState func(provider providers.Name, state State)
}

// Guard is one provider's breaker and rate-limit hold, shared by its Transport and its
// Wrap. It is safe for concurrent use.
type Guard struct {
	name providers.Name
	opt  Options

	mu        sync.Mutex
	state     State
	failures  int       // consecutive failures while closed
	openedAt  time.Time // when the circuit last opened
	trial     bool      // a half-open trial call is in flight
	holdUntil time.Time // no call before this (Retry-After)
}

// New returns the guard of one provider.
func New(name providers.Name, opt Options) *Guard {
	if opt.Threshold <= 0 {
		opt.Threshold = 5
	}
	if opt.Cooldown <= 0 {
		opt.Cooldown = 30 * time.Second
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	} else if opt.Retries == 0 {
		opt.Retries = 2
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = 100 * time.Millisecond
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 2 * time.Second
	}
	if opt.MaxRetryAfter <= 0 {
		opt.MaxRetryAfter = 5 * time.Second
	}
	if opt.MaxHold <= 0 {
		opt.MaxHold = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Jitter == nil {
		opt.Jitter = rand.Float64
	}
	return &Guard{name: name, opt: opt, state: Closed}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name is the provider the guard protects.
func (g *Guard) Name() providers.Name { return g.name }

// State returns the breaker's state now (an open circuit whose cool-down has passed
// reports HalfOpen).
func (g *Guard) State() State {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == Open && !g.opt.Now().Before(g.openedAt.Add(g.opt.Cooldown)) {
		return HalfOpen
	}
	return g.state
}

// admit decides whether a call may go out now. It returns a release function to call
// with whether the call failed (no usable answer), or the error explaining the refusal
// (wrapping ErrCircuitOpen or ErrRateLimited), which says nothing was sent.
func (g *Guard) admit() (release func(failed bool), refusal *providers.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.opt.Now()
	label := g.name.Label()
	if now.Before(g.holdUntil) {
		wait := g.holdUntil.Sub(now)
		return nil, &providers.Error{Provider: g.name, Err: ErrRateLimited,
			Safe:   fmt.Sprintf("%s asked Paydesk to slow down (too many requests), so nothing was sent. Try again in %s.", label, roundUp(wait)),
			Detail: fmt.Sprintf("resilient: %s: holding calls for %s (Retry-After)", g.name, wait.Round(time.Millisecond))}
	}
	trial := false
	switch g.state {
	case Open:
		reopen := g.openedAt.Add(g.opt.Cooldown)
		if now.Before(reopen) {
			return nil, &providers.Error{Provider: g.name, Err: ErrCircuitOpen,
				Safe: fmt.Sprintf("%s has not been answering (%d calls in a row failed), so Paydesk stopped calling it for a moment and nothing was sent. Try again in %s.",
					label, g.opt.Threshold, roundUp(reopen.Sub(now))),
				Detail: fmt.Sprintf("resilient: %s: circuit open until %s", g.name, reopen.UTC().Format(time.RFC3339))}
		}
		g.setStateLocked(HalfOpen)
		g.trial, trial = true, true
	case HalfOpen:
		if g.trial {
			return nil, &providers.Error{Provider: g.name, Err: ErrCircuitOpen,
				Safe:   fmt.Sprintf("%s is being checked after an outage, so nothing was sent. Try again in a few seconds.", label),
				Detail: fmt.Sprintf("resilient: %s: circuit half-open, trial call in flight", g.name)}
		}
		g.trial, trial = true, true
	}
	var once sync.Once
	return func(failed bool) { once.Do(func() { g.done(trial, failed) }) }, nil
}

// done records how an admitted call ended.
func (g *Guard) done(trial, failed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if trial {
		g.trial = false
	}
	if !failed {
		g.failures = 0
		if g.state != Closed {
			g.setStateLocked(Closed)
		}
		return
	}
	g.failures++
	if g.state == HalfOpen || (g.state == Closed && g.failures >= g.opt.Threshold) {
		g.openedAt = g.opt.Now()
		g.setStateLocked(Open)
	}
}

// setStateLocked changes the state and tells OnState; g.mu is held.
func (g *Guard) setStateLocked(s State) {
	if g.state == s {
		return
	}
	g.state = s
	if g.opt.OnState != nil {
		g.opt.OnState(g.name, s)
	}
}

// hold makes every call wait until now+d (a Retry-After), capped by MaxHold.
func (g *Guard) hold(d time.Duration) {
	if d <= 0 {
		return
	}
	d = min(d, g.opt.MaxHold)
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := g.opt.Now().Add(d); until.After(g.holdUntil) {
		g.holdUntil = until
	}
}

// backoff is the wait before retry number n (0 for the first retry): exponential, capped,
// with "equal jitter" (half fixed, half random) so retries from many requests spread out
// but never fire at once.
func (g *Guard) backoff(n int) time.Duration {
	d := float64(g.opt.BaseDelay) * math.Pow(2, float64(n))
	d = min(d, float64(g.opt.MaxDelay))
	return time.Duration(d/2 + g.opt.Jitter()*d/2)
}

// roundUp says a wait in whole seconds, at least one.
func roundUp(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s <= 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", s)
}
