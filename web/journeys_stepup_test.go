package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
)

// Journey: support opens a refund with a sign-in about to be too old; the form warns;
// they type the amount with a decimal comma (the cursor is already in the field) and the
// button follows; sending it asks them to sign in again; back on the form, it says that
// nothing was sent and still holds what they typed; they send it, once.
func TestJourneyStepUpReturnOnRefund(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 25000, currency: "GBP", name: "Harry Jones"})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	h.clock.Advance(20 * time.Minute) // older than the 15-minute step-up age

	visit(t, sam, h.srv.URL+"/payments/"+p.PublicID+"/refund", `[data-testid=refund-amount]`, "refund-form-stale-sign-in")
	if got := textOf(t, sam, `[data-testid=signin-notice]`); !strings.Contains(got, "Paydesk will ask you to sign in again before sending money") {
		t.Errorf("the form does not warn of the step-up: %q", got)
	}
	if focused := eval[string](t, sam, `document.activeElement.getAttribute("data-testid") || ""`); focused != "refund-amount" {
		t.Errorf("the cursor starts on %q, want the amount", focused)
	}
	// Type "12,34" where the cursor is; the button says the amount the server read.
	do(t, sam,
		chromedp.Clear(chromedp.CSS(`[data-testid=refund-amount]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=refund-amount]`), "12,34"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-reason]`), "goodwill"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-testid=confirm-button]").textContent === "Refund 12.34 GBP"`, chromedp.WithPollingTimeout(5*time.Second)),
	)
	shot(t, sam, "refund-form-typed")
	do(t, sam,
		chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-username]`)),
	)
	if n := len(h.bpc.Requests()); n != 0 {
		t.Fatalf("BPC was called %d times before the step-up", n)
	}
	do(t, sam,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-username]`), "sam"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), "sam-demo"),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=step-up-back]`)),
	)
	checkA11y(t, sam, "refund form after the step-up")
	shot(t, sam, "refund-form-after-step-up")
	if got := textOf(t, sam, `[data-testid=step-up-back]`); got != "You signed in again. Nothing was sent yet: check the refund of 12.34 GBP below and press “Refund 12.34 GBP” to send it." {
		t.Errorf("after the step-up the form says %q", got)
	}
	if got := eval[string](t, sam, `document.querySelector("[data-testid=refund-amount]").value`); got != "12,34" {
		t.Errorf("amount after the step-up %q, want what was typed", got)
	}
	if n := eval[int](t, sam, `document.querySelectorAll("[data-testid=signin-notice]").length`); n != 0 {
		t.Errorf("a fresh sign-in is still warned")
	}
	do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	if got := textOf(t, sam, `[data-testid=flash]`); !strings.Contains(got, "Refund of 12.34 GBP: done") {
		t.Errorf("flash after sending: %q", got)
	}
	if got := textOf(t, sam, `[data-testid=refundable]`); got != "237.66 GBP" {
		t.Errorf("refundable after the refund: %q", got)
	}
}
