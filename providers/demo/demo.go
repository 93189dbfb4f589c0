// Package demo generates Paydesk's demo payments: realistic, deterministic, spread over
// the three providers and every state each one documents. It decides who paid, how much
// and when; each provider's DemoMaker shapes the payment as its own JSON, so demo data,
// the import format and the simulators share one wire format.
package demo

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

var firstNames = []string{
	"Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Emma", "Arthur",
	"Olivia", "George", "Amelia", "Harry", "Isla", "Oliver", "Ava", "Jack", "Freya", "Noah",
	"Olena", "Andriy", "Iryna", "Taras", "Sofiia", "Dmytro", "Kateryna", "Oleksandr", "Yulia", "Bohdan",
	"Sophie", "Max", "Marie", "Paul", "Mia", "Felix", "Hannah", "Jonas", "Lena", "Elias",
	"Lucía", "Mateo", "Martina", "Hugo", "Valentina", "Diego", "Aiko", "Haruto", "Yui", "Sota",
}

var lastNames = []string{
	"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Evans",
	"Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Boyko", "Koval", "Oliynyk", "Lysenko",
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "García", "Fernández", "López", "Sato", "Tanaka",
}

var domains = []string{"example.com", "example.org", "example.net", "mail.example", "post.example"}

// amountFor picks a plausible amount in minor units for a currency: small baskets most of
// the time, some large ones (so approval thresholds are reached).
func amountFor(r *rand.Rand, currency string) int64 {
	var major int64
	switch x := r.IntN(100); {
	case x < 60:
		major = 5 + r.Int64N(120)
	case x < 90:
		major = 120 + r.Int64N(600)
	default:
		major = 700 + r.Int64N(4000)
	}
	switch currency {
	case "UAH":
		major *= 40
	case "JPY":
		major *= 160
	}
	exp := providers.Exponent(currency)
	minor := major
	for i := 0; i < exp; i++ {
		minor *= 10
	}
	if exp > 0 && r.IntN(3) > 0 { // most amounts have cents
		unit := int64(1)
		for i := 0; i < exp; i++ {
			unit *= 10
		}
		minor += r.Int64N(unit)
	}
	return minor
}

// Options controls a generation run.
type Options struct {
	Count int       // how many payments
	Seed  uint64    // same seed, same payments
	Now   time.Time // payments are spread over the 180 days before Now
	// Makers shape each provider's payments; the providers present share the count.
	Makers map[providers.Name]providers.DemoMaker

	// What follows is for Payments only.

	// Parse turns a provider's envelope into its snapshot, for makers that are not
	// SnapshotMakers.
	Parse func(provider providers.Name, envelope []byte) (providers.Snapshot, error)
	// Workers is how many goroutines generate payments (default GOMAXPROCS).
	Workers int
	// Staff, when set, adds the refunds people asked for through Paydesk (see Staff).
	Staff *Staff
}

// SnapshotMaker is a DemoMaker that also returns its payment already parsed: the snapshot
// ParseEnvelope gives for the envelope Envelope makes. Makers shape their payment through
// the parser anyway, so Payments saves a second parse per payment.
type SnapshotMaker interface {
	DemoSnapshot(spec providers.DemoSpec) (providers.Snapshot, error)
}

// Payment is one generated demo payment, parsed: the spec the generator decided, the
// provider's snapshot (its Raw is the import envelope) and, with Options.Staff, the
// refunds staff asked for through Paydesk.
type Payment struct {
	Spec     providers.DemoSpec
	Snapshot providers.Snapshot
	Requests []RefundRequest
}

// RefundRequest is a refund someone asked for through Paydesk in the demo's history. Its
// fields are storage.BulkRefund's, so that one converts to the other.
type RefundRequest struct {
	// ProviderRefundID is the provider's refund the request became; empty when the request
	// never reached the provider (rejected, expired, waiting, refused).
	ProviderRefundID string
	Amount           int64
	// Status is the request's refund status when it never reached the provider:
	// rejected, expired, awaiting_approval or failed.
	Status            string
	Reason            string
	Note              string
	RequestedBy       string
	RequestedAt       time.Time
	ApprovalExpiresAt time.Time
	Message           string
	// Decision is "approved", "rejected" or "" (no decision).
	Decision       string
	DecidedBy      string
	DecisionReason string
	DecidedAt      time.Time
}

