package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/web/devidp"
)

// The crash test runs the real binary (`paydesk serve`, as in production) against the
// provider simulators and a local OpenID provider living in the test process: they are
// what outlives the crash, as a real provider does. For each step of a refund the
// binary is killed with SIGKILL — by itself at the step (PAYDESK_TEST_CRASH_AT, the
// web.Config.Hook), or by the simulator once it has made the refund but before it
// answers — then started again; its reconciler must leave Paydesk and the provider
// agreeing, with no refund doubled or missing.

// crashEnv is what outlives each crash: simulators, OpenID provider, database file.
type crashEnv struct {
	t       *testing.T
	bin     string
	dir     string
	db      string
	addr    string
	base    string
	idp     *devidp.Server
	bpc     *bpc.Simulator
	tranzzo *tranzzo.Simulator
	bpcURL  string
	tzURL   string
	seq     int
	// killOnChange, when set, is killed by the next change a simulator makes (the
	// provider has acted; its answer is not written yet).
	killOnChange atomic.Pointer[paydeskProcess]
	// refundCalls counts the refund requests the simulators received.
	refundCalls atomic.Int64
	// refundDelay holds each refund at the simulators this long (nanoseconds) before it
	// is made: a refund in flight, for the shutdown test.
	refundDelay atomic.Int64
	// transport is the browsers' (nil: the default; the proxy test's trusts its certificate).
	transport http.RoundTripper
}

func TestCrashDuringRefundLeavesNoRefundDoubledOrMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newCrashEnv(t)
	cases := []struct {
		name     string
		provider providers.Name
		crashAt  string // PAYDESK_TEST_CRASH_AT, or "" for the simulator's kill
		// refunded is whether the provider made the refund before the crash.
		refunded bool
	}{
		{"bpc/before the call", bpc.Name, "before_call", false},
		{"bpc/after the provider accepted", bpc.Name, "", true},
		{"bpc/before the answer was stored", bpc.Name, "before_store", true},
		{"tranzzo/before the call", tranzzo.Name, "before_call", false},
		{"tranzzo/after the provider accepted", tranzzo.Name, "", true},
		{"tranzzo/before the answer was stored", tranzzo.Name, "before_store", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := env.add(c.provider)
			proc := env.start(t, c.crashAt)
			b := proc.signIn(t, "sam")
			if c.crashAt == "" {
				env.killOnChange.Store(proc)
			}
			key, err := b.refund(t, p, "30.00")
			if err == nil {
				t.Fatalf("the refund request was answered; the process should have died")
			}
			proc.waitKilled(t)

			// What the crash left: the journal says pending, nothing else.
			a := env.action(t, key)
			if a.State != "pending" {
				t.Fatalf("after the crash the action is %s, want pending", a.State)
			}
			atProvider := env.providerRefunds(t, p)
			if c.refunded != (len(atProvider) == 1) || len(atProvider) > 1 {
				t.Fatalf("the provider holds %v after the crash; refunded before it: %v", atProvider, c.refunded)
			}

			// Restart: the reconciler settles the action at start-up.
			proc2 := env.start(t, "")
			defer proc2.stop(t)
			a = env.waitSettled(t, key)
			r := env.refund(t, a.RefundID)
			atProvider = env.providerRefunds(t, p)
			want := "failed"
			if c.refunded {
				want = "succeeded"
			}
			if a.State != want || r.Status != want {
				t.Fatalf("after the restart the action is %s and the refund %s, want %s (%s)", a.State, r.Status, want, a.Message)
			}
			// Paydesk and the provider agree, refund by refund.
			held := env.succeededRefunds(t, p)
			if fmt.Sprint(held) != fmt.Sprint(atProvider) {
				t.Errorf("Paydesk holds %v, the provider %v: they must agree", held, atProvider)
			}
			if c.refunded && (len(atProvider) != 1 || r.ProviderRefundID == "" || atProvider[r.ProviderRefundID] != 3000) {
				t.Errorf("the refund at the provider %v, in Paydesk %q", atProvider, r.ProviderRefundID)
			}

			// The payment goes on as normal: a second refund runs once, to completion.
			key2, err := proc2.signIn(t, "sam").refund(t, p, "20.00")
			if err != nil {
				t.Fatal(err)
			}
			if a2 := env.action(t, key2); a2.State != "succeeded" {
				t.Errorf("the next refund is %s, want succeeded", a2.State)
			}
			if got := env.providerRefunds(t, p); len(got) != len(atProvider)+1 {
				t.Errorf("the provider holds %v after one more refund", got)
			}
		})
	}
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	// A port that stays the same across restarts: the OpenID redirect is registered for it.
	addr := freeAddr(t)
	env := newProcessEnv(t, "http://"+addr)
	env.addr, env.base = addr, "http://"+addr
	return env
}

