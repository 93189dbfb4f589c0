package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// govRequestRefund asks for a refund through the real refund form, as a person would.
func govRequestRefund(t *testing.T, b *browser, p storage.Payment, amount, reason, note string) response {
	t.Helper()
	form := b.get("/payments/" + p.PublicID + "/refund")
	if form.status != http.StatusOK {
		t.Fatalf("refund form of %s: status %d: %.400s", p.PublicID, form.status, text(form.body))
	}
	return b.post("/payments/"+p.PublicID+"/refund", url.Values{
		"idempotency_key": {formKey(t, form)}, "amount": {amount}, "reason": {reason}, "note": {note},
	})
}

// govLastRefund is the newest refund of a payment.
func govLastRefund(t *testing.T, h *harness, p storage.Payment) storage.Refund {
	t.Helper()
	refunds, err := h.db.RefundsOfPayment(context.Background(), p.ID)
	if err != nil || len(refunds) == 0 {
		t.Fatalf("refunds of %s: %v, %d rows", p.PublicID, err, len(refunds))
	}
	return refunds[len(refunds)-1]
}

// govRefundCalls counts the refunds BPC was asked to make.
func govRefundCalls(h *harness) int {
	n := 0
	for _, req := range h.bpc.Requests() {
		if strings.HasPrefix(req, "POST /refunds") || (strings.HasPrefix(req, "POST /payments/") && strings.HasSuffix(req, "/refunds")) {
			n++
		}
	}
	return n
}

var (
	govSectionRe = regexp.MustCompile(`(?s)<section[^>]*data-testid="approval" data-refund="(\d+)">(.*?)</section>`)
	govHiddenRe  = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)"`)
)

// govApprovalSection returns the queue's section of one refund ("" when it is not listed).
func govApprovalSection(body string, refundID int64) string {
	for _, m := range govSectionRe.FindAllStringSubmatch(body, -1) {
		if m[1] == fmt.Sprint(refundID) {
			return m[2]
		}
	}
	return ""
}

// govApproveForm reads the approve form of one refund from the managers' queue.
func govApproveForm(t *testing.T, b *browser, refundID int64) url.Values {
	t.Helper()
	page := b.get("/approvals")
	sec := govApprovalSection(page.body, refundID)
	if sec == "" {
		t.Fatalf("refund %d is not in the queue: %.1500s", refundID, text(page.body))
	}
	form := url.Values{}
	for _, m := range govHiddenRe.FindAllStringSubmatch(sec, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	if form.Get("idempotency_key") == "" {
		t.Fatalf("no approve form for refund %d: %.800s", refundID, text(sec))
	}
	return form
}

func govApprove(t *testing.T, b *browser, refundID int64) response {
	t.Helper()
	return b.post(fmt.Sprintf("/approvals/%d/approve", refundID), govApproveForm(t, b, refundID))
}

func govRefundable(t *testing.T, b *browser, p storage.Payment) string {
	t.Helper()
	return strings.TrimSpace(regexpFind(b.get("/payments/"+p.PublicID).body, `data-testid="refundable">([^<]*)<`))
}

// TestApprovalThresholdAtTheEdge: a refund of exactly the threshold waits for a manager;
// one minor unit less runs at once — for 0-, 2- and 3-decimal currencies.
func TestApprovalThresholdAtTheEdge(t *testing.T) {
	tests := []struct {
		currency       string
		captured       int64
		below, at      string // one minor unit below the threshold, the threshold
		belowMinor     int64
		wantRefundable string // captured − below − at, reserved
	}{
		{"JPY", 200000, "79999", "80000", 79999, "40,001 JPY"},
		{"EUR", 200000, "499.99", "500.00", 49999, "1,000.01 EUR"},
		{"BHD", 300000, "100.499", "100.500", 100499, "99.001 BHD"},
	}
	h := newHarness(t, harnessOptions{thresholds: "EUR:500.00,JPY:80000,BHD:100.500"})
	staff := h.signedIn("sam")
	manager := h.signedIn("mia")
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			p := h.add(bpc.Name, spec{variant: 2, currency: tt.currency, amount: tt.captured})
			calls := govRefundCalls(h)

			r := govRequestRefund(t, staff, p, tt.below, "duplicate", "")
			mustContain(t, r, "Refund of "+providers.FormatMoney(tt.belowMinor, tt.currency)+": done")
			if got := govLastRefund(t, h, p); got.Status != "succeeded" || got.Amount != tt.belowMinor {
				t.Errorf("below the threshold: refund %s of %d, want succeeded at once", got.Status, got.Amount)
			}

			r = govRequestRefund(t, staff, p, tt.at, "goodwill", "")
			mustContain(t, r, "awaiting a manager's approval")
			waiting := govLastRefund(t, h, p)
			if waiting.Status != "awaiting_approval" {
				t.Fatalf("at the threshold: refund %s, want awaiting_approval", waiting.Status)
			}
			if got := govRefundCalls(h) - calls; got != 1 {
				t.Errorf("the provider got %d refund calls, want 1 (the one below the threshold)", got)
			}
			if got := govRefundable(t, staff, p); got != tt.wantRefundable {
				t.Errorf("refundable while awaiting = %q, want %q (the request's amount reserved)", got, tt.wantRefundable)
			}

			// The manager's button says the amount it sends, as the refund form's does.
			sec := govApprovalSection(manager.get("/approvals").body, waiting.ID)
			if got, want := testidText(sec, "approve-button"), "Approve and refund "+providers.FormatMoney(waiting.Amount, tt.currency); got != want {
				t.Errorf("approve button %q, want %q", got, want)
			}
			done := govApprove(t, manager, waiting.ID)
			mustContain(t, done, "Approved refund of "+providers.FormatMoney(waiting.Amount, tt.currency)+" on "+p.PublicID+": done")
			if got := govLastRefund(t, h, p); got.Status != "succeeded" || got.DecidedBy != "mia@paydesk.example" {
				t.Errorf("after approval: refund %s decided by %q, want succeeded by mia", got.Status, got.DecidedBy)
			}
			if got := govRefundCalls(h) - calls; got != 2 {
				t.Errorf("the provider got %d refund calls, want 2", got)
			}
		})
	}
}

