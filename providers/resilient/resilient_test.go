package resilient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/ops/opstest"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/resilient"
	"paydesk/providers/simfault"
	"paydesk/providers/tranzzo"
)

// recorder collects what a guard reports, and the waits it asked for.
type recorder struct {
	mu      sync.Mutex
	waits   []time.Duration
	retries []string
	states  []resilient.State
	calls   []resilient.Call
}

func (r *recorder) options(c *opstest.Clock) resilient.Options {
	return resilient.Options{
		Now:    c.Now,
		Jitter: func() float64 { return 0.5 },
		Sleep: func(_ context.Context, d time.Duration) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.waits = append(r.waits, d)
			return nil
		},
		OnRetry: func(_ providers.Name, reason string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.retries = append(r.retries, reason)
		},
		OnState: func(_ providers.Name, s resilient.State) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.states = append(r.states, s)
		},
		Observe: func(c resilient.Call) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.calls = append(r.calls, c)
		},
	}
}

// bpcFixture is a BPC simulator with one succeeded payment, and a guarded client.
type bpcFixture struct {
	sim     *bpc.Simulator
	prov    providers.Provider
	guard   *resilient.Guard
	payment providers.Ref
}

func newBPC(t *testing.T, opt resilient.Options) *bpcFixture {
	t.Helper()
	sim := bpc.NewSimulator(bpc.SimConfig{APIKey: "k", SlowDelay: time.Second})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	raw, err := bpc.Demo{}.Envelope(providers.DemoSpec{Seq: 1, Name: "Ada", Email: "ada@example.com", Amount: 5000, Currency: "EUR",
		CreatedAt: time.Now().Add(-time.Hour), Variant: 12, Reference: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Load(raw); err != nil {
		t.Fatal(err)
	}
	snap, _ := bpc.ParseEnvelope(raw)
	g := resilient.New(bpc.Name, opt)
	c, err := bpc.New(bpc.Config{BaseURL: srv.URL, APIKey: "k", Timeout: 5 * time.Second}, &http.Client{Transport: g.Transport(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return &bpcFixture{sim: sim, prov: g.Wrap(c), guard: g, payment: providers.RefOf(snap)}
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestReadsRetriedWithBackoff(t *testing.T) {
	c := opstest.NewClock(time.Unix(1_800_000_000, 0))
	rec := &recorder{}
	f := newBPC(t, rec.options(c))
	f.sim.FailNext(1, simfault.Internal)
	f.sim.FailNext(1, simfault.HTMLPage)
	if _, err := f.prov.Fetch(context.Background(), f.payment); err != nil {
		t.Fatalf("fetch after two faults: %v", err)
	}
	if got := count(f.sim.Requests(), "GET /payments/"+f.payment.PaymentID); got < 3 {
		t.Errorf("%d reads of the payment, want 3 (two retried)", got)
	}
	// Equal jitter at 0.5: 75% of 100ms, then 75% of 200ms.
	want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}
	if len(rec.waits) != 2 || rec.waits[0] != want[0] || rec.waits[1] != want[1] {
		t.Errorf("waits %v, want %v", rec.waits, want)
	}
	if strings.Join(rec.retries, ",") != "status_5xx,status_5xx" {
		t.Errorf("retries %v", rec.retries)
	}

	// Out of retries, the provider's answer comes through as it is.
	f.sim.FailNext(3, simfault.Internal)
	_, err := f.prov.Fetch(context.Background(), f.payment)
	var pe *providers.Error
	if !errors.As(err, &pe) || !pe.Unknown || pe.Status != 500 {
		t.Errorf("fetch after three faults: %v, want BPC's 500", err)
	}
}

func TestMoneyMovingCallsNeverRetried(t *testing.T) {
	c := opstest.NewClock(time.Unix(1_800_000_000, 0))
	rec := &recorder{}
	f := newBPC(t, rec.options(c))
	for _, fault := range []simfault.Fault{simfault.Internal, simfault.Unavailable, simfault.HangUp, simfault.DropAnswer} {
		before := count(f.sim.Requests(), "POST /refunds")
		f.sim.FailNext(1, fault)
		out := f.prov.(providers.Refunder).Refund(context.Background(), f.payment, providers.RefundRequest{Amount: 100})
		if out.Kind != providers.Unknown {
			t.Errorf("%s: outcome %s, want unknown", fault, out.Kind)
		}
		if got := count(f.sim.Requests(), "POST /refunds") - before; got != 1 {
			t.Errorf("%s: %d refund calls, want exactly 1", fault, got)
		}
		c.Advance(time.Minute) // past any Retry-After hold
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	c := opstest.NewClock(time.Unix(1_800_000_000, 0))
	rec := &recorder{}
	var gets, posts atomic.Int32
	var answer atomic.Value
	answer.Store("ok")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			w.Header().Set("Retry-After", "120")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"Too many requests"}`))
			return
		}
		if gets.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"Too many requests"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/refunds") {
			w.Write([]byte(`{"data":[]}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "p_1", "amount": 100, "amountCapturable": 0, "amountReceived": 100, "currency": "EUR", "status": "succeeded", "created": "2026-01-01T00:00:00Z"})
	}))
	defer srv.Close()
	g := resilient.New(bpc.Name, rec.options(c))
	cl, err := bpc.New(bpc.Config{BaseURL: srv.URL, APIKey: "k", Timeout: 5 * time.Second}, &http.Client{Transport: g.Transport(nil)})
	if err != nil {
		t.Fatal(err)
	}
	prov := g.Wrap(cl)

	// A read told to wait 2 seconds waits exactly that, then succeeds.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/payments/p_1", nil)
	res, err := (&http.Client{Transport: g.Transport(nil)}).Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("read after 429: %v %v", res, err)
	}
	res.Body.Close()
	if len(rec.waits) != 1 || rec.waits[0] != 2*time.Second {
		t.Errorf("waits %v, want [2s] (the Retry-After)", rec.waits)
	}
	c.Advance(3 * time.Second)

	// A refund answered 429 with Retry-After 120 is not retried, and every call to BPC
	// fails fast, saying nothing was sent, until the 120 seconds have passed.
	out := prov.(providers.Refunder).Refund(context.Background(), providers.Ref{PaymentID: "p_1", Currency: "EUR"}, providers.RefundRequest{Amount: 10})
	if out.Kind != providers.Refused || posts.Load() != 1 {
		t.Fatalf("429 refund: %s after %d calls, want refused after 1", out.Kind, posts.Load())
	}
	before := gets.Load()
	_, err = prov.Fetch(context.Background(), providers.Ref{PaymentID: "p_1"})
	if !errors.Is(err, resilient.ErrRateLimited) || gets.Load() != before {
		t.Fatalf("fetch during the hold: %v (%d calls sent)", err, gets.Load()-before)
	}
	if msg := providers.SafeMessage(err); !strings.Contains(msg, "nothing was sent") || !strings.Contains(msg, "120 seconds") {
		t.Errorf("message %q", msg)
	}
	out = prov.(providers.Refunder).Refund(context.Background(), providers.Ref{PaymentID: "p_1", Currency: "EUR"}, providers.RefundRequest{Amount: 10})
	if out.Kind != providers.Refused || posts.Load() != 1 || !strings.Contains(out.Message, "slow down") {
		t.Errorf("refund during the hold: %s %q after %d calls", out.Kind, out.Message, posts.Load())
	}
	c.Advance(121 * time.Second)
	if _, err := prov.Fetch(context.Background(), providers.Ref{PaymentID: "p_1"}); err != nil {
		t.Errorf("fetch after the hold: %v", err)
	}
}