// builtBinary is the binary the tests run, built once per test binary (TestMain removes it).
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// paydeskBinary builds the binary once and returns its path.
func paydeskBinary(t *testing.T) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "paydesk-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "paydesk")
		out, err := exec.Command("go", "build", "-tags=sqlite_fts5", "-buildvcs=false", "-o", b.path, ".").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// removeBinary removes the built binary (TestMain, after the tests).
func removeBinary() {
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	return freeAddrs(t, 1)[0]
}

// freeAddrs is n loopback addresses with ports free at the time of the call, all
// different: each port is held until all are chosen (a port let go at once may be handed
// out again by the next call, and two instances then fight for one port).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out
}

// newProcessEnv builds the binary, the OpenID provider (accepting a sign-in for each of
// bases) and the simulators; the database is a SQLite file until the caller names another.
func newProcessEnv(t *testing.T, bases ...string) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	env := &crashEnv{t: t, dir: dir, db: filepath.Join(dir, "paydesk.db"), bin: paydeskBinary(t)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := devidp.Client{ID: "paydesk", Secret: "crash-oidc-secret"}
	for _, b := range bases {
		client.RedirectURIs = append(client.RedirectURIs, b+"/auth/callback")
		client.PostLogoutRedirectURIs = append(client.PostLogoutRedirectURIs, b+"/", b+"/signed-out")
	}
	var err error
	env.idp, err = devidp.Start(ctx, devidp.Config{
		Users:   devidp.DemoUsers(),
		Clients: []devidp.Client{client},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.idp.Close() })
	kill := func() {
		if p := env.killOnChange.Swap(nil); p != nil {
			p.kill()
		}
	}
	env.bpc = bpc.NewSimulator(bpc.SimConfig{APIKey: "crash-bpc-key", OnChange: func(string, []byte) { kill() }})
	env.tranzzo = tranzzo.NewSimulator(tranzzo.SimConfig{POSID: tranzzo.DemoPOSID, APIKey: "tz-key", APISecret: "tz-secret", EndpointsKey: "tz-endpoints",
		OnChange: func([]byte, []byte) { kill() }})
	// Each refund Paydesk asks of a simulator is counted: the provider must be called once
	// per refund, never twice.
	counted := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "refund") {
				env.refundCalls.Add(1)
				time.Sleep(time.Duration(env.refundDelay.Load()))
			}
			h.ServeHTTP(w, r)
		})
	}
	for _, s := range []struct {
		h   http.Handler
		url *string
	}{{counted(env.bpc), &env.bpcURL}, {counted(env.tranzzo), &env.tzURL}} {
		srv := httptest.NewServer(s.h)
		t.Cleanup(srv.Close)
		*s.url = srv.URL
	}
	return env
}

// add creates a captured payment of 100.00 EUR at the provider and in Paydesk's database
// (while no Paydesk runs).
func (e *crashEnv) add(n providers.Name) storage.Payment {
	e.t.Helper()
	return e.addPayment(n, 10000, "EUR")
}

// addPayment creates a captured payment of amount (minor units) in currency at the
// provider and in Paydesk's database (while no Paydesk runs).
func (e *crashEnv) addPayment(n providers.Name, amount int64, currency string) storage.Payment {
	e.t.Helper()
	var p storage.Payment
	e.withDB(func(db *storage.DB) { p = e.addPaymentIn(db, n, amount, currency) })
	return p
}