// TestManagerCannotApproveOwnRequest: max asks, so max may neither approve nor reject —
// the page hides the forms and the server refuses a forged post; mia may.
func TestManagerCannotApproveOwnRequest(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	max := h.signedIn("max")
	mustContain(t, govRequestRefund(t, max, p, "600.00", "goodwill", ""), "awaiting a manager's approval")
	rf := govLastRefund(t, h, p)

	queue := max.get("/approvals")
	sec := govApprovalSection(queue.body, rf.ID)
	if sec == "" {
		t.Fatalf("max's own request is not listed in the queue: %.1000s", text(queue.body))
	}
	if strings.Contains(sec, `data-testid="approve-form"`) || strings.Contains(sec, `data-testid="reject-form"`) {
		t.Errorf("max sees decision forms on his own request")
	}
	if !strings.Contains(text(sec), "You asked for this refund, so you cannot approve or reject it") {
		t.Errorf("the queue does not say why max cannot decide: %s", text(sec))
	}

	// A forged approval, with everything an approval form would carry.
	forged := url.Values{"idempotency_key": {strings.Repeat("ab", 16)}, "refund_id": {fmt.Sprint(rf.ID)}, "payment": {p.PublicID},
		"amount_minor": {"60000"}, "currency": {"EUR"}, "reason": {"goodwill"}}
	r := max.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), forged)
	mustContain(t, r, "You asked for this refund of 600.00 EUR, so you cannot approve it")
	r = max.post(fmt.Sprintf("/approvals/%d/reject", rf.ID), url.Values{"decision_reason": {"changed my mind"}})
	mustContain(t, r, "so you cannot reject it")
	if got := govLastRefund(t, h, p); got.Status != "awaiting_approval" || got.DecidedBy != "" {
		t.Errorf("after max's attempts: refund %s decided by %q, want still awaiting", got.Status, got.DecidedBy)
	}
	if n := govRefundCalls(h); n != 0 {
		t.Errorf("the provider got %d refund calls, want none", n)
	}
	refused, err := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "refused", Actor: "max@paydesk.example"})
	if err != nil || len(refused) != 2 || !strings.Contains(refused[0].Message, "may not decide on their own request") {
		t.Errorf("audit of max's refused decisions = %+v, %v; want two entries", refused, err)
	}

	mia := h.signedIn("mia")
	mustContain(t, govApprove(t, mia, rf.ID), "Approved refund of 600.00 EUR on "+p.PublicID+": done")
	if got := govLastRefund(t, h, p); got.Status != "succeeded" || got.DecidedBy != "mia@paydesk.example" {
		t.Errorf("after mia's approval: %s by %q", got.Status, got.DecidedBy)
	}
	if n := govRefundCalls(h); n != 1 {
		t.Errorf("the provider got %d refund calls, want 1", n)
	}
}

