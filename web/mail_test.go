package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// Every e-mail test sends through a real SMTP server in the test process (mailer.Catcher,
// github.com/emersion/go-smtp): Paydesk's own SMTP client talks to it over TCP.

// sendMail runs the background sender once, as its loop does every few seconds.
func sendMail(t *testing.T, h *harness) int {
	t.Helper()
	return h.desk.SendDueMail(context.Background())
}

// caughtTo is the subjects of the messages the SMTP server received for addr.
func caughtTo(h *harness, addr string) []string {
	var out []string
	for _, m := range h.mail.Messages() {
		for _, to := range m.To {
			if to == addr {
				out = append(out, m.Subject)
			}
		}
	}
	return out
}

func TestApprovalRequestAndDecisionMails(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true})
	max, mia := h.signedIn("max"), h.signedIn("mia")
	staff := h.signedIn("sam")
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000})

	r := govRequestRefund(t, staff, p, "600.00", "goodwill", "")
	mustContain(t, r, "awaiting a manager's approval")
	rf := govLastRefund(t, h, p)
	if n := sendMail(t, h); n != 2 {
		t.Fatalf("sent %d messages, want one per manager", n)
	}
	got := h.mail.WaitFor(2, 5*time.Second)
	if len(got) != 2 {
		t.Fatalf("the SMTP server received %d messages", len(got))
	}
	for _, who := range []string{"max@paydesk.example", "mia@paydesk.example"} {
		subjects := caughtTo(h, who)
		if len(subjects) != 1 || !strings.Contains(subjects[0], "Approval needed: refund of 600.00 EUR on "+p.PublicID) ||
			!strings.Contains(subjects[0], "per refund") {
			t.Errorf("%s received %q", who, subjects)
		}
	}
	m := got[0]
	for _, want := range []string{"sam@paydesk.example asks for a refund of 600.00 EUR on payment " + p.PublicID,
		"The approval rule “per refund” sent it to approval", h.srv.URL + "/approvals", "Reason: Goodwill"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the manager's e-mail does not say %q:\n%s", want, m.Body)
		}
	}
	if m.From != "paydesk@desk.example" || m.MessageID == "" || got[1].MessageID == m.MessageID {
		t.Errorf("from %q, Message-IDs %q and %q: want Paydesk's sender and one id per message", m.From, m.MessageID, got[1].MessageID)
	}
	if s := caughtTo(h, "sam@paydesk.example"); len(s) != 0 {
		t.Errorf("the requester got %q", s)
	}
	// Nothing is sent twice: the outbox holds both as sent.
	if n := sendMail(t, h); n != 0 {
		t.Errorf("a second round sent %d more", n)
	}
	page := max.get("/outbox?state=sent")
	mustContain(t, page, "2 sent", "max@paydesk.example", "mia@paydesk.example")

	// Mia approves: Sam hears it.
	mustContain(t, govApprove(t, mia, rf.ID), "Approved refund")
	sendMail(t, h)
	h.mail.WaitFor(3, 5*time.Second)
	if s := caughtTo(h, "sam@paydesk.example"); len(s) != 1 || s[0] != "Refund of 600.00 EUR on "+p.PublicID+" approved" {
		t.Fatalf("sam received %q", s)
	}

	// Max rejects another: Sam hears why.
	govRequestRefund(t, staff, p, "700.00", "goodwill", "")
	rf2 := govLastRefund(t, h, p)
	sendMail(t, h)
	r = max.post(fmt.Sprintf("/approvals/%d/reject", rf2.ID), url.Values{"decision_reason": {"Customer already compensated"}})
	mustContain(t, r, "was rejected")
	sendMail(t, h)
	all := h.mail.WaitFor(6, 5*time.Second)
	last := all[len(all)-1]
	if len(all) != 6 || last.To[0] != "sam@paydesk.example" || !strings.Contains(last.Subject, "rejected") ||
		!strings.Contains(last.Body, "Reason: Customer already compensated") || !strings.Contains(last.Body, "by max@paydesk.example") {
		t.Fatalf("after the rejection the server holds %d messages, the last %+v", len(all), last)
	}
}

