package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	demogen "paydesk/providers/demo"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// generate runs the demo generator as `paydesk demo` does and returns its lines.
func generate(t *testing.T, count int, seed uint64, now time.Time) [][]byte {
	t.Helper()
	var lines [][]byte
	err := demogen.Generate(demogen.Options{Count: count, Seed: seed, Now: now, Makers: demoMakers("http://127.0.0.1:1")},
		func(line []byte) error {
			lines = append(lines, append([]byte(nil), line...))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// facts names what a snapshot shows of the provider's documented states: its raw status
// and, where the provider has them, state_detail, error code, method, mode and session
// status. One snapshot yields several facts so that each documented state is one fact.
func facts(s providers.Snapshot) []string {
	var out []string
	add := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(string(s.Provider)+" "+format, args...))
	}
	switch s.Provider {
	case powens.Name:
		add("state=%s", s.RawStatus)
		if s.StateDetail != "" {
			add("state=%s detail=%s", s.RawStatus, s.StateDetail)
		}
		if s.ErrorCode != "" {
			add("state=%s error=%s", s.RawStatus, s.ErrorCode)
		}
		if s.Instant {
			add("state=%s instant", s.RawStatus)
		}
	case bpc.Name:
		if s.SessionID != "" {
			add("session=%s", s.SessionStatus)
		}
		if s.PaymentID != "" {
			add("payment=%s", s.RawStatus)
			if s.SessionID == "" {
				add("direct payment=%s", s.RawStatus)
			}
		}
		if s.Refunded > 0 && s.Refunded < s.Captured {
			add("partly refunded")
		}
		if s.Refunded > 0 && s.Refunded == s.Captured {
			add("fully refunded")
		}
	case tranzzo.Name:
		add("status=%s", s.RawStatus)
		add("mode=%s", s.Mode)
		add("method=%s", s.Method)
		add("status=%s mode=%s method=%s", s.RawStatus, s.Mode, s.Method)
		if s.Voided {
			add("voided")
		}
		if s.Refunded > 0 && s.Refunded < s.Captured {
			add("partly refunded")
		}
		if s.Refunded > 0 && s.Refunded == s.Captured {
			add("fully refunded")
		}
	}
	return out
}

// documented are the states issue 2 lists for the demo, each as a fact.
var documented = []string{
	// Powens: created/pending/pending+cancelling_webauth/accepted/done/rejected/expired,
	// some with instant instructions.
	"powens state=created", "powens state=validating", "powens state=pending",
	"powens state=pending detail=cancelling_webauth", "powens state=pending detail=cancelling",
	"powens state=accepted", "powens state=done",
	"powens state=rejected", "powens state=rejected error=cancelledByUser",
	"powens state=expired", "powens state=pending instant",
	// BPC: sessions open/expired/completed, payments in each status, partly refunded ones.
	"bpc session=open", "bpc session=expired", "bpc session=completed",
	"bpc payment=requiresPaymentMethod", "bpc payment=requiresAction", "bpc payment=requiresConfirmation",
	"bpc payment=requiresCapture", "bpc payment=processing", "bpc payment=succeeded",
	"bpc payment=canceled", "bpc payment=failed", "bpc direct payment=succeeded",
	"bpc partly refunded", "bpc fully refunded",
	// Tranzzo: init/pending/success/failure, hosted and direct, purchase and auth.
	"tranzzo status=init", "tranzzo status=pending", "tranzzo status=success", "tranzzo status=failure",
	"tranzzo mode=hosted", "tranzzo mode=direct", "tranzzo method=purchase", "tranzzo method=auth",
	"tranzzo status=init mode=hosted method=purchase", "tranzzo status=init mode=hosted method=auth",
	"tranzzo status=init mode=direct method=purchase",
	"tranzzo status=success mode=hosted method=purchase", "tranzzo status=success mode=hosted method=auth",
	"tranzzo status=failure mode=hosted method=purchase",
	"tranzzo voided", "tranzzo partly refunded", "tranzzo fully refunded",
}

// TestDemoCoversEveryState: 5,000 demo payments hold every state each provider documents,
// every normalised status, the currencies of issue 2, plausible people and amounts.
func TestDemoCoversEveryState(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lines := generate(t, 5000, demoSeed, now)
	if len(lines) != 5000 {
		t.Fatalf("generated %d payments, want 5000", len(lines))
	}
	seen := map[string]int{}
	statuses := map[providers.Status]int{}
	currencies := map[string]bool{}
	perProvider := map[providers.Name]int{}
	keys := map[string]bool{}
	large := 0
	for i, line := range lines {
		// Each line goes through the import path, as `paydesk demo` seeds.
		s, err := parseLine(line)
		if err != nil {
			t.Fatalf("line %d does not import: %v\n%s", i+1, err, line)
		}
		for _, f := range facts(s) {
			seen[f]++
		}
		statuses[providers.Normalise(s)]++
		currencies[s.Currency] = true
		perProvider[s.Provider]++
		key := string(s.Provider) + "/" + s.PaymentID + "/" + s.SessionID + "/" + s.OrderID
		if keys[key] {
			t.Errorf("line %d: payment %s generated twice", i+1, key)
		}
		keys[key] = true
		if first, last, ok := strings.Cut(s.CustomerName, " "); !ok || first == "" || last == "" {
			t.Errorf("line %d: customer %q is not a first and last name", i+1, s.CustomerName)
		}
		if local, domain, ok := strings.Cut(s.CustomerEmail, "@"); !ok || local == "" || !strings.Contains(domain, ".") {
			t.Errorf("line %d: e-mail %q", i+1, s.CustomerEmail)
		}
		if s.Amount <= 0 {
			t.Errorf("line %d: amount %d", i+1, s.Amount)
		}
		if threshold, ok := map[string]int64{"EUR": 50000, "GBP": 40000}[s.Currency]; ok && s.Amount >= threshold {
			large++
		}
		if s.CreatedAt.After(now) || s.CreatedAt.Before(now.AddDate(0, 0, -181)) {
			t.Errorf("line %d: created %s, want within the 180 days before %s", i+1, s.CreatedAt, now)
		}
		if s.MerchantReference == "" {
			t.Errorf("line %d: no merchant reference", i+1)
		}
		for _, r := range s.Refunds {
			if r.CreatedAt.After(now) || r.CreatedAt.Before(s.CreatedAt) {
				t.Errorf("line %d: refund %s at %s, want between the payment (%s) and now", i+1, r.ID, r.CreatedAt, s.CreatedAt)
			}
		}
	}
	for _, f := range documented {
		if seen[f] == 0 {
			t.Errorf("no demo payment is %q", f)
		}
	}
	for _, st := range providers.Statuses {
		if statuses[st] == 0 {
			t.Errorf("no demo payment has the normalised status %s", st)
		}
	}
	for _, c := range []string{"EUR", "GBP", "UAH", "XTS", "JPY"} {
		if !currencies[c] {
			t.Errorf("no demo payment in %s", c)
		}
	}
	if providers.Exponent("JPY") != 0 {
		t.Errorf("JPY should be the zero-decimal currency")
	}
	for _, n := range providers.Names {
		if perProvider[n] < 1600 {
			t.Errorf("%s has %d demo payments, want about a third of 5000", n, perProvider[n])
		}
	}
	if large < 50 {
		t.Errorf("only %d EUR/GBP demo payments reach the approval thresholds", large)
	}
	if testing.Verbose() {
		var all []string
		for f, n := range seen {
			all = append(all, fmt.Sprintf("%5d %s", n, f))
		}
		sort.Strings(all)
		t.Logf("demo facts:\n%s", strings.Join(all, "\n"))
	}
}

// TestDemoDeterministic: the same seed gives the same payments, byte for byte.
func TestDemoDeterministic(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := generate(t, 600, demoSeed, now)
	b := generate(t, 600, demoSeed, now)
	if !slices.EqualFunc(a, b, bytes.Equal) {
		t.Error("two runs with the same seed differ")
	}
	c := generate(t, 600, demoSeed+1, now)
	if slices.EqualFunc(a, c, bytes.Equal) {
		t.Error("another seed gives the same payments")
	}

	// Seeded twice through the import path, at different times: the same payments (ids,
	// people, money, states); only the dates move with the clock.
	type row struct {
		id, name, email, raw string
		status               providers.Status
		amount               int64
		currency             string
	}
	seed := func() []row {
		db := openDB(t, filepath.Join(t.TempDir(), "demo.db"))
		if err := seedDemo(context.Background(), db, 300, demoMakers("http://127.0.0.1:1"), io.Discard); err != nil {
			t.Fatal(err)
		}
		var rows []row
		err := db.EachPayment(context.Background(), func(p storage.Payment) error {
			rows = append(rows, row{p.PublicID, p.CustomerName, p.CustomerEmail, p.RawStatus, p.Status, p.Amount, p.Currency})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	first := seed()
	second := seed()
	if len(first) != 300 {
		t.Fatalf("seeded %d payments, want 300", len(first))
	}
	if !slices.Equal(first, second) {
		t.Errorf("two demo databases differ")
	}
}

func TestMigrateFromEmpty(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "fresh.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--db", dbPath}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^(.+): schema version (\d+)\n$`).FindStringSubmatch(out.String())
	if m == nil || m[1] != dbPath || m[2] == "0" {
		t.Fatalf("migrate printed %q, want %q: schema version N (N > 0)", out.String(), dbPath)
	}
	// Again: nothing to do, same version.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{"PAYDESK_DB": dbPath}), &again, io.Discard); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("second migrate printed %q, want %q", again.String(), out.String())
	}
	// The schema works: an import and a list.
	db := openDB(t, dbPath)
	page, err := db.ListPayments(context.Background(), storage.PaymentFilter{Query: "anything"})
	if err != nil || page.Count != 0 {
		t.Errorf("list on a migrated empty database: %d, %v", page.Count, err)
	}
}

// serveEnv is a complete production configuration, with nothing reachable behind it.
func serveEnv(dbPath string) map[string]string {
	return map[string]string{
		"PAYDESK_DB":                 dbPath,
		"PAYDESK_ADDR":               "127.0.0.1:0",
		"PAYDESK_BASE_URL":           "https://paydesk.example.com",
		"PAYDESK_OIDC_ISSUER":        "https://id.example.com",
		"PAYDESK_OIDC_CLIENT_ID":     "paydesk",
		"PAYDESK_OIDC_CLIENT_SECRET": "oidc-secret-value-123",
		"PAYDESK_ROLE_GROUPS":        "ops:support,money:finance,boss:manager",
		"PAYDESK_SESSION_HASH_KEY":   strings.Repeat("ab", 32),
		"PAYDESK_SESSION_BLOCK_KEY":  strings.Repeat("cd", 32),
		"PAYDESK_LINK_SECRET":        strings.Repeat("ef", 32),
		"PAYDESK_BPC_BASE_URL":       "https://bpc.example.com/api2",
		"PAYDESK_BPC_API_KEY":        "bpc-key-value-456",
	}
}

// TestBadConfiguration: a configuration that cannot work stops the start, with a message
// naming the variable, before anything is opened; secrets are never repeated.
func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		command string
		change  map[string]string // "" removes the variable
		want    string
	}{
		{"no issuer", "serve", map[string]string{"PAYDESK_OIDC_ISSUER": ""}, "PAYDESK_OIDC_ISSUER is required"},
		{"no client id", "serve", map[string]string{"PAYDESK_OIDC_CLIENT_ID": ""}, "PAYDESK_OIDC_CLIENT_ID is required"},
		{"no client secret", "serve", map[string]string{"PAYDESK_OIDC_CLIENT_SECRET": ""}, "PAYDESK_OIDC_CLIENT_SECRET is required"},
		{"no base URL", "serve", map[string]string{"PAYDESK_BASE_URL": ""}, "PAYDESK_BASE_URL is required"},
		{"no hash key", "serve", map[string]string{"PAYDESK_SESSION_HASH_KEY": ""}, "PAYDESK_SESSION_HASH_KEY is required"},
		{"short hash key", "serve", map[string]string{"PAYDESK_SESSION_HASH_KEY": "abcd"}, "PAYDESK_SESSION_HASH_KEY: wrong length"},
		{"block key not a key", "serve", map[string]string{"PAYDESK_SESSION_BLOCK_KEY": "not a key!"}, "PAYDESK_SESSION_BLOCK_KEY: not hex or base64"},
		{"no link secret", "serve", map[string]string{"PAYDESK_LINK_SECRET": ""}, "PAYDESK_LINK_SECRET is required"},
		{"no role mapping", "serve", map[string]string{"PAYDESK_ROLE_GROUPS": ""}, "PAYDESK_ROLE_GROUPS or PAYDESK_ROLE_EMAILS is required"},
		{"bad role", "serve", map[string]string{"PAYDESK_ROLE_GROUPS": "ops:janitor"}, "PAYDESK_ROLE_GROUPS"},
		{"bad duration", "serve", map[string]string{"PAYDESK_SESSION_IDLE": "soon"}, `PAYDESK_SESSION_IDLE="soon"`},
		{"negative duration", "serve", map[string]string{"PAYDESK_PROVIDER_TIMEOUT": "-1s"}, "PAYDESK_PROVIDER_TIMEOUT"},
		{"bad thresholds", "serve", map[string]string{"PAYDESK_APPROVAL_THRESHOLDS": "EUR"}, "PAYDESK_APPROVAL_THRESHOLDS"},
		{"bad approval default", "serve", map[string]string{"PAYDESK_APPROVAL_DEFAULT": "sometimes"}, "PAYDESK_APPROVAL_DEFAULT"},
		{"no provider", "serve", map[string]string{"PAYDESK_BPC_BASE_URL": ""}, "configure at least one provider"},
		{"BPC without key", "serve", map[string]string{"PAYDESK_BPC_API_KEY": ""}, "PAYDESK_BPC_API_KEY"},
		{"Powens without secret", "serve", map[string]string{"PAYDESK_POWENS_BASE_URL": "https://x.biapi.pro/2.0", "PAYDESK_POWENS_CLIENT_ID": "id"}, "PAYDESK_POWENS_CLIENT_SECRET"},
		{"Tranzzo half configured", "serve", map[string]string{"PAYDESK_TRANZZO_BASE_URL": "https://cpay.tranzzo.com/api/v1", "PAYDESK_TRANZZO_POS_ID": "pos"}, "PAYDESK_TRANZZO_API_KEY"},
		{"SMTP URL not a URL", "serve", map[string]string{"PAYDESK_SMTP_URL": "mail.example.com", "PAYDESK_MAIL_FROM": "p@example.com"}, "PAYDESK_SMTP_URL: \"mail.example.com\" is not an SMTP URL"},
		{"SMTP password in clear", "serve", map[string]string{"PAYDESK_SMTP_URL": "smtp://u:pw@mail.example.com:25", "PAYDESK_MAIL_FROM": "p@example.com"}, "add ?starttls=1 or use smtps://"},
		{"SMTP without sender", "serve", map[string]string{"PAYDESK_SMTP_URL": "smtps://u:pw@mail.example.com"}, "PAYDESK_MAIL_FROM is required with PAYDESK_SMTP_URL"},
		{"sender without SMTP", "serve", map[string]string{"PAYDESK_MAIL_FROM": "p@example.com"}, "PAYDESK_MAIL_FROM is set but PAYDESK_SMTP_URL is not"},
		{"bad sender", "serve", map[string]string{"PAYDESK_SMTP_URL": "smtps://u:pw@mail.example.com", "PAYDESK_MAIL_FROM": "Paydesk"}, "(PAYDESK_MAIL_FROM) is not an e-mail address"},
		{"bad mail attempts", "serve", map[string]string{"PAYDESK_MAIL_MAX_ATTEMPTS": "0"}, "PAYDESK_MAIL_MAX_ATTEMPTS"},
		{"demo: bad count", "demo", map[string]string{"PAYDESK_DEMO_PAYMENTS": "lots"}, "PAYDESK_DEMO_PAYMENTS"},
		{"demo: negative count", "demo", map[string]string{"PAYDESK_DEMO_PAYMENTS": "-1"}, "PAYDESK_DEMO_PAYMENTS"},
		{"demo: bad thresholds", "demo", map[string]string{"PAYDESK_APPROVAL_THRESHOLDS": "EUR:abc"}, "PAYDESK_APPROVAL_THRESHOLDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbPath := filepath.Join(t.TempDir(), "never.db")
			env := serveEnv(dbPath)
			if tt.command == "demo" {
				env = map[string]string{"PAYDESK_DB": dbPath, "PAYDESK_ADDR": "127.0.0.1:0"}
			}
			for k, v := range tt.change {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{tt.command}, envOf(env), &out, &errOut)
			if err == nil {
				t.Fatalf("started with a bad configuration")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
			for _, secret := range []string{"oidc-secret-value-123", "bpc-key-value-456", strings.Repeat("ab", 32), strings.Repeat("cd", 32), strings.Repeat("ef", 32)} {
				if strings.Contains(err.Error()+out.String()+errOut.String(), secret) {
					t.Errorf("the refusal repeats a secret")
				}
			}
			if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused start created the database (%v)", err)
			}
		})
	}
	// Every missing variable is named at once, not one per attempt.
	err := run(context.Background(), []string{"serve"}, noEnv, io.Discard, io.Discard)
	for _, name := range []string{"PAYDESK_BASE_URL", "PAYDESK_OIDC_ISSUER", "PAYDESK_OIDC_CLIENT_ID", "PAYDESK_OIDC_CLIENT_SECRET",
		"PAYDESK_SESSION_HASH_KEY", "PAYDESK_SESSION_BLOCK_KEY", "PAYDESK_LINK_SECRET", "PAYDESK_ROLE_GROUPS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("serve with no configuration: %v; want it to name %s", err, name)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}} {
		var errOut bytes.Buffer
		err := run(context.Background(), args, noEnv, io.Discard, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(errOut.String(), "Usage: paydesk COMMAND") {
			t.Errorf("%v: error %v, usage printed: %v", args, err, strings.Contains(errOut.String(), "Usage"))
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "import FILE") {
		t.Errorf("help: %v, %q", err, out.String())
	}
	if err := run(context.Background(), []string{"serve", "extra"}, noEnv, io.Discard, io.Discard); err == nil {
		t.Errorf("serve accepted an argument")
	}
}

// syncBuffer is an output the program writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var bannerRe = regexp.MustCompile(`Paydesk demo is running: (http://\S+)`)

// startDemo runs `paydesk demo` until the test stops it, and returns its URL.
func startDemo(t *testing.T, dbPath string) (url string, out *syncBuffer, stop func() error) {
	t.Helper()
	return startDemoAt(t, dbPath, "127.0.0.1:0")
}

// startDemoAt is startDemo listening on addr.
func startDemoAt(t *testing.T, dbPath, addr string) (url string, out *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--db", dbPath, "--addr", addr, "--payments", "300"},
			envOf(map[string]string{"PAYDESK_LOG_LEVEL": "warn"}), out, io.Discard)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(40 * time.Second):
			return errors.New("the demo did not stop")
		}
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := bannerRe.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("the demo stopped before serving: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the demo printed no URL in time:\n%s", out.String())
	return "", nil, nil
}

// TestDemoServes starts the demo as `make run` does, checks it serves, stops it
// gracefully, and starts it again on the same database.
func TestDemoServes(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	url, out, stop := startDemo(t, dbPath)
	if !strings.Contains(out.String(), "Generating 300 demo payments") {
		t.Errorf("first start did not generate the demo payments:\n%s", out.String())
	}
	banner := out.String()
	for _, want := range []string{"(300 payments)", "/sim/powens", "/sim/bpc", "/sim/tranzzo", "Sign in as:", "sam", "sam-demo", "Stop with Ctrl-C",
		"E-mail is caught by a local SMTP server (smtp://127.0.0.1:", "read it at " + url + "/mail"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	// The one instance runs both background jobs (storage.JobLeader), from just after start.
	res, body := get("/readyz")
	for end := time.Now().Add(time.Second); res.StatusCode == http.StatusOK && body != "ready\njobs: batches, mailer, maintenance, reconciler\n" && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
		res, body = get("/readyz")
	}
	if res.StatusCode != http.StatusOK || body != "ready\njobs: batches, mailer, maintenance, reconciler\n" {
		t.Errorf("/readyz: %d %q", res.StatusCode, body)
	}
	if res, body := get("/healthz"); res.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", res.StatusCode, body)
	}
	res, _ = get("/payments")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/login?next=") {
		t.Errorf("/payments signed out: %d to %q, want 303 to the sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body := get("/no/such/page"); res.StatusCode != http.StatusNotFound || strings.Contains(body, "goroutine") {
		t.Errorf("unknown page: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown returned %v, want nil", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Errorf("still serving after the stop")
	}

	// Restarted on the same file, the demo reuses its data.
	url2, out2, stop2 := startDemo(t, dbPath)
	if strings.Contains(out2.String(), "Generating") {
		t.Errorf("a restart generated payments again:\n%s", out2.String())
	}
	if !strings.Contains(out2.String(), "(300 payments)") {
		t.Errorf("a restart did not load the 300 stored payments:\n%s", out2.String())
	}
	if res, err := client.Get(url2 + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("/readyz after a restart: %v", err)
	} else {
		res.Body.Close()
	}
	if err := stop2(); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	db := openDB(t, dbPath)
	if n, err := db.CountPayments(context.Background()); err != nil || n != 300 {
		t.Errorf("the demo database holds %d payments (%v), want 300", n, err)
	}
	// Its managers are known before they sign in (their approval e-mails reach the
	// catcher), each once although the two starts' identity providers had two addresses.
	ms, err := db.Managers(context.Background(), storage.MailApprovalRequest)
	var managers []string
	for _, m := range ms {
		managers = append(managers, m.Email)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(managers, " "); got != "max@paydesk.example mia@paydesk.example" {
		t.Errorf("the demo's managers to e-mail: %q, want max and mia once each", got)
	}
}

var issuerRe = regexp.MustCompile(`OpenID provider \(local, demo users only\): (http://\S+)`)

// TestDemoIssuerStaysAcrossRestarts: the demo's OpenID provider listens on the port after
// Paydesk's, so a demo restarted on the same database keeps its issuer — and everyone's
// person key (a batch's requester can still cancel it after a restart); when that port is
// taken it takes another and says so.
func TestDemoIssuerStaysAcrossRestarts(t *testing.T) {
	port := consecutiveFreePorts(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	issuer := func(out *syncBuffer) string {
		m := issuerRe.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no issuer in the banner:\n%s", out.String())
		}
		return m[1]
	}
	_, out, stop := startDemoAt(t, dbPath, addr)
	first := issuer(out)
	if want := "http://127.0.0.1:" + strconv.Itoa(port+1); first != want {
		t.Errorf("issuer %s, want %s (the port after Paydesk's)", first, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, out, stop = startDemoAt(t, dbPath, addr)
	if again := issuer(out); again != first {
		t.Errorf("after a restart the issuer is %s, was %s", again, first)
	}
	stop()
	// The port after Paydesk's taken: another one, said in the log.
	if busy, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))); err == nil {
		defer busy.Close()
	} // else something else holds it: taken all the same
	_, out, _ = startDemoAt(t, dbPath, addr)
	if other := issuer(out); other == first {
		t.Errorf("the issuer %s is on a taken port", other)
	}
}

// consecutiveFreePorts finds a port p such that p and p+1 are both free on 127.0.0.1.
func consecutiveFreePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		a.Close()
		if err == nil {
			b.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// TestDemoPortTaken: a busy address is a clear error, not a hang.
func TestDemoPortTaken(t *testing.T) {
	url, _, _ := startDemo(t, filepath.Join(t.TempDir(), "a.db"))
	addr := strings.TrimPrefix(url, "http://")
	err := run(context.Background(), []string{"demo", "--db", filepath.Join(t.TempDir(), "b.db"), "--addr", addr}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("second demo on %s: %v, want an error telling how to pick another port", addr, err)
	}
}
