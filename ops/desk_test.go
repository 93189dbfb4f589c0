package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/ops/opstest"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// counts is the fixture's Metrics: what the Desk counted, by name.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

// get is how many times name was counted.
func (c *counts) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counts) Action(kind string, outcome providers.OutcomeKind) {
	c.add("action " + kind + " " + string(outcome))
}
func (c *counts) Reconciled(ReconcileResult, error) { c.add("reconciled") }
func (c *counts) Webhook(n providers.Name, verdict string) {
	c.add("webhook " + string(n) + " " + verdict)
}

// The webhook secrets of the fixture's receivers. Tranzzo's is the test-vector secret of
// docs/providers.md.
const (
	bpcWebhookSecret     = "bpc-webhook-secret"
	powensWebhookSecret  = "powens-webhook-secret"
	tranzzoWebhookSecret = "changeme"
)

// fixture is a Desk over a fresh database and the Powens and BPC simulators, reached
// over HTTP by the real clients: every operation runs as in production, without pages.
// Webhooks are configured as in production (BPC and Powens signed, Tranzzo too).
type fixture struct {
	t       *testing.T
	clock   *opstest.Clock
	db      *storage.DB
	desk    *Desk
	powens  *powens.Simulator
	bpc     *bpc.Simulator
	metrics *counts
	seq     int
}

// The people of the tests: sam (support), fin (finance), mara and mia (managers).
var (
	sam  = Person{Email: "sam@paydesk.test", Roles: []Role{RoleSupport}, FreshSignIn: true}
	fin  = Person{Email: "fin@paydesk.test", Roles: []Role{RoleFinance}, FreshSignIn: true}
	mara = Person{Email: "mara@paydesk.test", Roles: []Role{RoleManager}, FreshSignIn: true}
	mia  = Person{Email: "mia@paydesk.test", Roles: []Role{RoleManager}, FreshSignIn: true}
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, clock: opstest.NewClock(time.Now().UTC().Truncate(time.Second)), metrics: &counts{}}
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = f.clock.Now
	t.Cleanup(func() { db.Close() })
	f.db = db

	pwSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.powens.ServeHTTP(w, r) }))
	t.Cleanup(pwSrv.Close)
	f.powens = powens.NewSimulator(powens.SimConfig{ClientID: "pw-client", ClientSecret: "pw-secret", PublicURL: pwSrv.URL})
	f.bpc = bpc.NewSimulator(bpc.SimConfig{APIKey: "bpc-key"})
	bpcSrv := httptest.NewServer(f.bpc)
	t.Cleanup(bpcSrv.Close)
	pw, err := powens.New(powens.Config{BaseURL: pwSrv.URL, ClientID: "pw-client", ClientSecret: "pw-secret", Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bpc.New(bpc.Config{BaseURL: bpcSrv.URL, APIKey: "bpc-key", Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	thresholds, err := ParseThresholds("EUR:500.00")
	if err != nil {
		t.Fatal(err)
	}
	f.desk, err = New(Config{
		BaseURL: "http://paydesk.test/", LinkSecret: []byte(strings.Repeat("k", 32)),
		Approval: ApprovalPolicy{Thresholds: thresholds}, Now: f.clock.Now, Metrics: f.metrics,
		Webhooks: map[providers.Name]providers.WebhookReceiver{
			bpc.Name:     bpc.Webhooks{Secret: []byte(bpcWebhookSecret)},
			powens.Name:  powens.Webhooks{Secret: []byte(powensWebhookSecret), Client: pw},
			tranzzo.Name: tranzzo.Webhooks{Secret: []byte(tranzzoWebhookSecret)},
		},
	}, db, map[providers.Name]providers.Provider{powens.Name: pw, bpc.Name: bc}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// add imports a demo payment in the provider's own shape and loads it in its simulator.
func (f *fixture) add(n providers.Name, variant int, amount int64) storage.Payment {
	f.t.Helper()
	return f.addIn(n, variant, amount, "EUR")
}

// addIn is add in another currency.
func (f *fixture) addIn(n providers.Name, variant int, amount int64, currency string) storage.Payment {
	f.t.Helper()
	f.seq++
	ds := providers.DemoSpec{Seq: f.seq, Name: "Ada Lovelace", Email: fmt.Sprintf("ada%d@example.com", f.seq), Amount: amount,
		Currency: currency, CreatedAt: f.clock.Now().Add(-time.Hour), Variant: variant, Reference: fmt.Sprintf("REF-%05d", f.seq)}
	var (
		raw  json.RawMessage
		snap providers.Snapshot
		err  error
	)
	switch n {
	case powens.Name:
		if raw, err = (powens.Demo{}).Envelope(ds); err == nil {
			if snap, err = powens.ParseEnvelope(raw); err == nil {
				err = f.powens.Load(raw)
			}
		}
	case bpc.Name:
		if raw, err = (bpc.Demo{}).Envelope(ds); err == nil {
			if snap, err = bpc.ParseEnvelope(raw); err == nil {
				err = f.bpc.Load(raw)
			}
		}
	}
	if err != nil {
		f.t.Fatalf("add %s variant %d: %v", n, variant, err)
	}
	p, _, err := f.db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// payment re-reads a payment.
func (f *fixture) payment(p storage.Payment) storage.Payment {
	f.t.Helper()
	got, err := f.db.PaymentByID(context.Background(), p.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// lastAction is the newest journal row of a payment.
func (f *fixture) lastAction(p storage.Payment) storage.Action {
	f.t.Helper()
	acts, err := f.db.ActionsOfPayment(context.Background(), p.ID)
	if err != nil || len(acts) == 0 {
		f.t.Fatalf("journal of %s: %v, %d rows", p.PublicID, err, len(acts))
	}
	newest := acts[0]
	for _, a := range acts {
		if a.ID > newest.ID {
			newest = a
		}
	}
	return newest
}

var keys int

// key is a fresh idempotency key.
func key() string {
	keys++
	return fmt.Sprintf("%032x", time.Now().UnixNano()+int64(keys))
}

// refusedWith fails unless err is a refusal for reason whose words contain want.
func refusedWith(t *testing.T, err, reason error, want string) {
	t.Helper()
	var r *Refusal
	if !errors.Is(err, reason) || !errors.As(err, &r) || !strings.Contains(r.Message, want) {
		t.Fatalf("error %v, want a refusal (%v) saying %q", err, reason, want)
	}
}