func TestMailPreferences(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true})
	h.signedIn("max")
	mia := h.signedIn("mia")
	staff := h.signedIn("sam")

	page := mia.get("/settings")
	mustContain(t, page, "E-mails go to mia@paydesk.example", "A refund awaits approval")
	for _, box := range []string{"mail-approvals", "mail-decisions", "mail-payer-links"} {
		if !ticked(page.body, box) {
			t.Errorf("%s is not ticked by default", box)
		}
	}
	// Mia wants no approval requests; Sam no decisions.
	mustContain(t, mia.post("/settings/mail", url.Values{"sent": {"1"}, "decisions": {"1"}, "payer_links": {"1"}}), "Your choice of e-mails is saved.")
	mustContain(t, staff.post("/settings/mail", url.Values{"sent": {"1"}, "approvals": {"1"}}), "Your choice of e-mails is saved.")
	if page := mia.get("/settings"); ticked(page.body, "mail-approvals") || !ticked(page.body, "mail-decisions") {
		t.Error("mia's settings do not show her choice")
	}

	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000})
	govRequestRefund(t, staff, p, "600.00", "goodwill", "")
	rf := govLastRefund(t, h, p)
	sendMail(t, h)
	h.mail.WaitFor(1, 5*time.Second)
	if s := caughtTo(h, "mia@paydesk.example"); len(s) != 0 {
		t.Errorf("mia turned approval requests off but got %q", s)
	}
	if s := caughtTo(h, "max@paydesk.example"); len(s) != 1 {
		t.Errorf("max got %q, want the one request", s)
	}
	mustContain(t, govApprove(t, mia, rf.ID), "Approved refund")
	if n := sendMail(t, h); n != 0 {
		t.Errorf("sam turned decisions off but %d message went out", n)
	}
	if list, _ := h.db.Outbox(context.Background(), storage.OutboxFilter{}); len(list) != 1 {
		t.Errorf("the outbox holds %d messages, want max's alone", len(list))
	}
	// The audit log keeps the choices.
	mustContain(t, h.signedIn("max").get("/audit"), "e-mail choices: approval requests off, decisions on, payer-link confirmations on")
}