// addPaymentIn is addPayment on an open database (many payments, one opening).
func (e *crashEnv) addPaymentIn(db *storage.DB, n providers.Name, amount int64, currency string) storage.Payment {
	e.t.Helper()
	e.seq++
	ds := providers.DemoSpec{Seq: e.seq, Name: "Ada Lovelace", Email: fmt.Sprintf("ada%d@example.com", e.seq), Amount: amount,
		Currency: currency, CreatedAt: time.Now().Add(-time.Hour), Reference: fmt.Sprintf("CRASH-%d", e.seq)}
	var raw []byte
	var err error
	var parse func([]byte) (providers.Snapshot, error)
	switch n {
	case bpc.Name:
		ds.Variant = 12 // direct payment, succeeded
		raw, err = bpc.Demo{}.Envelope(ds)
		if err == nil {
			err = e.bpc.Load(raw)
		}
		parse = bpc.ParseEnvelope
	case tranzzo.Name:
		ds.Variant = tranzzo.VariantPurchaseSuccess
		raw, err = tranzzo.Demo{}.Envelope(ds)
		if err == nil {
			err = e.tranzzo.Load(raw)
		}
		parse = tranzzo.ParseEnvelope
	}
	if err != nil {
		e.t.Fatal(err)
	}
	snap, err := parse(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	p, _, err := db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// withDB opens the database (next to a running Paydesk, as WAL allows) for fn.
func (e *crashEnv) withDB(fn func(db *storage.DB)) {
	e.t.Helper()
	db, err := storage.Open(context.Background(), e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	fn(db)
}

func (e *crashEnv) action(t *testing.T, key string) storage.Action {
	t.Helper()
	var a storage.Action
	var err error
	e.withDB(func(db *storage.DB) { a, err = db.ActionByKey(context.Background(), key) })
	if err != nil {
		t.Fatalf("action %s: %v", key, err)
	}
	return a
}

func (e *crashEnv) refund(t *testing.T, id int64) storage.Refund {
	t.Helper()
	var r storage.Refund
	var err error
	e.withDB(func(db *storage.DB) { r, err = db.RefundByID(context.Background(), id) })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitSettled waits for the restarted Paydesk's reconciler to settle the action.
func (e *crashEnv) waitSettled(t *testing.T, key string) storage.Action {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := e.action(t, key)
		if a.State != "pending" && a.State != "unknown" {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the action is still %s 20s after the restart: %s", a.State, a.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// providerRefunds are the refunds the provider made for p: id → minor units.
func (e *crashEnv) providerRefunds(t *testing.T, p storage.Payment) map[string]int64 {
	t.Helper()
	var snap providers.Snapshot
	var err error
	if p.Provider == bpc.Name {
		snap, err = e.bpc.Snapshot(providers.Ref{PaymentID: p.PaymentID})
	} else {
		snap, err = e.tranzzo.Snapshot(p.OrderID)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range snap.Refunds {
		if r.Succeeded {
			out[r.ID] = r.Amount
		}
	}
	return out
}

// succeededRefunds are the refunds Paydesk holds as succeeded for p: provider id → minor units.
func (e *crashEnv) succeededRefunds(t *testing.T, p storage.Payment) map[string]int64 {
	t.Helper()
	var list []storage.Refund
	var err error
	e.withDB(func(db *storage.DB) { list, err = db.RefundsOfPayment(context.Background(), p.ID) })
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range list {
		if r.Status == "succeeded" {
			out[r.ProviderRefundID] += r.Amount
		}
	}
	return out
}

// paydeskProcess is one run of the binary.
type paydeskProcess struct {
	env    *crashEnv
	addr   string // where it listens
	base   string // http://addr
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	log    *bytes.Buffer
	mu     sync.Mutex
}

// start runs `paydesk serve` and waits until it is ready.
func (e *crashEnv) start(t *testing.T, crashAt string) *paydeskProcess {
	t.Helper()
	return e.startOn(t, e.addr, e.base, crashAt)
}

// startOn runs `paydesk serve` on addr, reached at base, with the environment's
// settings and extra variables (NAME=value, later ones win), and waits until it is ready.
func (e *crashEnv) startOn(t *testing.T, addr, base, crashAt string, extra ...string) *paydeskProcess {
	t.Helper()
	key := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	cmd := exec.Command(e.bin, "serve")
	cmd.Env = append(os.Environ(),
		"PAYDESK_ADDR="+addr, "PAYDESK_BASE_URL="+base, "PAYDESK_DB="+e.db, "PAYDESK_LOG_LEVEL=info",
		"PAYDESK_OIDC_ISSUER="+e.idp.Issuer(), "PAYDESK_OIDC_CLIENT_ID=paydesk", "PAYDESK_OIDC_CLIENT_SECRET=crash-oidc-secret",
		"PAYDESK_ROLE_GROUPS="+devidp.DemoRoleMap(),
		"PAYDESK_SESSION_HASH_KEY="+key(1), "PAYDESK_SESSION_BLOCK_KEY="+key(2), "PAYDESK_LINK_SECRET="+key(3),
		"PAYDESK_BPC_BASE_URL="+e.bpcURL, "PAYDESK_BPC_API_KEY=crash-bpc-key",
		"PAYDESK_TRANZZO_BASE_URL="+e.tzURL, "PAYDESK_TRANZZO_POS_ID="+tranzzo.DemoPOSID,
		"PAYDESK_TRANZZO_API_KEY=tz-key", "PAYDESK_TRANZZO_API_SECRET=tz-secret", "PAYDESK_TRANZZO_ENDPOINTS_KEY=tz-endpoints",
		"PAYDESK_PROVIDER_TIMEOUT=5s", "PAYDESK_TEST_CRASH_AT="+crashAt,
	)
	cmd.Env = append(cmd.Env, extra...)
	p := &paydeskProcess{env: e, addr: addr, base: "http://" + addr, cmd: cmd, exited: make(chan struct{}), log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.writer(), p.writer()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("paydesk log (crash at %q):\n%s", crashAt, p.output())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("paydesk exited at start-up: %v\n%s", p.err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("paydesk not ready after 20s:\n%s", p.output())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

type lockedWriter struct{ p *paydeskProcess }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

func (p *paydeskProcess) writer() io.Writer { return lockedWriter{p} }

func (p *paydeskProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *paydeskProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// waitKilled waits for the process to die by SIGKILL (its own or the simulator's).
func (p *paydeskProcess) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("paydesk did not die")
	}
	if p.err == nil || !strings.Contains(p.err.Error(), "killed") {
		t.Fatalf("paydesk ended with %v, want killed by SIGKILL\n%s", p.err, p.output())
	}
}

// stop ends the process gracefully.
func (p *paydeskProcess) stop(t *testing.T) {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Error("paydesk did not stop within 30s")
		p.kill()
	}
}

// crashBrowser is a person's browser against the binary.
type crashBrowser struct {
	c    *http.Client
	base string
}

// secureAnywhere is a cookie jar that keeps Secure cookies over plain HTTP: the binary
// runs as in production (Secure cookies) but the test speaks HTTP on loopback.
type secureAnywhere struct{ *cookiejar.Jar }

func (j secureAnywhere) SetCookies(u *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		c.Secure = false
	}
	j.Jar.SetCookies(u, cs)
}

var (
	crashLoginID = regexp.MustCompile(`name="id" value="([^"]+)"`)
	crashFormKey = regexp.MustCompile(`name="idempotency_key" value="([0-9a-f]{32})"`)
)

// signIn signs in to the process through the OpenID provider's login form.
func (p *paydeskProcess) signIn(t *testing.T, user string) *crashBrowser {
	t.Helper()
	return p.env.signIn(t, p.base, user)
}

// signIn signs in to the Paydesk at base (a process, or a proxy in front of several).
func (e *crashEnv) signIn(t *testing.T, base, user string) *crashBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &crashBrowser{c: &http.Client{Jar: secureAnywhere{jar}, Timeout: 30 * time.Second, Transport: e.transport}, base: base}
	// The settings page: a signed-in page that reads no payment.
	res, err := b.c.Get(b.base + "/auth/login?next=/settings")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := crashLoginID.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form at %s: %.300s", res.Request.URL, page)
	}
	login := *res.Request.URL
	login.Path, login.RawQuery = "/login", ""
	res, err = b.c.PostForm(login.String(), url.Values{"id": {string(m[1])}, "username": {user}, "password": {user + "-demo"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Scheme+"://"+res.Request.URL.Host != base || res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in ended with %d at %s", res.StatusCode, res.Request.URL)
	}
	return b
}

// refund opens the refund form of p and submits it; it returns the form's idempotency
// key and the error of the submission (a killed process answers none).
func (b *crashBrowser) refund(t *testing.T, p storage.Payment, amount string) (string, error) {
	t.Helper()
	key, err := b.refundForm(p)
	if err != nil {
		t.Fatal(err)
	}
	return key, b.submitRefund(p, key, amount)
}

// errNoRefundForm: the payment page came in place of the form (an action is open).
var errNoRefundForm = errors.New("no refund form")

// refundForm opens the refund form of p and returns its idempotency key.
func (b *crashBrowser) refundForm(p storage.Payment) (string, error) {
	res, err := b.c.Get(b.base + "/payments/" + p.PublicID + "/refund")
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := crashFormKey.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("%w (%d): %.500s", errNoRefundForm, res.StatusCode, page)
	}
	return string(m[1]), nil
}

// submitRefund submits the refund form of p with its key.
func (b *crashBrowser) submitRefund(p storage.Payment, key, amount string) error {
	res, err := b.c.PostForm(b.base+"/payments/"+p.PublicID+"/refund", url.Values{"amount": {amount}, "reason": {"requested_by_customer"}, "idempotency_key": {key}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK, http.StatusSeeOther:
		return nil
	case http.StatusUnprocessableEntity:
		page, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%w: %s", errRefundRefused, formProblem(page))
	}
	return errors.New(res.Status)
}

// errRefundRefused: the form came back with a problem (422), nothing was recorded.
var errRefundRefused = errors.New("refund refused")

// formError finds the problem a form shows.
var formError = regexp.MustCompile(`(?s)class="[^"]*(?:error|problem)[^"]*"[^>]*>(.{0,300}?)<`)

// formProblem is the first problem a returned form shows, for messages.
func formProblem(page []byte) string {
	if m := formError.FindSubmatch(page); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return "(no message found)"
}
