package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// TestForgedWebhookFloodStoresNoBody: 300 webhooks of 64 KiB with a wrong signature grow
// the database by less than 1 MB and store no body — each is kept as its hash, size,
// headers and excerpt — while an accepted webhook is still stored whole.
func TestForgedWebhookFloodStoresNoBody(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 8, 10000)
	before, err := f.db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte(`{"type":"payment.succeeded","data":{"object":{"id":"p_forged"}}}`), 2000)[:64<<10]
	header := http.Header{"X-Signature": {strings.Repeat("0", 64)}, "Content-Type": {"application/json"}}
	for i := range 300 {
		body[len(body)-1] = byte('0' + i%10)
		if res := f.desk.ReceiveWebhook(ctx, bpc.Name, header, body); res.Verdict != VerdictBadSignature {
			t.Fatalf("forged webhook %d: %+v, want bad_signature", i, res)
		}
	}
	after, err := f.db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("300 forged webhooks of 64 KiB grew the database by %d bytes", after-before)
	if after-before >= 1<<20 {
		t.Errorf("300 forged webhooks grew the database by %d bytes, want under 1 MB", after-before)
	}
	list := f.webhooks()
	if len(list) != 300 {
		t.Fatalf("%d webhooks recorded, want 300", len(list))
	}
	sum := sha256.Sum256(body)
	last := list[0]
	if len(last.Body) != 0 || last.BodySize != 64<<10 || last.BodySHA256 != hex.EncodeToString(sum[:]) ||
		!strings.HasPrefix(last.Excerpt, `{"type":"payment.succeeded"`) || len(last.Excerpt) > storage.WebhookExcerptBytes+len("…") ||
		!strings.Contains(string(last.Headers), `"X-Signature":"0000`) || last.Verdict != VerdictBadSignature {
		t.Errorf("refused record = body %d bytes, size %d, hash %s, excerpt %q, headers %s", len(last.Body), last.BodySize, last.BodySHA256, last.Excerpt, last.Headers)
	}
	for _, e := range list {
		if len(e.Body) != 0 {
			t.Fatalf("a refused webhook's body is stored (%d bytes)", len(e.Body))
		}
	}

	// Accepted: stored whole.
	good := bpcBody("payment.succeeded", f.bpcObject(p))
	if res := f.desk.ReceiveWebhook(ctx, bpc.Name, http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, good)}}, good); res.Verdict != VerdictApplied {
		t.Fatalf("signed webhook: %+v", res)
	}
	if got := f.webhooks()[0]; !bytes.Equal(got.Body, good) || got.BodySize != int64(len(good)) || got.Excerpt != "" {
		t.Errorf("accepted webhook stored as %d bytes (size %d, excerpt %q), want whole", len(got.Body), got.BodySize, got.Excerpt)
	}
}

// TestWebhookRefusalsRateLimited: a source may have 20 refusals recorded per minute; the
// next is answered WebhookLimited with a Retry-After, counted and not recorded; a signed
// webhook from the same source still applies; another source keeps its own budget; the
// budget comes back with time.
func TestWebhookRefusalsRateLimited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 8, 10000)
	forged := []byte(`{"type":"payment.succeeded"}`)
	bad := http.Header{"X-Signature": {"deadbeef"}}
	const attacker, other = "192.0.2.7", "198.51.100.1"
	for i := range 20 {
		if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, attacker, bad, forged); res.Kind != WebhookBadSignature {
			t.Fatalf("refusal %d: %+v, want bad_signature", i+1, res)
		}
	}
	for range 5 {
		res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, attacker, bad, forged)
		if res.Kind != WebhookLimited || res.Verdict != VerdictRateLimited || res.RetryAfter < time.Second || res.RetryAfter > 3*time.Second {
			t.Fatalf("refusal past the budget: %+v, want limited with a Retry-After of 1-3 s", res)
		}
	}
	if n := len(f.webhooks()); n != 20 {
		t.Errorf("%d webhooks recorded, want the 20 within the budget", n)
	}
	if got := f.metrics.get("webhook bpc " + VerdictRateLimited); got != 5 {
		t.Errorf("rate-limited counted %d, want 5", got)
	}
	// Not-configured refusals and too-large ones spend the same budget.
	if res := f.desk.WebhookTooLarge(context.Background(), bpc.Name, attacker); res.Kind != WebhookLimited {
		t.Errorf("too large past the budget: %+v, want limited", res)
	}

	// A signed webhook from the same address is never limited, and spends nothing.
	if err := f.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	good := bpcBody("payment.succeeded", f.bpcObject(p))
	for range 3 {
		if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, attacker, http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, good)}}, good); res.Kind != WebhookTaken {
			t.Fatalf("signed webhook from a limited source: %+v, want taken", res)
		}
	}
	if f.payment(p).Status != providers.StatusPaid {
		t.Errorf("the signed webhook did not apply")
	}
	// Another source has its own budget.
	if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, other, bad, forged); res.Kind != WebhookBadSignature {
		t.Errorf("another source: %+v, want bad_signature", res)
	}
	// One refusal comes back every 3 s.
	f.clock.Advance(3 * time.Second)
	if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, attacker, bad, forged); res.Kind != WebhookBadSignature {
		t.Errorf("3 s later: %+v, want one more recorded", res)
	}
	if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, attacker, bad, forged); res.Kind != WebhookLimited {
		t.Errorf("and the next: %+v, want limited", res)
	}
	// Without a source (an internal caller) nothing is limited.
	if res := f.desk.ReceiveWebhook(ctx, bpc.Name, bad, forged); res.Kind != WebhookBadSignature {
		t.Errorf("no source: %+v, want bad_signature", res)
	}
}