func TestCircuitBreakerOpensAndCloses(t *testing.T) {
	c := opstest.NewClock(time.Unix(1_800_000_000, 0))
	rec := &recorder{}
	opt := rec.options(c)
	opt.Threshold, opt.Cooldown, opt.Retries = 3, 30*time.Second, -1
	f := newBPC(t, opt)

	f.sim.FailNext(3, simfault.Internal)
	for i := 0; i < 3; i++ {
		if _, err := f.prov.Fetch(context.Background(), f.payment); err == nil {
			t.Fatalf("fetch %d succeeded through a fault", i)
		}
	}
	if f.guard.State() != resilient.Open {
		t.Fatalf("after 3 failures the circuit is %s, want open", f.guard.State())
	}
	sent := len(f.sim.Requests())
	_, err := f.prov.Fetch(context.Background(), f.payment)
	if !errors.Is(err, resilient.ErrCircuitOpen) || len(f.sim.Requests()) != sent {
		t.Fatalf("fetch while open: %v, %d requests sent; want a fast refusal", err, len(f.sim.Requests())-sent)
	}
	out := f.prov.(providers.Refunder).Refund(context.Background(), f.payment, providers.RefundRequest{Amount: 100})
	if out.Kind != providers.Refused || !strings.Contains(out.Message, "nothing was sent") || len(f.sim.Requests()) != sent {
		t.Errorf("refund while open: %s %q", out.Kind, out.Message)
	}

	// After the cool-down one trial goes through; it fails, so the circuit opens again.
	c.Advance(31 * time.Second)
	if f.guard.State() != resilient.HalfOpen {
		t.Errorf("after the cool-down: %s, want half_open", f.guard.State())
	}
	f.sim.FailNext(1, simfault.Internal)
	f.prov.Fetch(context.Background(), f.payment)
	if f.guard.State() != resilient.Open {
		t.Fatalf("after a failed trial: %s, want open", f.guard.State())
	}
	// Next trial succeeds: closed again, and calls flow.
	c.Advance(31 * time.Second)
	if _, err := f.prov.Fetch(context.Background(), f.payment); err != nil {
		t.Fatalf("trial fetch: %v", err)
	}
	if f.guard.State() != resilient.Closed {
		t.Errorf("after a good trial: %s, want closed", f.guard.State())
	}
	want := "open,half_open,open,half_open,closed"
	var got []string
	for _, s := range rec.states {
		got = append(got, string(s))
	}
	if strings.Join(got, ",") != want {
		t.Errorf("states %v, want %s", got, want)
	}
	outcomes := map[string]int{}
	for _, call := range rec.calls {
		outcomes[call.Outcome]++
	}
	if outcomes["circuit_open"] != 2 || outcomes["unknown"] != 4 || outcomes["ok"] != 1 {
		t.Errorf("observed outcomes %v", outcomes)
	}

	// A refusal is the provider answering: it never opens the circuit.
	for i := 0; i < 5; i++ {
		f.prov.Fetch(context.Background(), providers.Ref{PaymentID: "p_unknown"})
	}
	if f.guard.State() != resilient.Closed {
		t.Errorf("after 5 not-found answers: %s, want closed", f.guard.State())
	}
}

