package ops

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/simfault"
)

// TestRefundBelowThresholdRunsAtOnce: the refund goes to the provider at once and the
// result says so in the words of the flash.
func TestRefundBelowThresholdRunsAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 10000)
	res, err := f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 1000, Reason: "requested_by_customer", Key: key()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tone != "success" || res.Outcome != providers.Done || !strings.HasPrefix(res.Message, "Refund of ") || !strings.Contains(res.Message, ": done.") {
		t.Errorf("result %+v, want a success saying the refund is done", res)
	}
	if a := f.lastAction(p); a.Kind != "refund" || a.State != "succeeded" || a.Actor != sam.Email {
		t.Errorf("journal %s %s by %s, want refund succeeded by sam", a.Kind, a.State, a.Actor)
	}
	st, err := f.desk.Decide(ctx, sam, f.payment(p))
	if err != nil {
		t.Fatal(err)
	}
	if st.Balance.Succeeded != 1000 || st.Refundable() != 9000 {
		t.Errorf("balance %+v, refundable %d; want 10.00 refunded, 90.00 left", st.Balance, st.Refundable())
	}
}

// TestRefundAboveThresholdWaits: at or above the threshold the refund waits for a
// manager and reserves its amount; nothing reaches the provider.
func TestRefundAboveThresholdWaits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 100000)
	res, err := f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 60000, Reason: "requested_by_customer", Key: key()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tone != "info" || res.Outcome != "" || !strings.Contains(res.Message, "awaiting a manager's approval") {
		t.Errorf("result %+v, want it awaiting approval", res)
	}
	st, _ := f.desk.Decide(ctx, sam, p)
	if st.Balance.Reserved != 60000 || st.InFlight != nil {
		t.Errorf("balance %+v, in flight %v; want 600.00 reserved and nothing sent", st.Balance, st.InFlight)
	}
	// The balance: only what is not reserved may still be refunded.
	_, err = f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 50000, Reason: "requested_by_customer", Key: key()})
	refusedWith(t, err, ErrInvalid, "At most")
}

// TestRefundRefusals: a repeated key, a stale sign-in, a role that cannot act, a wrong
// argument — each refused with its reason, nothing recorded twice.
func TestRefundRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 10000)
	k := key()
	if _, err := f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: k}); err != nil {
		t.Fatal(err)
	}
	_, err := f.desk.Refund(ctx, sam, f.payment(p), RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: k})
	refusedWith(t, err, ErrDuplicate, "already submitted once")

	stale := sam
	stale.FreshSignIn = false
	_, err = f.desk.Refund(ctx, stale, p, RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: key()})
	refusedWith(t, err, ErrStepUp, "Sign in again")

	_, err = f.desk.Refund(ctx, fin, p, RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: key()})
	refusedWith(t, err, ErrNotAllowed, "Your role cannot refund payments")

	_, err = f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 500, Reason: "other", Key: key()})
	refusedWith(t, err, ErrInvalid, "Explain the reason")
	_, err = f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: "nope"})
	refusedWith(t, err, ErrInvalid, "The form was incomplete")

	refunds, _ := f.db.RefundsOfPayment(ctx, p.ID)
	if len(refunds) != 1 {
		t.Errorf("%d refunds recorded, want 1", len(refunds))
	}
}

// TestParseRefund: what the form typed, checked per argument.
func TestParseRefund(t *testing.T) {
	args, errs := ParseRefund(RefundInput{Amount: "12.50", Reason: "requested_by_customer", Key: key()}, "EUR", 10000)
	if errs != nil || args.Amount != 1250 {
		t.Errorf("ParseRefund = %+v, %v; want 1250 and no problems", args, errs)
	}
	_, errs = ParseRefund(RefundInput{Amount: "abc", Reason: "", Note: strings.Repeat("x", 501), Key: ""}, "EUR", 10000)
	for _, field := range []string{"amount", "reason", "note", "form"} {
		if errs[field] == "" {
			t.Errorf("no problem with %s in %v", field, errs)
		}
	}
	if _, errs = ParseRefund(RefundInput{Amount: "200.00", Reason: "requested_by_customer", Key: key()}, "EUR", 10000); !strings.Contains(errs["amount"], "At most") {
		t.Errorf("over the maximum: %v", errs)
	}
}

// TestReconcileSettlesUnknownRefund: a refund whose answer was lost stays unknown and is
// never retried; the reconciler reads BPC and settles it.
func TestReconcileSettlesUnknownRefund(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 10000)
	f.bpc.FailNext(1, simfault.DropAnswer)
	res, err := f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 1200, Reason: "requested_by_customer", Key: key()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != providers.Unknown || !strings.Contains(res.Message, "Paydesk will not retry") {
		t.Fatalf("result %+v, want an unknown outcome", res)
	}
	if _, err := f.desk.Check(ctx, sam, f.payment(p), providers.ActionRefund, ""); err == nil {
		t.Error("a second refund is offered while the first is unknown")
	}
	rec, err := f.desk.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Succeeded != 1 || rec.Checked != 1 {
		t.Errorf("reconcile %+v, want 1 checked, 1 succeeded", rec)
	}
	if a := f.lastAction(p); a.State != "succeeded" {
		t.Errorf("action %s after reconciling, want succeeded", a.State)
	}
}
