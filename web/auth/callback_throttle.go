package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"paydesk/storage"
)

// Failed sign-in callbacks are anonymous and cheap to send, and each used to write one
// hash-chained audit row: 200 bogus hits, 200 rows. A source address's failures are now
// limited (failureBurst at once, then one per failureEvery; beyond that the callback
// answers 429 without looking at the request) and summarised: the first failure of a
// source in a minute is audited at once with its reason, the others of that minute in
// one row with their count, written when the minute is over (at the source's next
// failure, or by a timer).
const (
	failureBurst  = 20
	failureEvery  = 6 * time.Second // 10 a minute once the burst is spent
	failureWindow = time.Minute
	// maxFailureSources bounds the sources remembered (a few hundred bytes each); when
	// full, sources whose limiter is full again are forgotten first, then any.
	maxFailureSources = 10000
)

// RateLimits is a rate-limit budget every instance shares through the database
// (*storage.DB; Config.RateLimits).
type RateLimits interface {
	// SpendRate spends one token of key's budget, reporting false when none was left.
	SpendRate(ctx context.Context, key string, lim storage.RateLimit, now time.Time) (bool, time.Duration, error)
	// RateLimited reports whether key's budget has no token left, spending nothing.
	RateLimited(ctx context.Context, key string, lim storage.RateLimit, now time.Time) (bool, time.Duration, error)
}

// failureBudget is a source's failures as a shared budget: the same as in memory.
var failureBudget = storage.RateLimit{Every: failureEvery, Burst: failureBurst}

// failureThrottle counts and limits failed callbacks per source address. It is safe for
// concurrent use. With several instances (Config.RateLimits) the limit is also kept in
// the database, shared: a callback is refused unread when this instance's memory says the
// source spent its failures (no query then: a flood past the limit costs the database
// nothing) or, failing that, when the shared budget says the instances together did; a
// failure spends both. The per-minute audit summaries stay per instance.
type failureThrottle struct {
	mu      sync.Mutex
	sources map[string]*failureSource
	timer   *time.Timer // pending flush of ended minutes, nil if none
}

// failureSource is one address's limiter and its minute being counted.
type failureSource struct {
	limiter *rate.Limiter
	window  time.Time // the start of the minute counted (its first failure)
	more    int       // failures after the first of the window, not audited yet
	limited int       // of those, answered 429
	last    string    // the latest failure's reason
}

// failureSummary is one row to audit: more failures of src in the minute from window.
type failureSummary struct {
	src        string
	window     time.Time
	more       int
	limited    int
	lastReason string
}

func (s failureSummary) message() string {
	msg := fmt.Sprintf("%d more failed sign-ins from %s in the minute from %s", s.more, s.src, s.window.UTC().Format("15:04:05 UTC"))
	if s.limited > 0 {
		msg += fmt.Sprintf(", %d of them refused unread (429: too many failures)", s.limited)
	}
	return msg + "; the last: " + s.lastReason
}

func newFailureThrottle() *failureThrottle {
	return &failureThrottle{sources: make(map[string]*failureSource)}
}

// limited reports whether src has spent its failures: its callback gets 429 unread.
func (t *failureThrottle) limited(src string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sources[src]
	return ok && s.limiter.TokensAt(now) < 1
}

// record counts a failure of src (limited: answered 429) and returns whether to audit it
// now (the first of its source's minute) and the summaries of minutes that are over.
func (t *failureThrottle) record(src string, now time.Time, reason string, limited bool) (auditNow bool, due []failureSummary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sources[src]
	if ok && now.Sub(s.window) >= failureWindow {
		due = append(due, s.take(src)...)
	}
	if !ok {
		due = append(due, t.makeRoom(now)...)
		s = &failureSource{limiter: rate.NewLimiter(rate.Every(failureEvery), failureBurst)}
		t.sources[src] = s
	}
	if !limited {
		s.limiter.AllowN(now, 1) // spends a failure; at zero the next callbacks are limited
	}
	if !limited || s.last == "" {
		s.last = reason // a refusal unread says nothing new: keep the last real reason
	}
	if s.window.IsZero() {
		s.window = now
		return true, due
	}
	s.more++
	if limited {
		s.limited++
	}
	return false, due
}