// Staff is who works in the demo's Paydesk. With it, Payments gives most refunds the
// providers report a history (who asked, why, which manager approved the large ones) and
// adds requests that never reached a provider: rejected, expired, refused, a few still
// awaiting a manager. About one payment in five then carries a refund, as in the refund
// history of a large merchant.
type Staff struct {
	// Requesters ask for refunds; Managers decide on those that need approval (never
	// their own).
	Requesters, Managers []string
	// Reasons are the refund reason codes to pick from; "other" comes with a note.
	Reasons []string
	// Threshold returns the amount from which a refund in a currency needs a manager.
	Threshold func(currency string) (int64, bool)
	// ApprovalTTL is how long a request may wait for a manager (default 72 hours).
	ApprovalTTL time.Duration
}

// providerNames returns the providers present in opt.Makers, in providers.Names order.
func providerNames(opt Options) ([]providers.Name, error) {
	if opt.Count < 0 {
		return nil, fmt.Errorf("demo: negative count %d", opt.Count)
	}
	var names []providers.Name
	for _, n := range providers.Names {
		if _, ok := opt.Makers[n]; ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("demo: no provider to generate for")
	}
	return names, nil
}

// rngFor is payment i's own random source: payments can be generated in any order, on
// any goroutine, and still come out the same for a seed.
func rngFor(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15^0xd1b54a32d192ed03))
}

// specFor decides payment i: its provider, customer, money, date and variant. The
// providers take turns, and each one's variants are cycled in order, so every documented
// state appears as soon as Count allows.
func specFor(opt Options, names []providers.Name, i int, r *rand.Rand) (providers.Name, providers.DemoSpec) {
	name := names[i%len(names)]
	maker := opt.Makers[name]
	k := i / len(names) // this provider's own sequence number
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	currencies := maker.Currencies()
	cur := currencies[r.IntN(len(currencies))]
	// Newer payments have higher sequence numbers; a few share a timestamp to the second,
	// as real traffic does.
	span := int64(180 * 24 * time.Hour / time.Second)
	offset := span - span*int64(i)/int64(max(opt.Count, 1)) - r.Int64N(3600)
	return name, providers.DemoSpec{
		Seq:       i,
		Name:      first + " " + last,
		Email:     emailFor(first, last, i, r),
		Amount:    amountFor(r, cur),
		Currency:  cur,
		CreatedAt: opt.Now.Add(-time.Duration(max(offset, 0)) * time.Second).UTC().Truncate(time.Second),
		Variant:   k % maker.Variants(),
		Reference: fmt.Sprintf("ORD-%07d", 100000+i),
		Now:       opt.Now,
	}
}

