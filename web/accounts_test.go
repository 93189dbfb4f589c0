package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// The second BPC account of harnessOptions.bpcDE.
const (
	bpcDEKey           = "bpc-de-key"
	bpcDEWebhookSecret = "bpc-de-webhook-secret"
)

// secondBPCAccount starts bpc-de's simulator and returns the harness's two BPC accounts:
// "default" (the harness's usual simulator, client bc) and bpc-de.
func (h *harness) secondBPCAccount(bc providers.Provider, hc *http.Client) []ops.Account {
	h.t.Helper()
	h.bpcDE = bpc.NewSimulator(bpc.SimConfig{APIKey: bpcDEKey})
	srv := httptest.NewServer(h.bpcDE)
	h.t.Cleanup(srv.Close)
	de, err := bpc.New(bpc.Config{BaseURL: srv.URL, APIKey: bpcDEKey, Timeout: clientTimeout}, hc)
	if err != nil {
		h.t.Fatal(err)
	}
	return []ops.Account{
		{Provider: bpc.Name, Name: providers.DefaultAccount, Client: bc, Webhooks: bpc.Webhooks{Secret: []byte(bpcWebhookSecret)}},
		{Provider: bpc.Name, Name: "bpc-de", Client: de, Webhooks: bpc.Webhooks{Secret: []byte(bpcDEWebhookSecret)}},
	}
}

// addDE creates a BPC payment of the bpc-de account, in its simulator and in Paydesk.
func (h *harness) addDE(s spec) storage.Payment {
	h.t.Helper()
	h.seq++
	ds := providers.DemoSpec{Seq: h.seq, Name: "Dora Deutsch", Email: fmt.Sprintf("dora%d@example.com", h.seq), Amount: 100000,
		Currency: "EUR", CreatedAt: h.clock.Now().Add(-time.Duration(h.seq) * time.Minute), Variant: s.variant, Reference: fmt.Sprintf("DE-%05d", h.seq)}
	raw, err := bpc.Demo{}.Envelope(ds)
	if err != nil {
		h.t.Fatal(err)
	}
	snap, err := bpc.ParseEnvelope(raw)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.bpcDE.Load(raw); err != nil {
		h.t.Fatal(err)
	}
	snap.Account = "bpc-de"
	p, _, err := h.db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import"})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestPaymentsListByAccount: with two BPC accounts the list offers an account filter,
// names each payment's account, and the filter keeps one account's payments; the
// payment page names its account. An unknown account is refused in words.
func TestPaymentsListByAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{bpcDE: true})
	fr := h.add(bpc.Name, spec{variant: 2})
	de := h.addDE(spec{variant: 2})
	pw := h.add("powens", spec{variant: 0})
	b := h.signedIn("sam")

	all := b.get("/payments")
	for _, want := range []string{`data-testid="filter-account"`, `<option value="bpc/bpc-de">BPC · bpc-de</option>`,
		`<option value="bpc/default">BPC · default</option>`, `data-testid="payment-account">bpc-de</div>`, fr.PublicID, de.PublicID, pw.PublicID} {
		if !strings.Contains(all.body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	only := b.get("/payments?account=bpc/bpc-de")
	if only.status != 200 || !strings.Contains(only.body, de.PublicID) || strings.Contains(only.body, fr.PublicID) || strings.Contains(only.body, pw.PublicID) {
		t.Errorf("account=bpc/bpc-de: status %d, want bpc-de's payment only", only.status)
	}
	if !strings.Contains(only.body, `<option value="bpc/bpc-de" selected>`) {
		t.Error("the account filter does not show its choice")
	}
	if r := b.get("/payments?account=bpc/default"); !strings.Contains(r.body, fr.PublicID) || strings.Contains(r.body, de.PublicID) {
		t.Error("account=bpc/default does not keep the default account's payment only")
	}
	bad := b.get("/payments?account=bpc/bpc-it")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "Unknown account &#34;bpc/bpc-it&#34;") {
		t.Errorf("unknown account: status %d, want 400 naming it", bad.status)
	}
	if r := b.get("/payments?account=bpc/bpc-de&provider=powens"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "is not a Powens account") {
		t.Errorf("account of another provider: status %d, want 400", r.status)
	}
	page := b.get("/payments/" + de.PublicID)
	if !strings.Contains(page.body, `data-testid="account">bpc-de</dd>`) {
		t.Error("the payment page does not name its account")
	}
}

// TestPaymentsListWithOneAccountNamesNone: with one account per provider, neither the
// list nor the payment page talk of accounts.
func TestPaymentsListWithOneAccountNamesNone(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	b := h.signedIn("sam")
	if r := b.get("/payments"); strings.Contains(r.body, "filter-account") || strings.Contains(r.body, "payment-account") {
		t.Error("the list shows accounts with one account per provider")
	}
	if r := b.get("/payments/" + p.PublicID); strings.Contains(r.body, `data-testid="account"`) {
		t.Error("the payment page names the only account")
	}
}

// TestWebhookURLPerAccount: /webhooks/bpc/bpc-de takes webhooks signed with bpc-de's
// secret only; signed with the default account's it is refused (401) and changes
// nothing; /webhooks/bpc is the default account's; an unknown account is not configured.
func TestWebhookURLPerAccount(t *testing.T) {
	h := newHarness(t, harnessOptions{bpcDE: true})
	fr := h.add(bpc.Name, spec{variant: 2})
	de := h.addDE(spec{variant: 2})
	if err := h.bpcDE.SetPaymentStatus(de.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	raw, err := h.bpcDE.Envelope(providers.Ref{PaymentID: de.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	body := bpcBody("payment.succeeded", env.Payment)
	post := func(path, secret string) (int, string) {
		return send(t, h.srv.URL, path, "application/json", body, map[string]string{"X-Signature": hmacHex(secret, body)})
	}
	if status, verdict := post("/webhooks/bpc/bpc-de", bpcWebhookSecret); status != 401 || verdict != "bad_signature" {
		t.Errorf("bpc-de URL, default account's secret: %d %s, want 401 bad_signature", status, verdict)
	}
	if status, _ := post("/webhooks/bpc", bpcDEWebhookSecret); status != 401 {
		t.Errorf("default URL, bpc-de's secret: %d, want 401", status)
	}
	if status, _ := post("/webhooks/bpc/bpc-it", bpcDEWebhookSecret); status != 503 {
		t.Errorf("unknown account: %d, want 503 (not configured)", status)
	}
	if got := h.payment(de); got.RawStatus != de.RawStatus {
		t.Fatalf("refused webhooks changed bpc-de's payment to %s", got.RawStatus)
	}
	if status, verdict := post("/webhooks/bpc/bpc-de", bpcDEWebhookSecret); status != 200 || verdict != "applied" {
		t.Fatalf("bpc-de URL, its own secret: %d %s, want 200 applied", status, verdict)
	}
	if got := h.payment(de); got.RawStatus != "succeeded" {
		t.Errorf("bpc-de's payment is %s after its webhook, want succeeded", got.RawStatus)
	}
	if got := h.payment(fr); got.RawStatus != fr.RawStatus {
		t.Error("the default account's payment changed on bpc-de's webhook")
	}
}