// TestTwoManagersApprovingAtOnceRunOneRefund: max and mia press approve at the same
// moment; exactly one refund reaches the provider and the other is told who decided.
func TestTwoManagersApprovingAtOnceRunOneRefund(t *testing.T) {
	h := newHarness(t)
	for round := 0; round < 3; round++ {
		p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
		before := govRefundCalls(h)
		mustContain(t, govRequestRefund(t, h.signedIn("sam"), p, "900.00", "fraudulent", ""), "awaiting")
		rf := govLastRefund(t, h, p)
		managers := []*browser{h.signedIn("max"), h.signedIn("mia")}
		forms := []url.Values{govApproveForm(t, managers[0], rf.ID), govApproveForm(t, managers[1], rf.ID)}
		answers := make([]response, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range managers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				answers[i] = managers[i].post(fmt.Sprintf("/approvals/%d/approve", rf.ID), forms[i])
			}()
		}
		close(start)
		wg.Wait()
		if n := govRefundCalls(h) - before; n != 1 {
			t.Errorf("round %d: the provider got %d refund calls, want exactly 1", round, n)
		}
		done, refused := 0, 0
		for _, a := range answers {
			switch got := text(a.body); {
			case strings.Contains(got, "Approved refund of 900.00 EUR on "+p.PublicID+": done"):
				done++
			case strings.Contains(got, "was not approved and nothing was sent: already decided by"):
				refused++
			default:
				t.Errorf("round %d: unexpected answer: %.600s", round, got)
			}
		}
		if done != 1 || refused != 1 {
			t.Errorf("round %d: %d approvals done and %d refused, want 1 and 1", round, done, refused)
		}
		if got := h.payment(p).Refunded; got != 90000 {
			t.Errorf("round %d: refunded %d, want 90000 once", round, got)
		}
	}
}

// TestApprovalRefusedWhenBalanceShrank: between the request and the approval someone
// refunded at BPC directly; approving would over-refund, so it is refused in plain words.
func TestApprovalRefusedWhenBalanceShrank(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	staff := h.signedIn("sam")
	mustContain(t, govRequestRefund(t, staff, p, "600.00", "goodwill", ""), "awaiting")
	rf := govLastRefund(t, h, p)

	// 500.00 refunded from BPC's own dashboard (outside Paydesk), then learnt by a refresh.
	direct := httptest.NewServer(h.bpc)
	defer direct.Close()
	client, err := bpc.New(bpc.Config{BaseURL: direct.URL, APIKey: "bpc-key", Timeout: 5 * time.Second}, direct.Client())
	if err != nil {
		t.Fatal(err)
	}
	if out := client.Refund(context.Background(), providers.RefOf(p.Snapshot), providers.RefundRequest{Amount: 50000}); out.Kind != providers.Done {
		t.Fatalf("direct refund at BPC: %+v", out)
	}
	mustContain(t, staff.post("/payments/"+p.PublicID+"/refresh", nil), "Refreshed from BPC")
	calls := govRefundCalls(h)

	mia := h.signedIn("mia")
	queue := mia.get("/approvals")
	mustContain(t, queue, "The payment no longer covers this refund")
	r := govApprove(t, mia, rf.ID)
	mustContain(t, r, "The refund of 600.00 EUR on "+p.PublicID+" was not approved and nothing was sent: the balance shrank since the request: 600.00 EUR asked but only 500.00 EUR is refundable now.")
	if n := govRefundCalls(h) - calls; n != 0 {
		t.Errorf("the provider got %d refund calls, want none", n)
	}
	if got, _ := h.db.RefundByID(context.Background(), rf.ID); got.Status != "awaiting_approval" {
		t.Errorf("the refused request is %s, want still awaiting (a manager may reject it)", got.Status)
	}
	// It can still be rejected, which releases the reservation.
	r = mia.post(fmt.Sprintf("/approvals/%d/reject", rf.ID), url.Values{"decision_reason": {"Refunded at BPC already"}})
	mustContain(t, r, "was rejected")
	if got := govRefundable(t, staff, p); got != "500.00 EUR" {
		t.Errorf("refundable after the rejection = %q, want 500.00 EUR", got)
	}
}

