package web_test

import (
	"context"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
	"paydesk/providers/powens"
)

// Journey: support finds a payment by e-mail, cancels a Powens payment that needs the
// payer, copies the link; the payer opens it and confirms; the payment shows cancelled.
func TestJourneySupportCancelsWithPayerLink(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		h.add(bpc.Name, spec{variant: i})
	}
	p := h.add(powens.Name, spec{variant: 2, email: "germaine.michu@example.fr", name: "Germaine Michu"})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	visit(t, sam, h.srv.URL+"/payments", `[data-testid=payments]`, "payments-list")

	// "/" focuses the search box.
	do(t, sam, chromedp.KeyEvent("/"))
	if focused := eval[string](t, sam, `document.activeElement.getAttribute("data-testid") || ""`); focused != "search" {
		t.Errorf("after pressing /, the focus is on %q, want the search box", focused)
	}
	// DevTools types the "/" into the box as a separate character event that the page
	// cannot cancel the way a real key press is; start from an empty box.
	do(t, sam,
		chromedp.SetValue(chromedp.CSS(`[data-testid=search]`), "GERMAINE.michu@example.fr"),
	)
	do(t, sam,
		chromedp.Click(chromedp.CSS(`[data-testid=search-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=clear-filters]`)),
	)
	if loc, _ := chromedp.Run(sam, chromedp.Location()); !strings.HasSuffix(loc, "/payments?q=GERMAINE.michu%40example.fr") {
		t.Errorf("the search is not in the URL: %s", loc)
	}
	if n := eval[int](t, sam, `document.querySelectorAll("[data-testid=payment-row]").length`); n != 1 {
		t.Fatalf("search by e-mail shows %d rows, want 1", n)
	}
	checkA11y(t, sam, "search results")
	shot(t, sam, "search-by-email")
	do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=payment-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=eligibility]`)))
	checkA11y(t, sam, "payment page")
	shot(t, sam, "payment-page")

	do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=do-cancel]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm]`)))
	if got := textOf(t, sam, `[data-testid=confirm]`); !strings.Contains(got, "Germaine Michu") || !strings.Contains(got, "1,000.00 EUR") || !strings.Contains(got, "cannot be undone") {
		t.Errorf("the confirmation does not restate the consequence: %q", got)
	}
	checkA11y(t, sam, "cancel confirmation")
	shot(t, sam, "cancel-confirmation")
	do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payer-link-url]`)))
	if got := textOf(t, sam, `[data-testid=flash]`); !strings.Contains(got, "needs the payer to confirm") {
		t.Errorf("flash after cancel: %q", got)
	}
	checkA11y(t, sam, "payment with payer link")
	shot(t, sam, "payer-link")

	// Copy the link: the clipboard holds exactly the link.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		err := chromedp.Do(sam, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted,
				Origin: h.srv.URL, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			})
			return err
		}))
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	link := eval[string](t, sam, `document.querySelector("[data-testid=payer-link-url]").value`)
	do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=payer-link] button[data-copy]`)))
	if copied := eval[string](t, sam, `navigator.clipboard.readText()`); copied != link {
		t.Errorf("clipboard %q, want the payer link %q", copied, link)
	}

	// The payer, on their own device, opens the link and confirms.
	payer := c.person()
	do(t, payer, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-cancellation]`)))
	shot(t, payer, "payer-webview")
	do(t, payer, chromedp.Click(chromedp.CSS(`[data-testid=confirm-cancellation]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=payer-return]`)))
	if got := textOf(t, payer, `[data-testid=payer-return]`); !strings.Contains(got, "Cancellation confirmed") || strings.Contains(got, "Germaine") {
		t.Errorf("payer return page: %q", got)
	}
	checkA11y(t, payer, "payer return page")
	shot(t, payer, "payer-return")

	visit(t, sam, h.srv.URL+"/payments/"+p.PublicID, `[data-testid=status]`, "payment-cancelled")
	if got := textOf(t, sam, `[data-testid=status]`); got != "cancelled" {
		t.Errorf("status after the payer confirmed: %q, want cancelled", got)
	}
	if got := textOf(t, sam, `[data-testid=raw-status]`); got != "rejected" {
		t.Errorf("raw status %q, want rejected", got)
	}
}

// Journey: support refunds part of a card payment, then the rest; a further refund is refused.
func TestJourneySupportRefundsPartThenRest(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 25000, currency: "GBP", name: "Harry Jones"})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	refund := func(amount string) string {
		t.Helper()
		visit(t, sam, h.srv.URL+"/payments/"+p.PublicID, `[data-testid=eligibility]`, "payment-before-refund")
		do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=do-refund]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=refund-amount]`)))
		checkA11y(t, sam, "refund form")
		do(t, sam,
			chromedp.Clear(chromedp.CSS(`[data-testid=refund-amount]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=refund-amount]`), amount),
			chromedp.SetValue(chromedp.CSS(`[data-testid=refund-reason]`), "requested_by_customer"),
		)
		shot(t, sam, "refund-form")
		// The button is disabled as soon as the form is submitted (against double clicks).
		do(t, sam, chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
		return textOf(t, sam, `[data-testid=flash]`)
	}
	if got := refund("100.00"); !strings.Contains(got, "Refund of 100.00 GBP: done") {
		t.Errorf("first refund: %q", got)
	}
	if got := textOf(t, sam, `[data-testid=refundable]`); got != "150.00 GBP" {
		t.Errorf("refundable after the first refund: %q", got)
	}
	if got := refund("150.00"); !strings.Contains(got, "Refund of 150.00 GBP: done") {
		t.Errorf("second refund: %q", got)
	}
	shot(t, sam, "fully-refunded")
	if got := textOf(t, sam, `[data-testid=why-refund]`); !strings.Contains(got, "refunded") {
		t.Errorf("a further refund is not refused with a reason: %q", got)
	}
	if got := textOf(t, sam, `[data-testid=status]`); got != "refunded" {
		t.Errorf("status %q, want refunded", got)
	}
}

// Journey: a user with no role sees "no access"; a signed-out visitor is sent to sign in.
func TestJourneyNoRoleAndSignedOut(t *testing.T) {
	h := newHarness(t)
	h.add(bpc.Name, spec{variant: 2, name: "Secret Customer"})
	c := newChrome(t)
	anon := c.person()
	do(t, anon, chromedp.Navigate(h.srv.URL+"/payments"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	shot(t, anon, "signed-out-sent-to-sign-in")

	nora := c.person()
	signInBrowser(t, nora, h.srv.URL, "nora")
	visit(t, nora, h.srv.URL+"/payments", `[data-testid=no-access]`, "no-access")
	if body := textOf(t, nora, `main`); strings.Contains(body, "Secret Customer") {
		t.Errorf("the no-access page shows payment data")
	}
	// Sign out: back to the provider, then signed out of Paydesk.
	do(t, nora, chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.Sleep(300*1e6))
	do(t, nora, chromedp.Navigate(h.srv.URL+"/payments"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
}
