package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// mustShowAnomaly checks that an anomalous payment shows everywhere it must: a warning by
// its amounts, the needs-attention and anomaly lists, the dashboard (count, item, link) and
// one audit entry of kind anomaly by actor.
func mustShowAnomaly(t *testing.T, h *harness, p storage.Payment, words, actor string) {
	t.Helper()
	max := h.signedIn("max")
	page := max.get("/payments/" + p.PublicID)
	if warn := text(regexpFind(page.body, `(?s)(<div class="flash error" role="alert" data-testid="anomaly">.*?</div>)`)); !strings.Contains(warn, words) {
		t.Errorf("the payment page has no anomaly warning saying %q: %q", words, warn)
	}
	// The warning's "since" is the time, not templ's source printed as text.
	if warn := text(regexpFind(page.body, `(?s)(<div class="flash error" role="alert" data-testid="anomaly">.*?</div>)`)); strings.Contains(warn, "@When") || !strings.Contains(warn, "(since ") {
		t.Errorf("the anomaly warning prints template source or no time: %q", warn)
	}
	for _, path := range []string{"/payments?attention=1", "/payments?anomaly=1"} {
		if r := max.get(path); !strings.Contains(r.body, p.PublicID) {
			t.Errorf("%s does not list %s", path, p.PublicID)
		}
	}
	dash := max.get("/")
	section := regexpFind(dash.body, `(?s)(data-testid="dash-anomalies".*?</section>)`)
	if !strings.Contains(section, p.PublicID) || !strings.Contains(section, words) || !strings.Contains(section, `href="/payments?anomaly=1"`) {
		t.Errorf("the dashboard's anomalies do not show %s:\n%s", p.PublicID, section)
	}
	if strings.Contains(dash.body, "@When") {
		t.Errorf("the dashboard prints template source (@When) instead of times")
	}
	if n := regexpFind(section, `data-testid="count-anomalies">(\d+)<`); n != "1" {
		t.Errorf("the dashboard's anomaly count is %q, want 1", n)
	}
	list, err := h.db.ListAudit(context.Background(), storage.AuditFilter{PaymentID: p.ID, Kind: "anomaly"})
	if err != nil || len(list) != 1 || list[0].Actor != actor || !strings.Contains(list[0].Message, words) {
		t.Errorf("audit entries of kind anomaly = %+v (%v), want one by %s", list, err, actor)
	}
	if r := max.get("/audit?kind=anomaly"); !strings.Contains(htmlUnescape(r.body), words) {
		t.Errorf("the audit page does not show the anomaly")
	}
}

// mustNotShowAnomaly checks that a payment has no anomaly anywhere.
func mustNotShowAnomaly(t *testing.T, h *harness, p storage.Payment) {
	t.Helper()
	max := h.signedIn("max")
	if r := max.get("/payments/" + p.PublicID); strings.Contains(r.body, `data-testid="anomaly"`) {
		t.Errorf("the payment page of %s warns of an anomaly", p.PublicID)
	}
	if r := max.get("/payments?anomaly=1"); strings.Contains(r.body, p.PublicID) {
		t.Errorf("the anomaly list shows %s", p.PublicID)
	}
}

// TestBPCWebhookOverRefundIsAnAnomaly: a signed BPC webhook reporting a refund above the
// captured amount is applied as BPC's word and raised; a normal one is not; the anomaly
// clears when BPC's answer is consistent again (a refresh reads BPC).
func TestBPCWebhookOverRefundIsAnAnomaly(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(bpc.Name, spec{variant: 8}) // authorised, 1,000.00 EUR
	if err := h.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	signed := func(body []byte) int {
		status, answer := send(t, wa.url, "/webhooks/bpc", "application/json", body, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, body)})
		if status != 200 {
			t.Fatalf("webhook: %d %s", status, answer)
		}
		return status
	}
	raw, _ := h.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
	var env providers.Envelope
	json.Unmarshal(raw, &env)
	signed(bpcBody("payment.succeeded", env.Payment))

	refund := func(id string, amount string) []byte {
		return bpcBody("refund.updated", json.RawMessage(`{"id":"`+id+`","amount":`+amount+`,"currency":"EUR","paymentId":"`+p.PaymentID+`","status":"succeeded","created":"2026-01-02T03:04:05Z"}`))
	}
	signed(refund("re_normal", "25000"))
	mustNotShowAnomaly(t, h, p)

	signed(refund("re_over", "90000"))
	got := h.payment(p)
	if got.Refunded != 115000 || got.Status != providers.StatusRefunded {
		t.Errorf("BPC's word is not stored: refunded %d, %s", got.Refunded, got.Status)
	}
	words := "BPC says 1,150.00 EUR was refunded, more than the 1,000.00 EUR captured."
	mustShowAnomaly(t, h, p, words, "webhook")
	if tl := h.timeline(p); !strings.Contains(tl, "webhook: Anomaly: "+words) {
		t.Errorf("the timeline does not say it:\n%s", tl)
	}

	// BPC itself never had those refunds: reading it back is consistent again.
	max := h.signedIn("max")
	max.post("/payments/"+p.PublicID+"/refresh", nil)
	if a, had, _ := h.db.PaymentAnomaly(context.Background(), p.ID); had {
		t.Fatalf("the anomaly did not clear after a consistent answer: %+v\n%s", a, h.timeline(p))
	}
	if tl := h.timeline(p); !strings.Contains(tl, "Anomaly cleared: BPC's answer is consistent again") {
		t.Errorf("the timeline does not say it cleared:\n%s", tl)
	}
	mustNotShowAnomaly(t, h, p)
	if r := max.get("/"); !strings.Contains(r.body, "No provider answer is inconsistent.") {
		t.Error("the dashboard still shows an anomaly")
	}
}

// TestTranzzoWebhookOverRefundIsAnAnomaly: the same for a signed Tranzzo refund transaction.
func TestTranzzoWebhookOverRefundIsAnAnomaly(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(tranzzo.Name, spec{variant: tranzzo.VariantPurchaseSuccess, currency: "UAH", amount: 50000})
	raw, err := h.tranzzo.Envelope(p.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	json.Unmarshal(raw, &env)
	var txs []json.RawMessage
	json.Unmarshal(env.Transactions, &txs)
	refund := func(id string, amount float64) []byte {
		var tx map[string]any
		json.Unmarshal(txs[0], &tx)
		tx["method"], tx["payment_id"], tx["amount"], tx["status"] = "refund", id, amount, "success"
		b, _ := json.Marshal(tx)
		return tranzzoBody(tranzzoWebhookSecret, b)
	}
	post := func(body []byte) {
		if status, answer := send(t, wa.url, "/webhooks/tranzzo", "application/x-www-form-urlencoded", body, nil); status != 200 {
			t.Fatalf("webhook: %d %s", status, answer)
		}
	}
	post(refund("tz-refund-normal", 100))
	if got := h.payment(p); got.Refunded != 10000 {
		t.Fatalf("the normal refund: refunded %d", got.Refunded)
	}
	mustNotShowAnomaly(t, h, p)
	post(refund("tz-refund-over", 450))
	if got := h.payment(p); got.Refunded != 55000 {
		t.Fatalf("the over-refund is not stored as Tranzzo's word: refunded %d", got.Refunded)
	}
	mustShowAnomaly(t, h, p, "Tranzzo says 550.00 UAH was refunded, more than the 500.00 UAH captured.", "webhook")
}