// TestRefusalLimiterBoundedMemory: sources idle long enough to have their budget back
// are forgotten; when the table is full of busy ones, new sources share one overflow
// budget instead of growing it.
func TestRefusalLimiterBoundedMemory(t *testing.T) {
	var logged bytes.Buffer
	l := newRefusalLimiter(2, 3, slog.New(slog.NewTextHandler(&logged, nil)))
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"a", "b", "c"} {
		l.refuse(ctx, s, "bpc", now)
	}
	if l.size() != 3 {
		t.Fatalf("tracked %d sources, want 3", l.size())
	}
	// Full: d, e and f share the overflow budget of 2.
	d, e, g := l.refuse(ctx, "d", "bpc", now), l.refuse(ctx, "e", "bpc", now), l.refuse(ctx, "f", "bpc", now)
	if d != 0 || e != 0 || g == 0 {
		t.Errorf("the overflow budget is not shared by the sources beyond the table")
	}
	if l.size() != 3 {
		t.Errorf("tracked %d sources past the bound, want 3", l.size())
	}
	// A minute later the idle sources have their budget back and are forgotten.
	later := now.Add(time.Minute)
	if l.refuse(ctx, "g", "bpc", later) != 0 || l.size() != 1 {
		t.Errorf("after a minute: %d sources tracked, want only the new one", l.size())
	}
	// Turned-away refusals are summed up in one log line per source and minute.
	logged.Reset()
	for range 50 {
		l.refuse(ctx, "g", "bpc", later)
	}
	if n := strings.Count(logged.String(), "webhook refusals rate-limited"); n != 1 || !strings.Contains(logged.String(), "turned_away=1") {
		t.Errorf("log lines for 49 turned away: %d\n%s", n, logged.String())
	}
	logged.Reset()
	// A minute later the source, idle with its budget back, is forgotten after a line
	// summing up the 48 not logged yet; two are recorded, the third turned away.
	logged.Reset()
	next := later.Add(time.Minute + time.Second)
	first, second, third := l.refuse(ctx, "g", "bpc", next), l.refuse(ctx, "g", "bpc", next), l.refuse(ctx, "g", "bpc", next)
	if first != 0 || second != 0 || third == 0 {
		t.Errorf("the budget did not come back after a minute")
	}
	if !strings.Contains(logged.String(), "turned_away=48") || strings.Count(logged.String(), "\n") != 2 {
		t.Errorf("want a line summing up the 48 not logged yet, then one for the new refusal:\n%s", logged.String())
	}
}

