package ops

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// stateIn is the state parameter of a provider address.
func stateIn(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// TestPayerReturnSecondLinkSettles: the state sent with the cancel request is the one
// every link of the cancellation carries; a payer who comes back with it after a second
// link was made settles the second link (one read, the journal row settled), and the
// first stays superseded.
func TestPayerReturnSecondLinkSettles(t *testing.T) {
	f, p, first := payerLinkFixture(t)
	ctx := context.Background()
	sent, err := f.powens.Snapshot(p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	state := f.desk.linkState(first.StateNonce)
	if sent.MerchantReference != state {
		t.Fatalf("Powens holds client_state %q from the cancel request, want the cancellation's state %q", sent.MerchantReference, state)
	}
	if got := stateIn(t, first.URL); got != state {
		t.Errorf("link 1 carries state %q, want the cancel request's %q", got, state)
	}
	second, err := f.desk.NewPayerLink(ctx, sam, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := stateIn(t, second.URL); got != state {
		t.Errorf("link 2 carries state %q, want the cancel request's %q", got, state)
	}
	if second.URL == first.URL || second.Token == first.Token || second.Token == "" {
		t.Errorf("link 2 = %q (short %q), want a new scoped token and a short address of its own", second.URL, second.Token)
	}

	// The payer confirms; they come back with the cancellation's state.
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	reads := f.powens.Calls(powens.RouteGetPayment)
	got := f.desk.ReturnPayer(ctx, Person{Email: "payer"}, PayerReturn{State: state, IDPayment: p.PaymentID, BankMessage: "Annulation acceptée"})
	if got.Outcome != PayerConfirmed || got.Continue != "" {
		t.Fatalf("return after link 2: %+v, want confirmed with nowhere to go on", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 1 {
		t.Errorf("the return read the payment %d times, want 1", n)
	}
	if f.linkState(second) != "confirmed" || f.linkState(first) != "superseded" {
		t.Errorf("links: first %s, second %s; want superseded, confirmed", f.linkState(first), f.linkState(second))
	}
	if a := f.lastAction(p); a.Kind != "cancel" || a.State != "succeeded" {
		t.Errorf("journal %s %s, want cancel succeeded", a.Kind, a.State)
	}
	if got := f.payment(p).Status; got != providers.StatusCancelled {
		t.Errorf("payment %s, want cancelled", got)
	}
	// What the browser said is kept on the link, the timeline and the audit log, never trusted.
	stored, err := f.db.PayerLinkByID(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored.PayerSaid, `id_payment="`+p.PaymentID+`"`) || !strings.Contains(stored.PayerSaid, `bank_message="Annulation acceptée"`) {
		t.Errorf("link records %q, want id_payment and bank_message", stored.PayerSaid)
	}
	if tl := f.timeline(p); !strings.Contains(tl, `bank_message="Annulation acceptée"`) {
		t.Errorf("the timeline does not record the bank message:\n%s", tl)
	}
	rows, _ := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "payer_link", Limit: 1})
	if len(rows) == 0 || !strings.Contains(rows[0].Message, "bank_message") {
		t.Errorf("audit %+v, want the bank message recorded", rows)
	}
}

// TestPayerReturnForeignIDPaymentIsNoted: an id_payment that is not the payment's is
// recorded as such and changes nothing.
func TestPayerReturnForeignIDPaymentIsNoted(t *testing.T) {
	f, p, link := payerLinkFixture(t)
	got := f.desk.ReturnPayer(context.Background(), Person{Email: "payer"}, PayerReturn{State: f.desk.linkState(link.StateNonce), IDPayment: "999999", PaymentStatus: "rejected"})
	if got.Outcome != PayerReceived {
		t.Errorf("outcome %s, want the payment still waiting", got.Outcome)
	}
	if tl := f.timeline(p); !strings.Contains(tl, "id_payment is not this payment's id") {
		t.Errorf("the timeline does not say the id_payment is foreign:\n%s", tl)
	}
	if f.linkState(link) != "active" {
		t.Errorf("link %s, want still active", f.linkState(link))
	}
}

// TestPayerLinkAfterExpiryKeepsTheState: a link made after the cancellation's link
// expired (no live link left) still carries the state sent with the cancel request, and
// belongs to the same journal row.
func TestPayerLinkAfterExpiryKeepsTheState(t *testing.T) {
	f, p, first := payerLinkFixture(t)
	ctx := context.Background()
	// The link runs out (the simulator's tokens follow the real clock, so the fixture's
	// stays put and the link is expired as the maintenance round would).
	if _, err := f.db.ExpirePayerLinks(ctx, first.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if f.linkState(first) != "expired" {
		t.Fatalf("first link %s, want expired", f.linkState(first))
	}
	l, err := f.desk.NewPayerLink(ctx, sam, f.payment(p))
	if err != nil {
		t.Fatal(err)
	}
	if l.StateNonce != first.StateNonce || l.ActionID != first.ActionID {
		t.Errorf("link after expiry: state nonce %q action %d, want %q and %d", l.StateNonce, l.ActionID, first.StateNonce, first.ActionID)
	}
	if got := f.desk.SettlePayerReturn(ctx, Person{Email: "payer"}, PayerReturn{State: f.desk.linkState(first.StateNonce)}); got != PayerReceived {
		t.Errorf("return with the cancellation's state: %s, want received on the new live link", got)
	}
}

// TestPayerReturnOldLinksOfOneAction: links made before states belonged to cancellations
// (each its own nonce) still land on the live link of their journal row.
func TestPayerReturnOldLinksOfOneAction(t *testing.T) {
	f, p, first := payerLinkFixture(t)
	ctx := context.Background()
	own := newNonce()
	old, err := f.db.CreatePayerLink(ctx, storage.PayerLink{PaymentID: p.ID, ActionID: first.ActionID, Kind: "webview",
		URL: "https://webview.example/x", Nonce: own, StateNonce: own, CreatedBy: "sam@example.com", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	if got := f.returns(first, PayerReturn{}, 1); got[PayerConfirmed] != 1 {
		t.Errorf("return on the first link's state: %v, want confirmed", got)
	}
	if f.linkState(old) != "confirmed" {
		t.Errorf("the row's live link is %s, want confirmed", f.linkState(old))
	}
}

// TestPayerContinues: a payer back while the payment still waits is told where to go on
// (the live link's short address); going on asks Powens for a fresh scoped token with
// the same state, at most once a minute, keeping the link and its short address.
func TestPayerContinues(t *testing.T) {
	f, p, link := payerLinkFixture(t)
	ctx := context.Background()
	got := f.desk.ReturnPayer(ctx, Person{Email: "payer"}, PayerReturn{State: f.desk.linkState(link.StateNonce), Error: "cancelled"})
	if got.Outcome != PayerAbandoned || got.Continue != "/p/"+link.Token {
		t.Fatalf("return unconfirmed: %+v, want abandoned, go on at /p/%s", got, link.Token)
	}
	if addr := f.desk.PayerLinkAddress(link); addr != "http://paydesk.test/p/"+link.Token || len(addr) > 60 {
		t.Errorf("short address %q", addr)
	}
	tokens := f.powens.Calls(powens.RouteScopedToken)
	f.clock.Advance(time.Second)
	to, err := f.desk.ContinuePayerLink(ctx, Person{Email: "payer"}, link.Token)
	if err != nil {
		t.Fatal(err)
	}
	if to.Go == "" || to.Go == link.URL || stateIn(t, to.Go) != stateIn(t, link.URL) {
		t.Errorf("went on to %q, want a fresh page with the same state as %q", to.Go, link.URL)
	}
	if n := f.powens.Calls(powens.RouteScopedToken) - tokens; n != 1 {
		t.Errorf("%d scoped tokens made, want 1", n)
	}
	again, err := f.desk.ContinuePayerLink(ctx, Person{Email: "payer"}, link.Token)
	if err != nil || again.Go != to.Go {
		t.Errorf("second go within a minute: %+v %v, want the same page %q", again, err, to.Go)
	}
	if n := f.powens.Calls(powens.RouteScopedToken) - tokens; n != 1 {
		t.Errorf("%d scoped tokens after going on twice within a minute, want 1", n)
	}
	live, err := f.db.LivePayerLink(ctx, p.ID)
	if err != nil || live.ID != link.ID || live.Token != link.Token || live.URL != to.Go {
		t.Errorf("live link %+v %v, want link %d renewed in place", live, err, link.ID)
	}
	if open, _ := f.desk.OpenPayerLink(ctx, link.Token); open.Go != to.Go {
		t.Errorf("the short address leads to %q, want %q", open.Go, to.Go)
	}
	if open, _ := f.desk.OpenPayerLink(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); open.State != "" || open.Go != "" {
		t.Errorf("an unknown token leads to %+v", open)
	}
	// Confirmed: the short address leads nowhere any more, and says so.
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.returns(link, PayerReturn{}, 1)
	if open, _ := f.desk.OpenPayerLink(ctx, link.Token); open.State != "confirmed" || open.Go != "" {
		t.Errorf("after confirmation the short address gives %+v, want confirmed", open)
	}
}

// TestPayerReturnNotCancelled: a payment that went on ends the link; the payer reads "not
// cancelled", on the read and on later returns.
func TestPayerReturnNotCancelled(t *testing.T) {
	f, p, link := payerLinkFixture(t)
	if err := f.powens.SetState(p.PaymentID, "done", "", ""); err != nil {
		t.Fatal(err)
	}
	if got := f.returns(link, PayerReturn{}, 1); got[PayerNotCancelled] != 1 {
		t.Errorf("outcome %v, want not cancelled", got)
	}
	f.clock.Advance(2 * time.Minute)
	if got := f.returns(link, PayerReturn{}, 1); got[PayerNotCancelled] != 1 {
		t.Errorf("later: %v, want not cancelled", got)
	}
}