// Generate calls fn with Count import envelopes (one JSON object each), in order.
func Generate(opt Options, fn func(line []byte) error) error {
	names, err := providerNames(opt)
	if err != nil {
		return err
	}
	for i := 0; i < opt.Count; i++ {
		name, spec := specFor(opt, names, i, rngFor(opt.Seed, i))
		line, err := opt.Makers[name].Envelope(spec)
		if err != nil {
			return fmt.Errorf("demo: %s payment %d: %w", name, i, err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}

// paymentsChunk is how many payments one worker makes at a time.
const paymentsChunk = 256

// chunk is a run of consecutive payments made by one worker.
type chunk[T any] struct {
	from, to int
	out      []T
	err      error
	done     chan struct{}
}

// Payments calls fn with Count payments, parsed, in order: the same payments as
// Generate's lines, made on Workers goroutines (fn itself runs on the caller's).
func Payments(opt Options, fn func(Payment) error) error {
	return Pipeline(opt, func(p Payment) (Payment, error) { return p, nil }, fn)
}

// Pipeline is Payments with a step of the caller's run on the workers too: prep turns
// each payment into what fn consumes (the bulk loader's validated rows), so that only fn
// runs one at a time. It is the bulk demo's source: a million payments in well under a
// minute on two cores.
func Pipeline[T any](opt Options, prep func(Payment) (T, error), fn func(T) error) error {
	names, err := providerNames(opt)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, ok := opt.Makers[n].(SnapshotMaker); !ok && opt.Parse == nil {
			return fmt.Errorf("demo: %s makes no snapshots and Options.Parse is not set", n)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// On the way out, stop (first) ends the hand-out, then the workers are waited for.
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := make(chan struct{})
	defer close(stop)
	work := make(chan *chunk[T])
	ordered := make(chan *chunk[T], 2*workers)
	go func() { // hands out chunks, in order, to the workers and to the consumer
		defer close(work)
		defer close(ordered)
		for from := 0; from < opt.Count; from += paymentsChunk {
			c := &chunk[T]{from: from, to: min(from+paymentsChunk, opt.Count), done: make(chan struct{})}
			select {
			case ordered <- c:
			case <-stop:
				return
			}
			select {
			case work <- c:
			case <-stop:
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.out = make([]T, 0, c.to-c.from)
				for i := c.from; i < c.to && c.err == nil; i++ {
					var p Payment
					var v T
					if p, c.err = makePayment(opt, names, i); c.err == nil {
						v, c.err = prep(p)
					}
					c.out = append(c.out, v)
				}
				close(c.done)
			}
		}()
	}
	for c := range ordered {
		<-c.done
		if c.err != nil {
			return c.err
		}
		for _, v := range c.out {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// makePayment makes payment i, parsed, with its history when Staff is set.
func makePayment(opt Options, names []providers.Name, i int) (Payment, error) {
	r := rngFor(opt.Seed, i)
	name, spec := specFor(opt, names, i, r)
	maker := opt.Makers[name]
	var snap providers.Snapshot
	var err error
	if sm, ok := maker.(SnapshotMaker); ok {
		snap, err = sm.DemoSnapshot(spec)
	} else {
		var line []byte
		if line, err = maker.Envelope(spec); err == nil {
			snap, err = opt.Parse(name, line)
		}
	}
	if err != nil {
		return Payment{}, fmt.Errorf("demo: %s payment %d: %w", name, i, err)
	}
	p := Payment{Spec: spec, Snapshot: snap}
	if opt.Staff != nil {
		p.Requests = opt.Staff.history(r, snap, opt.Now)
	}
	return p, nil
}

// Notes of requests whose reason is "other", and reasons managers give for a rejection.
var (
	otherNotes       = []string{"Customer called twice about this order", "Parcel returned damaged", "Agreed with the shop manager"}
	rejectionReasons = []string{"Already refunded by bank transfer", "Outside the refund policy", "Duplicate of an earlier request"}
)

// The history's proportions: most provider refunds were asked through Paydesk, and one
// refundable payment in four had a request that never reached the provider.
const (
	requestedShare = 0.85
	extraShare     = 0.25
)

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// history invents the refunds staff asked for on one payment (see Staff).
func (st *Staff) history(r *rand.Rand, s providers.Snapshot, now time.Time) []RefundRequest {
	if len(st.Requesters) == 0 || len(st.Reasons) == 0 {
		return nil
	}
	ttl := st.ApprovalTTL
	if ttl <= 0 {
		ttl = 72 * time.Hour
	}
	threshold, hasThreshold := int64(0), false
	if st.Threshold != nil {
		threshold, hasThreshold = st.Threshold(s.Currency)
	}
	needsApproval := func(amount int64) bool { return hasThreshold && amount >= threshold }
	ask := func(amount int64, at time.Time) RefundRequest {
		q := RefundRequest{Amount: amount, RequestedBy: st.Requesters[r.IntN(len(st.Requesters))],
			Reason: st.Reasons[r.IntN(len(st.Reasons))], RequestedAt: at.UTC().Truncate(time.Second)}
		if q.Reason == "other" {
			q.Note = otherNotes[r.IntN(len(otherNotes))]
		}
		if needsApproval(amount) {
			q.ApprovalExpiresAt = q.RequestedAt.Add(ttl)
		}
		return q
	}
	// decide has another manager than the requester decide at, if there is one.
	decide := func(q *RefundRequest, decision string, at time.Time) bool {
		var others []string
		for _, m := range st.Managers {
			if !strings.EqualFold(m, q.RequestedBy) {
				others = append(others, m)
			}
		}
		if len(others) == 0 {
			return false
		}
		q.Decision, q.DecidedBy, q.DecidedAt = decision, others[r.IntN(len(others))], at.UTC().Truncate(time.Second)
		return true
	}

	var out []RefundRequest
	// The provider's refunds: most were asked for here, minutes to hours before.
	for _, pr := range s.Refunds {
		if pr.CreatedAt.IsZero() || r.Float64() >= requestedShare {
			continue
		}
		lead := time.Duration(5+r.IntN(300)) * time.Minute
		at := pr.CreatedAt.Add(-lead)
		if at.Before(s.CreatedAt) {
			at, lead = s.CreatedAt, pr.CreatedAt.Sub(s.CreatedAt)
		}
		q := ask(pr.Amount, at)
		q.ProviderRefundID = pr.ID
		if needsApproval(pr.Amount) && !decide(&q, "approved", at.Add(lead/2)) {
			continue // nobody could have approved it: the provider's refund stays as reported
		}
		out = append(out, q)
	}
	// A request that never reached the provider.
	refund := providers.Eligible(s).Refund
	if !refund.Allowed || refund.MaxRefund <= 0 || r.Float64() >= extraShare {
		return out
	}
	left := refund.MaxRefund
	for _, q := range out {
		left -= q.Amount // asked already (succeeded at the provider, or about to be)
	}
	if left <= 0 {
		return out
	}
	amount := max(1, left*int64(20+r.IntN(81))/100)
	if hasThreshold && left >= threshold && r.IntN(2) == 0 {
		amount = threshold + r.Int64N(left-threshold+1) // large enough for a manager
	}
	window := now.Sub(s.CreatedAt)
	if window <= time.Hour {
		return out
	}
	at := s.CreatedAt.Add(time.Hour + time.Duration(r.Int64N(int64(window-time.Hour))))
	q := ask(amount, at)
	switch {
	case !needsApproval(amount):
		q.Status, q.Message = "failed", "The provider refused the refund: the payment's settlement is still in progress."
	case at.Add(ttl).After(now) && r.IntN(5) == 0:
		q.Status = "awaiting_approval" // a few wait in the managers' queue
	case (at.Add(ttl).After(now) || r.IntN(5) < 3) && decide(&q, "rejected", minTime(now, at.Add(time.Duration(30+r.IntN(1440))*time.Minute))):
		q.Status, q.DecisionReason = "rejected", rejectionReasons[r.IntN(len(rejectionReasons))]
	case at.Add(ttl).After(now):
		q.Status = "awaiting_approval"
	default:
		q.Status = "expired"
	}
	return append(out, q)
}

// emailReplacer folds the accented letters of the demo's names for e-mail addresses.
var emailReplacer = strings.NewReplacer("é", "e", "è", "e", "ü", "u", "í", "i", "ó", "o", "á", "a", "ñ", "n", "ï", "i", "ç", "c")

func emailFor(first, last string, i int, r *rand.Rand) string {
	clean := func(s string) string { return emailReplacer.Replace(strings.ToLower(s)) }
	local := clean(first) + "." + clean(last)
	if r.IntN(3) == 0 {
		local += fmt.Sprint(i % 97)
	}
	return local + "@" + domains[r.IntN(len(domains))]
}