// TestWebhookSource: the direct peer by default; X-Forwarded-For only through a trusted
// proxy, and only up to the first address that is not one; IPv6 by its /64.
func TestWebhookSource(t *testing.T) {
	f := newFixture(t)
	plain := f.desk
	proxied, err := New(Config{BaseURL: "http://paydesk.test", LinkSecret: []byte(strings.Repeat("k", 32)),
		WebhookTrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, f.db, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desk   *Desk
		remote string
		xff    []string
		want   string
	}{
		{plain, "192.0.2.1:4321", nil, "192.0.2.1"},
		{plain, "192.0.2.1:4321", []string{"203.0.113.9"}, "192.0.2.1"}, // not trusted: ignored
		{plain, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{plain, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		{plain, "@", nil, ""},
		{proxied, "10.1.1.1:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{proxied, "10.1.1.1:80", []string{"198.51.100.4, 203.0.113.9, 10.2.2.2"}, "203.0.113.9"}, // a forged first hop is ignored
		{proxied, "10.1.1.1:80", []string{"198.51.100.4", "203.0.113.9"}, "203.0.113.9"},
		{proxied, "10.1.1.1:80", []string{"not an address"}, "10.1.1.1"},
		{proxied, "10.1.1.1:80", nil, "10.1.1.1"},
		{proxied, "192.0.2.1:80", []string{"203.0.113.9"}, "192.0.2.1"}, // a peer that is no proxy
	}
	for _, tt := range tests {
		if got := tt.desk.WebhookSource(tt.remote, tt.xff); got != tt.want {
			t.Errorf("WebhookSource(%q, %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}

// TestMaintainSweepsWebhooks: the maintenance round deletes refused records older than
// their retention (7 days by default) and the others older than theirs (90 days), and
// keeps the recent ones.
func TestMaintainSweepsWebhooks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	day := 24 * time.Hour
	now := f.clock.Now()
	for _, w := range []struct {
		verdict string
		age     time.Duration
	}{
		{"bad_signature", 8 * day}, {"malformed", 8 * day}, {"bad_signature", 6 * day},
		{"applied", 91 * day}, {"stale", 91 * day}, {"applied", 89 * day}, {"applied", 8 * day},
	} {
		if _, err := f.db.RecordWebhook(ctx, storage.WebhookEvent{Provider: "bpc", Verdict: w.verdict, ReceivedAt: now.Add(-w.age), Detail: w.verdict + " " + w.age.String()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range f.webhooks() {
		left = append(left, e.Detail)
	}
	if got, want := strings.Join(left, ", "), "bad_signature 144h0m0s, applied 192h0m0s, applied 2136h0m0s"; got != want {
		t.Errorf("left after the sweep: %s; want %s", got, want)
	}
}

// TestRefusalBudgetSharedByInstances: two instances' limiters on one database share each
// source's budget (what the Desk does on PostgreSQL): together they record no more
// refusals than one would, a source spent on one is turned away by the other with a
// Retry-After, another source is not, and a source past this instance's own budget is
// turned away without asking the database.
func TestRefusalBudgetSharedByInstances(t *testing.T) {
	ctx := context.Background()
	dsn := storagetest.DSN(t)
	var dbs [2]*storage.DB
	for i := range dbs {
		db, err := storage.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	quiet := slog.New(slog.DiscardHandler)
	a, b := newRefusalLimiter(4, 100, quiet), newRefusalLimiter(4, 100, quiet)
	counting := &countingBudget{db: dbs[0]}
	a.shared, b.shared = counting, dbs[1]
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recorded := 0
	for i := range 8 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if l.refuse(ctx, "198.51.100.7", "bpc", now) == 0 {
			recorded++
		}
	}
	if recorded != 4 {
		t.Errorf("two instances recorded %d refusals of one source, want its budget of 4", recorded)
	}
	if wait := b.refuse(ctx, "198.51.100.7", "bpc", now); wait < time.Second {
		t.Errorf("a source spent across instances: wait %v, want a Retry-After", wait)
	}
	if a.refuse(ctx, "203.0.113.9", "bpc", now) != 0 {
		t.Error("another source is turned away")
	}
	// a spent 4 of its own (2 recorded, 2 refused by the shared budget) plus one for the
	// other source: past its own budget it asks the database no more.
	before := counting.n
	for range 20 {
		a.refuse(ctx, "198.51.100.7", "bpc", now)
	}
	if counting.n != before {
		t.Errorf("%d database spends for refusals past this instance's own budget, want none", counting.n-before)
	}
}

// countingBudget counts the spends sent to the database.
type countingBudget struct {
	db *storage.DB
	n  int
}

func (c *countingBudget) SpendRate(ctx context.Context, key string, lim storage.RateLimit, now time.Time) (bool, time.Duration, error) {
	c.n++
	return c.db.SpendRate(ctx, key, lim, now)
}
