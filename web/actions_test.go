package web_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/simfault"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// confirm opens an action's confirmation step and submits it, as a person would.
func confirm(t *testing.T, b *browser, p storage.Payment, action string, extra url.Values) response {
	t.Helper()
	form := b.get("/payments/" + p.PublicID + "/" + action)
	if form.status != http.StatusOK {
		t.Fatalf("GET %s form: status %d: %.400s", action, form.status, text(form.body))
	}
	v := url.Values{"idempotency_key": {formKey(t, form)}}
	for k, vals := range extra {
		v[k] = vals
	}
	return b.post("/payments/"+p.PublicID+"/"+action, v)
}

func journal(t *testing.T, h *harness, p storage.Payment) []storage.Action {
	t.Helper()
	acts, err := h.db.ActionsOfPayment(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

func lastAction(t *testing.T, h *harness, p storage.Payment) storage.Action {
	t.Helper()
	acts := journal(t, h, p)
	if len(acts) == 0 {
		t.Fatalf("no action journaled for %s", p.PublicID)
	}
	return acts[len(acts)-1]
}

// payerLinkURL reads the live payer link the payment page shows.
func payerLinkURL(t *testing.T, r response) string {
	t.Helper()
	u := attr(r.body, "payer-link-url", "value")
	if u == "" {
		t.Fatalf("no payer link on the payment page: %.2000s", text(r.body))
	}
	return u
}

// providerLinkURL reads the provider's address the live payer link leads to.
func providerLinkURL(t *testing.T, r response) string {
	t.Helper()
	u := attr(r.body, "payer-provider-url", "value")
	if u == "" {
		t.Fatalf("no provider address on the payment page: %.2000s", text(r.body))
	}
	return u
}

var formActionRe = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)">(.*?)</form>`)
var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// payerDecides opens the payer link in a fresh browser (the payer has no Paydesk
// account), presses confirm or abandon on the provider's page and follows the redirect
// back to Paydesk's return page.
func payerDecides(t *testing.T, h *harness, link, decision string) response {
	t.Helper()
	payer := h.browser()
	page := payer.get(link)
	if page.status != http.StatusOK {
		t.Fatalf("payer page %s: status %d: %.300s", link, page.status, text(page.body))
	}
	m := formActionRe.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no form on the payer page: %.500s", page.body)
	}
	action, err := page.url.Parse(htmlUnescape(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"decision": {decision}}
	for _, hm := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
		form.Set(htmlUnescape(hm[1]), htmlUnescape(hm[2]))
	}
	return payer.post(action.String(), form)
}

func TestPowensCancelPayerConfirmsThroughWebviewLink(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2, name: "Jean Dupont"}) // pending, first_open_day
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")

	page := confirm(t, staff, p, "cancel", nil)
	mustContain(t, page, "needs the payer to confirm", "Payer confirmation links")
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Fatalf("status after the cancel call: %s, want cancelling", got)
	}
	if a := lastAction(t, h, p); a.Kind != "cancel" || a.State != "needs_payer" {
		t.Errorf("journal: %s %s, want cancel needs_payer", a.Kind, a.State)
	}
	link := payerLinkURL(t, page)
	if !regexp.MustCompile(`^http://[^/]+/p/[A-Za-z0-9_-]{22}$`).MatchString(link) {
		t.Errorf("shared link %q is not Paydesk's short address", link)
	}
	if provider := providerLinkURL(t, page); !strings.Contains(provider, "/auth/webview/payment?") || !strings.Contains(provider, "code=") || !strings.Contains(provider, "payment_id="+p.PaymentID) {
		t.Errorf("link %q is not a Powens webview link with a scoped token", provider)
	}
	if msg := regexpFind(page.body, `(?s)data-testid="payer-message">(.*?)</pre>`); !strings.Contains(msg, link) || strings.Contains(msg, "code=") {
		t.Errorf("the ready message does not carry the short link alone: %q", msg)
	}
	if !strings.Contains(page.body, "/qr.png") {
		t.Errorf("no QR code on the page")
	}
	qr := staff.get(regexpFind(page.body, `src="(/payer-links/\d+/qr\.png)"`))
	if qr.status != 200 || qr.header.Get("Content-Type") != "image/png" {
		t.Errorf("QR code: %d %s", qr.status, qr.header.Get("Content-Type"))
	}
	checkQRDrawn(t, []byte(qr.body))

	back := payerDecides(t, h, link, "confirm")
	if back.url.Path != "/payer/return" {
		t.Fatalf("the payer ended at %s, want Paydesk's return page", back.url)
	}
	mustContain(t, back, "Cancellation confirmed")
	mustNotContain(t, back, "Jean Dupont", p.PublicID, "EUR")

	after := h.payment(p)
	if after.Status != providers.StatusCancelled || after.RawStatus != "rejected" || after.ErrorCode != "cancelledByUser" {
		t.Errorf("payment after the payer confirmed: %s / %s / %s, want cancelled / rejected / cancelledByUser", after.Status, after.RawStatus, after.ErrorCode)
	}
	if a := lastAction(t, h, p); a.State != "succeeded" {
		t.Errorf("journal after confirmation: %s, want succeeded", a.State)
	}
	show := staff.get("/payments/" + p.PublicID)
	mustContain(t, show, "cancelled", "cancelledByUser", "confirmed by the payer confirmed", "The payer came back")
	if got := attr(show.body, "payer-link", "data-state"); got != "confirmed" {
		t.Errorf("link state %q, want confirmed", got)
	}
}

