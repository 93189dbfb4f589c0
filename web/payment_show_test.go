package web_test

import (
	"context"
	"fmt"
	"net/http"
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

// testidText is what a person reads inside the first element carrying data-testid=id.
func testidText(body, id string) string {
	re := regexp.MustCompile(`(?s)<([a-z0-9]+)[^>]*data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</([a-z0-9]+)>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return text(m[2])
}

// TestPaymentPageSummary: who paid, how much, through which ids, in which status.
func TestPaymentPageSummary(t *testing.T) {
	h := newHarness(t)
	created := time.Date(2025, 5, 4, 10, 30, 0, 0, time.UTC)
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 123456, name: "Grace Hopper", email: "grace@example.com", created: created})
	b := h.signedIn("sam")
	r := b.get("/payments/" + p.PublicID)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	// The head leads with what a payments dashboard leads with: the amount, the status,
	// the customer, the provider and how they paid; the Paydesk id comes after, copyable.
	if got := testidText(r.body, "head-amount"); got != "1,234.56 EUR" {
		t.Errorf("head amount %q, want 1,234.56 EUR", got)
	}
	head := text(regexpFind(r.body, `(?s)data-testid="payment-head">(.*?)</header>`))
	if want := "1,234.56 EUR paid Grace Hopper grace@example.com BPC · card •••• " + p.CardLast4 + " · Paydesk id " + p.PublicID + " Copy"; head != want {
		t.Errorf("head:\n got %q\nwant %q", head, want)
	}
	if strings.Index(r.body, `data-testid="head-amount"`) > strings.Index(r.body, `data-testid="public-id"`) {
		t.Errorf("the Paydesk id comes before the amount")
	}
	mustNotContain(t, r, "BPC payment "+p.PublicID)
	mustContain(t, r,
		"Grace Hopper", "grace@example.com",
		"Payment id "+p.PaymentID, "Session id "+p.SessionID,
		"Reference "+p.MerchantReference,
		"Card •••• "+p.CardLast4,
		"Created 2025-05-04 10:30 UTC",
		// The session status in words, its code beside them.
		"Session status completed: it led to a payment completed",
	)
	if got := testidText(r.body, "session-status"); got != "completed" {
		t.Errorf("session status code %q, want completed", got)
	}
	if got := testidText(r.body, "public-id"); got != p.PublicID {
		t.Errorf("public id %q", got)
	}
	// Raw next to normalised.
	if got := testidText(r.body, "raw-status"); got != "succeeded" {
		t.Errorf("raw status %q, want succeeded", got)
	}
	if got := testidText(r.body, "status"); got != "paid" {
		t.Errorf("normalised status %q, want paid", got)
	}
	mustContain(t, r, "Status paid BPC status captured succeeded")
	// Copy buttons carry the ids, for pasting into tickets.
	for _, id := range []string{p.PublicID, p.PaymentID, p.SessionID} {
		if !strings.Contains(r.body, `data-copy="`+id+`"`) {
			t.Errorf("no copy button for %s", id)
		}
	}

	// A BPC session not paid yet: its status is the session's, in words as well.
	open := h.add(bpc.Name, spec{variant: 0})
	mustContain(t, b.get("/payments/"+open.PublicID),
		"BPC status open: the payer can still pay on it open", "Session status open: the payer can still pay on it open")

	// Powens: state_detail and error codes are shown as the provider wrote them, with
	// whether an instruction is instant.
	pw := h.add(powens.Name, spec{variant: 4})
	r = b.get("/payments/" + pw.PublicID)
	if got := testidText(r.body, "state-detail"); got != "cancelling_webauth" {
		t.Errorf("state detail %q", got)
	}
	mustContain(t, r, "Status cancelling Powens status validated, waiting to be executed pending",
		"State detail a cancellation waits for the payer to confirm it on Powens' page cancelling_webauth", "Instant instruction no")
	pw = h.add(powens.Name, spec{variant: 9})
	r = b.get("/payments/" + pw.PublicID)
	if got := testidText(r.body, "error-code"); got != "insufficientFunds" {
		t.Errorf("error code %q", got)
	}
	mustContain(t, r, "Status failed Powens status rejected rejected", "Powens code insufficient funds insufficientFunds")
	pw = h.add(powens.Name, spec{variant: 3})
	mustContain(t, b.get("/payments/"+pw.PublicID), "Instant instruction yes")

	// Tranzzo: method, mode, order id.
	tz := h.add(tranzzo.Name, spec{variant: 8})
	r = b.get("/payments/" + tz.PublicID)
	mustContain(t, r, "Order id "+tz.OrderID, "Method authorisation: held on the card, captured later auth",
		"Mode on Tranzzo's payment page hosted", "Authorisation voided", "Status cancelled Tranzzo status successful success")
	if got := testidText(r.body, "method") + " " + testidText(r.body, "mode"); got != "auth hosted" {
		t.Errorf("method and mode codes %q, want auth hosted (in <code>, beside the words)", got)
	}

	// An unknown status is shown verbatim, with a sentence saying why nothing is offered.
	u := h.add(bpc.Name, spec{variant: 13})
	r = b.get("/payments/" + u.PublicID)
	if got := testidText(r.body, "raw-status"); got != "underReview" {
		t.Errorf("raw status of an unknown one %q", got)
	}
	if got := testidText(r.body, "attention"); !strings.Contains(got, `BPC reported a status Paydesk does not know ("underReview")`) {
		t.Errorf("attention: %q", got)
	}
}

func TestPaymentPageNotFound(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	for _, path := range []string{"/payments/pd_doesnotexist", "/payments/42", "/payments/pd_%27%20OR%201%3D1", "/payments/PD_ABC"} {
		r := b.get(path)
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.status)
		}
		mustNotContain(t, r, "sql", "SELECT", "storage:")
	}
}

// TestPaymentPageAmounts: the amounts are labelled by what they are, in the payment's
// currency, and only those that apply are shown: nothing "paid" on a payment that took
// nothing, what an authorisation holds, refundable only where the provider refunds.
func TestPaymentPageAmounts(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	tests := []struct {
		name     string
		provider providers.Name
		s        spec
		status   string
		amounts  string
	}{
		{"BPC partly refunded", bpc.Name, spec{variant: 3, currency: "EUR", amount: 100000}, "partially refunded",
			"Amount 1,000.00 EUR Captured 1,000.00 EUR Refunded 350.00 EUR Refundable 650.00 EUR"},
		{"BPC fully refunded", bpc.Name, spec{variant: 4, currency: "EUR", amount: 100001}, "refunded",
			"Amount 1,000.01 EUR Captured 1,000.01 EUR Refunded 1,000.01 EUR Refundable 0.00 EUR"},
		{"BPC paid, yen", bpc.Name, spec{variant: 2, currency: "JPY", amount: 15000}, "paid",
			"Amount 15,000 JPY Captured 15,000 JPY Refundable 15,000 JPY"},
		{"BPC authorised, not captured", bpc.Name, spec{variant: 8, currency: "GBP", amount: 4200}, "authorised",
			"Amount 42.00 GBP Authorised 42.00 GBP held on the customer's card, not captured: nothing was taken yet"},
		{"BPC cancelled", bpc.Name, spec{variant: 10, currency: "EUR", amount: 4200}, "cancelled", "Amount 42.00 EUR"},
		{"BPC unknown", bpc.Name, spec{variant: 13, currency: "EUR", amount: 4200}, "unknown", "Amount 42.00 EUR"},
		{"Tranzzo partly refunded, dinar", tranzzo.Name, spec{variant: 5, currency: "BHD", amount: 90000}, "partially refunded",
			"Amount 90.000 BHD Captured 90.000 BHD Refunded 30.000 BHD Refundable 60.000 BHD"},
		{"Tranzzo auth captured", tranzzo.Name, spec{variant: 9, currency: "UAH", amount: 250000}, "paid",
			"Amount 2,500.00 UAH Captured 2,500.00 UAH Refundable 2,500.00 UAH"},
		{"Tranzzo auth voided", tranzzo.Name, spec{variant: 8, currency: "UAH", amount: 250000}, "cancelled",
			"Amount 2,500.00 UAH Authorised 2,500.00 UAH voided: the hold was released, nothing was taken"},
		{"Tranzzo failed", tranzzo.Name, spec{variant: 10, currency: "XTS", amount: 5000}, "failed", "Amount 50.00 XTS"},
		// Powens takes the money but has no refunds: nothing is said to be refundable.
		{"Powens done", powens.Name, spec{variant: 7, currency: "EUR", amount: 5090}, "paid",
			"Amount 50.90 EUR Captured 50.90 EUR"},
		{"Powens pending", powens.Name, spec{variant: 2, currency: "GBP", amount: 5090}, "processing", "Amount 50.90 GBP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.add(tt.provider, tt.s)
			r := b.get("/payments/" + p.PublicID)
			if got := testidText(r.body, "status"); got != tt.status {
				t.Errorf("status %q, want %q", got, tt.status)
			}
			amounts := regexpFind(r.body, `(?s)data-testid="amounts">(.*?)</dl>`)
			if got := text(amounts); got != tt.amounts {
				t.Errorf("amounts:\n got %s\nwant %s", got, tt.amounts)
			}
			if strings.Contains(text(amounts), "Paid") {
				t.Errorf("an amount is labelled Paid: %s", text(amounts))
			}
		})
	}
}

// TestPaymentPageAmountsReserved: money in flight or awaiting approval is not refundable
// again, and says so.
func TestPaymentPageAmountsReserved(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 100000})
	_, _, err := h.db.RequestRefund(context.Background(), storage.RefundRequest{
		PaymentID: p.ID, Amount: 60000, Reason: "requested_by_customer", RequestedBy: "sam@example.com",
		IdempotencyKey: strings.Repeat("a", 32), NeedsApproval: true, ApprovalTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := h.signedIn("sam").get("/payments/" + p.PublicID)
	if got, want := testidText(r.body, "refundable"), "400.00 EUR"; got != want {
		t.Errorf("refundable %q, want %q", got, want)
	}
	mustContain(t, r, "In flight or awaiting approval 600.00 EUR", "Up to 400.00 EUR can be refunded.")
}

// eligibilityCase is one payment and what the eligibility panel must say of it. A
// sentence starting with "+" is an available action's description (a button is shown);
// "-" says the provider has no such action, so the panel has no row for it; "~" starts the
// one line that says why a provider has no refunds at all.
type eligibilityCase struct {
	name                   string
	provider               providers.Name
	variant                int
	cancel, expire, refund string
}

const (
	powensNoRefund = "~Powens has no refunds: an open-banking transfer cannot be reversed through its API. To give the money back, pay the customer by a new transfer outside Paydesk."
	unknownNext    = " Refresh it from %[1]s; if it stays unknown, look the payment up in %[1]s's own dashboard."
)

var eligibilityCases = []eligibilityCase{
	{"Powens created", powens.Name, 0,
		"+Powens will cancel the payment, or ask the payer to confirm through a link.", "-", powensNoRefund},
	{"Powens pending", powens.Name, 2,
		"+Powens will cancel the payment if the payer's bank allows it, possibly after the payer confirms through a link.", "-", powensNoRefund},
	{"Powens pending instant", powens.Name, 3,
		"Powens cannot cancel a pending payment with an instant instruction: the payer's bank executes it at once.", "-", powensNoRefund},
	{"Powens cancelling", powens.Name, 4,
		"A cancellation is already waiting for the payer to confirm it through a payer link: see “Payer confirmation links” below.", "-", powensNoRefund},
	{"Powens accepted", powens.Name, 6,
		"Powens cancels only payments not executed yet (created or pending); this one is initiated; the bank sends no further update (accepted).", "-", ""},
	{"Powens done", powens.Name, 7,
		"Powens cancels only payments not executed yet (created or pending); this one is executed by the payer's bank (done).", "", ""},
	{"Powens expired", powens.Name, 10,
		"Powens cancels only payments not executed yet (created or pending); this one is expired (expired).", "", ""},
	{"Powens unknown", powens.Name, 12,
		`Powens status "processing_v2" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "Powens"), "-",
		`~Powens status "processing_v2" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "Powens")},
	{"BPC open session", bpc.Name, 0,
		"BPC cancels payments, and this session (open) has none; expire the session instead.",
		"+BPC will expire the session; no further payment is possible on it.",
		"BPC refunds only captured payments; this one is a session with no payment."},
	{"BPC expired session", bpc.Name, 1,
		"BPC cancels payments, and this session (expired) has none; expire the session instead.",
		"BPC expires only open sessions; this one is expired.",
		"BPC refunds only captured payments; this one is a session with no payment."},
	{"BPC completed and paid", bpc.Name, 2,
		"BPC cancels only before capture (while waiting for the card, the payer's authentication or the capture); this payment is captured (succeeded).",
		"BPC expires only open sessions; this one is completed.",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"BPC fully refunded", bpc.Name, 4, "", "",
		"Everything captured (1,000.00 EUR) has been refunded already."},
	{"BPC requires payment method", bpc.Name, 5,
		"+BPC will cancel the payment before any capture.",
		"BPC expires hosted-page sessions, and this payment has none.",
		"BPC refunds only captured payments; this one is waiting for the payer's card (requiresPaymentMethod)."},
	{"BPC requires action", bpc.Name, 6, "+BPC will cancel the payment before any capture.", "", ""},
	{"BPC requires confirmation", bpc.Name, 7,
		"BPC cancels only before capture (while waiting for the card, the payer's authentication or the capture); this payment is waiting for confirmation (requiresConfirmation).", "", ""},
	{"BPC requires capture", bpc.Name, 8,
		"+BPC will cancel the payment and release the held amount to the customer.",
		"BPC expires only open sessions; this one is completed.",
		"BPC refunds only captured payments; this one is authorised, not captured (requiresCapture)."},
	{"BPC processing", bpc.Name, 9,
		"BPC cancels only before capture (while waiting for the card, the payer's authentication or the capture); this payment is processing (processing).", "", ""},
	{"BPC canceled", bpc.Name, 10, "", "", "BPC refunds only captured payments; this one is cancelled (canceled)."},
	{"BPC failed", bpc.Name, 11, "", "", "BPC refunds only captured payments; this one is failed (failed)."},
	{"BPC direct succeeded", bpc.Name, 12, "",
		"BPC expires hosted-page sessions, and this payment has none.",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"BPC unknown", bpc.Name, 13,
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "BPC"),
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "BPC"),
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "BPC")},
	{"Tranzzo hosted purchase init", tranzzo.Name, 0,
		"+Tranzzo will cancel the unpaid hosted payment.", "-",
		"Tranzzo refunds only successful purchases or captures; this one is an unpaid purchase (purchase, init)."},
	{"Tranzzo hosted auth init", tranzzo.Name, 1, "+Tranzzo will cancel the unpaid hosted payment.", "-",
		"Tranzzo refunds only successful purchases or captures; this one is an unpaid authorisation (auth, init)."},
	{"Tranzzo direct init", tranzzo.Name, 2, "Tranzzo cancels only unpaid payments made on its hosted page; this one was not (mode direct).", "-", ""},
	{"Tranzzo pending", tranzzo.Name, 3,
		"Tranzzo cancels only unpaid hosted payments or voids held authorisations; this one is a purchase still processing (purchase, pending).", "-",
		"Tranzzo refunds only successful purchases or captures; this one is a purchase still processing (purchase, pending)."},
	{"Tranzzo purchase success", tranzzo.Name, 4,
		"Tranzzo cancels only unpaid hosted payments or voids held authorisations; this one is a successful purchase (purchase, success).", "-",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"Tranzzo fully refunded", tranzzo.Name, 6, "", "-", "Everything captured (1,000.00 EUR) has been refunded already."},
	{"Tranzzo auth held", tranzzo.Name, 7,
		"+Tranzzo will void the authorisation; the full held amount goes back to the customer.", "-",
		"Tranzzo refunds only successful purchases or captures; this one is a held authorisation (auth, success). To give the money back, cancel it: the held amount is released."},
	{"Tranzzo auth voided", tranzzo.Name, 8,
		"This authorisation is already voided.", "-",
		"Tranzzo refunds only successful purchases or captures; this one is a voided authorisation."},
	{"Tranzzo failed", tranzzo.Name, 10, "", "-",
		"Tranzzo refunds only successful purchases or captures; this one is a failed purchase (purchase, failure)."},
	{"Tranzzo hosted cancelled", tranzzo.Name, 11,
		"Tranzzo cancels only unpaid hosted payments or voids held authorisations; this one is a failed purchase (purchase, failure).", "-", ""},
	{"Tranzzo unknown", tranzzo.Name, 12,
		`Tranzzo status "processing" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "Tranzzo"), "-",
		`Tranzzo status "processing" is unknown to Paydesk, so no action is offered.` + fmt.Sprintf(unknownNext, "Tranzzo")},
}

