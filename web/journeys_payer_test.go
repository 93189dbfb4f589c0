package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// Journey: the agent keeps the payment page open while the payer confirms on their own
// device; without a reload, the page shows the link confirmed and the payment cancelled.
func TestJourneyAgentPageFollowsThePayer(t *testing.T) {
	h := newHarness(t)
	p, _, link, _ := payerCancelling(t, h)
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	do(t, sam, chromedp.Navigate(h.srv.URL+"/payments/"+p.PublicID), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payer-link][data-state=active]`)))
	// A mark in the page's memory: a reload would wipe it.
	eval[bool](t, sam, `window.paydeskNoReload = true`)

	mustContain(t, payerDecides(t, h, link, "confirm"), "Your cancellation is confirmed")

	do(t, sam, chromedp.WaitVisible(chromedp.CSS(`[data-testid=payer-link][data-state=confirmed]`)))
	if !eval[bool](t, sam, `window.paydeskNoReload === true`) {
		t.Error("the page was reloaded; want it updated in place")
	}
	if got := textOf(t, sam, `[data-testid=status]`); got != "cancelled" {
		t.Errorf("status on the open page: %q, want cancelled", got)
	}
	if eval[bool](t, sam, `document.querySelector("[data-poll]") !== null`) {
		t.Error("the page still polls with no live link")
	}
	checkA11y(t, sam, "payment page updated in place")
	shot(t, sam, "payment-updated-in-place")
}
