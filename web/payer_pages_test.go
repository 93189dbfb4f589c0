package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// payerCancelling is a Powens payment of Jean Dupont waiting for the payer's
// confirmation in the webview, with the staff browser that cancelled it, the shared
// short address and the provider's address.
func payerCancelling(t *testing.T, h *harness) (storage.Payment, *browser, string, string) {
	t.Helper()
	p := h.add(powens.Name, spec{variant: 2, name: "Jean Dupont", email: "jean.dupont@example.com"})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	page := confirm(t, staff, p, "cancel", nil)
	return p, staff, payerLinkURL(t, page), providerLinkURL(t, page)
}

// mustSayOnce checks a payer page says sentence once, and nothing private.
func mustSayOnce(t *testing.T, r response, p storage.Payment, sentence string) {
	t.Helper()
	body := text(r.body)
	if n := strings.Count(body, sentence); n != 1 {
		t.Errorf("payer page says %q %d times, want once: %s", sentence, n, body)
	}
	if n := strings.Count(body, "You can close this page."); n > 1 {
		t.Errorf("payer page says 'You can close this page.' %d times: %s", n, body)
	}
	for _, private := range []string{"Jean", "Dupont", "jean.dupont", p.PublicID, p.PaymentID + " ", "EUR", "€"} {
		if strings.Contains(body, private) {
			t.Errorf("payer page shows %q: %s", private, body)
		}
	}
}

// TestPayerOutcomePages: what the payer reads for each outcome of their return — one
// plain sentence, never twice, nothing private — and where they may go on.
func TestPayerOutcomePages(t *testing.T) {
	t.Run("waiting for the bank", func(t *testing.T) {
		h := newHarness(t)
		p, _, _, provider := payerCancelling(t, h)
		state := mustURL(provider).Query().Get("state")
		r := h.browser().get("/payer/return?state=" + url.QueryEscape(state) + "&id_payment=" + p.PaymentID)
		mustSayOnce(t, r, p, "Your cancellation is still waiting for your bank: it is not confirmed yet.")
		if attr(r.body, "payer-continue", "type") != "submit" {
			t.Errorf("no way to go on confirming: %s", text(r.body))
		}
	})
	t.Run("stopped before confirming", func(t *testing.T) {
		h := newHarness(t)
		p, _, link, _ := payerCancelling(t, h)
		r := payerDecides(t, h, link, "abandon")
		mustSayOnce(t, r, p, "Not cancelled yet: you stopped before confirming with your bank")
		// Going on asks Powens for a fresh scoped token and lands on its page.
		action := regexpFind(r.body, `<form method="post" action="(/p/[^"]+)"`)
		if action != mustURL(link).Path {
			t.Fatalf("continue form posts to %q, want the short address %q", action, mustURL(link).Path)
		}
		tokens := h.powens.Calls(powens.RouteScopedToken)
		page := h.browser().post(action, url.Values{})
		if page.status != http.StatusOK || !strings.Contains(page.url.String(), "/auth/webview/payment?") {
			t.Errorf("going on ended at %s (%d), want Powens's webview", page.url, page.status)
		}
		if n := h.powens.Calls(powens.RouteScopedToken) - tokens; n != 1 {
			t.Errorf("going on made %d scoped tokens, want 1", n)
		}
		mustContain(t, payerDecides(t, h, link, "confirm"), "Your cancellation is confirmed: the payment is cancelled.")
	})
	t.Run("confirmed", func(t *testing.T) {
		h := newHarness(t)
		p, _, link, _ := payerCancelling(t, h)
		r := payerDecides(t, h, link, "confirm")
		mustSayOnce(t, r, p, "Your cancellation is confirmed: the payment is cancelled.")
		mustSayOnce(t, r, p, "You can close this page.")
		if strings.Contains(r.body, "payer-continue") {
			t.Error("a confirmed payer is offered to go on")
		}
	})
	t.Run("not cancelled", func(t *testing.T) {
		h := newHarness(t)
		p, _, _, provider := payerCancelling(t, h)
		if err := h.powens.SetState(p.PaymentID, "done", "", ""); err != nil {
			t.Fatal(err)
		}
		r := h.browser().get("/payer/return?state=" + url.QueryEscape(mustURL(provider).Query().Get("state")))
		mustSayOnce(t, r, p, "Not cancelled: the payment went ahead before the cancellation was confirmed.")
	})
	t.Run("link no longer in use", func(t *testing.T) {
		h := newHarness(t)
		p, _, _, provider := payerCancelling(t, h)
		if _, err := h.db.ExpirePayerLinks(context.Background(), time.Now().Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		r := h.browser().get("/payer/return?state=" + url.QueryEscape(mustURL(provider).Query().Get("state")))
		mustSayOnce(t, r, p, "This confirmation link has been replaced or has expired.")
	})
	t.Run("forged", func(t *testing.T) {
		h := newHarness(t)
		r := h.browser().get("/payer/return?state=abc.def")
		if r.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.status)
		}
		mustContain(t, r, "This link is not valid")
	})
}

