package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
)

// TestDailyLoopAsTheIssueChecksIt walks issue 17's "how it will be checked" in one
// sitting, through the pages and the demo's mail page (/mail, a real SMTP server in the
// test process): open a customer from a payment; add a note with a ticket link and find
// the payment by its text; save a shared view and see its count in another person's
// navigation; export a filtered list; request a large refund as support and read the
// manager's e-mail; approve and read the requester's; send a payer link by e-mail and
// read it.
func TestDailyLoopAsTheIssueChecksIt(t *testing.T) {
	h := newHarness(t, harnessOptions{mail: true, catcherPage: true})
	sam, max := h.signedIn("sam"), h.signedIn("max")
	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 200000, name: "Mireille Caron", email: "mireille.caron@example.fr"})
	mail := func(b *browser, want ...string) {
		t.Helper()
		h.desk.SendDueMail(t.Context())
		deadline := time.Now().Add(5 * time.Second)
		for {
			page := b.get("/mail")
			missing := ""
			for _, w := range want {
				if !strings.Contains(text(page.body), w) {
					missing = w
					break
				}
			}
			if missing == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the demo's mail page lacks %q: %.1500s", missing, text(page.body))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A customer, from the payment.
	pay := sam.get("/payments/" + p.PublicID)
	customer := sam.get(attr(pay.body, "head-email-link", "href"))
	mustContain(t, customer, "mireille.caron@example.fr", "1 payment", "Totals per currency", p.PublicID)

	// A note with a ticket link; the list's search finds the payment by its words.
	r := sam.post("/payments/"+p.PublicID+"/notes", url.Values{"text": {"Chargeback threat, see https://tickets.example/T-5521 (zanzibar)"}})
	mustContain(t, r, "Note added.")
	if !strings.Contains(r.body, `<a href="https://tickets.example/T-5521" rel="noopener noreferrer" target="_blank">`) {
		t.Error("the note's ticket address is not a link")
	}
	if rows := customerRows(sam.get("/payments?q=zanzibar").body); len(rows) != 1 || rows[0] != p.PublicID {
		t.Errorf("searching the note's word lists %v, want %s", rows, p.PublicID)
	}
	mustContain(t, sam.get(attr(pay.body, "head-email-link", "href")), "Chargeback threat")

	// A shared view, counted in the manager's navigation.
	mustContain(t, sam.post("/views", url.Values{"name": {"Caron"}, "shared": {"1"}, "query": {"q=caron"}}), "Saved the view “Caron”")
	if nav := navViews(t, max.get("/")); nav["Caron"] != "1" {
		t.Errorf("max's navigation counts the shared view %q, want 1 (%v)", nav["Caron"], nav)
	}

	// The filtered list, exported.
	csv := sam.get("/payments.csv?q=caron")
	if csv.status != http.StatusOK || !strings.Contains(csv.header.Get("Content-Disposition"), "payments-q-caron-") ||
		!strings.Contains(csv.body, p.PublicID) || strings.Count(strings.TrimSpace(csv.body), "\n") != 1 {
		t.Errorf("the export: %d, %q, %q", csv.status, csv.header.Get("Content-Disposition"), csv.body)
	}

	// A large refund: the manager's e-mail names the rule and links to the approvals.
	mustContain(t, govRequestRefund(t, sam, p, "600.00", "goodwill", ""), "awaiting a manager's approval")
	mail(max, "Approval needed: refund of 600.00 EUR on "+p.PublicID, "To max@paydesk.example",
		"The approval rule “per refund” sent it to approval", h.srv.URL+"/approvals")
	rf := govLastRefund(t, h, p)
	mustContain(t, govApprove(t, max, rf.ID), "Approved refund")
	mail(sam, "Refund of 600.00 EUR on "+p.PublicID+" approved", "To sam@paydesk.example")

	// A payer link, e-mailed to the customer, edited first.
	lp, staff, link, _ := payerCancelling(t, h)
	page := staff.get("/payments/" + lp.PublicID)
	mustContain(t, staff.post(attr(page.body, "payer-mail-form", "action"), url.Values{
		"to": {attr(page.body, "payer-mail-to", "value")}, "text": {"Hello Jean, please confirm: " + link}}),
		"The payer link is on its way to jean.dupont@example.com.")
	mail(staff, "To jean.dupont@example.com", "Hello Jean, please confirm: "+link)
}