// take ends the source's window: its summary if failures wait to be audited.
func (s *failureSource) take(src string) []failureSummary {
	var out []failureSummary
	if s.more > 0 {
		out = append(out, failureSummary{src: src, window: s.window, more: s.more, limited: s.limited, lastReason: s.last})
	}
	s.window, s.more, s.limited = time.Time{}, 0, 0
	return out
}

// makeRoom forgets sources when the map is full (t.mu held): first those with nothing
// waiting and a full limiter again, then any, down to nine tenths so that a flood of new
// addresses does not walk the map at each one; what they had waiting is returned.
func (t *failureThrottle) makeRoom(now time.Time) []failureSummary {
	if len(t.sources) < maxFailureSources {
		return nil
	}
	var due []failureSummary
	for src, s := range t.sources {
		if now.Sub(s.window) >= failureWindow || s.window.IsZero() {
			due = append(due, s.take(src)...)
			if s.limiter.TokensAt(now) >= failureBurst {
				delete(t.sources, src)
			}
		}
	}
	for src, s := range t.sources {
		if len(t.sources) < maxFailureSources*9/10 {
			break
		}
		due = append(due, s.take(src)...)
		delete(t.sources, src)
	}
	return due
}

// flushDue returns the summaries of every minute that is over at now, and whether
// failures still wait for their minute to end.
func (t *failureThrottle) flushDue(now time.Time) (due []failureSummary, waiting bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for src, s := range t.sources {
		if s.window.IsZero() {
			continue
		}
		if now.Sub(s.window) >= failureWindow {
			due = append(due, s.take(src)...)
		} else if s.more > 0 {
			waiting = true
		}
	}
	return due, waiting
}

// limited reports whether r's source has spent its failed callbacks: in this process's
// memory first, then in the budget every instance shares. A shared budget that cannot be
// read limits nothing (this process's limit still holds).
func (a *Auth) limited(r *http.Request) bool {
	src, now := sourceOf(r), a.cfg.Now()
	if a.failures.limited(src, now) {
		return true
	}
	if a.cfg.RateLimits == nil {
		return false
	}
	limited, _, err := a.cfg.RateLimits.RateLimited(r.Context(), failureKey(src), failureBudget, now)
	if err != nil {
		a.cfg.Logger.Error("auth: read the shared sign-in failure budget", "error", err)
	}
	return limited
}

// failureKey is a source's key in the shared budgets.
func failureKey(src string) string { return "sign-in-failures:" + src }

// failed counts a failed callback of r's source and audits it as the throttle says: at
// once when it is the first of its source's minute, else later in its minute's summary.
// A failure that was not refused unread also spends the shared budget, if any.
func (a *Auth) failed(r *http.Request, message string, limited bool) {
	src := sourceOf(r)
	if !limited && a.cfg.RateLimits != nil {
		if _, _, err := a.cfg.RateLimits.SpendRate(r.Context(), failureKey(src), failureBudget, a.cfg.Now()); err != nil {
			a.cfg.Logger.Error("auth: spend the shared sign-in failure budget", "error", err)
		}
	}
	auditNow, due := a.failures.record(src, a.cfg.Now(), message, limited)
	a.auditSummaries(due)
	if auditNow {
		a.audit(r, "", KindSignInFailed, message)
		return
	}
	a.scheduleFlush()
}

// scheduleFlush makes sure a timer writes the waiting summaries once their minute is
// over, even if their source never comes back.
func (a *Auth) scheduleFlush() {
	t := a.failures
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		return
	}
	t.timer = time.AfterFunc(failureWindow+time.Second, a.flushFailures)
}

// flushFailures audits the summaries of the minutes that are over, and waits again if
// failures remain (the clock may be a test's, which the timer does not follow).
func (a *Auth) flushFailures() {
	due, waiting := a.failures.flushDue(a.cfg.Now())
	a.auditSummaries(due)
	t := a.failures
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	if waiting {
		t.timer = time.AfterFunc(failureWindow, a.flushFailures)
	}
}

// auditSummaries writes one audit row per summary, as coming from its source.
func (a *Auth) auditSummaries(due []failureSummary) {
	for _, s := range due {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = net.JoinHostPort(s.src, "0")
		a.audit(r, "", KindSignInFailed, s.message())
	}
}

// sourceOf is the address a callback's failures are counted under: the client's IP
// (the connection's, as the audit log records it), an IPv6 address by its /64, which one
// host usually holds whole.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
