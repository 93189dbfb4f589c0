package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
)

// TestBatchNewsInTheAppAndByMail: sam requests a batch that needs a manager → the
// managers see it on their notifications page (linking to the batch) and in their
// approvals badge, and get an e-mail with its id, kind, count, totals, why and link; sam
// hears nothing of his own request. Max approves → sam is told when it starts; the batch
// runs → sam is told how it ended; mia cancels sam's next batch → sam is told who and why.
func TestBatchNewsInTheAppAndByMail(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true})
	ctx := context.Background()
	a1, a2 := h.add(bpc.Name, spec{variant: 2}), h.add(bpc.Name, spec{variant: 2})
	sam, max, mia := h.signedIn("sam"), h.signedIn("max"), h.signedIn("mia")

	path := uploadBatch(t, sam, "payment,amount,reason,note\n"+a1.PublicID+",600.00,goodwill,\n"+a2.PublicID+",10.00,duplicate,\n")
	id := strings.TrimPrefix(path, "/batches/")
	mustContain(t, sam.post(path+"/request", url.Values{"digest": {batchDigest(t, sam.get(path))}}), "The batch waits for another manager's approval.")

	for _, m := range []*browser{max, mia} {
		page := m.get("/payments")
		if got := navCount(t, page, "nav-count-approvals", "waiting"); got != "1" {
			t.Errorf("%s's approvals badge %q, want the batch", m.last, got)
		}
		ns := notices(t, m)
		if len(ns) != 1 || ns[0].kind != "batch_approval_requested" || ns[0].read ||
			!strings.Contains(ns[0].text, "sam@paydesk.example asks to run batch "+id+" of 2 refunds (610.00 EUR)") ||
			!strings.Contains(ns[0].text, "Open batch "+id) {
			t.Fatalf("manager's notifications = %+v", ns)
		}
		open := m.noFollow().get("/notifications/" + ns[0].id)
		if open.status != http.StatusSeeOther || open.header.Get("Location") != path {
			t.Errorf("opening the batch's notification: %d to %q, want 303 to %s", open.status, open.header.Get("Location"), path)
		}
	}
	if ns := notices(t, sam); len(ns) != 0 {
		t.Errorf("sam is told of his own request: %+v", ns)
	}
	if n := sendMail(t, h); n != 2 {
		t.Fatalf("sent %d messages, want one per manager", n)
	}
	got := h.mail.WaitFor(2, 5*time.Second)
	for _, who := range []string{"max@paydesk.example", "mia@paydesk.example"} {
		if s := caughtTo(h, who); len(s) != 1 || s[0] != "Approval needed: batch "+id+" of 2 refunds (610.00 EUR)" {
			t.Errorf("%s received %q", who, s)
		}
	}
	for _, want := range []string{"sam@paydesk.example asks to run batch " + id + ": 2 refunds.", "Totals: 610.00 EUR.",
		"It needs a manager's approval: 1 item meets the rule", h.srv.URL + path} {
		if !strings.Contains(got[0].Body, want) {
			t.Errorf("the managers' e-mail does not say %q:\n%s", want, got[0].Body)
		}
	}

	// Max approves: sam hears when it starts, in the app and by e-mail.
	mustContain(t, max.post(path+"/approve", url.Values{"digest": {batchDigest(t, max.get(path))}}), "Approved. The batch starts in 10 minutes")
	ns := notices(t, sam)
	if len(ns) != 1 || ns[0].kind != "batch_decided" || !strings.Contains(ns[0].text, "was approved by max@paydesk.example. It starts at ") ||
		!strings.Contains(ns[0].text, "Now: in its undo window") {
		t.Fatalf("sam's notifications = %+v", ns)
	}
	if got := navCount(t, sam.get("/payments"), "nav-count-unread", "unread: 1 batch update"); got != "1" {
		t.Errorf("sam's unread badge %q, want 1", got)
	}
	if open := sam.noFollow().get("/notifications/" + ns[0].id); open.header.Get("Location") != path {
		t.Errorf("sam's opens to %q, want %s", open.header.Get("Location"), path)
	}
	sendMail(t, h)
	got = h.mail.WaitFor(3, 5*time.Second)
	if last := got[len(got)-1]; len(got) != 3 || last.To[0] != "sam@paydesk.example" || !strings.HasPrefix(last.Subject, "Batch "+id+" approved: it starts at ") ||
		!strings.Contains(last.Body, "when its undo window of 10 minutes ends") || !strings.Contains(last.Body, h.srv.URL+path) {
		t.Fatalf("after the approval the server holds %d messages, the last %+v", len(got), got[len(got)-1])
	}

	// It runs: sam hears how it ended.
	h.clock.Advance(11 * time.Minute)
	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if ns := notices(t, sam); len(ns) != 2 || ns[0].kind != "batch_finished" || !strings.Contains(ns[0].text, "finished: 2 succeeded.") {
		t.Errorf("sam's notifications after the run = %+v", ns)
	}
	sendMail(t, h)
	got = h.mail.WaitFor(4, 5*time.Second)
	if last := got[len(got)-1]; len(got) != 4 || last.Subject != "Batch "+id+" finished: 2 succeeded" || !strings.Contains(last.Body, "- succeeded: 2") {
		t.Fatalf("after the run the server holds %d messages, the last %+v", len(got), got[len(got)-1])
	}

	// Mia cancels sam's next batch in its undo window: sam hears who and why.
	next := uploadBatch(t, sam, "payment,amount,reason,note\n"+a2.PublicID+",5.00,duplicate,\n")
	mustContain(t, sam.post(next+"/request", url.Values{"digest": {batchDigest(t, sam.get(next))}}), "The batch starts in 10 minutes")
	mia.post(next+"/cancel", url.Values{"reason": {"Wrong customer list"}})
	if ns := notices(t, sam); len(ns) != 3 || ns[0].kind != "batch_cancelled" ||
		!strings.Contains(ns[0].text, "was cancelled by mia@paydesk.example while scheduled: Wrong customer list.") {
		t.Errorf("sam's notifications after mia's cancellation = %+v", ns)
	}
	sendMail(t, h)
	got = h.mail.WaitFor(5, 5*time.Second)
	if last := got[len(got)-1]; len(got) != 5 || !strings.Contains(last.Subject, "cancelled by mia@paydesk.example") || !strings.Contains(last.Body, "Reason: Wrong customer list") {
		t.Fatalf("after the cancellation the server holds %d messages, the last %+v", len(got), got[len(got)-1])
	}
}
