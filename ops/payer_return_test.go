package ops

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// payerLinkFixture is a Powens payment waiting for the payer, with its live link.
func payerLinkFixture(t *testing.T) (*fixture, storage.Payment, storage.PayerLink) {
	t.Helper()
	f := newFixture(t)
	p := f.add(powens.Name, 2, 10000) // pending
	f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	if _, err := f.desk.Cancel(context.Background(), sam, p, key()); err != nil {
		t.Fatal(err)
	}
	link, err := f.db.LivePayerLink(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return f, f.payment(p), link
}

// eventCount is how many timeline entries a payment has.
func (f *fixture) eventCount(p storage.Payment) int {
	f.t.Helper()
	evs, err := f.db.Events(context.Background(), p.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(evs)
}

// linkState is a payer link's state now.
func (f *fixture) linkState(l storage.PayerLink) string {
	f.t.Helper()
	got, err := f.db.PayerLinkByNonce(context.Background(), l.Nonce)
	if err != nil {
		f.t.Fatal(err)
	}
	return got.State
}

// returns hands n payer returns with link's signed state to the Desk, all at once, and
// returns their outcomes.
func (f *fixture) returns(l storage.PayerLink, ret PayerReturn, n int) map[PayerOutcome]int {
	ret.State = f.desk.linkState(l.StateNonce)
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = map[PayerOutcome]int{}
	)
	for range n {
		wg.Go(func() {
			got := f.desk.SettlePayerReturn(context.Background(), Person{Email: "payer", Remote: "192.0.2.1"}, ret)
			mu.Lock()
			out[got]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// TestPayerReturnDeadLinkReadsNothing: 200 returns on a superseded link of a cancellation
// of its own (a link made before states belonged to cancellations) read nothing at the
// provider and leave at most one timeline entry; the same for an expired cancellation; a
// confirmed link says so without a read.
func TestPayerReturnDeadLinkReadsNothing(t *testing.T) {
	f, p, first := payerLinkFixture(t)
	ctx := context.Background()
	legacy, err := f.db.CreatePayerLink(ctx, storage.PayerLink{PaymentID: p.ID, Kind: "webview", URL: "https://webview.example/old",
		Nonce: newNonce(), CreatedBy: "sam@example.com", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreatePayerLink(ctx, storage.PayerLink{PaymentID: p.ID, ActionID: first.ActionID, Kind: "webview", URL: "https://webview.example/new",
		Nonce: newNonce(), StateNonce: first.StateNonce, CreatedBy: "sam@example.com", ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := f.linkState(legacy); got != "superseded" {
		t.Fatalf("legacy link %s, want superseded", got)
	}
	reads, events := f.powens.Calls(powens.RouteGetPayment), f.eventCount(p)
	got := f.returns(legacy, PayerReturn{Error: "cancelled", PaymentStatus: "rejected"}, 200)
	if got[PayerLinkOver] != 200 {
		t.Errorf("outcomes %v, want 200 'link no longer in use' pages", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 0 {
		t.Errorf("200 returns on a superseded link read the payment %d times, want 0", n)
	}
	if n := f.eventCount(p) - events; n > 1 {
		t.Errorf("200 returns on a superseded link left %d timeline entries, want at most 1", n)
	}
	if f.linkState(legacy) != "superseded" || f.payment(p).Status != providers.StatusCancelling {
		t.Errorf("link %s, payment %s; want superseded, still cancelling", f.linkState(legacy), f.payment(p).Status)
	}
	// A minute later one more note, still no read.
	f.clock.Advance(time.Minute)
	f.returns(legacy, PayerReturn{}, 10)
	if n := f.eventCount(p) - events; n != 2 {
		t.Errorf("a minute later: %d timeline entries in all, want 2", n)
	}

	// Expired: the same, whichever of the cancellation's links the state came from.
	live, err := f.db.LivePayerLink(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(live.ExpiresAt.Add(time.Second))
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.linkState(live); got != "expired" {
		t.Fatalf("live link %s after its expiry, want expired", got)
	}
	if got := f.returns(first, PayerReturn{}, 50); got[PayerLinkOver] != 50 {
		t.Errorf("returns on an expired cancellation: %v, want 'link no longer in use' pages", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 0 {
		t.Errorf("returns on an expired link read the payment %d times, want 0", n)
	}
}

// TestPayerReturnReusesRecentRead: 200 returns on the live link within a minute read the
// payment once and leave one "came back" entry; a minute later the next reads again; a
// confirmed link then answers without reading.
func TestPayerReturnReusesRecentRead(t *testing.T) {
	f, p, link := payerLinkFixture(t)
	reads, events := f.powens.Calls(powens.RouteGetPayment), f.eventCount(p)
	got := f.returns(link, PayerReturn{}, 200)
	if got[PayerReceived] != 200 {
		t.Errorf("outcomes %v, want 200 received", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 1 {
		t.Errorf("200 returns within a minute read the payment %d times, want 1", n)
	}
	if n := f.eventCount(p) - events; n != 1 {
		t.Errorf("200 returns within a minute left %d timeline entries, want 1", n)
	}
	f.clock.Advance(59 * time.Second)
	f.returns(link, PayerReturn{}, 5)
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 1 {
		t.Errorf("59 s later: %d reads in all, want still 1", n)
	}

	// The payer confirms at the bank; the next read after the minute confirms the link.
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if got := f.returns(link, PayerReturn{}, 20); got[PayerConfirmed] != 20 {
		t.Errorf("after the payer confirmed: %v, want 20 confirmed", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 2 {
		t.Errorf("a minute later: %d reads in all, want 2", n)
	}
	if f.linkState(link) != "confirmed" || f.payment(p).Status != providers.StatusCancelled {
		t.Errorf("link %s, payment %s; want confirmed, cancelled", f.linkState(link), f.payment(p).Status)
	}
	f.clock.Advance(2 * time.Minute)
	if got := f.returns(link, PayerReturn{}, 20); got[PayerConfirmed] != 20 {
		t.Errorf("on the confirmed link: %v, want 20 confirmed", got)
	}
	if n := f.powens.Calls(powens.RouteGetPayment) - reads; n != 2 {
		t.Errorf("returns on a confirmed link read the payment: %d reads in all, want 2", n)
	}
}

// TestPayerReturnQueryChangesNothing: error=cancelled in the query is recorded as what the
// payer's browser said, shows the payer "not confirmed", and leaves the link active while
// Powens says the payment still waits; payment_state=rejected does not confirm anything.
// Only Powens's answer moves the link.
func TestPayerReturnQueryChangesNothing(t *testing.T) {
	f, p, link := payerLinkFixture(t)
	if got := f.returns(link, PayerReturn{Error: "cancelled", ErrorCode: "cancelledByUser", PaymentStatus: "rejected"}, 1); got[PayerAbandoned] != 1 {
		t.Errorf("outcome %v, want the payer told it is not confirmed", got)
	}
	if got := f.linkState(link); got != "active" {
		t.Errorf("link %s after error=cancelled, want still active", got)
	}
	if got := f.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("payment %s after a lying return, want still cancelling", got)
	}
	if tl := f.timeline(p); !strings.Contains(tl, `their browser said error="cancelled" error_code="cancelledByUser" payment_state="rejected"`) {
		t.Errorf("the timeline does not record what the browser said:\n%s", tl)
	}
	// Powens now says cancelled: the next read (after the minute) confirms, whatever the
	// query says.
	if err := f.powens.SetState(p.PaymentID, "rejected", "", "cancelledByUser"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if got := f.returns(link, PayerReturn{Error: "cancelled"}, 1); got[PayerConfirmed] != 1 {
		t.Errorf("outcome %v, want confirmed from Powens's answer", got)
	}
	if got := f.linkState(link); got != "confirmed" {
		t.Errorf("link %s, want confirmed", got)
	}
}
