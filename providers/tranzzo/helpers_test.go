package tranzzo

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/resilient"
)

const (
	testPOS       = "6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b"
	testAPIKey    = "key-0123"
	testAPISecret = "s3cr3t-4567"
	testEndpoints = "endpoints-89ab"
)

var testNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// fixture is a simulator behind a real HTTP server, a client pointed at it, and a record
// of what went over the wire.
type fixture struct {
	sim    *Simulator
	srv    *httptest.Server
	client *Client

	mu        sync.Mutex
	bodies    []string      // POST bodies, in order
	changes   [][]byte      // envelopes given to OnChange
	changeTxs [][]byte      // transactions given to OnChange
	changed   chan struct{} // one value per OnChange call
	seq       int
}

// newFixture starts a simulator and a client; cfg changes the client's config.
func newFixture(t *testing.T, cfg func(*Config)) *fixture {
	t.Helper()
	f := &fixture{changed: make(chan struct{}, 100)}
	f.sim = NewSimulator(SimConfig{
		POSID: testPOS, APIKey: testAPIKey, APISecret: testAPISecret, EndpointsKey: testEndpoints,
		PublicURL: "http://sim.test",
		Shapes:    simMode.Shape, ExtraFields: simMode.Extra,
		Now:       func() time.Time { return testNow },
		SlowDelay: 5 * time.Second,
		OnChange: func(tx, env []byte) {
			f.mu.Lock()
			f.changes = append(f.changes, env)
			f.changeTxs = append(f.changeTxs, tx)
			f.mu.Unlock()
			f.changed <- struct{}{}
		},
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			f.mu.Lock()
			f.bodies = append(f.bodies, string(b))
			f.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.client = newTestClient(t, f.srv.URL, cfg)
	return f
}

// testConfig is a valid client config for the simulator at url.
func testConfig(url string) Config {
	return Config{BaseURL: url, POSID: testPOS, APIKey: testAPIKey, APISecret: testAPISecret,
		EndpointsKey: testEndpoints, Timeout: 2 * time.Second}
}

func newTestClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(url)
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// load puts a demo payment of the given variant in the simulator and returns its address.
func (f *fixture) load(t *testing.T, variant int, currency string, amount int64) providers.Ref {
	t.Helper()
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	env, err := Demo{POSID: testPOS}.Envelope(providers.DemoSpec{
		Seq: seq, Name: "Olena Shevchenko", Email: "olena@example.com", Amount: amount,
		Currency: currency, CreatedAt: testNow.Add(-72 * time.Hour), Variant: variant,
	})
	if err != nil {
		t.Fatalf("Demo.Envelope: %v", err)
	}
	if err := f.sim.Load(env); err != nil {
		t.Fatalf("Load: %v", err)
	}
	snap, err := ParseEnvelope(env)
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	return providers.RefOf(snap)
}

// state is the simulator's envelope of ref's order.
func (f *fixture) state(t *testing.T, ref providers.Ref) string {
	t.Helper()
	env, err := f.sim.Envelope(ref.OrderID)
	if err != nil {
		t.Fatalf("sim.Envelope: %v", err)
	}
	return string(env)
}

// simSnapshot is the simulator's view of ref's payment.
func (f *fixture) simSnapshot(t *testing.T, ref providers.Ref) providers.Snapshot {
	t.Helper()
	snap, err := f.sim.Snapshot(ref.OrderID)
	if err != nil {
		t.Fatalf("sim.Snapshot: %v", err)
	}
	return snap
}

// posts counts the POST requests the simulator received.
func (f *fixture) posts() int {
	n := 0
	for _, r := range f.sim.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// lastBody is the body of the last POST sent.
func (f *fixture) lastBody() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		return ""
	}
	return f.bodies[len(f.bodies)-1]
}

// waitChange waits for one OnChange call.
func (f *fixture) waitChange(t *testing.T) {
	t.Helper()
	select {
	case <-f.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator's state did not change")
	}
}

// noSecrets fails when a secret shows up in text meant for people or the log.
func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{testAPISecret, testAPIKey, testEndpoints} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret: %q", where, s)
		}
	}
}

// variantNames name the demo variants in test output.
var variantNames = map[int]string{
	VariantHostedPurchaseInit: "hosted purchase init",
	VariantHostedAuthInit:     "hosted auth init",
	VariantDirectPurchaseInit: "direct purchase init",
	VariantPurchasePending:    "purchase pending",
	VariantPurchaseSuccess:    "purchase success",
	VariantPartlyRefunded:     "partly refunded",
	VariantFullyRefunded:      "fully refunded",
	VariantAuthHeld:           "auth held",
	VariantAuthVoided:         "auth voided",
	VariantAuthCaptured:       "auth captured",
	VariantPurchaseFailed:     "purchase failed",
	VariantHostedCancelled:    "hosted cancelled",
	VariantUnknownStatus:      "unknown status",
}

// newGuardedClient is a client behind the resilient guard's transport, the way
// cmd/paydesk wires every client: the one layer that retries reads (the client itself
// sends each call once). Its backoff waits are skipped; the retry rules are the defaults
// cmd/paydesk uses.
func newGuardedClient(t *testing.T, url string) *Client {
	t.Helper()
	g := resilient.New(Name, resilient.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	c, err := New(testConfig(url), &http.Client{Transport: g.Transport(nil)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