func TestMailServerDownRetriesThenFailsVisibly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "smtp://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	h := newHarness(t, harnessOptions{mail: true, smtpURL: down})
	manager := h.signedIn("max")
	staff := h.signedIn("sam")
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000})
	govRequestRefund(t, staff, p, "600.00", "goodwill", "")
	ctx := context.Background()

	sendMail(t, h)
	list, _ := h.db.Outbox(ctx, storage.OutboxFilter{})
	if len(list) != 1 || list[0].State != storage.MailQueued || list[0].Attempts != 1 || list[0].LastError == "" {
		t.Fatalf("after the first attempt: %+v", list)
	}
	first := list[0].NextAttemptAt.Sub(h.clock.Now())
	if first < 45*time.Second || first > 75*time.Second {
		t.Errorf("the second attempt is due in %s, want about a minute (backoff with jitter)", first)
	}
	if n := sendMail(t, h); n != 0 {
		t.Errorf("a message was tried again before its time (%d)", n)
	}
	h.clock.Advance(first + time.Second)
	sendMail(t, h)
	list, _ = h.db.Outbox(ctx, storage.OutboxFilter{})
	second := list[0].NextAttemptAt.Sub(h.clock.Now())
	if list[0].Attempts != 2 || second < 90*time.Second || second > 150*time.Second {
		t.Errorf("after the second attempt: %d attempts, next in %s; want about two minutes", list[0].Attempts, second)
	}
	h.clock.Advance(second + time.Second)
	sendMail(t, h)
	list, _ = h.db.Outbox(ctx, storage.OutboxFilter{})
	if list[0].State != storage.MailFailed || list[0].Attempts != 3 {
		t.Fatalf("after the last attempt: %+v", list[0])
	}

	page := manager.get("/outbox")
	mustContain(t, page, "1 failed", "max@paydesk.example", "Approval needed", "Retry now", "connection refused")
	mrec := httptest.NewRecorder()
	h.app.MetricsHandler().ServeHTTP(mrec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	rec := mrec.Body.String()
	for _, want := range []string{`paydesk_mail_attempts_total{outcome="retry"} 2`, `paydesk_mail_attempts_total{outcome="failed"} 1`,
		`paydesk_mail_outbox_messages{state="failed"} 1`, `paydesk_mail_outbox_messages{state="queued"} 0`} {
		if !strings.Contains(rec, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, who := range []string{"sam", "fran"} {
		if r := h.signedIn(who).get("/outbox"); r.status != http.StatusForbidden {
			t.Errorf("%s opened /outbox: %d", who, r.status)
		}
	}
	// Retry now: queued again, audited; still failing, it fails again.
	r := manager.post("/outbox/"+fmt.Sprint(list[0].ID)+"/retry", url.Values{})
	mustContain(t, r, "is queued again")
	if m, _ := h.db.MailByID(ctx, list[0].ID); m.State != storage.MailQueued || m.Attempts != 0 {
		t.Errorf("after retry now: %+v", m)
	}
	mustContain(t, manager.get("/audit"), "queued again after it failed")
	mustContain(t, manager.post("/outbox/"+fmt.Sprint(list[0].ID)+"/retry", url.Values{}), "This message is not failed")
}

func TestEmailPayerLink(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true})
	p, staff, link, _ := payerCancelling(t, h)
	page := staff.get("/payments/" + p.PublicID)
	if got := attr(page.body, "payer-mail-to", "value"); got != "jean.dupont@example.com" {
		t.Fatalf("the form's address is %q, want the customer's", got)
	}
	action := attr(page.body, "payer-mail-form", "action")
	if !strings.Contains(testidText(page.body, "payer-mail-text"), link) {
		t.Fatalf("the form's text lacks the link %s", link)
	}
	// Bad input: a clear message, nothing recorded.
	for _, bad := range []struct{ to, text, says string }{
		{"not-an-address", "Hello", "is not an e-mail address"},
		{"jean@example.com\r\nBcc: x@y.z", "Hello", "is not one e-mail address"},
		{"jean@example.com", "  ", "The message is empty."},
		{"jean@example.com", strings.Repeat("x", 5001), "too long"},
	} {
		mustContain(t, staff.post(action, url.Values{"to": {bad.to}, "text": {bad.text}}), bad.says, "Nothing was sent.")
	}
	if list, _ := h.db.Outbox(context.Background(), storage.OutboxFilter{}); len(list) != 0 {
		t.Fatalf("refused e-mails were queued: %+v", list)
	}
	text := "Bonjour Jean,\n\nPlease confirm here: " + link + "\n\nThanks"
	r := staff.post(action, url.Values{"to": {"jean.d@example.org"}, "text": {text}})
	mustContain(t, r, "The payer link is on its way to jean.d@example.org.", "E-mailed to jean.d@example.org by sam@paydesk.example",
		"Payer link", "e-mailed to jean.d@example.org by sam@paydesk.example")
	mustBeCleanPage(t, r) // the e-mailed line's time is a time, not templ source
	if n := sendMail(t, h); n != 1 {
		t.Fatalf("sent %d, want the payer's", n)
	}
	got := h.mail.WaitFor(1, 5*time.Second)
	if len(got) != 1 || got[0].To[0] != "jean.d@example.org" || !strings.Contains(got[0].Subject, p.PublicID) {
		t.Fatalf("the server received %+v", got)
	}
	if body := strings.TrimSpace(strings.ReplaceAll(got[0].Body, "\r\n", "\n")); body != text {
		t.Errorf("the payer received %q, want the edited text", body)
	}

	// The payer confirms: Sam, who made the link, hears it.
	mustContain(t, payerDecides(t, h, link, "confirm"), "Your cancellation is confirmed")
	if n := sendMail(t, h); n != 1 {
		t.Fatalf("after the confirmation %d messages went out, want sam's", n)
	}
	if s := caughtTo(h, "sam@paydesk.example"); len(s) != 1 || s[0] != "The payer confirmed: "+p.PublicID+" cancelled" {
		t.Errorf("sam received %q", s)
	}
	// Finance cannot send it.
	if r := h.signedIn("fran").post(action, url.Values{"to": {"a@b.example"}, "text": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("finance sent a payer link: %d", r.status)
	}
}

func TestMailOffSaysSo(t *testing.T) {
	h := newHarness(t)
	p, staff, _, _ := payerCancelling(t, h)
	mustContain(t, staff.get("/payments/"+p.PublicID), "E-mail is off on this Paydesk: copy the message into your own e-mail.")
	mustContain(t, staff.get("/settings"), "E-mail is off on this Paydesk")
	mustContain(t, h.signedIn("max").get("/outbox"), "E-mail is off: PAYDESK_SMTP_URL is not set")
	if r := staff.get("/mail"); r.status != http.StatusNotFound {
		t.Errorf("/mail outside the demo: %d", r.status)
	}
	// Nothing is written while e-mail is off.
	govRequestRefund(t, staff, h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000}), "600.00", "goodwill", "")
	if list, _ := h.db.Outbox(context.Background(), storage.OutboxFilter{}); len(list) != 0 {
		t.Errorf("e-mail is off but the outbox holds %+v", list)
	}
}