func TestPowensCancelPayerAbandonsThenNewLink(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 0}) // created
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	page := confirm(t, staff, p, "cancel", nil)
	first := payerLinkURL(t, page)

	back := payerDecides(t, h, first, "abandon")
	mustContain(t, back, "Cancellation not confirmed")
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("status after the payer abandoned: %s, want still cancelling", got)
	}
	// What the payer's browser said is recorded; the link follows only what Powens
	// answers (still cancelling), so it stays active.
	show := staff.get("/payments/" + p.PublicID)
	if got := attr(show.body, "payer-link", "data-state"); got != "active" {
		t.Errorf("link state %q, want still active", got)
	}
	if !strings.Contains(h.timeline(p), `their browser said error="cancelled"`) {
		t.Errorf("the timeline does not record what the payer's browser said:\n%s", h.timeline(p))
	}
	// The cancel button is not offered again: the cancellation is waiting for the payer.
	mustContain(t, show, "already waiting for the payer")

	renewed := staff.post("/payments/"+p.PublicID+"/payer-links", url.Values{})
	mustContain(t, renewed, "A new payer link is ready")
	second := payerLinkURL(t, renewed)
	if second == first {
		t.Errorf("the new link is the old one")
	}
	links, _ := h.db.PayerLinksOfPayment(context.Background(), p.ID)
	states := map[string]int{}
	for _, l := range links {
		states[l.State]++
	}
	if states["superseded"] != 1 || states["active"] != 1 {
		t.Errorf("links after renewal: %v, want one superseded and one active", states)
	}
	// Each link's state in words, the code beside them.
	mustContain(t, renewed, "waiting for the payer active made by", "replaced by a newer link superseded made by")
	// The payer confirms with the new link.
	mustContain(t, payerDecides(t, h, second, "confirm"), "Cancellation confirmed")
	if got := h.payment(p).Status; got != providers.StatusCancelled {
		t.Errorf("status: %s, want cancelled", got)
	}
}

func TestPowensCancelThroughBankValidateURI(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerValidateURI)
	staff := h.signedIn("sam")
	page := confirm(t, staff, p, "cancel", nil)
	link := payerLinkURL(t, page)
	if provider := providerLinkURL(t, page); !strings.Contains(provider, "/bank/validate/") {
		t.Errorf("link %q is not the bank's validate_uri", provider)
	}
	mustContain(t, payerDecides(t, h, link, "confirm"), "Cancellation confirmed")
	if got := h.payment(p).Status; got != providers.StatusCancelled {
		t.Errorf("status: %s, want cancelled", got)
	}
}

func TestPowensCancelOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		scenario   powens.CancelScenario
		wantFlash  string
		wantStatus providers.Status
		wantState  string
	}{
		{"done at once", powens.CancelDone, "Cancellation: done", providers.StatusCancelled, "succeeded"},
		{"not supported by the bank", powens.CancelNotSupported, "not possible for this payment", providers.StatusProcessing, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.add(powens.Name, spec{variant: 2})
			h.powens.SetCancelScenario(p.PaymentID, tc.scenario)
			r := confirm(t, h.signedIn("sam"), p, "cancel", nil)
			mustContain(t, r, tc.wantFlash)
			if got := h.payment(p).Status; got != tc.wantStatus {
				t.Errorf("status %s, want %s", got, tc.wantStatus)
			}
			if a := lastAction(t, h, p); a.State != tc.wantState {
				t.Errorf("journal %s, want %s", a.State, tc.wantState)
			}
		})
	}
}

func TestPayerReturnTrustsOnlyItsSignedState(t *testing.T) {
	h := newHarness(t)
	p := h.add(powens.Name, spec{variant: 2})
	h.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
	staff := h.signedIn("sam")
	page := confirm(t, staff, p, "cancel", nil)
	link, _ := url.Parse(providerLinkURL(t, page))
	state := link.Query().Get("state")
	payer := h.browser()

	// A forged state is refused and changes nothing.
	r := payer.get("/payer/return?state=" + url.QueryEscape(state[:len(state)-2]+"xx") + "&id_payment=" + p.PaymentID + "&error_code=cancelledByUser&payment_state=rejected")
	if r.status != http.StatusBadRequest {
		t.Errorf("forged state: status %d, want 400", r.status)
	}
	// The right state with lying parameters: the payment is re-read and is still pending.
	r = payer.get("/payer/return?state=" + url.QueryEscape(state) + "&id_payment=" + p.PaymentID + "&error_code=cancelledByUser&payment_state=rejected")
	mustNotContain(t, r, "Cancellation confirmed")
	if got := h.payment(p).Status; got != providers.StatusCancelling {
		t.Errorf("status after a lying return: %s, want still cancelling", got)
	}
	show := staff.get("/payments/" + p.PublicID)
	if got := attr(show.body, "payer-link", "data-state"); got != "active" {
		t.Errorf("link state %q, want still active", got)
	}
}

func TestBPCExpireAndCancel(t *testing.T) {
	h := newHarness(t)
	session := h.add(bpc.Name, spec{variant: 0}) // open session
	held := h.add(bpc.Name, spec{variant: 8})    // requiresCapture
	staff := h.signedIn("sam")

	form := staff.get("/payments/" + session.PublicID + "/expire")
	mustContain(t, form, "Expire this session?", "This cannot be undone.")
	r := confirm(t, staff, session, "expire", nil)
	mustContain(t, r, "Expiry: done")
	if got := h.payment(session); got.SessionStatus != "expired" || got.Status != providers.StatusExpired {
		t.Errorf("session after expire: %s / %s", got.SessionStatus, got.Status)
	}
	mustContain(t, staff.get("/payments/"+session.PublicID), "BPC expires only open sessions; this one is expired.")

	r = confirm(t, staff, held, "cancel", nil)
	mustContain(t, r, "Cancellation: done")
	if got := h.payment(held); got.RawStatus != "canceled" || got.Status != providers.StatusCancelled {
		t.Errorf("payment after cancel: %s / %s", got.RawStatus, got.Status)
	}
	// The timeline says who did what and what the provider said.
	mustContain(t, staff.get("/payments/"+held.PublicID), "sam@", "requiresCapture → canceled")
}

