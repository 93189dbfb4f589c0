package web_test

import (
	"context"
	"net/url"
	"testing"

	"paydesk/providers"
	"paydesk/providers/powens"
)

// TestPayerReturnFlood: both links of one cancellation carry the state sent with the
// cancel request; 200 returns with it after a second link was made land on the live
// (second) link and read the payment once at Powens; error=cancelled in the query
// changes no link.
func TestPayerReturnFlood(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	first := providerLinkURL(t, confirm(t, staff, p, "cancel", nil))
	second := providerLinkURL(t, staff.post("/payments/"+p.PublicID+"/payer-links", url.Values{}))
	stateOf := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("state")
	}
	if stateOf(first) != stateOf(second) || stateOf(first) == "" || first == second {
		t.Fatalf("links %q and %q: want two scoped tokens with one state", first, second)
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
	if n := h.powens.Calls(powens.RouteGetPayment) - reads; n != 1 {
		t.Errorf("200 returns on the cancellation within a minute read the payment %d times, want 1", n)
	}
	if n := events() - before; n != 1 {
		t.Errorf("200 returns on the cancellation left %d timeline entries, want 1", n)
	}
	links, err := h.db.PayerLinksOfPayment(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, l := range links {
		states[l.State]++
	}
	if states["superseded"] != 1 || states["active"] != 1 || links[1].State != "active" {
		t.Errorf("links after the returns: %v, want the first superseded, the second still active (error=cancelled changes no link)", states)
	}
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("payment %s, want still cancelling", got)
	}
}
