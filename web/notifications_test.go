package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paydesk/providers/bpc"
)

// navCount returns the navigation badge carrying testid ("" when the page shows none) and
// checks the words a screen reader reads with it.
func navCount(t *testing.T, r response, testid, words string) string {
	t.Helper()
	m := regexp.MustCompile(`data-testid="` + testid + `">(\d+)</span><span class="vh">, ([^<]*)</span>`).FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	if !strings.HasPrefix(m[2], m[1]+" "+words) {
		t.Errorf("badge %s reads %q, want %q followed by %q", testid, m[2], m[1], words)
	}
	return m[1]
}

var notificationRe = regexp.MustCompile(`(?s)<li class="notice[^"]*" data-testid="notification" data-id="(\d+)" data-kind="([a-z_]+)" data-read="(true|false)">(.*?)</li>`)

// notice is one notification as the page lists it.
type notice struct {
	id, kind, text string
	read           bool
}

// notices reads the person's notifications page.
func notices(t *testing.T, b *browser) []notice {
	t.Helper()
	r := b.get("/notifications")
	if r.status != http.StatusOK {
		t.Fatalf("notifications page: %d: %.300s", r.status, text(r.body))
	}
	var out []notice
	for _, m := range notificationRe.FindAllStringSubmatch(r.body, -1) {
		out = append(out, notice{id: m[1], kind: m[2], read: m[3] == "true", text: text(m[4])})
	}
	return out
}

