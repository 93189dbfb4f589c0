package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// twoBPCRows stores a BPC session and its payment as two separate payments (two imports
// of their own) and gives BPC's simulator the session naming the payment.
func (h *harness) twoBPCRows(sid, pid string) (sess, pay storage.Payment) {
	h.t.Helper()
	session := func(extra, status string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"amount":20000,"created":"2024-03-29T05:33:26Z","currency":"EUR","customerDetails":{},`+
			`"expiresAt":"2099-03-29T05:53:26Z","merchantReferenceId":"4002","metadata":{},"paymentStatus":"unpaid","status":%q%s}`, sid, status, extra))
	}
	payment := json.RawMessage(fmt.Sprintf(`{"id":%q,"amount":20000,"amountCapturable":0,"amountReceived":20000,`+
		`"captureMethod":"automatic","created":"2024-03-29T05:40:00Z","currency":"EUR","customerDetails":{},"metadata":{},"status":"succeeded"}`, pid))
	store := func(env providers.Envelope) storage.Payment {
		raw, _ := json.Marshal(env)
		snap, err := bpc.ParseEnvelope(raw)
		if err != nil {
			h.t.Fatal(err)
		}
		p, _, err := h.db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
		if err != nil {
			h.t.Fatal(err)
		}
		return p
	}
	sess = store(providers.Envelope{Provider: bpc.Name, Session: session("", "open")})
	pay = store(providers.Envelope{Provider: bpc.Name, Payment: payment, Refunds: json.RawMessage(`[]`)})
	raw, _ := json.Marshal(providers.Envelope{Provider: bpc.Name, Session: session(`,"paymentId":"`+pid+`"`, "completed"),
		Payment: payment, Refunds: json.RawMessage(`[]`)})
	if err := h.bpc.Load(raw); err != nil {
		h.t.Fatal(err)
	}
	return sess, pay
}

// TestBPCWebhookLinkingTwoPayments: over HTTP, a signed session webhook naming a payment
// Paydesk holds as another row is answered 200 (BPC stops sending it) and recorded as a
// conflict; both payment pages show the provider's link naming the other payment, and the
// same webhook again is answered 200 as a duplicate.
func TestBPCWebhookLinkingTwoPayments(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	sess, pay := h.twoBPCRows("ps_webTwo", "p_webTwo")
	raw, _ := h.bpc.Envelope(providers.Ref{SessionID: "ps_webTwo"})
	var env providers.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	body := bpcBody("session.completed", env.Session)
	for i, want := range []string{"conflict", "duplicate"} {
		status, answer := send(t, wa.url, "/webhooks/bpc", "application/json", body, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, body)})
		if status != 200 {
			t.Fatalf("webhook %d: %d %s, want 200", i+1, status, answer)
		}
		if got := h.lastWebhook(); got.Verdict != want {
			t.Errorf("webhook %d recorded as %q (%s), want %q", i+1, got.Verdict, got.Detail, want)
		}
	}
	if got := h.payment(sess); got.PaymentID != "" || got.Status != sess.Status {
		t.Errorf("the session's row changed: payment %q, %s", got.PaymentID, got.Status)
	}
	max := h.signedIn("max")
	for _, c := range []struct{ p, other storage.Payment }{{sess, pay}, {pay, sess}} {
		page := max.get("/payments/" + c.p.PublicID)
		warn := text(regexpFind(page.body, `(?s)(<div class="flash error" role="alert" data-testid="linked-anomaly">.*?</div>)`))
		for _, want := range []string{"The provider links this payment with another one.",
			"BPC says this payment and " + c.other.PublicID + " are one payment (session ps_webTwo and payment p_webTwo)",
			"Paydesk does not merge them by itself", "Check both with BPC"} {
			if !strings.Contains(warn, want) {
				t.Errorf("%s's page does not say %q: %q", c.p.PublicID, want, warn)
			}
		}
		if strings.Contains(page.body, `data-testid="anomaly"`) {
			t.Errorf("%s's page says its amounts cannot be right", c.p.PublicID)
		}
	}
	if r := max.get("/payments?anomaly=1"); !strings.Contains(r.body, sess.PublicID) || !strings.Contains(r.body, pay.PublicID) {
		t.Error("the anomaly list does not show both payments")
	}
}

// TestRefreshLinkingTwoPayments: a refresh whose answer links the payment with another row
// tells the person so in plain words and changes nothing.
func TestRefreshLinkingTwoPayments(t *testing.T) {
	h := newHarness(t)
	sess, pay := h.twoBPCRows("ps_webRefresh", "p_webRefresh")
	max := h.signedIn("max")
	r := max.post("/payments/"+sess.PublicID+"/refresh", nil)
	flash := htmlUnescape(r.body)
	for _, want := range []string{"BPC says this payment and " + pay.PublicID + " are one payment", "so nothing was changed",
		"Paydesk does not merge them by itself", "Check both with BPC"} {
		if !strings.Contains(flash, want) {
			t.Errorf("after the refresh the page does not say %q (status %d at %s)", want, r.status, r.url)
		}
	}
	if got := h.payment(sess); got.PaymentID != "" {
		t.Errorf("the session's row took payment %q", got.PaymentID)
	}
}