// TestPaymentPageEligibility: for each provider's states, the panel shows either the
// action's button or the reason, naming the rule, that it is not available; an action
// the provider does not have at all (Powens' and Tranzzo's expire) has no row.
func TestPaymentPageEligibility(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	for _, tt := range eligibilityCases {
		t.Run(tt.name, func(t *testing.T) {
			p := h.add(tt.provider, spec{variant: tt.variant, currency: "EUR", amount: 100000})
			r := b.get("/payments/" + p.PublicID)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			for _, c := range []struct {
				action, want string
			}{{"cancel", tt.cancel}, {"expire", tt.expire}, {"refund", tt.refund}} {
				if c.want == "" {
					continue
				}
				item := text(regexpFind(r.body, `(?s)<li data-testid="action-`+c.action+`">(.*?)</li>`))
				button := attr(r.body, "do-"+c.action, "href")
				if c.want == "-" || strings.HasPrefix(c.want, "~") {
					if strings.Contains(r.body, `data-testid="action-`+c.action+`"`) || button != "" {
						t.Errorf("%s: %s has no such action, but the panel shows it: %q", c.action, p.Provider, item)
					}
					if note, ok := strings.CutPrefix(c.want, "~"); ok {
						if got := testidText(r.body, "why-"+c.action); got != note {
							t.Errorf("%s: note\n got %q\nwant %q", c.action, got, note)
						}
					}
					if c.action == "expire" && strings.Contains(text(regexpFind(r.body, `(?s)data-testid="eligibility">(.*?)</section>`)), "Expire") {
						t.Errorf("the panel speaks of expiring a %s payment", p.Provider)
					}
					continue
				}
				if allowed, ok := strings.CutPrefix(c.want, "+"); ok {
					if button != "/payments/"+p.PublicID+"/"+c.action {
						t.Errorf("%s: no button (href %q); the panel says %q", c.action, button, item)
					}
					if !strings.Contains(item, allowed) {
						t.Errorf("%s: got %q, want it to say %q", c.action, item, allowed)
					}
					continue
				}
				if button != "" {
					t.Errorf("%s: a button is shown, want the reason %q", c.action, c.want)
				}
				if got := testidText(r.body, "why-"+c.action); got != c.want {
					t.Errorf("%s: reason\n got %q\nwant %q", c.action, got, c.want)
				}
				if !strings.Contains(item, "not available") {
					t.Errorf("%s: the panel does not say it is not available: %q", c.action, item)
				}
			}
		})
	}
}

