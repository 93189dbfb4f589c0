package ops

import (
	"context"
	"encoding/json"
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
	"paydesk/providers/simfault"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// bpcAccount is one BPC account of the two-account fixture: its own simulator, API key
// and webhook secret, and what its simulator was asked.
type bpcAccount struct {
	name, key, secret string
	sim               *bpc.Simulator
	mu                sync.Mutex
	calls             []string // "METHOD /path" of each request
}

// called returns the requests the account's simulator received whose line has prefix.
func (a *bpcAccount) called(prefix string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, c := range a.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// accountsFixture is a Desk with two BPC accounts, bpc-fr (marked default) and bpc-de,
// each with its simulator, both holding a payment with the same BPC id (BPC ids need
// only be unique within an account), stored once per account.
type accountsFixture struct {
	db       *storage.DB
	desk     *Desk
	fr, de   *bpcAccount
	pFR, pDE storage.Payment
}

func newAccountsFixture(t *testing.T) *accountsFixture {
	t.Helper()
	ctx := context.Background()
	clock := opstest.NewClock(time.Now().UTC().Truncate(time.Second))
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = clock.Now
	t.Cleanup(func() { db.Close() })
	f := &accountsFixture{db: db,
		fr: &bpcAccount{name: "bpc-fr", key: "fr-key", secret: "fr-webhook-secret"},
		de: &bpcAccount{name: "bpc-de", key: "de-key", secret: "de-webhook-secret"}}
	ds := providers.DemoSpec{Seq: 1, Name: "Ada Lovelace", Email: "ada@example.com", Amount: 10000, Currency: "EUR",
		CreatedAt: clock.Now().Add(-time.Hour), Variant: 2, Reference: "REF-1"}
	raw, err := (bpc.Demo{}).Envelope(ds)
	if err != nil {
		t.Fatal(err)
	}
	var accounts []Account
	for _, a := range []*bpcAccount{f.fr, f.de} {
		a.sim = bpc.NewSimulator(bpc.SimConfig{APIKey: a.key})
		if err := a.sim.Load(raw); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			a.calls = append(a.calls, r.Method+" "+r.URL.Path)
			a.mu.Unlock()
			a.sim.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		client, err := bpc.New(bpc.Config{BaseURL: srv.URL, APIKey: a.key, Timeout: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, Account{Provider: bpc.Name, Name: a.name, Default: a == f.fr, Client: client,
			Webhooks: bpc.Webhooks{Secret: []byte(a.secret)}})
	}
	f.desk, err = New(Config{BaseURL: "http://paydesk.test", LinkSecret: []byte(strings.Repeat("k", 32)), Now: clock.Now,
		Accounts: accounts}, db, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := bpc.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		account string
		p       *storage.Payment
	}{{"bpc-fr", &f.pFR}, {"bpc-de", &f.pDE}} {
		snap.Account = x.account
		if *x.p, _, err = db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "import"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.pFR.ID == f.pDE.ID || f.pFR.PublicID == f.pDE.PublicID || f.pDE.Account != "bpc-de" {
		t.Fatalf("one BPC id in two accounts: stored %s (%s) and %s (%s), want two payments", f.pFR.PublicID, f.pFR.Account, f.pDE.PublicID, f.pDE.Account)
	}
	return f
}

// refunded is what the account's simulator says is refunded of the payment.
func (a *bpcAccount) refunded(t *testing.T, paymentID string) int64 {
	t.Helper()
	raw, err := a.sim.Envelope(providers.Ref{PaymentID: paymentID})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := bpc.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Refunded
}

// TestRefundGoesToThePaymentsAccount: a refund of the bpc-de payment is sent to bpc-de's
// simulator with bpc-de's key; bpc-fr's, holding a payment with the same id, sees nothing.
func TestRefundGoesToThePaymentsAccount(t *testing.T) {
	f := newAccountsFixture(t)
	ctx := context.Background()
	res, err := f.desk.Refund(ctx, sam, f.pDE, RefundArgs{Amount: 1500, Reason: "requested_by_customer", Key: key()})
	if err != nil || res.Outcome != providers.Done {
		t.Fatalf("refund: %+v, %v; want done", res, err)
	}
	if got := f.de.refunded(t, f.pDE.PaymentID); got != 1500 {
		t.Errorf("bpc-de's simulator refunded %d, want 1500", got)
	}
	if got := f.fr.refunded(t, f.pFR.PaymentID); got != 0 || len(f.fr.called("POST")) != 0 {
		t.Errorf("bpc-fr's simulator refunded %d after %v, want nothing asked of it", got, f.fr.calls)
	}
	de, _ := f.db.PaymentByID(ctx, f.pDE.ID)
	fr, _ := f.db.PaymentByID(ctx, f.pFR.ID)
	if de.Refunded != 1500 || fr.Refunded != 0 || de.Account != "bpc-de" {
		t.Errorf("stored: bpc-de refunded %d (account %q), bpc-fr %d; want 1500 on bpc-de only", de.Refunded, de.Account, fr.Refunded)
	}
}

// TestRefreshAndReconcileUseThePaymentsAccount: a refresh reads the payment from its own
// account's simulator, and the reconciler settles an unknown refund by reading the
// account it was sent to.
func TestRefreshAndReconcileUseThePaymentsAccount(t *testing.T) {
	f := newAccountsFixture(t)
	ctx := context.Background()
	if _, err := f.desk.Refresh(ctx, sam, f.pFR); err != nil {
		t.Fatal(err)
	}
	if len(f.fr.called("GET")) == 0 || len(f.de.calls) != 0 {
		t.Fatalf("refresh of the bpc-fr payment: bpc-fr asked %v, bpc-de %v; want bpc-fr only", f.fr.calls, f.de.calls)
	}

	f.de.sim.FailNext(1, simfault.DropAnswer)
	res, err := f.desk.Refund(ctx, sam, f.pDE, RefundArgs{Amount: 1200, Reason: "requested_by_customer", Key: key()})
	if err != nil || res.Outcome != providers.Unknown {
		t.Fatalf("refund: %+v, %v; want unknown (the answer was dropped)", res, err)
	}
	frCalls := len(f.fr.calls)
	rec, err := f.desk.Reconcile(ctx)
	if err != nil || rec.Succeeded != 1 {
		t.Fatalf("reconcile: %+v, %v; want the refund settled", rec, err)
	}
	if len(f.fr.calls) != frCalls {
		t.Errorf("the reconciler asked bpc-fr %v about a bpc-de refund", f.fr.calls[frCalls:])
	}
	if de, _ := f.db.PaymentByID(ctx, f.pDE.ID); de.Refunded != 1200 {
		t.Errorf("bpc-de payment refunded %d after reconciling, want 1200", de.Refunded)
	}
}

// TestWebhookSignedWithAnotherAccountsSecret: a webhook to bpc-de's URL signed with
// bpc-fr's secret is refused and changes nothing; signed with bpc-de's own it applies to
// bpc-de's payment only. The default account's URL takes bpc-fr's.
func TestWebhookSignedWithAnotherAccountsSecret(t *testing.T) {
	f := newAccountsFixture(t)
	ctx := context.Background()
	obj, err := f.de.sim.Envelope(providers.Ref{PaymentID: f.pDE.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(obj, &env); err != nil {
		t.Fatal(err)
	}
	var object map[string]any
	json.Unmarshal(env.Payment, &object)
	object["status"] = "canceled"
	changed, _ := json.Marshal(object)
	body := bpcBody("payment.canceled", changed)
	signed := func(secret string) http.Header {
		return http.Header{"X-Signature": {hmacHex(secret, body)}}
	}

	res := f.desk.ReceiveAccountWebhookFrom(ctx, bpc.Name, "bpc-de", "", signed(f.fr.secret), body)
	if res.Kind != WebhookBadSignature {
		t.Fatalf("bpc-de webhook signed with bpc-fr's secret: %+v, want refused as not verified", res)
	}
	for _, p := range []storage.Payment{f.pFR, f.pDE} {
		if got, _ := f.db.PaymentByID(ctx, p.ID); got.Status != p.Status || got.RawStatus != p.RawStatus {
			t.Errorf("%s (%s) is %s after a refused webhook, want %s", p.PublicID, p.Account, got.RawStatus, p.RawStatus)
		}
	}
	res = f.desk.ReceiveAccountWebhookFrom(ctx, bpc.Name, "bpc-nl", "", signed(f.de.secret), body)
	if res.Kind != WebhookNotConfigured || !strings.Contains(res.Detail, `account "bpc-nl" is not configured`) {
		t.Errorf("webhook to an unknown account: %+v, want refused as not configured, naming it", res)
	}

	res = f.desk.ReceiveAccountWebhookFrom(ctx, bpc.Name, "bpc-de", "", signed(f.de.secret), body)
	if res.Kind != WebhookTaken || res.Verdict != VerdictApplied || res.Payment != f.pDE.PublicID {
		t.Fatalf("bpc-de webhook with its own secret: %+v, want applied to %s", res, f.pDE.PublicID)
	}
	de, _ := f.db.PaymentByID(ctx, f.pDE.ID)
	fr, _ := f.db.PaymentByID(ctx, f.pFR.ID)
	if de.RawStatus != "canceled" || fr.RawStatus == "canceled" {
		t.Errorf("after bpc-de's webhook: bpc-de %s, bpc-fr %s; want bpc-de canceled only", de.RawStatus, fr.RawStatus)
	}
	if n, _ := f.db.CountPayments(ctx); n != 2 {
		t.Errorf("%d payments after the webhook, want still 2", n)
	}
	// /webhooks/bpc is the default account's (bpc-fr): bpc-de's secret is refused there.
	if res := f.desk.ReceiveWebhookFrom(ctx, bpc.Name, "", signed(f.de.secret), body); res.Kind != WebhookBadSignature {
		t.Errorf("default URL with bpc-de's secret: %+v, want refused", res)
	}
}

// TestAccountLookup: the default account is the one marked, and stands for payments
// stored under "default"; an unknown account has no client.
func TestAccountLookup(t *testing.T) {
	f := newAccountsFixture(t)
	legacy := storage.Payment{Snapshot: providers.Snapshot{Provider: bpc.Name, Account: providers.DefaultAccount}}
	if f.desk.ProviderOf(legacy) == nil || f.desk.AccountLabel(legacy) != "bpc-fr" {
		t.Errorf("a payment stored under default: client %v, label %q; want bpc-fr's", f.desk.ProviderOf(legacy), f.desk.AccountLabel(legacy))
	}
	gone := storage.Payment{Snapshot: providers.Snapshot{Provider: bpc.Name, Account: "bpc-it"}}
	if f.desk.ProviderOf(gone) != nil {
		t.Error("a payment of an account no longer configured has a client")
	}
	if got := fmt.Sprint(f.desk.Accounts()); got != "[{bpc bpc-fr} {bpc bpc-de}]" || !f.desk.SeveralAccounts() {
		t.Errorf("accounts %s, several %v", got, f.desk.SeveralAccounts())
	}
	_, err := New(Config{BaseURL: "http://x.test", LinkSecret: []byte(strings.Repeat("k", 32)),
		Accounts: []Account{{Provider: bpc.Name, Name: "a"}, {Provider: bpc.Name, Name: "a"}}}, f.db, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `bpc account "a" is configured twice`) {
		t.Errorf("two accounts of one name: %v", err)
	}
}
