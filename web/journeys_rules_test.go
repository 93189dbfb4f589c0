package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"paydesk/ops"
	"paydesk/providers/bpc"
)

// Journey: the refund form says which approval rule applies to the amount it shows, and
// says it again as the person types another amount — without reloading the page, under
// the strict Content-Security-Policy (the script is app.js; no inline script).
func TestJourneyRefundFormPreviewFollowsTheAmount(t *testing.T) {
	limits, err := ops.ParseThresholds("EUR:500.00")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{thresholds: "EUR:5000.00", rules: []ops.ApprovalRule{{Kind: ops.RulePerPayment, Limits: limits}}})
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	visit(t, sam, h.srv.URL+"/payments/"+p.PublicID+"/refund", `[data-testid=refund-rule]`, "refund-rule-preview")
	if got := textOf(t, sam, `[data-testid=refund-rule]`); !strings.Contains(got, "This refund brings the refunds on this payment to 1,000.00 EUR, at or above 500.00 EUR: a manager must approve") {
		t.Fatalf("preview of the whole amount: %q", got)
	}
	amount := chromedp.CSS(`[data-testid=refund-amount]`)
	eval[string](t, sam, `document.querySelector("[data-testid=refund-amount]").value = ""`)
	do(t, sam, chromedp.SendKeys(amount, "120.00"))
	got := eval[string](t, sam, `new Promise(done => {
		const start = Date.now();
		(function look() {
			const e = document.querySelector("[data-testid=refund-rule]");
			if (e && e.dataset.effect === "") return done(e.textContent);
			if (Date.now() - start > 5000) return done("no new preview: " + (e ? e.textContent : "none"));
			setTimeout(look, 50);
		})();
	})`)
	if !strings.Contains(got, "A refund of 120.00 EUR is sent to the provider at once") {
		t.Fatalf("preview after typing 120.00: %q", got)
	}
	shot(t, sam, "refund-rule-preview-typed")
}
