package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// TestRefundFormAsAPersonTypes: the cursor starts on the amount, the button says how much
// it sends, a decimal comma and thousands separators are read as the person's locale
// writes them, and "Back without doing anything" is marked so that it cannot be used
// while the provider answers.
func TestRefundFormAsAPersonTypes(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 500000, currency: "UAH", name: "Harry Jones"}) // under UAH's approval threshold
	sam := h.signedIn("sam")
	form := sam.get("/payments/" + p.PublicID + "/refund")
	if !strings.Contains(regexpFind(form.body, `(<input[^>]*data-testid="refund-amount"[^>]*>)`), "autofocus") {
		t.Errorf("the cursor does not start on the amount")
	}
	if strings.Count(form.body, "autofocus") != 1 {
		t.Errorf("%d fields claim the cursor, want 1", strings.Count(form.body, "autofocus"))
	}
	if got := testidText(form.body, "confirm-button"); got != "Refund 5,000.00 UAH" {
		t.Errorf("button %q, want it to say the amount (Refund 5,000.00 UAH)", got)
	}
	if got := attr(form.body, "confirm-button", "data-amount-button"); got != "Refund" {
		t.Errorf("the button's verb for the script is %q", got)
	}
	if got := attr(form.body, "back", "class"); got != "back" {
		t.Errorf("the back link is not marked for the busy form (class %q)", got)
	}

	// The amount the rules preview reads is what the button says after typing.
	r := sam.get("/payments/" + p.PublicID + "/refund/rules?amount=" + url.QueryEscape("1 234,50") + "&reason=duplicate")
	if got := regexpFind(r.body, `data-refund-amount="([^"]*)"`); got != "1,234.50 UAH" {
		t.Errorf("preview of 1 234,50: amount %q, want 1,234.50 UAH", got)
	}
	if r := sam.get("/payments/" + p.PublicID + "/refund/rules?amount=1,234"); strings.Contains(r.body, "data-refund-amount") {
		t.Errorf("an ambiguous amount reaches the button: %s", r.body)
	}

	// A decimal comma is an amount.
	done := confirm(t, sam, p, "refund", url.Values{"amount": {"100,50"}, "reason": {"requested_by_customer"}})
	mustContain(t, done, "Refund of 100.50 UAH: done")
	// Thousands grouped by a space, the comma before the decimals.
	done = confirm(t, sam, p, "refund", url.Values{"amount": {"1 234,50"}, "reason": {"requested_by_customer"}})
	mustContain(t, done, "Refund of 1,234.50 UAH: done")
	// "1,000" could be a thousand or one: refused, nothing sent, the cursor on the amount.
	calls := len(h.bpc.Requests())
	bad := confirm(t, sam, p, "refund", url.Values{"amount": {"1,000"}, "reason": {"requested_by_customer"}})
	if bad.status != http.StatusUnprocessableEntity {
		t.Errorf("an ambiguous amount: status %d, want 422", bad.status)
	}
	if got := testidText(bad.body, "amount-error"); got != `"1,000" could mean 1000 or 1.000: write it without a thousands separator, for example 1000 or 1000.00.` {
		t.Errorf("ambiguous amount: %q", got)
	}
	if len(h.bpc.Requests()) != calls {
		t.Errorf("the provider was called for an ambiguous amount")
	}
	if got := attr(bad.body, "refund-amount", "value"); got != "1,000" {
		t.Errorf("the form lost what was typed: %q", got)
	}
	// A problem with the reason puts the cursor there.
	noReason := confirm(t, sam, p, "refund", url.Values{"amount": {"10"}})
	if !strings.Contains(regexpFind(noReason.body, `(<select[^>]*data-testid="refund-reason"[^>]*>)`), "autofocus") {
		t.Errorf("the cursor is not on the reason that needs choosing")
	}
}