// TestRejectNeedsAReasonAndTheRequesterSeesIt follows a request from the requester's side.
func TestRejectNeedsAReasonAndTheRequesterSeesIt(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	sam := h.signedIn("sam")
	mustContain(t, govRequestRefund(t, sam, p, "700.00", "other", "Customer says the parcel never came"), "awaiting")
	rf := govLastRefund(t, h, p)

	mine := sam.get("/my-refunds")
	mustContain(t, mine, p.PublicID, "700.00 EUR", "awaiting approval", "Waiting for a manager's decision", "Customer says the parcel never came", "Expires")

	mia := h.signedIn("mia")
	r := mia.post(fmt.Sprintf("/approvals/%d/reject", rf.ID), url.Values{"decision_reason": {"   "}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("reject without a reason: status %d, want 422", r.status)
	}
	mustContain(t, r, "Say why the refund is rejected")
	if got := govLastRefund(t, h, p); got.Status != "awaiting_approval" {
		t.Errorf("after a rejection without reason: %s, want still awaiting", got.Status)
	}

	r = mia.post(fmt.Sprintf("/approvals/%d/reject", rf.ID), url.Values{"decision_reason": {"Carrier confirms delivery; see ticket 4411"}})
	mustContain(t, r, "The refund of 700.00 EUR on "+p.PublicID+" was rejected")
	mine = sam.get("/my-refunds")
	mustContain(t, mine, "rejected", "Rejected by mia@paydesk.example: Carrier confirms delivery; see ticket 4411")
	if got := govRefundable(t, sam, p); got != "1,000.00 EUR" {
		t.Errorf("refundable after the rejection = %q, want all of it back", got)
	}
	// Approved and refunded, as the requester sees it.
	mustContain(t, govRequestRefund(t, sam, p, "800.00", "duplicate", ""), "awaiting")
	mustContain(t, govApprove(t, mia, govLastRefund(t, h, p).ID), "done")
	mustContain(t, sam.get("/my-refunds"), "Approved by mia@paydesk.example and refunded.")
	// Nobody else's requests are listed.
	mustContain(t, h.signedIn("max").get("/my-refunds"), "You have not asked for any refund yet.")
}

// TestApprovalExpiryReleasesTheReservation: a request nobody answers within the TTL (72h)
// expires, its amount goes back to the balance and the requester is told.
func TestApprovalExpiryReleasesTheReservation(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	sam := h.signedIn("sam")
	mustContain(t, govRequestRefund(t, sam, p, "600.00", "goodwill", ""), "awaiting")
	rf := govLastRefund(t, h, p)
	if got := govRefundable(t, sam, p); got != "400.00 EUR" {
		t.Fatalf("refundable while reserved = %q, want 400.00 EUR", got)
	}
	mustContain(t, govRequestRefund(t, sam, p, "400.01", "duplicate", ""), "At most 400.00 EUR can be refunded")

	// 72 hours and a minute later the housekeeping round runs.
	ttl := 72*time.Hour + time.Minute
	h.clock.Advance(ttl)
	if err := h.desk.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Back to the present so the browsers' sessions (and the identity provider) still work;
	// what expiry wrote stays written.
	h.clock.Advance(-ttl)
	got, _ := h.db.RefundByID(context.Background(), rf.ID)
	if got.Status != "expired" {
		t.Fatalf("after the TTL: refund %s, want expired", got.Status)
	}
	if got := govRefundable(t, sam, p); got != "1,000.00 EUR" {
		t.Errorf("refundable after expiry = %q, want the reservation released", got)
	}
	mustContain(t, sam.get("/my-refunds"), "Expired: no manager decided in time")
	mustContain(t, sam.get("/payments/"+p.PublicID), "expired without a decision")
	mia := h.signedIn("mia")
	if sec := govApprovalSection(mia.get("/approvals").body, rf.ID); sec != "" {
		t.Errorf("an expired request is still in the queue")
	}
	r := mia.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), url.Values{"idempotency_key": {strings.Repeat("cd", 16)},
		"payment": {p.PublicID}, "amount_minor": {"60000"}, "currency": {"EUR"}, "reason": {"goodwill"}})
	mustContain(t, r, "was not approved and nothing was sent: already decided (the refund is expired)")
	entries, _ := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "expiry"})
	if len(entries) != 1 || entries[0].Actor != "system" || !strings.Contains(entries[0].Message, "1 refund request expired") {
		t.Errorf("audit of the expiry = %+v, want one system entry", entries)
	}
	// The released amount can be refunded again.
	mustContain(t, govRequestRefund(t, sam, p, "450.00", "duplicate", ""), "Refund of 450.00 EUR: done")
}