// TestNotificationsOfAnApproval: support asks for a large refund → the managers see the
// count and a notification; a manager approves → the requester sees "1" and the words;
// opening it marks it read and the count goes. Nobody else can read or mark it.
func TestNotificationsOfAnApproval(t *testing.T) {
	h := newHarness(t)
	sam, mia, max, fran := h.signedIn("sam"), h.signedIn("mia"), h.signedIn("max"), h.signedIn("fran")
	p := h.add(bpc.Name, spec{variant: 2, amount: 200000})

	if got := navCount(t, mia.get("/payments"), "nav-count-approvals", "waiting"); got != "" {
		t.Fatalf("approvals badge %q before any request, want none", got)
	}
	mustContain(t, govRequestRefund(t, sam, p, "600.00", "goodwill", ""), "awaiting")
	rf := govLastRefund(t, h, p)

	for _, m := range []*browser{mia, max} {
		page := m.get("/payments")
		if got := navCount(t, page, "nav-count-approvals", "waiting"); got != "1" {
			t.Errorf("manager's approvals badge %q, want 1", got)
		}
		mustContain(t, page, "Approvals 1 , 1 waiting")
		ns := notices(t, m)
		if len(ns) != 1 || ns[0].kind != "approval_requested" || ns[0].read ||
			!strings.Contains(ns[0].text, "sam@paydesk.example asks for a refund of 600.00 EUR (Goodwill gesture): a manager must decide.") {
			t.Errorf("manager's notifications = %+v", ns)
		}
	}
	// Neither the requester nor finance sees the managers' queue or its notification.
	for _, b := range []*browser{sam, fran} {
		page := b.get("/payments")
		if strings.Contains(page.body, `data-testid="nav-approvals"`) || navCount(t, page, "nav-count-unread", "unread") != "" {
			t.Errorf("%s sees the approvals or an unread count: %s", b.last, text(page.body)[:300])
		}
		if ns := notices(t, b); len(ns) != 0 {
			t.Errorf("non-manager sees %+v", ns)
		}
	}
	managersNotice := notices(t, mia)[0].id

	mustContain(t, govApprove(t, mia, rf.ID), "done")
	if got := navCount(t, max.get("/payments"), "nav-count-approvals", "waiting"); got != "" {
		t.Errorf("approvals badge %q once decided, want none", got)
	}
	page := sam.get("/payments")
	if got := navCount(t, page, "nav-count-decided", "decided"); got != "1" {
		t.Errorf("requester's decided badge %q, want 1", got)
	}
	if got := navCount(t, page, "nav-count-unread", "unread: 1 refund decision"); got != "1" {
		t.Errorf("requester's unread badge %q, want 1", got)
	}
	mustContain(t, page, "Notifications 1 , 1 unread: 1 refund decision")
	ns := notices(t, sam)
	if len(ns) != 1 || ns[0].kind != "request_decided" || ns[0].read ||
		!strings.Contains(ns[0].text, "Your refund of 600.00 EUR was approved by mia@paydesk.example and is being sent to the provider.") {
		t.Fatalf("requester's notifications = %+v", ns)
	}
	samNotice := ns[0].id

	// Another person cannot read, open or mark it: the same "not found" as for none.
	for _, b := range []*browser{max, fran} {
		for _, r := range []response{
			b.noFollow().get("/notifications/" + samNotice),
			b.noFollow().post("/notifications/"+samNotice+"/read", url.Values{}),
			b.noFollow().get("/notifications/" + managersNotice + "0"),
		} {
			if r.status != http.StatusNotFound {
				t.Errorf("another person on %s: %d, want 404", r.url, r.status)
			}
		}
	}
	fran.post("/notifications/read-all", url.Values{})
	if r := sam.noFollow().get("/notifications/" + managersNotice); r.status != http.StatusNotFound {
		t.Errorf("the requester opens the managers' notification: %d, want 404", r.status)
	}
	if got := navCount(t, sam.get("/payments"), "nav-count-decided", "decided"); got != "1" {
		t.Fatalf("others' marks changed the requester's count to %q", got)
	}

	// Opening it marks it read and goes to the payment.
	open := sam.noFollow().get("/notifications/" + samNotice)
	if open.status != http.StatusSeeOther || open.header.Get("Location") != "/payments/"+p.PublicID {
		t.Fatalf("opening: %d to %q, want 303 to the payment", open.status, open.header.Get("Location"))
	}
	page = sam.get("/payments")
	if navCount(t, page, "nav-count-decided", "decided") != "" || navCount(t, page, "nav-count-unread", "unread") != "" {
		t.Errorf("badges after reading: %s", text(page.body)[:300])
	}
	if ns := notices(t, sam); len(ns) != 1 || !ns[0].read {
		t.Errorf("after opening: %+v, want read", ns)
	}
	// The manager's opens the queue; Mia's reading is hers, Max's stays unread.
	open = mia.noFollow().get("/notifications/" + managersNotice)
	if open.status != http.StatusSeeOther || open.header.Get("Location") != "/approvals" {
		t.Errorf("manager opening: %d to %q, want 303 to /approvals", open.status, open.header.Get("Location"))
	}
	if ns := notices(t, max); len(ns) != 1 || ns[0].read || !strings.Contains(ns[0].text, "Now: refunded") {
		t.Errorf("max's after mia opened hers: %+v, want unread, saying the refund went through", ns)
	}
}