// TestStepUpSaysNothingWasSent: a form that moves money warns before it is sent that the
// sign-in will need renewing; after signing in again it says that nothing was sent yet
// and what to press — refund, cancel and expire alike.
func TestStepUpSaysNothingWasSent(t *testing.T) {
	h := newHarness(t)
	paid := h.add(bpc.Name, spec{variant: 2, amount: 9000})
	held := h.add(tranzzo.Name, spec{variant: 7})
	open := h.add(bpc.Name, spec{variant: 0})
	sam := h.signedIn("sam")

	// A fresh sign-in: no warning.
	form := sam.get("/payments/" + paid.PublicID + "/refund")
	if got := testidText(form.body, "signin-notice"); got != "" {
		t.Errorf("a fresh sign-in is warned: %q", got)
	}
	mustNotContain(t, form, "You signed in again")
	// 13 minutes: it will be too old within a few minutes.
	h.clock.Advance(13 * time.Minute)
	form = sam.get("/payments/" + paid.PublicID + "/refund")
	if got, want := testidText(form.body, "signin-notice"), "Your sign-in is 13 minutes old and will soon be too old to send money: if it is when you confirm, Paydesk will ask you to sign in again first. What you typed is kept."; got != want {
		t.Errorf("soon-stale notice:\n got %q\nwant %q", got, want)
	}
	// 20 minutes: too old now, on every form that moves money.
	h.clock.Advance(7 * time.Minute)
	stale := "Your sign-in is 20 minutes old: Paydesk will ask you to sign in again before sending money. What you typed is kept, and nothing is sent before you confirm it once more."
	for _, path := range []string{paid.PublicID + "/refund", held.PublicID + "/cancel", open.PublicID + "/expire"} {
		if got := testidText(sam.get("/payments/"+path).body, "signin-notice"); got != stale {
			t.Errorf("%s: notice\n got %q\nwant %q", path, got, stale)
		}
	}

	// The refund: sent to sign in, back to the form, which says nothing was sent.
	form = sam.get("/payments/" + paid.PublicID + "/refund")
	key := formKey(t, form)
	sent := url.Values{"idempotency_key": {key}, "amount": {"12,34"}, "reason": {"goodwill"}}
	r := sam.post("/payments/"+paid.PublicID+"/refund", sent)
	if !strings.Contains(r.body, `data-testid="login-form"`) {
		t.Fatalf("a stale sign-in was not sent to sign in again: %s", r.url)
	}
	back := sam.submitLogin(r, "sam")
	if got, want := testidText(back.body, "step-up-back"), "You signed in again. Nothing was sent yet: check the refund of 12.34 EUR below and press “Refund 12.34 EUR” to send it."; got != want {
		t.Errorf("after the step-up:\n got %q\nwant %q", got, want)
	}
	if got := testidText(back.body, "confirm-button"); got != "Refund 12.34 EUR" {
		t.Errorf("button after the step-up %q", got)
	}
	if got := attr(back.body, "refund-amount", "value"); got != "12,34" {
		t.Errorf("amount after the step-up %q, want what was typed", got)
	}
	if got := testidText(back.body, "signin-notice"); got != "" {
		t.Errorf("a fresh sign-in is still warned: %q", got)
	}
	if len(h.bpc.Requests()) != 0 {
		t.Fatalf("the provider was called before the step-up")
	}
	mustContain(t, sam.post("/payments/"+paid.PublicID+"/refund", sent), "Refund of 12.34 EUR: done")
	// Coming back to the form with the same saved key after it was sent says so, and
	// offers nothing to send twice.
	mustNotContain(t, sam.get("/payments/"+paid.PublicID+"/refund"), "You signed in again")

	// Cancel (a void here) and expire say the same after a step-up.
	for _, c := range []struct{ path, button string }{
		{held.PublicID + "/cancel", "Void authorisation"},
		{open.PublicID + "/expire", "Expire session"},
	} {
		h.clock.Advance(20 * time.Minute)
		f := sam.get("/payments/" + c.path)
		r := sam.post("/payments/"+c.path, url.Values{"idempotency_key": {formKey(t, f)}})
		if !strings.Contains(r.body, `data-testid="login-form"`) {
			t.Fatalf("%s: a stale sign-in was not sent to sign in again", c.path)
		}
		back := sam.submitLogin(r, "sam")
		if got, want := testidText(back.body, "step-up-back"), "You signed in again. Nothing was sent yet: check what will happen below and press “"+c.button+"” to send it."; got != want {
			t.Errorf("%s after the step-up:\n got %q\nwant %q", c.path, got, want)
		}
		if got := formKey(t, back); got != formKey(t, f) {
			t.Errorf("%s: the idempotency key changed across the step-up", c.path)
		}
	}
}

