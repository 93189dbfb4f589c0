package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// bpcDocSession is an open session in the shape of BPC's own example: no paymentId.
func bpcDocSession(id, extra string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"amount":20000,"created":"2024-03-29T05:33:26Z","currency":"EUR",`+
		`"customerDetails":{},"expiresAt":"2024-03-29T05:53:26Z","failureUrl":"https://shop.example/failure","locale":"EN",`+
		`"merchantReferenceId":"4002","metadata":{},"paymentData":{"captureMethod":"automatic"},"paymentStatus":"unpaid",`+
		`"status":"open","successUrl":"https://shop.example/success"%s}`, id, extra))
}

func bpcDocPayment(id, status string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"amount":20000,"amountCapturable":0,"amountReceived":20000,`+
		`"captureMethod":"automatic","created":"2024-03-29T05:40:00Z","currency":"EUR","customerDetails":{},"metadata":{},"status":%q}`, id, status))
}

// addBPCSession imports a session-only BPC payment (and loads it in the simulator).
func (f *fixture) addBPCSession(id string) storage.Payment {
	f.t.Helper()
	raw, _ := json.Marshal(providers.Envelope{Provider: bpc.Name, Session: bpcDocSession(id, "")})
	snap, err := bpc.ParseEnvelope(raw)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.bpc.Load(raw); err != nil {
		f.t.Fatal(err)
	}
	p, _, err := f.db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) paymentRows() int {
	f.t.Helper()
	page, err := f.db.ListPayments(context.Background(), storage.PaymentFilter{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(page.Payments)
}

// TestBPCSessionWithoutPayment: a session with no payment (BPC's own example has none) is
// shown awaiting payment, expired by its session id, and picks up its payment later —
// through a refresh, or through the session's and the payment's webhooks — on the same row.
func TestBPCSessionWithoutPayment(t *testing.T) {
	ctx := context.Background()
	t.Run("expire", func(t *testing.T) {
		f := newFixture(t)
		p := f.addBPCSession("ps_docExpire")
		if p.Status != providers.StatusAwaitingPayment || p.PaymentID != "" {
			t.Fatalf("imported %s with payment %q, want awaiting payment, none", p.Status, p.PaymentID)
		}
		res, err := f.desk.Expire(ctx, sam, p, key())
		if err != nil || res.Outcome != providers.Done {
			t.Fatalf("expire = %+v, %v; want done", res, err)
		}
		if got := f.bpc.Requests(); len(got) == 0 || got[0] != "POST /sessions/ps_docExpire/expire" {
			t.Errorf("requests %v, want the session expired by its id", got)
		}
		if p = f.payment(p); p.Status != providers.StatusExpired || p.PaymentID != "" {
			t.Errorf("after expiry: %s, payment %q; want expired, none", p.Status, p.PaymentID)
		}
	})
	t.Run("refresh", func(t *testing.T) {
		f := newFixture(t)
		p := f.addBPCSession("ps_docRefresh")
		// The payer pays: BPC now has the payment, and the session names it.
		raw, _ := json.Marshal(providers.Envelope{Provider: bpc.Name,
			Session: bpcDocSession("ps_docRefresh", `,"paymentId":"p_docRefresh"`), Payment: bpcDocPayment("p_docRefresh", "succeeded"), Refunds: json.RawMessage(`[]`)})
		if err := f.bpc.Load(raw); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.Refresh(ctx, fin, p); err != nil {
			t.Fatal(err)
		}
		got := f.payment(p)
		if got.PaymentID != "p_docRefresh" || got.Status != providers.StatusPaid || f.paymentRows() != 1 {
			t.Errorf("after refresh: payment %q %s, %d rows; want p_docRefresh paid on the one row", got.PaymentID, got.Status, f.paymentRows())
		}
	})
	t.Run("webhooks", func(t *testing.T) {
		f := newFixture(t)
		p := f.addBPCSession("ps_docHook")
		signed := func(body []byte) http.Header {
			return http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, body)}, "Content-Type": {"application/json"}}
		}
		completed := bpcDocSession("ps_docHook", `,"paymentId":"p_docHook"`)
		completed = json.RawMessage(strings.Replace(string(completed), `"status":"open"`, `"status":"completed"`, 1))
		sessBody := bpcBody("session.completed", completed)
		payBody := bpcBody("payment.succeeded", bpcDocPayment("p_docHook", "succeeded"))
		f.runHooks(bpc.Name, p, []hookStep{
			{name: "session.completed names the payment", body: sessBody, header: signed(sessBody), wantKind: WebhookTaken, wantVerdict: VerdictApplied,
				wantPayment: providers.StatusProcessing, wantTimes: "payment id (none) → p_docHook"},
			{name: "payment.succeeded, no session in it", body: payBody, header: signed(payBody), wantKind: WebhookTaken, wantVerdict: VerdictApplied,
				wantPayment: providers.StatusPaid},
		})
		if got := f.payment(p); got.PaymentID != "p_docHook" || got.SessionID != "ps_docHook" || f.paymentRows() != 1 {
			t.Errorf("after the webhooks: payment %q session %q, %d rows; want both ids on the one row", got.PaymentID, got.SessionID, f.paymentRows())
		}
	})
}