// TestPaymentPageEligibilityByRole: finance sees why it may not act; Paydesk's own rules
// (an action in flight, money reserved) come on top of the provider's.
func TestPaymentPageEligibilityByRole(t *testing.T) {
	h := newHarness(t)
	paid := h.add(bpc.Name, spec{variant: 2})
	open := h.add(bpc.Name, spec{variant: 0})
	held := h.add(tranzzo.Name, spec{variant: 7})
	done := h.add(powens.Name, spec{variant: 7})

	fran := h.signedIn("fran")
	tests := []struct {
		p              storage.Payment
		action, reason string
	}{
		{paid, "refund", "Your role cannot refund payments; support staff and managers can."},
		{open, "expire", "Your role cannot expire payments; support staff and managers can."},
		{held, "cancel", "Your role cannot cancel payments; support staff and managers can."},
		// What the provider refuses is still explained by the provider's rule.
		{open, "cancel", "BPC cancels payments, and this session (open) has none; expire the session instead."},
		{done, "refund", powensNoRefund[1:]},
	}
	for _, tt := range tests {
		r := fran.get("/payments/" + tt.p.PublicID)
		if got := testidText(r.body, "why-"+tt.action); got != tt.reason {
			t.Errorf("%s %s as finance:\n got %q\nwant %q", tt.p.Provider, tt.action, got, tt.reason)
		}
		if strings.Contains(r.body, `data-testid="do-`) {
			t.Errorf("%s: finance is shown an action button", tt.p.Provider)
		}
	}
	// A manager has support's rights.
	r := h.signedIn("max").get("/payments/" + paid.PublicID)
	if attr(r.body, "do-refund", "href") == "" {
		t.Errorf("a manager is not offered the refund")
	}

	// An action in flight blocks every other one.
	ctx := context.Background()
	if _, err := h.db.StartAction(ctx, storage.Action{PaymentID: held.ID, Kind: "cancel", Actor: "sam@example.com", IdempotencyKey: strings.Repeat("b", 32)}); err != nil {
		t.Fatal(err)
	}
	r = h.signedIn("sam").get("/payments/" + held.PublicID)
	if got, want := testidText(r.body, "why-cancel"), "A cancel on this payment is in progress: Paydesk starts nothing else until its outcome is known."; got != want {
		t.Errorf("in flight:\n got %q\nwant %q", got, want)
	}
}

