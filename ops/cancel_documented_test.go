package ops

import (
	"context"
	"errors"
	"testing"

	"paydesk/providers"
	"paydesk/providers/powens"
	"paydesk/providers/simfault"
	"paydesk/providers/simshape"
)

// documentedPowens swaps the fixture's Powens simulator for one that answers exactly the
// fields Powens' guides show (partial cancel answers); the fixture's server serves
// whichever simulator f.powens is.
func (f *fixture) documentedPowens() {
	f.powens = powens.NewSimulator(powens.SimConfig{ClientID: "pw-client", ClientSecret: "pw-secret", Shapes: simshape.Documented})
}

// TestCancelPartialAnswers: Powens' guide shows its cancel answers as partial objects.
// The outcome is what they say; the payment is read back for the page; when no read
// succeeds the outcome stands and the payment waits for the next refresh.
func TestCancelPartialAnswers(t *testing.T) {
	ctx := context.Background()

	f := newFixture(t)
	f.documentedPowens()
	p := f.add(powens.Name, 2, 10000) // pending
	f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	res, err := f.desk.Cancel(ctx, sam, p, key())
	if err != nil || res.Outcome != providers.NeedsPayer {
		t.Fatalf("webauth: got %+v, %v", res, err)
	}
	if p = f.payment(p); p.Status != providers.StatusCancelling {
		t.Errorf("status %s, want cancelling (read back after the partial answer)", p.Status)
	}
	if l, err := f.db.LivePayerLink(ctx, p.ID); err != nil || l.Kind != "webview" {
		t.Errorf("payer link %+v, %v", l, err)
	}
	if a := f.lastAction(p); a.State != "needs_payer" {
		t.Errorf("journal %s, want needs_payer", a.State)
	}

	// Done, but Powens cannot be read afterwards (the client's read and the journal's).
	f = newFixture(t)
	f.documentedPowens()
	p = f.add(powens.Name, 2, 10000)
	f.powens.SetCancelScenario(p.PaymentID, powens.CancelDone)
	f.powens.FailNextOn(powens.RouteGetPayment, 5, simfault.Internal)
	res, err = f.desk.Cancel(ctx, sam, p, key())
	if err != nil || res.Outcome != providers.Done || res.Tone != "success" {
		t.Fatalf("done without a read: got %+v, %v", res, err)
	}
	if a := f.lastAction(p); a.State != "succeeded" {
		t.Errorf("journal %s, want succeeded", a.State)
	}
	if got := f.powens.Calls(powens.RouteCancelPayment); got != 1 {
		t.Errorf("cancel calls %d, want 1", got)
	}
	if got := f.payment(p).Status; got != providers.StatusProcessing {
		t.Errorf("status %s, want it unchanged until the next read", got)
	}
}

// TestNewLinkWhileTheStatusLags: Powens asked for the payer but the payment could not be
// read back, so the stored status still says processing. "Make a new link" works from
// what the journal knows (Powens re-reads the payment for the link), and the stored
// status catches up.
func TestNewLinkWhileTheStatusLags(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.documentedPowens()
	p := f.add(powens.Name, 2, 10000) // pending
	f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	f.powens.FailNextOn(powens.RouteGetPayment, 2, simfault.Internal) // the client's read and the journal's
	res, err := f.desk.Cancel(ctx, sam, p, key())
	if err != nil || res.Outcome != providers.NeedsPayer {
		t.Fatalf("cancel: %+v, %v", res, err)
	}
	if p = f.payment(p); p.Status == providers.StatusCancelling {
		t.Fatalf("status %s: the read back was meant to fail", p.Status)
	}
	l, err := f.desk.NewPayerLink(ctx, sam, p)
	if err != nil || l.State != "active" {
		t.Fatalf("new link while the status lags: %+v, %v", l, err)
	}
	if got := f.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("status after the new link %s, want cancelling", got)
	}

	// A payment whose journal holds no cancellation waiting for the payer is still refused.
	q := f.add(powens.Name, 2, 10000)
	if _, err := f.desk.NewPayerLink(ctx, sam, q); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("a link for a payment waiting for nobody: %v, want ErrNotAllowed", err)
	}
}