// ticked reports whether the checkbox with data-testid id is checked.
func ticked(body, id string) bool {
	tag := regexp.MustCompile(`<input[^>]*data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	return regexp.MustCompile(`\schecked[\s>=/]`).MatchString(tag)
}

// TestPayerConfirmationMailFollowsThePreference: a person who turned payer-link
// confirmations off is not told.
func TestPayerConfirmationMailFollowsThePreference(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true})
	p, staff, link, _ := payerCancelling(t, h)
	mustContain(t, staff.post("/settings/mail", url.Values{"sent": {"1"}, "approvals": {"1"}, "decisions": {"1"}}), "saved")
	mustContain(t, payerDecides(t, h, link, "confirm"), "Your cancellation is confirmed")
	if n := sendMail(t, h); n != 0 {
		t.Errorf("%d messages went out; sam turned payer-link confirmations off", n)
	}
	if pp := h.payment(p); string(pp.Status) != "cancelled" {
		t.Errorf("the payment is %s, want cancelled", pp.Status)
	}
}

// TestDemoMailPage: the demo's /mail shows what its SMTP server caught, newest first, to
// anyone signed in; the menu links to it.
func TestDemoMailPage(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true, catcherPage: true})
	h.signedIn("max")
	staff := h.signedIn("sam")
	page := staff.get("/mail")
	mustContain(t, page, "Demo mail", "No e-mail yet", h.mail.Addr())
	if !strings.Contains(page.body, `data-testid="nav-mail"`) {
		t.Error("the menu has no link to the demo's mail")
	}
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000})
	govRequestRefund(t, staff, p, "600.00", "goodwill", "")
	sendMail(t, h)
	h.mail.WaitFor(1, 5*time.Second)
	page = staff.get("/mail")
	mustContain(t, page, "Approval needed: refund of 600.00 EUR on "+p.PublicID, "To max@paydesk.example",
		"The approval rule “per refund” sent it to approval", "Message-ID:")
	mustBeCleanPage(t, page)
	if r := h.browser().noFollow().get("/mail"); r.status != http.StatusSeeOther {
		t.Errorf("/mail signed out: %d, want the sign-in", r.status)
	}
}
