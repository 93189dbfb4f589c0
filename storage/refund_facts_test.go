package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRefundFacts: the payment's sum counts refunded, in flight and awaiting (not expired,
// rejected or failed); the person's sum counts the requester's (whatever the case of the
// e-mail) of the last 24 hours in the currency, on every payment.
func TestRefundFacts(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	now := testEpoch
	db.Now = func() time.Time { return now }
	p1 := insertTestPayment(t, db, "bpc", "EUR", 100000)
	p2 := insertTestPayment(t, db, "bpc", "EUR", 100000)
	p3 := insertTestPayment(t, db, "bpc", "JPY", 100000)
	n := 0
	req := func(pid, amount int64, by string, ttl time.Duration) Refund {
		t.Helper()
		n++
		r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: amount, Reason: "duplicate", RequestedBy: by,
			IdempotencyKey: fmt.Sprintf("facts-%d", n), NeedsApproval: ttl > 0, ApprovalTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		if act != nil {
			if _, err := db.FinishAction(ctx, act.ID, "succeeded", "done", "", ""); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	req(p2, 700, "ann@x", 72*time.Hour) // older than 24 hours by the time of the facts
	now = now.Add(25 * time.Hour)
	req(p1, 1000, "ann@x", 0) // refunded
	req(p1, 3000, "ann@x", 72*time.Hour)
	req(p2, 800, "ANN@X", 72*time.Hour)
	req(p1, 900, "bob@x", 72*time.Hour)
	req(p1, 400, "ann@x", time.Minute) // expires
	rejected := req(p1, 500, "ann@x", 72*time.Hour)
	if _, err := db.RejectRefund(ctx, rejected.ID, "mia@x", "", "no"); err != nil {
		t.Fatal(err)
	}
	req(p3, 5000, "ann@x", 72*time.Hour) // another currency
	now = now.Add(2 * time.Minute)

	f, err := db.RefundFacts(ctx, p1, 1, "duplicate", Requester{Email: " ann@x "})
	if err != nil {
		t.Fatal(err)
	}
	if f.OnPayment != 1000+3000+900 || f.ByPerson != 1000+3000+800 || f.Currency != "EUR" || f.Amount != 1 ||
		!f.PaymentCreatedAt.Equal(testEpoch) || !f.Now.Equal(now) || f.RequestedBy != "ann@x" {
		t.Errorf("facts = %+v; want 49.00 on the payment, 48.00 by ann", f)
	}
	if f, err := db.RefundFacts(ctx, p1, 1, "duplicate", Requester{}); err != nil || f.ByPerson != 0 {
		t.Errorf("no requester: %+v, %v", f, err)
	}
	if _, err := db.RefundFacts(ctx, 999, 1, "duplicate", Requester{Email: "ann@x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown payment: %v, want ErrNotFound", err)
	}
}

// TestRequestRefundDecides: Decide sees the facts read in the transaction; its approval
// is recorded with the rule (shown by the queue and the lists), its block records
// nothing, and its silence runs the refund at once.
func TestRequestRefundDecides(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	var seen RefundFacts
	decide := func(d RefundDecision) func(RefundFacts) RefundDecision {
		return func(f RefundFacts) RefundDecision { seen = f; return d }
	}
	_, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "d0",
		Decide: decide(RefundDecision{})})
	if err == nil || !strings.Contains(err.Error(), "time to live") {
		t.Errorf("Decide without a time to live: %v", err)
	}
	_, _, err = db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "d1",
		ApprovalTTL: time.Hour, Decide: decide(RefundDecision{Effect: DecisionBlock, Rule: "age", Why: "the payment is old"})})
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "the payment is old") {
		t.Errorf("blocked: %v, want ErrBlocked with the why", err)
	}
	if refunds, _ := db.RefundsOfPayment(ctx, pid); len(refunds) != 0 {
		t.Errorf("a blocked request left %d refunds", len(refunds))
	}
	r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "d2",
		NeedsApproval: true, ApprovalTTL: time.Hour, Decide: decide(RefundDecision{})})
	if err != nil || r.Status != "pending" || act == nil || r.ApprovalRule != "" {
		t.Fatalf("no rule: %+v %v %v, want pending with its action (Decide overrides NeedsApproval)", r, act, err)
	}
	if _, err := db.FinishAction(ctx, act.ID, "succeeded", "done", "", ""); err != nil {
		t.Fatal(err)
	}
	r, act, err = db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 200, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "d3",
		ApprovalTTL: time.Hour, Decide: decide(RefundDecision{Effect: DecisionApproval, Rule: "per_payment", Why: "this refund brings …"})})
	if err != nil || r.Status != "awaiting_approval" || act != nil || r.ApprovalRule != "per_payment" || r.ApprovalWhy != "this refund brings …" {
		t.Fatalf("approval: %+v %v %v", r, act, err)
	}
	if seen.OnPayment != 100 || seen.ByPerson != 100 || seen.Amount != 200 || seen.Reason != "duplicate" {
		t.Errorf("facts seen by Decide = %+v, want the first refund counted", seen)
	}
	got, _ := db.RefundByID(ctx, r.ID)
	queue, _ := db.ApprovalQueue(ctx)
	mine, _ := db.ListRefunds(ctx, RefundFilter{RequestedBy: "ANN@x"})
	if got.ApprovalRule != "per_payment" || len(queue) != 1 || queue[0].ApprovalWhy != "this refund brings …" ||
		len(mine) != 2 || mine[0].ApprovalRule != "per_payment" {
		t.Errorf("rule read back: %+v; queue %+v; mine %+v", got, queue, mine)
	}
	events, _ := db.Events(ctx, pid)
	if last := events[len(events)-1]; !strings.HasSuffix(last.Message, "(this refund brings …)") {
		t.Errorf("timeline %q, want the rule's words", last.Message)
	}
}

// TestRequestRefundDecidesAtOnce: 20 requests of 40.00 EUR at once on 1,000.00 EUR, with a
// cumulative rule at 500.00 deciding in the transaction: exactly twelve run, eight wait.
func TestRequestRefundDecidesAtOnce(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	cumulative := func(f RefundFacts) RefundDecision {
		if f.OnPayment+f.Amount >= 50000 {
			return RefundDecision{Effect: DecisionApproval, Rule: "per_payment", Why: "at or above 500.00 EUR"}
		}
		return RefundDecision{}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for try := 0; ; try++ {
				_, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 4000, Reason: "duplicate", RequestedBy: fmt.Sprintf("agent%d@x", i),
					IdempotencyKey: fmt.Sprintf("at-once-%d-%d", i, try), ApprovalTTL: time.Hour, Decide: cumulative})
				if errors.Is(err, ErrConflict) && try < 5000 { // another refund in flight: ask again
					time.Sleep(time.Millisecond)
					continue
				}
				if err == nil && act != nil {
					_, err = db.FinishAction(ctx, act.ID, "succeeded", "done", "", "")
				}
				errs[i] = err
				return
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	b := mustBalance(t, db, pid)
	if b.Succeeded != 12*4000 || b.Reserved != 8*4000 {
		t.Errorf("balance %+v, want twelve refunded and eight awaiting", b)
	}
}
