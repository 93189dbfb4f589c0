package bpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/resilient"
)

const (
	testKey      = "sk_test_6HUXQFbeomV1zf5i8cgm5W8K"
	testReadOnly = "rk_test_readonly_key"
)

var (
	testNow     = time.Date(2024, 3, 31, 23, 52, 6, 0, time.UTC)
	testCreated = time.Date(2024, 3, 29, 8, 9, 17, 0, time.UTC)
)

// seenRequest is one request as it reached the simulator.
type seenRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// event is one OnChange call.
type event struct {
	Name     string
	Envelope []byte
}

// fixture is a simulator behind a real HTTP server and a client pointed at it.
type fixture struct {
	sim *Simulator
	srv *httptest.Server
	c   *Client

	mu     sync.Mutex
	seen   []seenRequest
	events []event
}

// newFixture starts a simulator (fixed clock, short slow delay) behind httptest and a
// client with a short timeout; edit may change both configs before they are used.
func newFixture(t *testing.T, edit func(*SimConfig, *Config)) *fixture {
	t.Helper()
	f := &fixture{}
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	sc := SimConfig{
		APIKey:      testKey,
		ReadOnlyKey: testReadOnly,
		PublicURL:   url,
		Now:         func() time.Time { return testNow },
		SlowDelay:   5 * time.Second,
		OnChange: func(name string, env []byte) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, event{name, env})
		},
	}
	sc.Shapes, sc.ExtraFields = simMode.Shape, simMode.Extra
	cc := Config{BaseURL: url, APIKey: testKey, Timeout: 2 * time.Second}
	if edit != nil {
		edit(&sc, &cc)
	}
	f.sim = NewSimulator(sc)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		f.sim.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	f.srv = srv
	c, err := New(cc, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

// requests returns "METHOD /path" of every request the simulator received.
func (f *fixture) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.seen {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// count returns how many requests matched "METHOD /path".
func (f *fixture) count(req string) int {
	n := 0
	for _, r := range f.requests() {
		if r == req {
			n++
		}
	}
	return n
}

func (f *fixture) eventNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Name)
	}
	return out
}

// load puts one demo payment of the given variant into the simulator and returns its
// snapshot as loaded.
func (f *fixture) load(t *testing.T, variant, seq int, currency string, amount int64) providers.Snapshot {
	t.Helper()
	raw, err := Demo{}.Envelope(demoSpec(seq, variant, currency, amount))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Load(raw); err != nil {
		t.Fatal(err)
	}
	snap, err := ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// state reads the simulator's view of a payment.
func (f *fixture) state(t *testing.T, ref providers.Ref) providers.Snapshot {
	t.Helper()
	s, err := f.sim.Snapshot(ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func demoSpec(seq, variant int, currency string, amount int64) providers.DemoSpec {
	return providers.DemoSpec{
		Seq:       seq,
		Name:      "Ada Lovelace",
		Email:     "ada@example.com",
		Amount:    amount,
		Currency:  currency,
		CreatedAt: testCreated.Add(time.Duration(seq) * time.Hour),
		Variant:   variant,
		Reference: "ORD-" + strconv.Itoa(1000+seq),
	}
}

// guarded is base behind the resilient guard's transport, the way cmd/paydesk wires every
// client: the one layer that retries reads (the client itself sends each call once). Its
// backoff waits are skipped; the retry rules are the defaults cmd/paydesk uses.
func guarded(base http.RoundTripper) *http.Client {
	g := resilient.New(Name, resilient.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	return &http.Client{Transport: g.Transport(base)}
}