// TestNotificationsMarkReadAndMarkAll: "mark read" and "mark all read" change the counts
// and the page; a rejection is told with its reason.
func TestNotificationsMarkReadAndMarkAll(t *testing.T) {
	h := newHarness(t)
	sam, mia := h.signedIn("sam"), h.signedIn("mia")
	p := h.add(bpc.Name, spec{variant: 2, amount: 300000})
	for range 2 {
		mustContain(t, govRequestRefund(t, sam, p, "600.00", "goodwill", ""), "awaiting")
		r := mia.post(fmt.Sprintf("/approvals/%d/reject", govLastRefund(t, h, p).ID), url.Values{"decision_reason": {"Ask the merchant"}})
		mustContain(t, r, "was rejected")
	}
	if got := navCount(t, sam.get("/payments"), "nav-count-unread", "unread: 2 refund decisions"); got != "2" {
		t.Fatalf("unread badge %q, want 2", got)
	}
	ns := notices(t, sam)
	if len(ns) != 2 || !strings.Contains(ns[0].text, "was rejected by mia@paydesk.example: Ask the merchant") {
		t.Fatalf("notifications = %+v", ns)
	}
	r := sam.post("/notifications/"+ns[1].id+"/read", url.Values{})
	if r.url.Path != "/notifications" {
		t.Errorf("mark read ended at %s, want the notifications page", r.url)
	}
	if got := navCount(t, r, "nav-count-unread", "unread"); got != "1" {
		t.Errorf("unread badge after marking one %q, want 1", got)
	}
	if ns := notices(t, sam); ns[0].read || !ns[1].read {
		t.Errorf("after marking the older: %+v", ns)
	}
	mustContain(t, sam.get("/notifications"), "Mark read", "Mark all read")

	r = sam.post("/notifications/read-all", url.Values{})
	mustContain(t, r, "All your notifications are marked read.")
	if got := navCount(t, r, "nav-count-unread", "unread"); got != "" {
		t.Errorf("unread badge after mark all %q, want none", got)
	}
	if ns := notices(t, sam); !ns[0].read || !ns[1].read {
		t.Errorf("after mark all: %+v", ns)
	}
	mustNotContain(t, sam.get("/notifications"), "Mark read ")

	// A damaged page link is refused in words; a post from another site changes nothing.
	if r := sam.get("/notifications?before=abc"); r.status != http.StatusBadRequest {
		t.Errorf("damaged page link: %d, want 400", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/notifications/read-all", strings.NewReader(""))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := mia.do(req); r.status != http.StatusForbidden {
		t.Errorf("cross-site mark all: %d, want 403", r.status)
	}
}

// TestNotificationOfThePayersAnswer: the payer confirms a cancellation → the person who
// made the link is told; a manager is not.
func TestNotificationOfThePayersAnswer(t *testing.T) {
	h := newHarness(t)
	p, sam, link, _ := payerCancelling(t, h)
	max := h.signedIn("max")
	if got := navCount(t, sam.get("/payments"), "nav-count-unread", "unread"); got != "" {
		t.Fatalf("unread badge %q before the payer answered", got)
	}
	mustContain(t, payerDecides(t, h, link, "confirm"), "Your cancellation is confirmed")

	page := sam.get("/payments")
	if got := navCount(t, page, "nav-count-unread", "unread: 1 payer answer"); got != "1" {
		t.Errorf("unread badge %q, want 1", got)
	}
	ns := notices(t, sam)
	if len(ns) != 1 || ns[0].kind != "payer_confirmed" || !strings.Contains(ns[0].text, "The payer confirmed the cancellation through your payer link") {
		t.Fatalf("sam's notifications = %+v", ns)
	}
	if ns := notices(t, max); len(ns) != 0 {
		t.Errorf("max sees %+v, want nothing of sam's link", ns)
	}
	open := sam.get("/notifications/" + ns[0].id)
	if open.url.Path != "/payments/"+p.PublicID {
		t.Errorf("opening ended at %s, want the payment", open.url)
	}
	mustContain(t, open, "cancelled")
}

// TestNotificationsPageForEachRole: every role with access has the page and the
// navigation entry; a person without a role has neither.
func TestNotificationsPageForEachRole(t *testing.T) {
	h := newHarness(t)
	for _, user := range []string{"sam", "fran", "max", "tess"} {
		b := h.signedIn(user)
		r := b.get("/notifications")
		if r.status != http.StatusOK || !strings.Contains(r.body, `data-testid="notifications-empty"`) ||
			!strings.Contains(r.body, `data-testid="nav-notifications"`) {
			t.Errorf("%s: %d: %.300s", user, r.status, text(r.body))
		}
		mustContain(t, r, "Notifications", "Nothing yet.")
	}
	nora := h.signedIn("nora")
	if r := nora.get("/notifications"); r.status != http.StatusForbidden || strings.Contains(r.body, `data-testid="nav-notifications"`) {
		t.Errorf("no role: %d, want 403 without the entry", r.status)
	}
}