func TestCardRefundPartThenRestThenRefused(t *testing.T) {
	for _, provider := range []providers.Name{bpc.Name, tranzzo.Name} {
		t.Run(string(provider), func(t *testing.T) {
			h := newHarness(t)
			variant := 2 // BPC succeeded
			if provider == tranzzo.Name {
				variant = tranzzo.VariantPurchaseSuccess
			}
			p := h.add(provider, spec{variant: variant, amount: 12000, currency: "EUR"})
			staff := h.signedIn("sam")

			form := staff.get("/payments/" + p.PublicID + "/refund")
			if got := attr(form.body, "refund-amount", "value"); got != "120.00" {
				t.Errorf("default amount %q, want all that is left (120.00)", got)
			}
			r := confirm(t, staff, p, "refund", url.Values{"amount": {"45.50"}, "reason": {"requested_by_customer"}})
			mustContain(t, r, "Refund of 45.50 EUR: done")
			if got := h.payment(p); got.Refunded != 4550 || got.Status != providers.StatusPartiallyRefunded {
				t.Errorf("after a partial refund: refunded %d status %s", got.Refunded, got.Status)
			}
			mustContain(t, r, "74.50 EUR") // still refundable

			r = confirm(t, staff, p, "refund", url.Values{"amount": {"74.50"}, "reason": {"duplicate"}})
			mustContain(t, r, "Refund of 74.50 EUR: done")
			if got := h.payment(p); got.Refunded != 12000 || got.Status != providers.StatusRefunded {
				t.Errorf("after the rest: refunded %d status %s", got.Refunded, got.Status)
			}
			// Nothing is left: the form is refused with the reason.
			again := staff.get("/payments/" + p.PublicID + "/refund")
			mustContain(t, again, "Refund is not available")
			refunds, _ := h.db.RefundsOfPayment(context.Background(), p.ID)
			var sum int64
			for _, rf := range refunds {
				if rf.Status == "succeeded" {
					sum += rf.Amount
				}
			}
			if len(refunds) != 2 || sum != 12000 {
				t.Errorf("refund rows: %d summing %d, want 2 summing 12000 (no double counting)", len(refunds), sum)
			}
		})
	}
}

func TestRefundFormValidation(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 5000})
	staff := h.signedIn("sam")
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no amount", url.Values{"amount": {""}, "reason": {"duplicate"}}, "Enter an amount."},
		{"not a number", url.Values{"amount": {"ten"}, "reason": {"duplicate"}}, `"ten" is not an amount: write digits, with a point or a comma before the decimals`},
		{"too many decimals", url.Values{"amount": {"1.0055"}, "reason": {"duplicate"}}, `"1.0055" has more decimals than EUR has (2).`},
		{"read two ways", url.Values{"amount": {"1,005"}, "reason": {"duplicate"}}, `"1,005" could mean 1005 or 1.005: write it without a thousands separator, for example 1005 or 1005.00.`},
		{"mixed separators", url.Values{"amount": {"1.234,56.7"}, "reason": {"duplicate"}}, "mixes points and commas"},
		{"zero", url.Values{"amount": {"0"}, "reason": {"duplicate"}}, "must be more than zero"},
		{"above what is left", url.Values{"amount": {"50.01"}, "reason": {"duplicate"}}, "At most 50.00 EUR can be refunded."},
		{"no reason", url.Values{"amount": {"10"}}, "Choose a reason."},
		{"unknown reason", url.Values{"amount": {"10"}, "reason": {"because"}}, "Choose one of the listed reasons."},
		{"other without a note", url.Values{"amount": {"10"}, "reason": {"other"}}, "Explain the reason in a note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := confirm(t, staff, p, "refund", tc.form)
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", r.status)
			}
			mustContain(t, r, tc.want)
			if got := attr(r.body, "refund-amount", "value"); got != tc.form.Get("amount") {
				t.Errorf("the form lost what was typed: amount %q, want %q", got, tc.form.Get("amount"))
			}
		})
	}
	if n := len(h.bpc.Requests()); n != 0 {
		t.Errorf("the provider was called %d times for invalid forms", n)
	}
	if acts := journal(t, h, p); len(acts) != 0 {
		t.Errorf("invalid forms journaled %d actions", len(acts))
	}
}

func TestDoubleSubmitRunsOnce(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 10000})
	staff := h.signedIn("sam")
	form := staff.get("/payments/" + p.PublicID + "/refund")
	v := url.Values{"idempotency_key": {formKey(t, form)}, "amount": {"10.00"}, "reason": {"duplicate"}}
	first := staff.post("/payments/"+p.PublicID+"/refund", v)
	mustContain(t, first, "Refund of 10.00 EUR: done")
	second := staff.post("/payments/"+p.PublicID+"/refund", v) // a reload of the same form
	mustContain(t, second, "already submitted once")
	refunds := 0
	for _, req := range h.bpc.Requests() {
		if strings.HasPrefix(req, "POST /refunds") {
			refunds++
		}
	}
	if refunds != 1 {
		t.Errorf("the provider got %d refund calls, want 1", refunds)
	}
	if got := h.payment(p).Refunded; got != 1000 {
		t.Errorf("refunded %d, want 1000", got)
	}
}

