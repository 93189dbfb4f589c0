package powens

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/resilient"
	"paydesk/providers/simshape"
)

const (
	testClientID     = "client-123"
	testClientSecret = "s3cret-xyz"
	testReturnURL    = "https://paydesk.example/payer/return?from=powens"
	testState        = "st/ate+1=="
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// env is a simulator behind a real HTTP server and a client pointed at it.
type env struct {
	sim     *Simulator
	srv     *httptest.Server
	client  *Client
	changes *changeLog
}

// changeLog records the OnChange calls.
type changeLog struct {
	mu   sync.Mutex
	envs [][]byte
}

func (l *changeLog) add(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.envs = append(l.envs, b)
}

func (l *changeLog) all() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.envs...)
}

// simShape is one way the simulator words its answers. The client's tests run against
// each: whole objects, exactly the guides' fields (notSupported as a 200), and the guides'
// fields with unknown ones added to every object (notSupported as a 400).
type simShape struct {
	name               string
	shapes             simshape.Shape
	extra              bool
	notSupportedStatus int
}

// simShapes are the shapes the client's tests run against.
var simShapes = []simShape{
	{"full", simshape.Full, false, 0},
	{"documented", simshape.Documented, false, http.StatusOK},
	{"documented+extra", simshape.Documented, true, http.StatusBadRequest},
}

// eachShape runs f as one subtest per simulator shape.
func eachShape(t *testing.T, f func(t *testing.T, sh simShape)) {
	t.Helper()
	for _, sh := range simShapes {
		t.Run(sh.name, func(t *testing.T) { f(t, sh) })
	}
}

// newEnv starts a simulator answering whole objects and a client; mod may change the
// client's config.
func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	return newShapedEnv(t, simShapes[0], mod)
}

// newShapedEnv starts a simulator answering in shape sh and a client; mod may change the
// client's config.
func newShapedEnv(t *testing.T, sh simShape, mod func(*Config)) *env {
	t.Helper()
	e := &env{changes: &changeLog{}}
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.sim = NewSimulator(SimConfig{
		ClientID: testClientID, ClientSecret: testClientSecret, PublicURL: e.srv.URL,
		Now: func() time.Time { return testNow }, SlowDelay: 2 * time.Second, OnChange: e.changes.add,
		Shapes: sh.shapes, ExtraFields: sh.extra, NotSupportedStatus: sh.notSupportedStatus,
	})
	handler = e.sim
	cfg := Config{BaseURL: e.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		Timeout: 2 * time.Second, Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg, e.srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.client = c
	return e
}

// testPayment is a payment with one EUR 50.90 instruction.
func testPayment(id, state, detail, execType string) payment {
	return payment{
		ID: flexID(id), State: state, StateDetail: detail, RegisterDate: "2024-04-30 09:15:00",
		Instructions: []instruction{{Label: "Order " + id, Amount: json.RawMessage("50.90"), Currency: "EUR",
			ExecutionDateType: execType, Beneficiary: &beneficiary{SchemeName: "iban", Identification: "FR76XXXX", Label: "ACME Corp."}}},
		PayerIdentity: &identity{Kind: "individual", FirstName: "Germaine", LastName: "Michu", Email: "germaine@example.com"},
	}
}

// load puts a payment into the simulator.
func (e *env) load(t *testing.T, p payment) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	envl, err := envelopeOf(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Load(envl); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// snap is the simulator's view of a payment.
func (e *env) snap(t *testing.T, id string) providers.Snapshot {
	t.Helper()
	s, err := e.sim.Snapshot(id)
	if err != nil {
		t.Fatalf("sim.Snapshot(%s): %v", id, err)
	}
	return s
}

// adminToken gets a service token straight from the simulator.
func (e *env) adminToken(t *testing.T) string {
	t.Helper()
	tok, err := e.client.requestToken(t.Context())
	if err != nil {
		t.Fatalf("requestToken: %v", err)
	}
	return tok
}

// do sends a raw request to the simulator and returns the status and body.
func (e *env) do(t *testing.T, method, path, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	hc := e.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorCode decodes a simulator error body's code.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if eb.Description == "" || eb.RequestID == "" {
		t.Errorf("error body %s lacks description or request_id", body)
	}
	return eb.Code
}

// readFile reads a fixture.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// providerError unwraps a *providers.Error or fails.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

// guard puts the env's client behind the resilient guard's transport, the way cmd/paydesk
// wires every client: the one layer that retries reads (the client itself sends each
// call once). Its backoff waits are skipped; the retry rules are the defaults cmd/paydesk
// uses.
func (e *env) guard() {
	g := resilient.New(Name, resilient.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	e.client.http.HTTP = &http.Client{Transport: g.Transport(e.srv.Client().Transport)}
}
