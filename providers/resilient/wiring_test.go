package resilient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/resilient"
	"paydesk/providers/tranzzo"
)

// broken fails the next requests of one method with a connection error, and counts the
// requests of that method that reached it.
type broken struct {
	method string
	next   http.RoundTripper

	mu       sync.Mutex
	fail     int // how many more requests fail
	attempts int
}

// arm makes the next n requests fail and starts counting again.
func (b *broken) arm(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail, b.attempts = n, 0
}

func (b *broken) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attempts
}

func (b *broken) RoundTrip(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	fail := false
	if r.Method == b.method {
		b.attempts++
		if fail = b.fail > 0; fail {
			b.fail--
		}
	}
	b.mu.Unlock()
	if fail {
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return b.next.RoundTrip(r)
}

// wired is one provider's client put together as cmd/paydesk does: the guard's transport
// in its HTTP client, the guard's Wrap around it.
type wired struct {
	name        providers.Name
	prov        providers.Provider
	ref         providers.Ref
	gets, posts *broken
	act         func(context.Context) providers.Outcome // one money-moving call
}

// demoSpec is a demo payment of the given variant.
func demoSpec(variant int) providers.DemoSpec {
	return providers.DemoSpec{Seq: 1, Name: "Ada", Email: "ada@example.com", Amount: 5000, Currency: "EUR",
		CreatedAt: time.Now().Add(-time.Hour), Variant: variant, Reference: "R1"}
}

func wire(t *testing.T, name providers.Name, h http.Handler, build func(url string, hc *http.Client) (providers.Provider, error)) (providers.Provider, *broken, *broken) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	noWait := resilient.Options{Sleep: func(context.Context, time.Duration) error { return nil }}
	g := resilient.New(name, noWait)
	posts := &broken{method: http.MethodPost, next: srv.Client().Transport}
	gets := &broken{method: http.MethodGet, next: posts}
	c, err := build(srv.URL, &http.Client{Transport: g.Transport(gets)})
	if err != nil {
		t.Fatal(err)
	}
	return g.Wrap(c), gets, posts
}

func wireAll(t *testing.T) []wired {
	t.Helper()
	var out []wired

	// BPC: a refund.
	bsim := bpc.NewSimulator(bpc.SimConfig{APIKey: "k"})
	raw, err := bpc.Demo{}.Envelope(demoSpec(12)) // succeeded: refundable
	if err != nil {
		t.Fatal(err)
	}
	if err := bsim.Load(raw); err != nil {
		t.Fatal(err)
	}
	snap, _ := bpc.ParseEnvelope(raw)
	p, gets, posts := wire(t, bpc.Name, bsim, func(url string, hc *http.Client) (providers.Provider, error) {
		return bpc.New(bpc.Config{BaseURL: url, APIKey: "k", Timeout: 5 * time.Second}, hc)
	})
	w := wired{name: bpc.Name, prov: p, ref: providers.RefOf(snap), gets: gets, posts: posts}
	w.act = func(ctx context.Context) providers.Outcome {
		return w.prov.(providers.Refunder).Refund(ctx, w.ref, providers.RefundRequest{Amount: 100})
	}
	out = append(out, w)

	// Powens: a cancellation (after the token is fetched by the read).
	psim := powens.NewSimulator(powens.SimConfig{ClientID: "id", ClientSecret: "secret"})
	raw, err = powens.Demo{}.Envelope(demoSpec(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := psim.Load(raw); err != nil {
		t.Fatal(err)
	}
	snap, _ = powens.ParseEnvelope(raw)
	p, gets, posts = wire(t, powens.Name, psim, func(url string, hc *http.Client) (providers.Provider, error) {
		return powens.New(powens.Config{BaseURL: url, ClientID: "id", ClientSecret: "secret", Timeout: 5 * time.Second}, hc)
	})
	pw := wired{name: powens.Name, prov: p, ref: providers.RefOf(snap), gets: gets, posts: posts}
	pw.act = func(ctx context.Context) providers.Outcome {
		return pw.prov.(providers.Canceller).Cancel(ctx, pw.ref, providers.CancelRequest{ReturnURL: "https://paydesk.example/back", State: "s"})
	}
	out = append(out, pw)

	// Tranzzo: a refund.
	tsim := tranzzo.NewSimulator(tranzzo.SimConfig{POSID: tranzzo.DemoPOSID, APIKey: "a", APISecret: "b", EndpointsKey: "c"})
	raw, err = tranzzo.Demo{}.Envelope(demoSpec(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := tsim.Load(raw); err != nil {
		t.Fatal(err)
	}
	snap, _ = tranzzo.ParseEnvelope(raw)
	p, gets, posts = wire(t, tranzzo.Name, tsim, func(url string, hc *http.Client) (providers.Provider, error) {
		return tranzzo.New(tranzzo.Config{BaseURL: url, POSID: tranzzo.DemoPOSID, APIKey: "a", APISecret: "b", EndpointsKey: "c", Timeout: 5 * time.Second}, hc)
	})
	tw := wired{name: tranzzo.Name, prov: p, ref: providers.RefOf(snap), gets: gets, posts: posts}
	tw.act = func(ctx context.Context) providers.Outcome {
		return tw.prov.(providers.Refunder).Refund(ctx, tw.ref, providers.RefundRequest{Amount: 100})
	}
	out = append(out, tw)
	return out
}

// TestOneRetryLayer: with each client wired as cmd/paydesk wires it, reads are retried by
// the guard's transport alone — one connection error costs one more request, and a read
// that keeps failing is sent 1 + Options.Retries (2) times, not more, as it was when the
// clients retried on top of the guard — and a money-moving call is sent exactly once.
func TestOneRetryLayer(t *testing.T) {
	ctx := context.Background()
	for _, w := range wireAll(t) {
		t.Run(string(w.name), func(t *testing.T) {
			// Warm up (Powens fetches its token here) and learn how many reads a Fetch makes.
			w.gets.arm(0)
			if _, err := w.prov.Fetch(ctx, w.ref); err != nil {
				t.Fatalf("fetch: %v", err)
			}
			reads := w.gets.count()

			w.gets.arm(1)
			if _, err := w.prov.Fetch(ctx, w.ref); err != nil {
				t.Fatalf("fetch after one connection error: %v", err)
			}
			if got := w.gets.count(); got != reads+1 {
				t.Errorf("reads sent %d times, want %d (the broken one retried once)", got, reads+1)
			}

			w.gets.arm(10)
			_, err := w.prov.Fetch(ctx, w.ref)
			var pe *providers.Error
			if !errors.As(err, &pe) || !pe.Unknown {
				t.Errorf("fetch through a broken connection: %v, want an unknown error", err)
			}
			if got := w.gets.count(); got != 3 {
				t.Errorf("a failing read sent %d times, want 3 (retried twice, by the guard only)", got)
			}

			w.posts.arm(1)
			out := w.act(ctx)
			if out.Kind != providers.Unknown {
				t.Errorf("action after a connection error: %s %q, want unknown", out.Kind, out.Message)
			}
			if got := w.posts.count(); got != 1 {
				t.Errorf("money-moving call sent %d times, want exactly 1", got)
			}
		})
	}
}
