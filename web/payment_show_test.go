package web_test

import (
	"context"
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
	mustContain(t, r,
		"BPC payment "+p.PublicID,
		"Grace Hopper", "grace@example.com",
		"Payment id "+p.PaymentID, "Session id "+p.SessionID,
		"Reference "+p.MerchantReference,
		"Card •••• "+p.CardLast4,
		"Created 2025-05-04 10:30 UTC",
		"Session status completed",
	)
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
	mustContain(t, r, "Status paid BPC status succeeded")
	// Copy buttons carry the ids, for pasting into tickets.
	for _, id := range []string{p.PublicID, p.PaymentID, p.SessionID} {
		if !strings.Contains(r.body, `data-copy="`+id+`"`) {
			t.Errorf("no copy button for %s", id)
		}
	}

	// Powens: state_detail and error codes are shown as the provider wrote them, with
	// whether an instruction is instant.
	pw := h.add(powens.Name, spec{variant: 4})
	r = b.get("/payments/" + pw.PublicID)
	if got := testidText(r.body, "state-detail"); got != "cancelling_webauth" {
		t.Errorf("state detail %q", got)
	}
	mustContain(t, r, "Status cancelling Powens status pending", "Instant instruction no")
	pw = h.add(powens.Name, spec{variant: 9})
	r = b.get("/payments/" + pw.PublicID)
	if got := testidText(r.body, "error-code"); got != "insufficientFunds" {
		t.Errorf("error code %q", got)
	}
	mustContain(t, r, "Status failed Powens status rejected")
	pw = h.add(powens.Name, spec{variant: 3})
	mustContain(t, b.get("/payments/"+pw.PublicID), "Instant instruction yes")

	// Tranzzo: method, mode, order id.
	tz := h.add(tranzzo.Name, spec{variant: 8})
	r = b.get("/payments/" + tz.PublicID)
	mustContain(t, r, "Order id "+tz.OrderID, "Method auth", "Mode hosted", "Authorisation voided", "Status cancelled Tranzzo status success")

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

// TestPaymentPageAmounts: paid, captured, refunded and what is still refundable, in the
// payment's currency.
func TestPaymentPageAmounts(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	tests := []struct {
		name                                 string
		provider                             providers.Name
		s                                    spec
		status                               string
		paid, captured, refunded, refundable string
	}{
		{"BPC partly refunded", bpc.Name, spec{variant: 3, currency: "EUR", amount: 100000}, "partially refunded",
			"1,000.00 EUR", "1,000.00 EUR", "350.00 EUR", "650.00 EUR"},
		{"BPC fully refunded", bpc.Name, spec{variant: 4, currency: "EUR", amount: 100001}, "refunded",
			"1,000.01 EUR", "1,000.01 EUR", "1,000.01 EUR", "0.00 EUR"},
		{"BPC paid, yen", bpc.Name, spec{variant: 2, currency: "JPY", amount: 15000}, "paid",
			"15,000 JPY", "15,000 JPY", "0 JPY", "15,000 JPY"},
		{"BPC authorised, not captured", bpc.Name, spec{variant: 8, currency: "GBP", amount: 4200}, "authorized",
			"42.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP"},
		{"Tranzzo partly refunded, dinar", tranzzo.Name, spec{variant: 5, currency: "BHD", amount: 90000}, "partially refunded",
			"90.000 BHD", "90.000 BHD", "30.000 BHD", "60.000 BHD"},
		{"Tranzzo auth captured", tranzzo.Name, spec{variant: 9, currency: "UAH", amount: 250000}, "paid",
			"2,500.00 UAH", "2,500.00 UAH", "0.00 UAH", "2,500.00 UAH"},
		{"Tranzzo failed", tranzzo.Name, spec{variant: 10, currency: "XTS", amount: 5000}, "failed",
			"50.00 XTS", "0.00 XTS", "0.00 XTS", "0.00 XTS"},
		// Powens takes the money but has no refunds: nothing is refundable.
		{"Powens done", powens.Name, spec{variant: 7, currency: "EUR", amount: 5090}, "paid",
			"50.90 EUR", "50.90 EUR", "0.00 EUR", "0.00 EUR"},
		{"Powens pending", powens.Name, spec{variant: 2, currency: "GBP", amount: 5090}, "processing",
			"50.90 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.add(tt.provider, tt.s)
			r := b.get("/payments/" + p.PublicID)
			if got := testidText(r.body, "status"); got != tt.status {
				t.Errorf("status %q, want %q", got, tt.status)
			}
			amounts := regexpFind(r.body, `(?s)data-testid="amounts">(.*?)</dl>`)
			want := "Paid " + tt.paid + " Captured " + tt.captured + " Refunded " + tt.refunded + " Still refundable " + tt.refundable
			if got := text(amounts); got != want {
				t.Errorf("amounts:\n got %s\nwant %s", got, want)
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
// sentence starting with "+" is an available action's description (a button is shown).
type eligibilityCase struct {
	name                   string
	provider               providers.Name
	variant                int
	cancel, expire, refund string
}

var eligibilityCases = []eligibilityCase{
	{"Powens created", powens.Name, 0,
		"+Powens will cancel the payment, or ask the payer to confirm through a link.",
		"Powens has no expire action: Powens sets the expired state itself.",
		"Powens has no refunds: an open-banking transfer cannot be reversed through its API."},
	{"Powens pending", powens.Name, 2,
		"+Powens will cancel the payment if the payer's bank allows it, possibly after the payer confirms through a link.",
		"Powens has no expire action: Powens sets the expired state itself.",
		"Powens has no refunds: an open-banking transfer cannot be reversed through its API."},
	{"Powens pending instant", powens.Name, 3,
		"Powens cannot cancel a pending payment with an instant instruction.",
		"Powens has no expire action: Powens sets the expired state itself.",
		"Powens has no refunds: an open-banking transfer cannot be reversed through its API."},
	{"Powens cancelling", powens.Name, 4,
		"A cancellation is already waiting for the payer to confirm; send them the payer link (or make a new one).",
		"Powens has no expire action: Powens sets the expired state itself.",
		"Powens has no refunds: an open-banking transfer cannot be reversed through its API."},
	{"Powens accepted", powens.Name, 6,
		"Powens cancels only created or pending payments; this one is accepted.", "", ""},
	{"Powens done", powens.Name, 7,
		"Powens cancels only created or pending payments; this one is done.", "", ""},
	{"Powens expired", powens.Name, 10,
		"Powens cancels only created or pending payments; this one is expired.", "", ""},
	{"Powens unknown", powens.Name, 12,
		`Powens status "processing_v2" is unknown to Paydesk, so no action is offered.`,
		`Powens status "processing_v2" is unknown to Paydesk, so no action is offered.`,
		`Powens status "processing_v2" is unknown to Paydesk, so no action is offered.`},
	{"BPC open session", bpc.Name, 0,
		"BPC cancels payments, and this session (open) has none; expire the session instead.",
		"+BPC will expire the session; no further payment is possible on it.",
		"BPC refunds only captured payments (succeeded); this one is a session with no payment."},
	{"BPC expired session", bpc.Name, 1,
		"BPC cancels payments, and this session (expired) has none; expire the session instead.",
		"BPC expires only open sessions; this one is expired.",
		"BPC refunds only captured payments (succeeded); this one is a session with no payment."},
	{"BPC completed and paid", bpc.Name, 2,
		"BPC cancels only before capture (requiresPaymentMethod, requiresAction, requiresCapture); this payment is succeeded.",
		"BPC expires only open sessions; this one is completed.",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"BPC fully refunded", bpc.Name, 4, "", "",
		"Everything captured (1,000.00 EUR) has been refunded already."},
	{"BPC requires payment method", bpc.Name, 5,
		"+BPC will cancel the payment before any capture.",
		"BPC expires hosted-page sessions, and this payment has none.",
		"BPC refunds only captured payments (succeeded); this one is requiresPaymentMethod."},
	{"BPC requires action", bpc.Name, 6, "+BPC will cancel the payment before any capture.", "", ""},
	{"BPC requires confirmation", bpc.Name, 7,
		"BPC cancels only before capture (requiresPaymentMethod, requiresAction, requiresCapture); this payment is requiresConfirmation.", "", ""},
	{"BPC requires capture", bpc.Name, 8,
		"+BPC will cancel the payment and release the held amount to the customer.",
		"BPC expires only open sessions; this one is completed.",
		"BPC refunds only captured payments (succeeded); this one is requiresCapture."},
	{"BPC processing", bpc.Name, 9,
		"BPC cancels only before capture (requiresPaymentMethod, requiresAction, requiresCapture); this payment is processing.", "", ""},
	{"BPC canceled", bpc.Name, 10, "", "", "BPC refunds only captured payments (succeeded); this one is canceled."},
	{"BPC failed", bpc.Name, 11, "", "", "BPC refunds only captured payments (succeeded); this one is failed."},
	{"BPC direct succeeded", bpc.Name, 12, "",
		"BPC expires hosted-page sessions, and this payment has none.",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"BPC unknown", bpc.Name, 13,
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.`,
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.`,
		`BPC status "underReview" is unknown to Paydesk, so no action is offered.`},
	{"Tranzzo hosted purchase init", tranzzo.Name, 0,
		"+Tranzzo will cancel the unpaid hosted payment.",
		"Tranzzo has no expire action; an unpaid hosted payment is cancelled instead.",
		"Tranzzo refunds only successful purchases or captures; this one is purchase init."},
	{"Tranzzo hosted auth init", tranzzo.Name, 1, "+Tranzzo will cancel the unpaid hosted payment.", "",
		"Tranzzo refunds only successful purchases or captures; this one is auth init."},
	{"Tranzzo direct init", tranzzo.Name, 2, "Tranzzo cancels only unpaid hosted payments; this one is direct.", "", ""},
	{"Tranzzo pending", tranzzo.Name, 3,
		"Tranzzo cancels only unpaid hosted payments (init) or voids held authorisations (auth, success); this one is purchase pending.", "",
		"Tranzzo refunds only successful purchases or captures; this one is purchase pending."},
	{"Tranzzo purchase success", tranzzo.Name, 4,
		"Tranzzo cancels only unpaid hosted payments (init) or voids held authorisations (auth, success); this one is purchase success.",
		"Tranzzo has no expire action; an unpaid hosted payment is cancelled instead.",
		"+Up to 1,000.00 EUR can be refunded. Refunds from 500.00 EUR need a manager's approval."},
	{"Tranzzo fully refunded", tranzzo.Name, 6, "", "", "Everything captured (1,000.00 EUR) has been refunded already."},
	{"Tranzzo auth held", tranzzo.Name, 7,
		"+Tranzzo will void the authorisation; the full held amount goes back to the customer.", "",
		"Tranzzo refunds only successful purchases or captures; this one is auth success."},
	{"Tranzzo auth voided", tranzzo.Name, 8,
		"This authorisation is already voided.", "",
		"Tranzzo refunds only successful purchases or captures; this one is voided."},
	{"Tranzzo failed", tranzzo.Name, 10, "", "",
		"Tranzzo refunds only successful purchases or captures; this one is purchase failure."},
	{"Tranzzo hosted cancelled", tranzzo.Name, 11,
		"Tranzzo cancels only unpaid hosted payments (init) or voids held authorisations (auth, success); this one is purchase failure.", "", ""},
	{"Tranzzo unknown", tranzzo.Name, 12,
		`Tranzzo status "processing" is unknown to Paydesk, so no action is offered.`,
		`Tranzzo status "processing" is unknown to Paydesk, so no action is offered.`,
		`Tranzzo status "processing" is unknown to Paydesk, so no action is offered.`},
}

// TestPaymentPageEligibility: for each provider's states, the panel shows either the
// action's button or the reason, naming the rule, that it is not available.
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
		{done, "refund", "Powens has no refunds: an open-banking transfer cannot be reversed through its API."},
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
	if got, want := testidText(r.body, "why-cancel"), "A cancel on this payment is pending: Paydesk starts nothing else until its outcome is known."; got != want {
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
