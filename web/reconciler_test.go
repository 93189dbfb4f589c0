package web_test

import (
	"context"
	"net/url"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/simfault"
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
			acted:    func(h *harness) { h.bpc.FailNext(1, simfault.DropAnswer) },
			notActed: func(h *harness) { h.bpc.FailNext(1, simfault.Internal) },
		}},
		{tranzzo.Name, tranzzo.VariantPurchaseSuccess, faults{
			acted:    func(h *harness) { h.tranzzo.FailNext(1, simfault.DropAnswer) },
			notActed: func(h *harness) { h.tranzzo.FailNext(1, simfault.Internal) },
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
