package web_test

import (
	"context"
	"net/url"
	"testing"

	"paydesk/providers"
	"paydesk/providers/powens"
)

// TestPayerReturnFlood: 200 returns on a superseded link read nothing at Powens and
// leave at most one timeline entry; 200 returns on the live link within a minute read
// the payment once; error=cancelled in the query leaves the live link active.
func TestPayerReturnFlood(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	first := payerLinkURL(t, confirm(t, staff, p, "cancel", nil))
	second := payerLinkURL(t, staff.post("/payments/"+p.PublicID+"/payer-links", url.Values{}))
	stateOf := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("state")
	}
	events := func() int {
		evs, err := h.db.Events(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	payer := h.browser()
	hit := func(state string, n int) {
		for range n {
			r := payer.get("/payer/return?state=" + url.QueryEscape(state) + "&error=cancelled&error_code=cancelledByUser&payment_state=rejected")
			if r.status != 200 {
				t.Fatalf("payer return: %d", r.status)
			}
		}
	}

	reads, before := h.powens.Calls(powens.RouteGetPayment), events()
	hit(stateOf(first), 200)
	if n := h.powens.Calls(powens.RouteGetPayment) - reads; n != 0 {
		t.Errorf("200 returns on a superseded link read the payment %d times at Powens, want 0", n)
	}
	if n := events() - before; n > 1 {
		t.Errorf("200 returns on a superseded link left %d timeline entries, want at most 1", n)
	}

	reads, before = h.powens.Calls(powens.RouteGetPayment), events()
	hit(stateOf(second), 200)
	if n := h.powens.Calls(powens.RouteGetPayment) - reads; n != 1 {
		t.Errorf("200 returns on the live link within a minute read the payment %d times, want 1", n)
	}
	if n := events() - before; n != 1 {
		t.Errorf("200 returns on the live link left %d timeline entries, want 1", n)
	}
	links, err := h.db.PayerLinksOfPayment(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, l := range links {
		states[l.State]++
	}
	if states["superseded"] != 1 || states["active"] != 1 {
		t.Errorf("links after the returns: %v, want one superseded, one still active (error=cancelled changes no link)", states)
	}
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("payment %s, want still cancelling", got)
	}
}
