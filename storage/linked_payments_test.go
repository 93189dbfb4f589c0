package storage

import (
	"context"
	"errors"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
)

// TestLinkedPayments: an answer whose ids match two stored payments is refused with a
// *TwoPaymentsError (wrapping ErrConflict) and writes nothing; recorded, the link is an
// anomaly on both that keeps a money anomaly, is not written twice, and is kept by later
// answers about one of them, even consistent ones.
func TestLinkedPayments(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	over := paidBPC("p_link", 60000, 50000) // refunds above the captured amount: a money anomaly
	pay, _ := upsertForTest(t, db, over, UpsertOptions{Actor: "import"})
	sess, _ := upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, SessionID: "ps_link", Amount: 100000, Currency: "EUR",
		RawStatus: "open", SessionStatus: "open"}, UpsertOptions{Actor: "import"})

	link := over
	link.SessionID = "ps_link"
	_, _, err := db.UpsertPayment(ctx, link, UpsertOptions{Actor: "webhook"})
	var two *TwoPaymentsError
	if !errors.As(err, &two) || !errors.Is(err, ErrConflict) {
		t.Fatalf("upsert linking two rows: %v, want a *TwoPaymentsError wrapping ErrConflict", err)
	}
	if two.PaymentID != "p_link" || two.SessionID != "ps_link" || (two.First.ID != pay.ID && two.Second.ID != pay.ID) ||
		(two.First.ID != sess.ID && two.Second.ID != sess.ID) {
		t.Fatalf("the error names %+v", two)
	}
	for i := 0; i < 2; i++ {
		if err := db.RecordLinkedPayments(ctx, two, "webhook"); err != nil {
			t.Fatal(err)
		}
	}
	payAnom, _, _ := db.PaymentAnomaly(ctx, pay.ID)
	money, linked := SplitAnomaly(payAnom.Message)
	if !strings.Contains(money, "more than the 1,000.00 EUR captured") || !strings.Contains(linked, "this payment and "+sess.PublicID+" are one payment") {
		t.Errorf("anomaly of the payment = %q, want the money anomaly and the link", payAnom.Message)
	}
	if n := len(auditOf(t, db, sess.ID, "anomaly")); n != 1 {
		t.Errorf("%d audit entries on the session's row, want 1 (the same link twice writes once)", n)
	}
	// BPC's consistent answer about the payment alone: the money anomaly clears, the link stays.
	upsertForTest(t, db, paidBPC("p_link"), UpsertOptions{Actor: "webhook"})
	payAnom, had, _ := db.PaymentAnomaly(ctx, pay.ID)
	if money, linked := SplitAnomaly(payAnom.Message); !had || money != "" || !strings.Contains(linked, sess.PublicID) {
		t.Errorf("after a consistent answer: %q (had %v), want the link alone", payAnom.Message, had)
	}
}
