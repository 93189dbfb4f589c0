package ops

import (
	"context"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"paydesk/storage"
)

// Defaults of the refused-webhook limiter (Config).
const (
	// defaultWebhookRefusals is how many refused webhooks one source may have recorded per
	// minute: a burst of that many, refilled evenly over the minute.
	defaultWebhookRefusals = 20
	// defaultWebhookSources bounds the sources the limiter tracks at once.
	defaultWebhookSources = 10000
	// refusalSummaryEvery is how often the log says how many refusals a source had
	// turned away: one line per source and minute at most, however many there were.
	refusalSummaryEvery = time.Minute
)

// refusalLimiter limits, per source address, how many refused webhooks (not verified,
// or too large to read) are recorded: past the budget they are answered 429 and not
// recorded at all. Verified webhooks never reach it, so a flood of forgeries from the
// provider's own address cannot stop the genuine ones. With several instances (PostgreSQL)
// a source's budget is shared by all of them through the database (shared): a refusal
// spends this instance's budget in memory first — past it, 429 without asking the
// database, so a flood costs no write beyond the budget — then the shared one, which
// says no once the instances together have spent it. In memory it tracks at most max sources:
// a source idle long enough to have its whole budget back is forgotten (forgetting it
// changes nothing), and when the table is full of busy sources, new ones share a single
// overflow budget rather than growing the table.
type refusalLimiter struct {
	mu       sync.Mutex
	every    time.Duration // one refusal back every `every`
	burst    int
	max      int
	sources  map[string]*refusalSource
	overflow *refusalSource
	swept    time.Time
	log      *slog.Logger
	// shared is the budget every instance spends (PostgreSQL); nil: this process's only.
	shared sharedBudget
}

// sharedBudget is the database's rate limits (storage.DB.SpendRate).
type sharedBudget interface {
	SpendRate(ctx context.Context, key string, lim storage.RateLimit, now time.Time) (bool, time.Duration, error)
}

// refusalSource is one source's budget and what it was turned away since the last log line.
type refusalSource struct {
	lim      *rate.Limiter
	seen     time.Time // the last refusal
	dropped  int       // refusals turned away since the last summary line
	provider string    // the provider of the last one turned away
	told     time.Time // the last summary line
}

// refusalGuard builds the Desk's limiter from its Config on first use.
type refusalGuard struct {
	once sync.Once
	l    *refusalLimiter
}

// refusalLimiter is the Desk's refused-webhook limiter.
func (d *Desk) refusalLimiter() *refusalLimiter {
	d.refusals.once.Do(func() {
		d.refusals.l = newRefusalLimiter(d.cfg.WebhookRefusalsPerMinute, d.cfg.WebhookLimitSources, d.log)
		if d.db.Engine() == storage.Postgres {
			// Several instances may serve: they share each source's budget. On SQLite one
			// process serves, and a write would empty its page cache for nothing.
			d.refusals.l.shared = d.db
		}
	})
	return d.refusals.l
}

func newRefusalLimiter(perMinute, maxSources int, log *slog.Logger) *refusalLimiter {
	if perMinute <= 0 {
		perMinute = defaultWebhookRefusals
	}
	if maxSources <= 0 {
		maxSources = defaultWebhookSources
	}
	l := &refusalLimiter{every: time.Minute / time.Duration(perMinute), burst: perMinute, max: maxSources,
		sources: map[string]*refusalSource{}, log: log}
	l.overflow = l.newSource()
	return l
}

