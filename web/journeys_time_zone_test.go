package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
)

// TestJourneyTimesInTheBrowsersZone: a browser in Tokyo sees Tokyo times from its second
// page on (tz.js tells Paydesk its zone, under the Content-Security-Policy), the UTC time
// on hover, and the dashboard without template source.
func TestJourneyTimesInTheBrowsersZone(t *testing.T) {
	h := newQueueHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	created := h.payment(p).CreatedAt
	c := newChrome(t)
	sam := c.person()
	do(t, sam, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	signInBrowser(t, sam, h.srv.URL, "sam")
	visit(t, sam, h.srv.URL+"/", `[data-testid=work-queue]`, "dashboard")
	if cookie := eval[string](t, sam, `document.cookie`); !strings.Contains(cookie, "tz=Asia/Tokyo") {
		t.Errorf("tz.js did not write the browser's zone: cookies %q", cookie)
	}
	if body := textOf(t, sam, `main`); strings.Contains(body, "@When") || strings.Contains(body, "{ ") {
		t.Errorf("the dashboard shows template source: %s", body)
	}
	if zone := textOf(t, sam, `[data-testid=zone-link]`); !strings.Contains(zone, "Asia/Tokyo") {
		t.Errorf("after a page, the header says %q, want Asia/Tokyo", zone)
	}
	visit(t, sam, h.srv.URL+"/payments/"+p.PublicID, `main#main`, "payment-in-tokyo")
	want := localIn(t, created, "Asia/Tokyo")
	if body := textOf(t, sam, `main`); !strings.Contains(body, want) {
		t.Errorf("the payment page does not show %s (Tokyo time)", want)
	}
	iso := created.UTC().Format("2006-01-02T15:04:05Z")
	if n := eval[int](t, sam, `document.querySelectorAll('time[title="`+iso+`"]').length`); n == 0 {
		t.Errorf("no time carries its UTC time %s on hover", iso)
	}
	visit(t, sam, h.srv.URL+"/settings", `[data-testid=zone-settings]`, "settings")
	if s := textOf(t, sam, `[data-testid=zone-now]`); !strings.Contains(s, "Asia/Tokyo (your browser's zone)") {
		t.Errorf("settings: %q", s)
	}
}