// TestPayerShortAddress: /p/{token} sends the payer on to the provider's current page
// while the link is live; once it is replaced, confirmed or expired, or for a token that
// is not one, a plain page says so.
func TestPayerShortAddress(t *testing.T) {
	h := newHarness(t)
	p, staff, link, provider := payerCancelling(t, h)
	payer := h.browser()
	r := payer.noFollow().get(link)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != provider || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("short address: %d to %q (referrer %q), want 303 to %q with no referrer", r.status, r.header.Get("Location"), r.header.Get("Referrer-Policy"), provider)
	}
	if len(link) > 70 || len(provider) < 150 {
		t.Errorf("short address %d characters, provider's %d: want a short one", len(link), len(provider))
	}
	for _, bad := range []string{"/p/nope", "/p/AAAAAAAAAAAAAAAAAAAAAA"} {
		r := payer.get(bad)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "This link is not valid") {
			t.Errorf("%s: %d %s, want 404 'not valid'", bad, r.status, text(r.body))
		}
	}

	renewed := staff.post("/payments/"+p.PublicID+"/payer-links", url.Values{})
	second := payerLinkURL(t, renewed)
	r = payer.get(link)
	if r.status != http.StatusGone {
		t.Errorf("replaced short address: %d, want 410", r.status)
	}
	mustSayOnce(t, r, p, "This confirmation link was replaced by a newer one.")

	mustContain(t, payerDecides(t, h, second, "confirm"), "Your cancellation is confirmed")
	r = payer.get(second)
	if r.status != http.StatusOK {
		t.Errorf("confirmed short address: %d, want 200", r.status)
	}
	mustSayOnce(t, r, p, "Your cancellation is confirmed: the payment is cancelled.")

	// An expired link.
	q := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(q.PaymentID, powens.CancelNeedsPayerWebview)
	third := payerLinkURL(t, confirm(t, staff, q, "cancel", nil))
	if _, err := h.db.ExpirePayerLinks(context.Background(), time.Now().Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r = payer.get(third)
	if r.status != http.StatusGone {
		t.Errorf("expired short address: %d, want 410", r.status)
	}
	mustSayOnce(t, r, q, "This confirmation link has expired.")
}

// TestPayerLinksFragment: the payment page's payer links alone, which the page asks for
// while a link is live: it polls while the link is live, and once the payer confirmed it
// shows the outcome, stops polling and has a new key, so the page reads itself again.
func TestPayerLinksFragment(t *testing.T) {
	h := newHarness(t)
	p, staff, link, _ := payerCancelling(t, h)
	page := staff.get("/payments/" + p.PublicID)
	frag := staff.get("/payments/" + p.PublicID + "/payer-links")
	if frag.status != http.StatusOK || strings.Contains(frag.body, "<html") {
		t.Fatalf("fragment: %d %.300s", frag.status, frag.body)
	}
	key := attr(frag.body, "payer-links-live", "data-poll-key")
	if key == "" || key != attr(page.body, "payer-links-live", "data-poll-key") {
		t.Errorf("fragment key %q, page key %q: want the same", key, attr(page.body, "payer-links-live", "data-poll-key"))
	}
	if got := attr(frag.body, "payer-links-live", "data-poll"); got != "/payments/"+p.PublicID+"/payer-links" {
		t.Errorf("live link: data-poll %q, want the fragment's address", got)
	}
	mustContain(t, frag, "shows the payer's answer by itself")

	payerDecides(t, h, link, "confirm")
	frag = staff.get("/payments/" + p.PublicID + "/payer-links")
	if attr(frag.body, "payer-links-live", "data-poll-key") == key {
		t.Error("the key did not change when the payer confirmed")
	}
	if strings.Contains(frag.body, "data-poll=") {
		t.Error("the fragment still polls with no live link")
	}
	if got := attr(frag.body, "payer-link", "data-state"); got != "confirmed" {
		t.Errorf("link %q, want confirmed", got)
	}
	mustContain(t, frag, "reports the payment cancelled", `The payer's browser last said`)
	// Finance may look but sees no address to share.
	fin := h.signedIn("fran")
	if r := fin.get("/payments/" + p.PublicID + "/payer-links"); r.status != http.StatusOK || strings.Contains(r.body, "payer-link-url") {
		t.Errorf("finance fragment: %d, shows the address: %v", r.status, strings.Contains(r.body, "payer-link-url"))
	}
	if got := h.payment(p).Status; got != providers.StatusCancelled {
		t.Errorf("payment %s, want cancelled", got)
	}
}

// TestNewLinkOfferedWhileTheStatusLags: Powens asked for the payer but the payment could
// not be read back, so its stored status lags; the page still offers "Make a new link"
// (the journal knows the cancellation waits), and using it brings the status up to date.
func TestNewLinkOfferedWhileTheStatusLags(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	confirm(t, staff, p, "cancel", nil)
	// The state the page meets when no read succeeded after Powens' partial answer (the ops
	// test TestNewLinkWhileTheStatusLags makes it through the documented shapes): the
	// journal says the payer must confirm, the stored status is still the old one.
	if _, err := h.db.SQL().Exec(`UPDATE payments SET status = 'processing', state_detail = '' WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := h.payment(p).Status; got == providers.StatusCancelling {
		t.Fatalf("status %s: the read back was meant to fail", got)
	}
	page := staff.get("/payments/" + p.PublicID)
	if !strings.Contains(page.body, `data-testid="new-link"`) {
		t.Fatalf("no \"Make a new link\" while the journal says the payer must confirm: %.400s", text(page.body))
	}
	staff.post("/payments/"+p.PublicID+"/payer-links", url.Values{})
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("status after the new link %s, want cancelling", got)
	}

	// A payment nobody is cancelling offers no link.
	q := h.add(powens.Name, spec{variant: 2})
	if r := staff.get("/payments/" + q.PublicID); strings.Contains(r.body, `data-testid="new-link"`) {
		t.Error("\"Make a new link\" offered on a payment waiting for no payer")
	}
}