func (l *refusalLimiter) newSource() *refusalSource {
	return &refusalSource{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
}

// refuse spends one refusal of source's budget at now: this process's, then the shared
// one if any. It returns 0 when the refusal may be recorded, or how long until the next one
// may be (the Retry-After) when it must be turned away, which it counts towards the
// source's next summary line. A shared budget that cannot be read does not refuse: this
// process's budget still holds.
func (l *refusalLimiter) refuse(ctx context.Context, source, provider string, now time.Time) time.Duration {
	wait, s, name := l.refuseHere(source, provider, now)
	if wait > 0 || l.shared == nil || s == l.overflow {
		return wait
	}
	lim := storage.RateLimit{Every: l.every, Burst: l.burst}
	ok, wait, err := l.shared.SpendRate(ctx, "webhook-refusals:"+source, lim, now)
	if err != nil {
		l.log.Error("webhook refusals: shared budget", "source", source, "err", err)
		return 0
	}
	if ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.turnedAway(name, s, provider, now)
	return max(wait, time.Second)
}

// refuseHere spends one refusal of source's budget in this process's memory, returning
// the wait as refuse does, and the source's entry with the name it is logged under.
func (l *refusalLimiter) refuseHere(source, provider string, now time.Time) (time.Duration, *refusalSource, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, false)
	s, ok := l.sources[source]
	if !ok {
		if len(l.sources) >= l.max {
			l.sweep(now, true)
		}
		if len(l.sources) < l.max {
			s = l.newSource()
			l.sources[source] = s
		} else {
			source, s = "(overflow)", l.overflow
		}
	}
	s.seen = now
	if s.lim.AllowN(now, 1) {
		return 0, s, source
	}
	l.turnedAway(source, s, provider, now)
	wait := time.Duration(math.Ceil((1 - s.lim.TokensAt(now)) * float64(l.every)))
	return max(wait, time.Second), s, source
}

// turnedAway counts one refusal turned away towards the source's next summary line (l.mu held).
func (l *refusalLimiter) turnedAway(source string, s *refusalSource, provider string, now time.Time) {
	s.dropped++
	s.provider = provider
	if now.Sub(s.told) >= refusalSummaryEvery {
		l.summarise(source, s, now)
	}
}

// summarise logs how many refusals a source had turned away since its last line.
func (l *refusalLimiter) summarise(source string, s *refusalSource, now time.Time) {
	if s.dropped == 0 {
		return
	}
	l.log.Warn("webhook refusals rate-limited: answered 429, not recorded", "source", source, "provider", s.provider,
		"turned_away", s.dropped, "since", s.told, "limit_per_minute", l.burst)
	s.dropped, s.told = 0, now
}

// sweep forgets the sources idle long enough to have their whole budget back — at most
// once a minute, or now when force is set (the table is full) — after logging what
// they still had to tell.
func (l *refusalLimiter) sweep(now time.Time, force bool) {
	if !force && now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	idle := time.Duration(l.burst) * l.every
	for k, s := range l.sources {
		if now.Sub(s.seen) >= idle {
			l.summarise(k, s, now)
			delete(l.sources, k)
		}
	}
}

// size is how many sources are tracked.
func (l *refusalLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// WebhookSource is the source address a webhook's refusals are counted against:
// remoteAddr's host, or — only when that peer is one of Config.WebhookTrustedProxies —
// the last X-Forwarded-For address that is not itself a trusted proxy. IPv6 addresses
// count by their /64, the block one machine is usually given. "" when no address can be
// read (never limited).
func (d *Desk) WebhookSource(remoteAddr string, forwardedFor []string) string {
	peer, ok := parseAddr(remoteAddr)
	if !ok {
		return ""
	}
	if d.trustedProxy(peer) {
		var hops []string
		for _, v := range forwardedFor {
			hops = append(hops, strings.Split(v, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := parseAddr(strings.TrimSpace(hops[i]))
			if !ok {
				break // an unreadable hop: trust nothing further left
			}
			peer = a
			if !d.trustedProxy(a) {
				break
			}
		}
	}
	if peer.Is6() && !peer.Is4In6() {
		p, _ := peer.Prefix(64)
		return p.String()
	}
	return peer.Unmap().String()
}

// trustedProxy reports whether a is one of the proxies whose X-Forwarded-For is believed.
func (d *Desk) trustedProxy(a netip.Addr) bool {
	for _, p := range d.cfg.WebhookTrustedProxies {
		if p.Contains(a.Unmap()) || p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "host:port", "[v6]:port" or a bare address.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone(""), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}