func TestWrapKeepsCapabilities(t *testing.T) {
	g := resilient.New(powens.Name, resilient.Options{})
	pw, _ := powens.New(powens.Config{BaseURL: "http://127.0.0.1:1", ClientID: "a", ClientSecret: "b"}, nil)
	bc, _ := bpc.New(bpc.Config{BaseURL: "http://127.0.0.1:1", APIKey: "k"}, nil)
	tz, _ := tranzzo.New(tranzzo.Config{BaseURL: "http://127.0.0.1:1", POSID: tranzzo.DemoPOSID, APIKey: "a", APISecret: "b", EndpointsKey: "c"}, nil)
	for _, c := range []struct {
		p                            providers.Provider
		cancel, expire, refund, link bool
	}{
		{pw, true, false, false, true},
		{bc, true, true, true, false},
		{tz, true, false, true, false},
	} {
		w := g.Wrap(c.p)
		_, cancel := w.(providers.Canceller)
		_, expire := w.(providers.Expirer)
		_, refund := w.(providers.Refunder)
		_, link := w.(providers.PayerLinker)
		if cancel != c.cancel || expire != c.expire || refund != c.refund || link != c.link || w.Name() != c.p.Name() {
			t.Errorf("%s wrapped: cancel %v expire %v refund %v link %v", c.p.Name(), cancel, expire, refund, link)
		}
	}
}
