package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
)

// Journey: sam keeps a running batch's page open while the worker runs it; without a
// reload, the page shows it done with each item's outcome, and stops asking.
func TestJourneyBatchPageFollowsTheWorker(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := h.add(bpc.Name, spec{variant: 2})
	path := startedBatch(t, h, h.signedIn("sam"), "payment,amount,reason,note\n"+p.PublicID+",5.00,duplicate,\n")

	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	do(t, sam, chromedp.Navigate(h.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`[data-testid=batch-watch]`)))
	eval[bool](t, sam, `window.paydeskNoReload = true`)

	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	do(t, sam, chromedp.WaitVisible(chromedp.CSS(`[data-testid=batch-final]`)))
	if !eval[bool](t, sam, `window.paydeskNoReload === true`) {
		t.Error("the page was reloaded; want it updated in place")
	}
	if got := textOf(t, sam, `[data-testid=batch-item-outcome] [data-testid=status]`); got != "succeeded" {
		t.Errorf("the item's outcome on the open page: %q, want succeeded", got)
	}
	if got := textOf(t, sam, `[data-testid=batch-progress-words]`); got != "1 of 1 items finished" {
		t.Errorf("progress on the open page: %q", got)
	}
	if eval[bool](t, sam, `document.querySelector("[data-poll]") !== null`) {
		t.Error("the page still asks for the progress of a finished batch")
	}
	checkA11y(t, sam, "batch page updated in place")
}
