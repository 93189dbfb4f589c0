package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// refundThroughPage asks for a refund of amount through the real form and returns the
// journal row it made.
func refundThroughPage(t *testing.T, b *browser, p storage.Payment, amount string) storage.Action {
	t.Helper()
	form := b.get("/payments/" + p.PublicID + "/refund")
	key := formKey(t, form)
	b.post("/payments/"+p.PublicID+"/refund", url.Values{"amount": {amount}, "reason": {"requested_by_customer"}, "idempotency_key": {key}})
	a, err := b.h.db.ActionByKey(context.Background(), key)
	if err != nil {
		t.Fatalf("refund of %s: no journal row: %v", amount, err)
	}
	return a
}

// providerRefunds lists the refunds the simulator holds for p: id → amount.
func (h *harness) providerRefunds(p storage.Payment) map[string]int64 {
	h.t.Helper()
	var snap providers.Snapshot
	var err error
	switch p.Provider {
	case bpc.Name:
		snap, err = h.bpc.Snapshot(providers.Ref{PaymentID: p.PaymentID})
	case tranzzo.Name:
		snap, err = h.tranzzo.Snapshot(p.OrderID)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range snap.Refunds {
		if r.Succeeded {
			out[r.ID] = r.Amount
		}
	}
	return out
}

// TestReconcilerSettlesLostRefunds: a refund whose answer was lost is unknown; the
// reconciler reads the provider and settles it as succeeded when the provider has it
// (with the provider's id) and as failed when it does not — for each provider that
// refunds.
func TestReconcilerSettlesLostRefunds(t *testing.T) {
	type faults struct{ acted, notActed func(h *harness) }
	cases := []struct {
		provider providers.Name
		variant  int
		faults   faults
	}{
		{bpc.Name, 2, faults{
			acted:    func(h *harness) { h.bpc.FailNext(1, bpc.FaultDropAnswer) },
			notActed: func(h *harness) { h.bpc.FailNext(1, bpc.FaultInternal) },
		}},
		{tranzzo.Name, tranzzo.VariantPurchaseSuccess, faults{
			acted:    func(h *harness) { h.tranzzo.FailNext(1, tranzzo.FaultDrop) },
			notActed: func(h *harness) { h.tranzzo.FailNext(1, tranzzo.Fault500) },
		}},
	}
	for _, c := range cases {
		t.Run(string(c.provider), func(t *testing.T) {
			for _, way := range []string{"provider has it", "provider does not"} {
				t.Run(way, func(t *testing.T) {
					h := newHarness(t)
					p := h.add(c.provider, spec{variant: c.variant, amount: 10000})
					b := h.signedIn("sam")
					if way == "provider has it" {
						c.faults.acted(h)
					} else {
						c.faults.notActed(h)
					}
					a := refundThroughPage(t, b, p, "30.00")
					if a.State != "unknown" {
						t.Fatalf("after a lost answer the action is %s, want unknown", a.State)
					}
					res, err := h.desk.Reconcile(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					ctx := context.Background()
					a, _ = h.db.ActionByID(ctx, a.ID)
					refund, _ := h.db.RefundByID(ctx, a.RefundID)
					atProvider := h.providerRefunds(p)
					if way == "provider has it" {
						if res.Succeeded != 1 || a.State != "succeeded" || refund.Status != "succeeded" {
							t.Fatalf("result %+v, action %s, refund %s; want one succeeded", res, a.State, refund.Status)
						}
						if atProvider[refund.ProviderRefundID] != 3000 || len(atProvider) != 1 {
							t.Errorf("refund provider id %q; the provider holds %v", refund.ProviderRefundID, atProvider)
						}
					} else {
						if res.Failed != 1 || a.State != "failed" || refund.Status != "failed" {
							t.Fatalf("result %+v, action %s, refund %s; want one failed", res, a.State, refund.Status)
						}
						if len(atProvider) != 0 {
							t.Errorf("the provider holds %v, want no refund", atProvider)
						}
					}
					// Nothing moved money: the provider got exactly the one refund call.
					bal, _ := h.db.Balance(ctx, p.ID)
					want := int64(10000)
					if way == "provider has it" {
						want = 7000
					}
					if bal.Refundable != want {
						t.Errorf("refundable %d, want %d", bal.Refundable, want)
					}
					page := b.get("/payments/" + p.PublicID)
					mustContain(t, page, "Settled by reading "+c.provider.Label())
					// A second run finds nothing to do.
					if res, _ := h.desk.Reconcile(ctx); res.Checked != 0 {
						t.Errorf("second run checked %d actions", res.Checked)
					}
				})
			}
		})
	}
}

// TestReconcilerSettlesLostCancellation covers Powens, which has no refunds: a
// cancellation whose answer was lost is settled by the payment's state.
func TestReconcilerSettlesLostCancellation(t *testing.T) {
	for _, way := range []string{"provider did it", "provider did not"} {
		t.Run(way, func(t *testing.T) {
			h := newHarness(t)
			p := h.add(powens.Name, spec{variant: 0}) // created
			h.powens.SetCancelScenario(p.PaymentID, powens.CancelDone)
			if way == "provider did it" {
				h.powens.FailNextOn(powens.RouteCancelPayment, 1, powens.FaultDropAnswer)
			} else {
				h.powens.FailNextOn(powens.RouteCancelPayment, 1, powens.Fault500)
			}
			b := h.signedIn("sam")
			form := b.get("/payments/" + p.PublicID + "/cancel")
			key := formKey(t, form)
			b.post("/payments/"+p.PublicID+"/cancel", url.Values{"idempotency_key": {key}})
			ctx := context.Background()
			a, err := h.db.ActionByKey(ctx, key)
			if err != nil || a.State != "unknown" {
				t.Fatalf("action %+v (%v), want unknown", a, err)
			}
			if _, err := h.desk.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			a, _ = h.db.ActionByID(ctx, a.ID)
			got := h.payment(p)
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

// TestReconcilerPendingActions: a pending action is left alone while its call may be in
// flight; once past the grace period (the process that started it stopped) it is settled,
// or shown as unknown when the provider cannot be read.
func TestReconcilerPendingActions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := h.add(bpc.Name, spec{variant: 2})
	q := h.add(bpc.Name, spec{variant: 2})
	// Two refunds recorded as pending, as a process killed before calling BPC leaves them.
	for i, pay := range []storage.Payment{p, q} {
		if _, _, err := h.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: pay.ID, Amount: 1000, Reason: "goodwill",
			RequestedBy: "sam@example.com", IdempotencyKey: strings.Repeat(string(rune('a'+i)), 32)}); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := h.desk.Reconcile(ctx)
	if res.Skipped != 2 || res.Checked != 0 {
		t.Fatalf("within the grace period: %+v, want 2 skipped", res)
	}
	h.clock.Advance(3 * time.Minute)
	res, _ = h.desk.Reconcile(ctx)
	if res.Failed != 2 {
		t.Fatalf("past the grace period: %+v, want 2 failed (BPC never got them)", res)
	}

	// A pending refund when BPC cannot be read becomes unknown, not failed.
	r := h.add(bpc.Name, spec{variant: 2})
	if _, _, err := h.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: r.ID, Amount: 1000, Reason: "goodwill",
		RequestedBy: "sam@example.com", IdempotencyKey: strings.Repeat("c", 32)}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(3 * time.Minute)
	h.bpc.FailNext(20, bpc.FaultUnavailable)
	res, _ = h.desk.Reconcile(ctx)
	h.bpc.ClearFaults()
	if res.MarkedUnknown != 1 {
		t.Fatalf("BPC unreachable: %+v, want 1 marked unknown", res)
	}
	a, _ := h.db.ActionByKey(ctx, strings.Repeat("c", 32))
	if a.State != "unknown" {
		t.Errorf("action %s, want unknown", a.State)
	}
	res, _ = h.desk.Reconcile(ctx)
	if res.Failed != 1 {
		t.Errorf("once BPC answers: %+v, want 1 failed", res)
	}
}

// TestWebhookSettlesUnknownRefund: a webhook that shows the refund settles the unknown
// action at once, before any reconciler run.
func TestWebhookSettlesUnknownRefund(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(bpc.Name, spec{variant: 2, amount: 10000})
	b := h.signedIn("sam")
	h.bpc.FailNext(1, bpc.FaultDropAnswer)
	a := refundThroughPage(t, b, p, "12.00")
	if a.State != "unknown" {
		t.Fatalf("action %s, want unknown", a.State)
	}
	env, _ := h.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
	var e providers.Envelope
	json.Unmarshal(env, &e)
	var refunds []json.RawMessage
	json.Unmarshal(e.Refunds, &refunds)
	body := bpcBody("refund.updated", refunds[len(refunds)-1])
	if status, _ := send(t, wa.url, "/webhooks/bpc", "application/json", body, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, body)}); status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	a, _ = h.db.ActionByID(context.Background(), a.ID)
	if a.State != "succeeded" {
		t.Errorf("after the webhook the action is %s, want succeeded", a.State)
	}
}
