package ops

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// TestCancelNeedsPayerThenPayerReturn: Powens asks the payer to confirm; the Desk records
// a payer link; a new link supersedes it; the payer's return, once Powens reports the
// payment cancelled, settles the link and the journal.
func TestCancelNeedsPayerThenPayerReturn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(powens.Name, 2, 10000) // pending
	f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)

	res, err := f.desk.Cancel(ctx, sam, p, key())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != providers.NeedsPayer || res.Tone != "info" || !strings.HasPrefix(res.Message, "Cancellation: Powens needs the payer to confirm.") {
		t.Fatalf("result %+v, want needs_payer", res)
	}
	p = f.payment(p)
	if p.Status != providers.StatusCancelling {
		t.Fatalf("status %s, want cancelling", p.Status)
	}
	first, err := f.db.LivePayerLink(ctx, p.ID)
	if err != nil || first.State != "active" || first.ActionID == 0 {
		t.Fatalf("live link %+v, %v; want an active link tied to the action", first, err)
	}
	if f.desk.SettlePayerReturn(ctx, Person{Email: "payer"}, PayerReturn{State: "forged." + strings.Repeat("a", 43)}) != PayerInvalid {
		t.Error("a forged state was accepted")
	}

	// Staff make a new link: the previous one stops working.
	l, err := f.desk.NewPayerLink(ctx, sam, p)
	if err != nil {
		t.Fatal(err)
	}
	if l.ActionID != first.ActionID {
		t.Errorf("new link tied to action %d, want %d", l.ActionID, first.ActionID)
	}
	if l.StateNonce != first.StateNonce || l.Nonce == first.Nonce {
		t.Errorf("new link's state nonce %q (own nonce %q), want the cancellation's %q and a nonce of its own", l.StateNonce, l.Nonce, first.StateNonce)
	}
	_, err = f.desk.NewPayerLink(ctx, fin, p)
	refusedWith(t, err, ErrNotAllowed, "Your role cannot make payer links")

	// The payer confirms at the bank; Powens now reports the payment cancelled.
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	got := f.desk.SettlePayerReturn(ctx, Person{Email: "payer", Remote: "192.0.2.1"}, PayerReturn{State: f.desk.linkState(l.StateNonce), PaymentStatus: "done"})
	if got != PayerConfirmed {
		t.Fatalf("payer return %s, want confirmed", got)
	}
	if a := f.lastAction(p); a.Kind != "cancel" || a.State != "succeeded" {
		t.Errorf("journal %s %s, want cancel succeeded", a.Kind, a.State)
	}
	if p = f.payment(p); p.Status != providers.StatusCancelled {
		t.Errorf("status %s, want cancelled", p.Status)
	}
	_, err = f.desk.NewPayerLink(ctx, sam, p)
	refusedWith(t, err, ErrNotAllowed, "not waiting for the payer")
	rows, _ := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "payer_link", Limit: 10})
	if len(rows) == 0 || rows[0].Actor != "payer" || rows[0].Remote != "192.0.2.1" || !strings.Contains(rows[0].Message, "confirmed") {
		t.Errorf("audit of the payer's return = %+v", rows)
	}
}

// TestExpireAndRefresh: BPC expires an open session; a refresh then finds nothing new;
// expire is no longer offered.
func TestExpireAndRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 0, 10000) // open session
	res, err := f.desk.Expire(ctx, sam, p, key())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != providers.Done || !strings.HasPrefix(res.Message, "Expiry: done.") {
		t.Fatalf("result %+v, want the expiry done", res)
	}
	p = f.payment(p)
	if p.SessionStatus != "expired" && p.Status != providers.StatusExpired {
		t.Errorf("payment %s / session %s after expiring", p.Status, p.SessionStatus)
	}
	res, err = f.desk.Refresh(ctx, fin, p)
	if err != nil || res.Message != "Refreshed from BPC: nothing changed." {
		t.Errorf("refresh = %+v, %v; want nothing changed", res, err)
	}
	_, err = f.desk.Expire(ctx, sam, p, key())
	refusedWith(t, err, ErrNotAllowed, "Expire session is not available")
	_, err = f.desk.Cancel(ctx, sam, p, "")
	refusedWith(t, err, ErrInvalid, "The form was incomplete")
}
