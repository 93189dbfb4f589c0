package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/simfault"
	"paydesk/storage"
)

// TestReconcilerPendingActions: a pending action is left alone while its call may be in
// flight; once past the grace period (the process that started it stopped) it is settled,
// or shown as unknown when the provider cannot be read.
func TestReconcilerPendingActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 100000)
	q := f.add(bpc.Name, 2, 100000)
	// Two refunds recorded as pending, as a process killed before calling BPC leaves them.
	for i, pay := range []storage.Payment{p, q} {
		if _, _, err := f.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: pay.ID, Amount: 1000, Reason: "goodwill",
			RequestedBy: "sam@example.com", IdempotencyKey: strings.Repeat(string(rune('a'+i)), 32)}); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := f.desk.Reconcile(ctx)
	if res.Skipped != 2 || res.Checked != 0 {
		t.Fatalf("within the grace period: %+v, want 2 skipped", res)
	}
	f.clock.Advance(3 * time.Minute)
	res, _ = f.desk.Reconcile(ctx)
	if res.Failed != 2 {
		t.Fatalf("past the grace period: %+v, want 2 failed (BPC never got them)", res)
	}

	// A pending refund when BPC cannot be read becomes unknown, not failed.
	r := f.add(bpc.Name, 2, 100000)
	if _, _, err := f.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: r.ID, Amount: 1000, Reason: "goodwill",
		RequestedBy: "sam@example.com", IdempotencyKey: strings.Repeat("c", 32)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	f.bpc.FailNext(20, simfault.Unavailable)
	res, _ = f.desk.Reconcile(ctx)
	f.bpc.ClearFaults()
	if res.MarkedUnknown != 1 {
		t.Fatalf("BPC unreachable: %+v, want 1 marked unknown", res)
	}
	a, _ := f.db.ActionByKey(ctx, strings.Repeat("c", 32))
	if a.State != "unknown" {
		t.Errorf("action %s, want unknown", a.State)
	}
	res, _ = f.desk.Reconcile(ctx)
	if res.Failed != 1 {
		t.Errorf("once BPC answers: %+v, want 1 failed", res)
	}
}

// TestReconcilerSettlesLostCancellation covers Powens, which has no refunds: a
// cancellation whose answer was lost is settled by the payment's state.
func TestReconcilerSettlesLostCancellation(t *testing.T) {
	for _, way := range []string{"provider did it", "provider did not"} {
		t.Run(way, func(t *testing.T) {
			f := newFixture(t)
			p := f.add(powens.Name, 0, 100000) // created
			f.powens.SetCancelScenario(p.PaymentID, powens.CancelDone)
			if way == "provider did it" {
				f.powens.FailNextOn(powens.RouteCancelPayment, 1, simfault.DropAnswer)
			} else {
				f.powens.FailNextOn(powens.RouteCancelPayment, 1, simfault.Internal)
			}
			ctx := context.Background()
			k := key()
			if _, err := f.desk.Cancel(ctx, sam, p, k); err != nil {
				t.Fatal(err)
			}
			a, err := f.db.ActionByKey(ctx, k)
			if err != nil || a.State != "unknown" {
				t.Fatalf("action %+v (%v), want unknown", a, err)
			}
			if _, err := f.desk.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			a, _ = f.db.ActionByID(ctx, a.ID)
			got := f.payment(p)
			if way == "provider did it" {
				if a.State != "succeeded" || got.Status != providers.StatusCancelled {
					t.Errorf("action %s, payment %s; want succeeded, cancelled", a.State, got.Status)
				}
			} else if a.State != "failed" || got.Status != providers.StatusAwaitingPayment {
				t.Errorf("action %s, payment %s; want failed, awaiting payment", a.State, got.Status)
			}
		})
	}
}