func TestProviderTimeoutLeavesOutcomeUnknownAndNothingRetried(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 10000})
	staff := h.signedIn("sam")
	h.bpc.FailNext(1, simfault.Slow)
	r := confirm(t, staff, p, "refund", url.Values{"amount": {"30.00"}, "reason": {"duplicate"}})
	mustContain(t, r, "the outcome is unknown", "Paydesk will not retry")
	a := lastAction(t, h, p)
	if a.State != "unknown" {
		t.Errorf("journal %s, want unknown", a.State)
	}
	refunds := 0
	for _, req := range h.bpc.Requests() {
		if strings.HasPrefix(req, "POST /refunds") {
			refunds++
		}
	}
	if refunds != 1 {
		t.Errorf("the provider got %d refund calls, want exactly 1 (never retried)", refunds)
	}
	// While the outcome is unknown nothing else may start on the payment.
	show := staff.get("/payments/" + p.PublicID)
	mustContain(t, show, "is unknown", "Paydesk starts nothing else until its outcome is known")
	blocked := staff.get("/payments/" + p.PublicID + "/refund")
	mustContain(t, blocked, "Refund is not available")
	bal, _ := h.db.Balance(context.Background(), p.ID)
	if bal.Refundable != 7000 {
		t.Errorf("refundable while unknown: %d, want 7000 (the unknown amount stays reserved)", bal.Refundable)
	}
}

func TestOverRefundRefusedByProviderIsShown(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 10000})
	// Someone refunds 60.00 directly at BPC: Paydesk does not know yet.
	direct, err := bpc.New(bpc.Config{BaseURL: bpcURL(t, h), APIKey: "bpc-key"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out := direct.Refund(context.Background(), providers.RefOf(p.Snapshot), providers.RefundRequest{Amount: 6000}); out.Kind != providers.Done {
		t.Fatalf("direct refund: %s %s", out.Kind, out.Message)
	}
	staff := h.signedIn("sam")
	r := confirm(t, staff, p, "refund", url.Values{"amount": {"100.00"}, "reason": {"duplicate"}})
	mustContain(t, r, "refused. BPC said:")
	rf, _ := h.db.RefundsOfPayment(context.Background(), p.ID)
	var failed bool
	for _, x := range rf {
		if x.Amount == 10000 && x.Status == "failed" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("the refused refund is not recorded as failed: %+v", rf)
	}
	// A refresh learns the direct refund; what is left is now 40.00.
	mustContain(t, staff.post("/payments/"+p.PublicID+"/refresh", nil), "Refreshed from BPC")
	if got := h.payment(p).Refunded; got != 6000 {
		t.Errorf("refunded after refresh: %d, want 6000", got)
	}
}

func TestTranzzoCancelAndVoid(t *testing.T) {
	h := newHarness(t)
	unpaid := h.add(tranzzo.Name, spec{variant: tranzzo.VariantHostedPurchaseInit, currency: "UAH"})
	held := h.add(tranzzo.Name, spec{variant: tranzzo.VariantAuthHeld, currency: "UAH"})
	direct := h.add(tranzzo.Name, spec{variant: tranzzo.VariantDirectPurchaseInit, currency: "UAH"})
	staff := h.signedIn("sam")

	mustContain(t, confirm(t, staff, unpaid, "cancel", nil), "Cancellation: done")
	if got := h.payment(unpaid); got.Status != providers.StatusCancelled || got.ErrorCode != "6007" {
		t.Errorf("unpaid hosted payment after cancel: %s %s", got.Status, got.ErrorCode)
	}
	form := staff.get("/payments/" + held.PublicID + "/cancel")
	mustContain(t, form, "Void this authorisation?", "full held amount")
	mustContain(t, confirm(t, staff, held, "cancel", nil), "Void: done")
	if got := h.payment(held); got.Status != providers.StatusCancelled || !got.Voided {
		t.Errorf("held auth after void: %s voided=%v", got.Status, got.Voided)
	}
	if a := lastAction(t, h, held); a.Kind != "void" {
		t.Errorf("journal kind %q, want void", a.Kind)
	}
	mustContain(t, staff.get("/payments/"+direct.PublicID), "Tranzzo cancels only unpaid payments made on its hosted page; this one was not (mode direct).")
}

func TestRoleCannotActButServerRefusesAnyway(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 0})
	fran := h.signedIn("fran")
	show := fran.get("/payments/" + p.PublicID)
	mustContain(t, show, "Your role cannot expire payments")
	if strings.Contains(show.body, `data-testid="do-expire"`) {
		t.Errorf("finance sees the expire button")
	}
	r := fran.noFollow().post("/payments/"+p.PublicID+"/expire", url.Values{"idempotency_key": {strings.Repeat("a", 32)}})
	if r.status != http.StatusForbidden {
		t.Errorf("finance POST expire: %d, want 403", r.status)
	}
	if got := h.payment(p).SessionStatus; got != "open" {
		t.Errorf("session %s after a refused request", got)
	}
	entries, _ := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "refused"})
	if len(entries) == 0 {
		t.Errorf("the refusal was not audited")
	}
}