// TestStepUpBackAfterItWasSent: a form saved for a step-up whose key was meanwhile sent
// (another tab) is not offered again: the payment says it was already submitted.
func TestStepUpBackAfterItWasSent(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 9000})
	sam := h.signedIn("sam")
	form := sam.get("/payments/" + p.PublicID + "/refund")
	key := formKey(t, form)
	sent := url.Values{"idempotency_key": {key}, "amount": {"5"}, "reason": {"goodwill"}}
	h.clock.Advance(20 * time.Minute)
	r := sam.post("/payments/"+p.PublicID+"/refund", sent)
	// Meanwhile, in another tab signed in afresh, the same form was sent.
	tab := h.signedIn("sam")
	mustContain(t, tab.post("/payments/"+p.PublicID+"/refund", sent), "Refund of 5.00 EUR: done")
	back := sam.submitLogin(r, "sam")
	mustNotContain(t, back, "Nothing was sent yet")
	mustContain(t, back, "This was already submitted once")
	if back.url.Path != "/payments/"+p.PublicID {
		t.Errorf("after the step-up the person is at %s, want the payment", back.url.Path)
	}
}

// TestPaymentPageWordsPerRoleAndState: every role that may see payments, over payments
// in every demo state of every provider, reads the head (amount, status, customer,
// provider) first and no raw code outside the <code> beside its words: no enum, no US
// spelling, no template or formatting leak.
func TestPaymentPageWordsPerRoleAndState(t *testing.T) {
	h := newHarness(t)
	var pays []storage.Payment
	for _, prov := range []providers.Name{powens.Name, bpc.Name, tranzzo.Name} {
		for v := 0; v < 14; v++ {
			pays = append(pays, h.add(prov, spec{variant: v}))
		}
	}
	codeRe := regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)
	for _, user := range []string{"sam", "fran", "max"} {
		b := h.signedIn(user)
		for _, p := range pays {
			r := b.get("/payments/" + p.PublicID)
			if r.status != http.StatusOK {
				t.Fatalf("%s %s: status %d", user, p.PublicID, r.status)
			}
			head := text(regexpFind(r.body, `(?s)data-testid="payment-head">(.*?)</header>`))
			if !strings.HasPrefix(head, providers.FormatMoney(p.Amount, p.Currency)+" "+p.Status.Label()+" ") || !strings.Contains(head, p.Provider.Label()) {
				t.Errorf("%s %s (%s): the head does not lead with amount, status and provider: %q", user, p.PublicID, p.Status, head)
			}
			words := text(codeRe.ReplaceAllString(regexpFind(r.body, `(?s)<main[^>]*>(.*)</main>`), ""))
			if !strings.Contains(words, "What can be done") {
				t.Fatalf("%s %s: the page's main part was not found", user, p.PublicID)
			}
			for _, raw := range []string{"needs_payer", "cancelling_webauth", "awaiting_payment", "partially_refunded", "awaiting_approval", "authorized", "Authorized", "authorization", "%!", "<nil>", "0001-01-01", "@When", "Code "} {
				if strings.Contains(words, raw) {
					t.Errorf("%s %s (%s %s): %q reaches people: %.600s", user, p.PublicID, p.Provider, p.RawStatus, raw, words)
				}
			}
			if !p.Provider.Has(providers.ActionExpire) && strings.Contains(r.body, `data-testid="action-expire"`) {
				t.Errorf("%s %s: Expire is offered on a %s payment", user, p.PublicID, p.Provider)
			}
			if p.Status == providers.StatusUnknown && !strings.Contains(words, "own dashboard") {
				t.Errorf("%s %s: an unknown status names no next step", user, p.PublicID)
			}
		}
	}
}
