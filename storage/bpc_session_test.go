package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
)

// bpcSessionSeed is the session of BPC's "Expire Session" example, open: the fields the
// document shows, and no paymentId (the document's session has none).
const bpcSessionSeed = `{"id":"ps_2GRSigkh7nHdxwjV4Yf7PpdEevc1dAwEvssZuP8TJ6mjuNmPMoV9mB","amount":20000,
"created":"2024-03-29T05:33:26Z","currency":"EUR","customerDetails":{},"expiresAt":"2024-03-29T05:53:26Z",
"failureUrl":"https://mybestmerchantreturnurl.com/failure","locale":"EN","merchantReferenceId":"4002","metadata":{},
"paymentData":{"captureMethod":"automatic"},"paymentStatus":"unpaid","status":"%STATUS%",
"successUrl":"https://mybestmerchantreturnurl.com/success"%EXTRA%}`

const bpcSessionPayment = `{"id":"p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw","amount":20000,"amountCapturable":0,
"amountReceived":20000,"captureMethod":"automatic","created":"2024-03-29T05:40:00Z","currency":"EUR",
"customerDetails":{},"metadata":{},"status":"succeeded"}`

// bpcEnvelope is a BPC import envelope (or what a webhook merges into one) read by BPC's
// own parser.
func bpcEnvelope(t *testing.T, session, payment string) providers.Snapshot {
	t.Helper()
	raw := `{"provider":"bpc"`
	if session != "" {
		raw += `,"session":` + session
	}
	if payment != "" {
		raw += `,"payment":` + payment + `,"refunds":[]`
	}
	snap, err := bpc.ParseEnvelope([]byte(raw + "}"))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func bpcSession(status, extra string) string {
	return strings.NewReplacer("%STATUS%", status, "%EXTRA%", extra).Replace(bpcSessionSeed)
}

// TestBPCSessionPicksUpItsPayment: a session stored without a payment (the document's
// shape) is one row; when a session.completed webhook names its paymentId, the same row
// gets it; when the payment itself comes (its webhook carries no session), it lands on
// that row too. Never a second row.
func TestBPCSessionPicksUpItsPayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	const sid, pid = "ps_2GRSigkh7nHdxwjV4Yf7PpdEevc1dAwEvssZuP8TJ6mjuNmPMoV9mB", "p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw"

	open := bpcEnvelope(t, bpcSession("open", ""), "")
	first, ch := upsertForTest(t, db, open, UpsertOptions{Actor: "import"})
	if !ch.Created || first.SessionID != sid || first.PaymentID != "" || first.Status != providers.StatusAwaitingPayment {
		t.Fatalf("session imported as %+v (%+v), want a new row, awaiting payment, no payment id", first, ch)
	}
	if el := providers.Eligible(first.Snapshot); !el.Expire.Allowed || el.Cancel.Allowed || el.Refund.Allowed {
		t.Errorf("session-only eligibility %+v, want only expire", el)
	}

	setClock(db, testEpoch.Add(time.Minute))
	named := bpcEnvelope(t, bpcSession("completed", `,"paymentId":"`+pid+`"`), "")
	got, _ := upsertForTest(t, db, named, UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	if got.ID != first.ID || got.PaymentID != pid || got.Status != providers.StatusProcessing {
		t.Errorf("session naming its payment: row %d payment %q status %s, want row %d, %s, processing", got.ID, got.PaymentID, got.Status, first.ID, pid)
	}
	if el := providers.Eligible(got.Snapshot); el.Cancel.Allowed || el.Refund.Allowed || !strings.Contains(el.Refund.Reason, "has not read yet") {
		t.Errorf("payment named but not read: eligibility %+v, want nothing offered until it is read", el)
	}

	setClock(db, testEpoch.Add(2*time.Minute))
	alone := bpcEnvelope(t, "", bpcSessionPayment) // payment.succeeded: the payment alone
	got, _ = upsertForTest(t, db, alone, UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	if got.ID != first.ID || got.SessionID != sid || got.Status != providers.StatusPaid || got.Captured != 20000 {
		t.Errorf("the payment alone: row %d session %q status %s captured %d, want row %d, paid, 20000", got.ID, got.SessionID, got.Status, got.Captured, first.ID)
	}
	if el := providers.Eligible(got.Snapshot); !el.Refund.Allowed || el.Refund.MaxRefund != 20000 {
		t.Errorf("paid: refund %+v, want up to 20000", el.Refund)
	}
	if n := rowCount(t, db, "payments"); n != 1 {
		t.Errorf("payments: %d rows, want 1", n)
	}
	for _, id := range []string{sid, pid} {
		if p, err := db.PaymentByProviderID(ctx, bpc.Name, id); err != nil || p.ID != first.ID {
			t.Errorf("PaymentByProviderID(%s): %d, %v; want %d", id, p.ID, err, first.ID)
		}
	}

	// A later session answer in the document's shape (no paymentId) keeps the link.
	setClock(db, testEpoch.Add(3*time.Minute))
	got, _ = upsertForTest(t, db, bpcEnvelope(t, bpcSession("completed", ""), ""), UpsertOptions{Actor: "webhook"})
	if got.ID != first.ID || got.PaymentID != pid {
		t.Errorf("session without paymentId after: row %d payment %q, want %d %s", got.ID, got.PaymentID, first.ID, pid)
	}
}

// TestBPCSessionSeedExpired: the document's expired session imports as one expired row,
// with nothing offered.
func TestBPCSessionSeedExpired(t *testing.T) {
	db := newTestDB(t)
	p, _ := upsertForTest(t, db, bpcEnvelope(t, bpcSession("expired", ""), ""), UpsertOptions{Actor: "import"})
	if p.Status != providers.StatusExpired || p.SessionStatus != "expired" || p.PaymentID != "" || p.Amount != 20000 || p.MerchantReference != "4002" {
		t.Errorf("imported %+v, want expired, 200.00 EUR, reference 4002, no payment", p)
	}
	if providers.Eligible(p.Snapshot).Any() {
		t.Errorf("an expired session offers %+v, want nothing", providers.Eligible(p.Snapshot))
	}
}