// TestPaymentPageTimeline: the timeline is the payment's stored events, newest first,
// each with when, who and what.
func TestPaymentPageTimeline(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 3, currency: "EUR", amount: 100000})
	ctx := context.Background()
	later := h.clock.Now().Add(time.Hour)
	if _, err := h.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, At: later, Actor: "webhook", Kind: "webhook", Message: "Webhook payment.succeeded received: verified"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, At: later.Add(time.Hour), Actor: "sam@example.com", Kind: "note", Message: `<script>alert("x")</script> checked with the customer`}); err != nil {
		t.Fatal(err)
	}
	r := h.signedIn("fran").get("/payments/" + p.PublicID)
	items := regexp.MustCompile(`(?s)<li data-kind="([^"]+)">(.*?)</li>`).FindAllStringSubmatch(r.body, -1)
	if len(items) != 3 {
		t.Fatalf("timeline has %d entries, want 3: %s", len(items), testidText(r.body, "timeline"))
	}
	want := []struct{ kind, text string }{
		{"note", `sam@example.com <script>alert("x")</script> checked with the customer`},
		{"webhook", later.UTC().Format("2006-01-02 15:04 UTC") + " webhook Webhook payment.succeeded received: verified"},
		{"imported", "import Imported from BPC: partially refunded, 1,000.00 EUR; refund "},
	}
	for i, w := range want {
		if items[i][1] != w.kind {
			t.Errorf("entry %d: kind %q, want %q", i, items[i][1], w.kind)
		}
		if got := text(items[i][2]); !strings.Contains(got, w.text) {
			t.Errorf("entry %d:\n got %q\nwant it to contain %q", i, got, w.text)
		}
	}
	if strings.Contains(r.body, `<script>alert`) {
		t.Error("an event's message reached the page unescaped")
	}
	if !strings.Contains(text(items[2][2]), "of 250.00 EUR succeeded") {
		t.Errorf("the import entry does not name the refunds: %s", text(items[2][2]))
	}
}
