package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
	"paydesk/providers/simfault"
)

// While an action runs, its button is disabled and the progress text shows; a second
// click sends nothing.
func TestBrowserActionShowsProgressAndBlocksDoubleSubmit(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 8000})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	do(t, sam, chromedp.Navigate(h.srv.URL+"/payments/"+p.PublicID+"/refund"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=refund-amount]`)))
	do(t, sam, chromedp.SetValue(chromedp.CSS(`[data-testid=refund-reason]`), "duplicate"))
	h.bpc.FailNext(1, simfault.Slow) // the provider takes longer than the client waits
	// Click twice, quickly: the second click must find the button disabled.
	state := eval[string](t, sam, `(() => {
		const b = document.querySelector("[data-testid=confirm-button]");
		b.click(); b.click();
		const f = b.closest("form");
		return [b.disabled, f.classList.contains("busy"), getComputedStyle(f.querySelector(".progress")).display].join(",");
	})()`)
	if state != "true,true,inline" {
		t.Errorf("after submitting: disabled,busy,progress display = %s, want true,true,inline", state)
	}
	shotNow(t, sam, "action-in-progress")
	do(t, sam, chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	refunds := 0
	for _, r := range h.bpc.Requests() {
		if strings.HasPrefix(r, "POST /refunds") {
			refunds++
		}
	}
	if refunds != 1 {
		t.Errorf("the provider got %d refund calls for a double click, want 1", refunds)
	}
}

// Light and dark themes follow the system; the layout holds at tablet width.
func TestBrowserDarkThemeAndTabletWidth(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 3, name: "Olena Shevchenko"})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")

	light := bodyBackground(t, sam, h.srv.URL+"/payments/"+p.PublicID)
	do(t, sam, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	dark := bodyBackground(t, sam, h.srv.URL+"/payments/"+p.PublicID)
	if light == dark {
		t.Errorf("the page has the same background (%s) in light and dark mode", light)
	}
	checkA11y(t, sam, "payment page, dark theme")
	shot(t, sam, "payment-dark")
	visit(t, sam, h.srv.URL+"/payments", `[data-testid=payments]`, "payments-dark")

	for _, width := range []int64{768, 1024} {
		do(t, sam, chromedp.EmulateViewport(width, 1000))
		for _, path := range []string{"/payments", "/payments/" + p.PublicID, "/"} {
			do(t, sam, chromedp.Navigate(h.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main#main`)))
			// The page itself never scrolls sideways; wide tables scroll inside their frame.
			if over := eval[bool](t, sam, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
				t.Errorf("%s at %d px: the page is wider than the screen", path, width)
			}
		}
		shot(t, sam, "tablet")
	}
}

func bodyBackground(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	do(t, ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`main#main`)))
	return eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
}

// With JavaScript off, every page and action still works: forms post, the server redirects.
func TestBrowserWorksWithJavaScriptOff(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 6000, email: "nojs@example.com"})
	c := newChrome(t)
	sam := c.person()
	signInBrowser(t, sam, h.srv.URL, "sam")
	do(t, sam, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	do(t, sam,
		chromedp.Navigate(h.srv.URL+"/payments?q="+url.QueryEscape("nojs@example.com")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=payment-row]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=payment-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=do-refund]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=do-refund]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=refund-amount]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-amount]`), "15.00"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=refund-reason]`), "goodwill"),
		chromedp.Click(chromedp.CSS(`[data-testid=confirm-button]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)),
	)
	if got := textOf(t, sam, `[data-testid=flash]`); !strings.Contains(got, "Refund of 15.00 EUR: done") {
		t.Errorf("refund with JavaScript off: %q", got)
	}
	if got := h.payment(p).Refunded; got != 1500 {
		t.Errorf("refunded %d, want 1500", got)
	}
	shot(t, sam, "javascript-off")
}