func TestStepUpBeforeMoneyMovesComesBackToTheForm(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 9000})
	staff := h.signedIn("sam")
	form := staff.get("/payments/" + p.PublicID + "/refund")
	key := formKey(t, form)
	h.clock.Advance(20 * 60e9) // 20 minutes: older than the 15-minute step-up age

	r := staff.post("/payments/"+p.PublicID+"/refund", url.Values{"idempotency_key": {key}, "amount": {"12.34"}, "reason": {"other"}, "note": {"customer called twice"}})
	// The browser was sent to sign in again (prompt=login) and lands on the login page.
	if !strings.Contains(r.body, `data-testid="login-form"`) {
		t.Fatalf("an old sign-in was not sent to sign in again: %s %.300s", r.url, text(r.body))
	}
	if len(h.bpc.Requests()) != 0 {
		t.Fatalf("the provider was called before the step-up")
	}
	back := staff.submitLogin(r, "sam")
	if back.url.Path != "/payments/"+p.PublicID+"/refund" {
		t.Fatalf("after signing in again the user is at %s, want the refund form", back.url)
	}
	if got := attr(back.body, "refund-amount", "value"); got != "12.34" {
		t.Errorf("amount after step-up %q, want what was typed (12.34)", got)
	}
	mustContain(t, back, "customer called twice")
	if got := formKey(t, back); got != key {
		t.Errorf("the idempotency key changed across the step-up")
	}
	done := staff.post("/payments/"+p.PublicID+"/refund", url.Values{"idempotency_key": {key}, "amount": {"12.34"}, "reason": {"other"}, "note": {"customer called twice"}})
	mustContain(t, done, "Refund of 12.34 EUR: done")
}

func TestRefreshRecordsWhatChanged(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 8}) // requiresCapture
	if err := h.bpc.SetPaymentStatus(p.PaymentID, "canceled"); err != nil {
		t.Fatal(err)
	}
	staff := h.signedIn("fran") // finance may refresh: it only reads the provider
	r := staff.post("/payments/"+p.PublicID+"/refresh", nil)
	mustContain(t, r, "Refreshed from BPC", "requiresCapture → canceled")
	if got := h.payment(p).Status; got != providers.StatusCancelled {
		t.Errorf("status %s after refresh", got)
	}
	r = staff.post("/payments/"+p.PublicID+"/refresh", nil)
	mustContain(t, r, "nothing changed")
	h.bpc.FailNext(2, simfault.HTMLPage)
	r = staff.post("/payments/"+p.PublicID+"/refresh", nil)
	mustContain(t, r, "could not be read", "Nothing was changed.")
	mustNotContain(t, r, "<html", "nginx")
}

func bpcURL(t *testing.T, h *harness) string {
	t.Helper()
	return h.bpcURL
}

// checkQRDrawn decodes the PNG and checks that its dark modules span most of the image
// (a code drawn at one pixel per module in a corner of a large image is unreadable).
func checkQRDrawn(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	bounds := img.Bounds()
	minX, maxX := bounds.Max.X, bounds.Min.X
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				minX, maxX = min(minX, x), max(maxX, x)
			}
		}
	}
	if span := maxX - minX; span < bounds.Dx()*6/10 {
		t.Errorf("QR modules span %d of %d pixels: the code is not drawn at its scale", span, bounds.Dx())
	}
}
