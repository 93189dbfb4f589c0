package web_test

import (
	"context"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// refundInBrowser asks for a refund through the payment page and returns the flash.
func refundInBrowser(t *testing.T, ctx context.Context, base, publicID, amount, reason string) string {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(base+"/payments/"+publicID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=do-refund]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=do-refund]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=refund-amount]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-amount]`), amount),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-reason]`), reason),
		chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	return textOf(t, ctx, `[data-testid=flash]`)
}

// Journey: support asks for a large refund; a manager approves it; it runs; the
// requester sees it; the manager cannot approve their own request.
func TestJourneyLargeRefundApprovedByAnotherManager(t *testing.T) {
	h := newHarness(t)
	big := h.add(bpc.Name, spec{variant: 2, amount: 120000, name: "Lucas Martin"})
	own := h.add(bpc.Name, spec{variant: 2, amount: 90000, name: "Emma Bernard"})
	c := newChrome(t)
	sam, max := c.person(), c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	signInBrowser(t, max, h.srv.URL, "max")

	if got := refundInBrowser(t, sam, h.srv.URL, big.PublicID, "750.00", "requested_by_customer"); !strings.Contains(got, "awaiting a manager's approval") {
		t.Fatalf("a refund above the threshold: %q", got)
	}
	shot(t, sam, "refund-awaiting-approval")
	if got := refundInBrowser(t, max, h.srv.URL, own.PublicID, "600.00", "goodwill"); !strings.Contains(got, "awaiting a manager's approval") {
		t.Fatalf("the manager's own large refund: %q", got)
	}

	visit(t, max, h.srv.URL+"/approvals", `[data-testid=approval]`, "approvals-queue")
	if n := eval[int](t, max, `document.querySelectorAll("[data-testid=approval]").length`); n != 2 {
		t.Fatalf("queue shows %d requests, want 2", n)
	}
	// On his own request there is no approve button, and the page says why.
	ownItem := eval[string](t, max, `[...document.querySelectorAll("[data-testid=approval]")].filter(s => s.textContent.includes("Emma Bernard")).map(s => (s.querySelector("[data-testid=approve-button]") ? "button" : "") + "|" + s.textContent).join("")`)
	if strings.HasPrefix(ownItem, "button") || !strings.Contains(ownItem, "another manager must decide") {
		t.Errorf("the manager's own request offers approval: %.300q", ownItem)
	}
	// Approve sam's request.
	do(t, max,
		chromedp.Click(chromedp.CSS(`[data-testid=approval]:has([data-testid=approve-button]) [data-testid=approve-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if got := textOf(t, max, `[data-testid=flash]`); !strings.Contains(got, "750.00 EUR") || !strings.Contains(got, "done") {
		t.Errorf("approval outcome: %q", got)
	}
	shot(t, max, "approved")
	if got := h.payment(big).Refunded; got != 75000 {
		t.Errorf("refunded after approval: %d, want 75000", got)
	}

	// The requester sees it.
	visit(t, sam, h.srv.URL+"/my-refunds", `[data-testid=my-refunds]`, "my-refunds")
	if got := textOf(t, sam, `[data-testid=my-refunds]`); !strings.Contains(got, "750.00 EUR") || !strings.Contains(strings.ToLower(got), "max") {
		t.Errorf("my refunds does not show the approved refund and who approved it: %q", got)
	}

	// Mia, another manager, approves max's own request.
	mia := c.person()
	signInBrowser(t, mia, h.srv.URL, "mia")
	visit(t, mia, h.srv.URL+"/approvals", `[data-testid=approve-button]`, "approvals-other-manager")
	do(t, mia, chromedp.Click(chromedp.CSS(`[data-testid=approve-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	if got := h.payment(own).Refunded; got != 60000 {
		t.Errorf("refunded after mia approved: %d, want 60000", got)
	}
}

// Journey: finance filters the refund history, sees per-currency totals and the chart,
// downloads the CSV.
func TestJourneyFinanceRefundHistory(t *testing.T) {
	h := newHarness(t)
	eur := h.add(bpc.Name, spec{variant: 2, amount: 30000})
	tz := h.add(tranzzo.Name, spec{variant: 4, amount: 20000, currency: "EUR"})
	jpy := h.add(bpc.Name, spec{variant: 2, amount: 50000, currency: "JPY"})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	refundInBrowser(t, sam, h.srv.URL, eur.PublicID, "100.00", "duplicate")
	refundInBrowser(t, sam, h.srv.URL, tz.PublicID, "25.50", "goodwill")
	refundInBrowser(t, sam, h.srv.URL, jpy.PublicID, "7000", "requested_by_customer")

	fran := c.person()
	signInBrowser(t, fran, h.srv.URL, "fran")
	visit(t, fran, h.srv.URL+"/refunds", `[data-testid=totals]`, "refund-history")
	totals := eval[string](t, fran, `[...document.querySelectorAll("[data-testid=total]")].map(r => r.dataset.currency + "=" + r.dataset.succeeded).sort().join(",")`)
	if totals != "EUR=12550,JPY=7000" {
		t.Errorf("totals %q, want EUR=12550,JPY=7000 (per currency, never summed)", totals)
	}
	if n := eval[int](t, fran, `document.querySelectorAll("[data-testid=chart-figure] svg").length`); n != 2 {
		t.Errorf("%d charts, want one per currency (2)", n)
	}
	// Filter: EUR only, reason goodwill.
	do(t, fran,
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-filters] [name=currency]`), "EUR"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-filters] [name=reason]`), "goodwill"),
		chromedp.Submit(chromedp.CSS(`[data-testid=refund-filters] [name=currency]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=refund-history-row]`)),
	)
	if _, err := chromedp.Run(fran, chromedp.Poll[bool](`location.search.includes("reason=goodwill")`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("the filter did not reach the URL: %v", err)
	}
	checkA11y(t, fran, "refund history, filtered")
	shot(t, fran, "refund-history-filtered")
	if n := eval[int](t, fran, `document.querySelectorAll("[data-testid=refund-history-row]").length`); n != 1 {
		t.Errorf("filtered history shows %d rows, want 1", n)
	}
	disposition := eval[string](t, fran, `fetch(document.querySelector("[data-testid=csv-link]").href).then(r => r.headers.get("content-disposition"))`)
	if !strings.HasPrefix(disposition, "attachment") {
		t.Errorf("CSV Content-Disposition %q, want an attachment", disposition)
	}
	body := eval[string](t, fran, `fetch(document.querySelector("[data-testid=csv-link]").href).then(r => r.text())`)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "25.50") || !strings.Contains(lines[1], "EUR") {
		t.Errorf("CSV of the filtered rows: %q", body)
	}
}