// TestApproveNeedsAFreshSignIn: an approval moves money, so a manager whose sign-in is
// older than the step-up age signs in again and comes back to the queue to confirm.
func TestApproveNeedsAFreshSignIn(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	mustContain(t, govRequestRefund(t, h.signedIn("sam"), p, "550.00", "goodwill", ""), "awaiting")
	rf := govLastRefund(t, h, p)
	mia := h.signedIn("mia")
	form := govApproveForm(t, mia, rf.ID)
	h.clock.Advance(20 * time.Minute)

	r := mia.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), form)
	if !strings.Contains(r.body, `data-testid="login-form"`) {
		t.Fatalf("an old sign-in approved without signing in again: %s %.300s", r.url, text(r.body))
	}
	if n := govRefundCalls(h); n != 0 {
		t.Fatalf("the provider was called before the step-up")
	}
	back := mia.submitLogin(r, "mia")
	if back.url.Path != "/approvals" {
		t.Fatalf("after signing in again mia is at %s, want the queue", back.url)
	}
	mustContain(t, back, "You signed in again. Nothing was sent yet")
	again := govApprovalSection(back.body, rf.ID)
	if !strings.Contains(again, `value="`+form.Get("idempotency_key")+`"`) {
		t.Errorf("the approval's idempotency key changed across the step-up")
	}
	mustContain(t, mia.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), form), "Approved refund of 550.00 EUR on "+p.PublicID+": done")
	// The same form sent again (a reload): nothing twice.
	mustContain(t, mia.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), form), "already sent once")
	if n := govRefundCalls(h); n != 1 {
		t.Errorf("the provider got %d refund calls, want 1", n)
	}
}

// TestApprovalBoundToWhatTheManagerSaw: an approval form whose amount, reason or payment
// differs from the request approves nothing.
func TestApprovalBoundToWhatTheManagerSaw(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000})
	mustContain(t, govRequestRefund(t, h.signedIn("sam"), p, "600.00", "goodwill", ""), "awaiting")
	rf := govLastRefund(t, h, p)
	mia := h.signedIn("mia")
	for _, change := range []struct{ field, value string }{{"amount_minor", "60001"}, {"reason", "duplicate"}, {"currency", "GBP"}, {"payment", "pd_other"}} {
		form := govApproveForm(t, mia, rf.ID)
		form.Set(change.field, change.value)
		r := mia.post(fmt.Sprintf("/approvals/%d/approve", rf.ID), form)
		mustContain(t, r, "was not approved and nothing was sent: the request changed since it was shown")
	}
	if n := govRefundCalls(h); n != 0 {
		t.Errorf("the provider got %d refund calls, want none", n)
	}
	if r := mia.post("/approvals/99999/approve", govApproveForm(t, mia, rf.ID)); r.status != http.StatusNotFound {
		t.Errorf("approving an unknown refund: status %d, want 404", r.status)
	}
}
