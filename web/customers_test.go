package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// customerRows returns the public ids of the payment rows a page lists, in order.
func customerRows(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-testid="payment-link">(pd_[a-z0-9]+)<`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCustomerPageForEachRole: Chloé paid twice in euros and once in pounds under one
// e-mail written three ways; support, finance and managers all see her page reached from
// a payment's e-mail: who she is, totals per currency (never added together), her refunds
// by reason, her payments and nobody else's.
func TestCustomerPageForEachRole(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	first := h.add(bpc.Name, spec{variant: 2, amount: 12000, name: "Chloé Durand", email: "chloe.durand@example.fr"})
	second := h.add(bpc.Name, spec{variant: 2, amount: 3050, name: "Chloé Durand", email: "Chloe.Durand@Example.FR"})
	pounds := h.add(bpc.Name, spec{variant: 2, amount: 9900, currency: "GBP", name: "chloé durand", email: "CHLOE.DURAND@EXAMPLE.FR"})
	other := h.add(bpc.Name, spec{variant: 2, amount: 5000, name: "Chloé Martin", email: "chloe.martin@example.fr"})
	mustContain(t, govRequestRefund(t, sam, first, "20.00", "duplicate", ""), "done")
	mustContain(t, govRequestRefund(t, sam, pounds, "9.90", "goodwill", ""), "done")

	for _, user := range []string{"sam", "fran", "max"} {
		t.Run(user, func(t *testing.T) {
			b := sam
			if user != "sam" {
				b = h.signedIn(user)
			}
			// From the payment page: the e-mail, the name and the card are links.
			pay := b.get("/payments/" + second.PublicID)
			href := attr(pay.body, "head-email-link", "href")
			if href != "/customers/email/chloe.durand@example.fr" {
				t.Fatalf("the payment page's e-mail links to %q, want /customers/email/chloe.durand@example.fr", href)
			}
			if got, want := attr(pay.body, "head-customer-link", "href"), "/customers/name/"+url.PathEscape("Chloé Durand"); got != want {
				t.Errorf("the payment page's name links to %q, want %q", got, want)
			}
			if got, want := attr(pay.body, "card-link", "href"), "/customers/card/bpc/"+second.CardLast4; second.CardLast4 == "" || got != want {
				t.Errorf("the payment page's card (%q) links to %q, want %q", second.CardLast4, got, want)
			}
			r := b.get(href)
			if r.status != http.StatusOK {
				t.Fatalf("%s: status %d: %.500s", href, r.status, text(r.body))
			}
			mustContain(t, r, "chloe.durand@example.fr", "3 payments", "Totals per currency",
				"EUR 2 150.50 EUR 20.00 EUR 130.50 EUR", // paid 120.00 + 30.50, refunded 20.00
				"GBP 1 99.00 GBP 9.90 GBP 89.10 GBP",
				"Refunds by reason", "Duplicate payment EUR 1 20.00 EUR 1 20.00 EUR", "Goodwill gesture GBP 1 9.90 GBP 1 9.90 GBP",
				"No payer link is waiting for this customer.",
				"Chloé Durand", "chloé durand") // the names seen with the e-mail
			mustNotContain(t, r, "Chloé Martin", other.PublicID, "Notes")
			if n := strings.Count(r.body, `data-testid="customer-total"`); n != 2 {
				t.Errorf("%d rows of totals, want one per currency (2)", n)
			}
			for cur, paid := range map[string]string{"EUR": "15050", "GBP": "9900"} {
				if !strings.Contains(r.body, `data-currency="`+cur+`" data-paid="`+paid+`"`) {
					t.Errorf("no %s row paid %s minor units", cur, paid)
				}
			}
			if got, want := strings.Join(customerRows(r.body), " "), strings.Join([]string{first.PublicID, second.PublicID, pounds.PublicID}, " "); got != want {
				t.Errorf("rows: %s, want newest first %s", got, want)
			}
			if !strings.Contains(r.body, `href="/payments/`+first.PublicID+`"`) {
				t.Errorf("the rows do not link to their payments")
			}
			// Who may act gets the list's action links; the others its words.
			if got := attr(r.body, "row-refund", "href"); (user == "fran") != (got == "") {
				t.Errorf("the first row's refund links to %q", got)
			}
		})
	}
}

// TestCustomerByNameAndCard: a name (any case, with a slash and an apostrophe) and a card
// (one provider's last 4) each have their page; a customer's other identities link to
// their own pages.
func TestCustomerByNameAndCard(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	a := h.add(bpc.Name, spec{variant: 2, amount: 1000, name: "Zoë O'Brien/Smith", email: "zoe@example.ie"})
	// SQLite's NOCASE folds ASCII letters only (PostgreSQL's every letter): the ë stays.
	c := h.add(bpc.Name, spec{variant: 2, amount: 2000, name: "zoë o'brien/smith", email: "zoe.obrien@example.ie"})
	h.add(bpc.Name, spec{variant: 2, amount: 3000, name: "Zoë O'Brien", email: "zoe@example.ie"})

	list := b.get("/payments?q=" + url.QueryEscape("zoe@example.ie"))
	href := attr(list.body, "row-customer", "href")
	if want := "/customers/name/Zo%C3%AB%20O%27Brien%2FSmith"; href != want {
		t.Fatalf("the list's row links its name to %q, want the escaped path %q", href, want)
	}
	r := b.get("/customers/name/" + url.PathEscape("ZOë O'BRIEN/SMITH"))
	if r.status != http.StatusOK {
		t.Fatalf("by name: %d %.300s", r.status, text(r.body))
	}
	mustContain(t, r, "ZOë O'BRIEN/SMITH", "2 payments", "EUR 2 30.00 EUR 0.00 EUR 30.00 EUR", "zoe@example.ie", "zoe.obrien@example.ie")
	if got := customerRows(r.body); len(got) != 2 || got[0] != a.PublicID || got[1] != c.PublicID {
		t.Errorf("by name: rows %v, want %s then %s", got, a.PublicID, c.PublicID)
	}
	if got := attr(r.body, "customer-other", "href"); !strings.HasPrefix(got, "/customers/") {
		t.Errorf("another identity links to %q, want a customer page", got)
	}

	card := b.get("/customers/card/bpc/" + a.CardLast4)
	if card.status != http.StatusOK {
		t.Fatalf("by card: %d %.300s", card.status, text(card.body))
	}
	mustContain(t, card, "card •••• "+a.CardLast4, "1 payment", "Zoë O'Brien/Smith")
	if got := customerRows(card.body); len(got) != 1 || got[0] != a.PublicID {
		t.Errorf("by card: rows %v, want %s only", got, a.PublicID)
	}
	// The same last 4 at another provider is another card.
	if r := b.get("/customers/card/powens/" + a.CardLast4); r.status != http.StatusNotFound {
		t.Errorf("the last 4 at another provider: %d, want 404", r.status)
	}
}

// TestCustomerBadAddresses: an address that names no customer says why, with 400 or 404,
// and changes nothing.
func TestCustomerBadAddresses(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("fran")
	p := h.add(bpc.Name, spec{variant: 2, email: "ann@example.com"})
	auditRows := func() int {
		var n int
		if err := h.db.SQL().QueryRow("SELECT count(*) FROM audit_log").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := auditRows()
	for _, tt := range []struct {
		path   string
		status int
		says   string
	}{
		{"/customers/email/not-an-email", 400, `"not-an-email" is not an e-mail address`},
		{"/customers/email/%20%20", 400, "the e-mail is empty"},
		{"/customers/name/%20", 400, "the name is empty"},
		{"/customers/name/a%00b", 400, "characters a name cannot"},
		{"/customers/card/bpc/42x2", 400, `"42x2" is not a card's last 4 digits`},
		{"/customers/card/bpc/12345", 400, "not a card's last 4 digits"},
		{"/customers/card/stripe/4242", 404, `Paydesk has no provider "stripe"`},
		{"/customers/email/nobody@example.com", 404, "Paydesk holds no payment with the e-mail nobody@example.com"},
		{"/customers/name/Nobody", 404, "holds no payment with the name Nobody"},
		{"/customers/email/ann@example.com?after=yesterday", 400, "This page link is damaged"},
		{"/customers/email/ann@example.com?after=1-1&before=2-2", 400, "This page link is damaged"},
		{"/customers/email/", 404, "no page at this address"},
	} {
		r := b.get(tt.path)
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, r.status, tt.status)
		}
		mustContain(t, r, tt.says)
		mustNotContain(t, r, "storage:", "invalid filter", p.PublicID)
	}
	if after := auditRows(); after != before {
		t.Errorf("the audit log grew from %d to %d entries: a bad address changed something", before, after)
	}
}

// TestCustomerPagePaging: 55 payments page as the list does, 50 then 5, newest first,
// there and back — on a name with a space and a slash, which the pages' links keep escaped.
func TestCustomerPagePaging(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	var want []string
	for i := range 55 {
		name := []string{"Jean Dupont/Durand", "jean dupont/durand"}[i%2]
		p := h.add(bpc.Name, spec{variant: 2, amount: int64(100 + i), name: name})
		want = append(want, p.PublicID) // each added a minute before the last: newest first
	}
	h.add(bpc.Name, spec{variant: 2, name: "Jean Dupont"}) // another customer
	path := "/customers/name/Jean%20Dupont%2FDurand"
	page1 := b.get(path)
	mustContain(t, page1, "55 payments")
	rows1 := customerRows(page1.body)
	next := attr(page1.body, "next", "href")
	if len(rows1) != 50 || !strings.HasPrefix(next, path+"?after=") || attr(page1.body, "prev", "href") != "" {
		t.Fatalf("page 1: %d rows, next %q; want 50 rows, a next page under %s, no previous", len(rows1), next, path)
	}
	page2 := b.get(next)
	rows2 := customerRows(page2.body)
	if got := strings.Join(append(rows1, rows2...), " "); got != strings.Join(want, " ") {
		t.Errorf("pages 1 and 2: %d + %d rows, not the 55 newest first", len(rows1), len(rows2))
	}
	prev := attr(page2.body, "prev", "href")
	if !strings.HasPrefix(prev, path+"?before=") || attr(page2.body, "next", "href") != "" {
		t.Fatalf("page 2: prev %q, next %q; want a previous page only", prev, attr(page2.body, "next", "href"))
	}
	if back := customerRows(b.get(prev).body); strings.Join(back, " ") != strings.Join(rows1, " ") {
		t.Errorf("back from page 2: not page 1")
	}
	if first := attr(page2.body, "first", "href"); first != path {
		t.Errorf("page 2's newest link: %q, want %q", first, path)
	}
}

// TestCustomerLinksEverywhere: the customer's name links to their page in the approvals
// queue, my refund requests and the refund history; the list's rows link the name and the
// e-mail; an open payer link shows on the customer's page (its address for who may act).
func TestCustomerLinksEverywhere(t *testing.T) {
	h := newHarness(t)
	sam, max, fran := h.signedIn("sam"), h.signedIn("max"), h.signedIn("fran")
	big := h.add(bpc.Name, spec{variant: 2, amount: 90000, name: "Germaine Michu", email: "germaine@example.fr"})
	mustContain(t, govRequestRefund(t, sam, big, "650.00", "goodwill", ""), "awaiting")
	nameURL := "/customers/name/Germaine%20Michu"
	for _, c := range []struct {
		who    *browser
		path   string
		testID string
	}{
		{max, "/approvals", "approval-customer"},
		{sam, "/my-refunds", "my-refund-customer"},
		{fran, "/refunds", "refund-customer"},
		{sam, "/payments", "row-customer"},
	} {
		r := c.who.get(c.path)
		if got := attr(r.body, c.testID, "href"); got != nameURL {
			t.Errorf("%s: the customer links to %q, want %q", c.path, got, nameURL)
		}
	}
	if got := attr(sam.get("/payments").body, "row-email", "href"); got != "/customers/email/germaine@example.fr" {
		t.Errorf("the list's e-mail links to %q", got)
	}

	linked := h.add(powens.Name, spec{variant: 2, name: "Germaine Michu", email: "germaine@example.fr"})
	h.powens.SetCancelScenario(linked.PaymentID, powens.CancelNeedsPayerWebview)
	address := payerLinkURL(t, confirm(t, sam, linked, "cancel", nil))
	r := sam.get("/customers/email/germaine@example.fr")
	mustContain(t, r, "Open payer links", linked.PublicID, "waiting for the payer", address,
		"Goodwill gesture EUR 1 650.00 EUR 0 0.00 EUR") // awaiting approval: asked, not refunded
	mustNotContain(t, r, "No payer link is waiting")
	// Finance sees that a link waits, not the address to share (as on the payment page).
	r = fran.get("/customers/email/germaine@example.fr")
	mustContain(t, r, linked.PublicID, "waiting for the payer")
	mustNotContain(t, r, address)
}

// TestBrowserCustomerPage looks at the customer page as the page sweep does (sweep_test.go)
// for each role that may see it: at desktop and phone width, light and dark, no leaked
// template or raw code, no sideways scroll on a phone (a long e-mail, the totals and the
// payments as cards), no serious accessibility violation.
func TestBrowserCustomerPage(t *testing.T) {
	h := newHarness(t)
	c := newChrome(t)
	sam := h.signedIn("sam")
	email := "chloe.marie-antoinette.durand-de-la-fontaine@correspondance.example.fr"
	p := h.add(bpc.Name, spec{variant: 2, amount: 123456789, name: "Chloé Marie-Antoinette Durand de la Fontaine", email: email})
	h.add(bpc.Name, spec{variant: 2, amount: 9900, currency: "GBP", name: "Chloé Durand", email: strings.ToUpper(email)})
	mustContain(t, govRequestRefund(t, sam, p, "20.00", "duplicate", ""), "done")
	linked := h.add(powens.Name, spec{variant: 2, name: "Chloé Durand", email: email})
	h.powens.SetCancelScenario(linked.PaymentID, powens.CancelNeedsPayerWebview)
	payerLinkURL(t, confirm(t, sam, linked, "cancel", nil))

	pages := []sweepPage{
		{"customer-email", "/customers/email/" + url.PathEscape(email), `[data-testid=customer-totals]`},
		{"customer-card", "/customers/card/bpc/" + p.CardLast4, `[data-testid=customer-totals]`},
		{"customer-not-found", "/customers/email/nobody@example.fr", `main#main`},
	}
	for _, who := range []struct{ user, role string }{{"sam", "support"}, {"fran", "finance"}, {"max", "manager"}} {
		t.Run(who.role, func(t *testing.T) {
			ctx, cancel := chromedp.NewContext(c.base, chromedp.WithNewBrowserContext())
			defer cancel()
			ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
			defer cancelTimeout()
			signInBrowser(t, ctx, h.srv.URL, who.user)
			sweep(t, ctx, h.srv.URL, who.role, pages)
		})
	}
}

// TestCustomerPageShowsTheNotesOfTheirPayments: notes written on a customer's payments
// show on the customer page, newest first, each naming its payment, its ticket address a
// link, read-only there (edited on the payment's page); another customer's note does not.
func TestCustomerPageShowsTheNotesOfTheirPayments(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	first := h.add(bpc.Name, spec{variant: 2, amount: 12000, name: "Inès Moreau", email: "ines.moreau@example.fr"})
	second := h.add(bpc.Name, spec{variant: 2, amount: 3050, name: "Inès Moreau", email: "Ines.Moreau@example.fr"})
	other := h.add(bpc.Name, spec{variant: 2, amount: 5000, name: "Paul Moreau", email: "paul.moreau@example.fr"})
	for _, n := range []struct {
		p    storage.Payment
		text string
	}{
		{first, "Asked for a refund by phone, see https://tickets.example/T-100"},
		{second, "Second payment was a duplicate (T-101)"},
		{other, "Paul's own note"},
	} {
		if r := sam.post("/payments/"+n.p.PublicID+"/notes", url.Values{"text": {n.text}}); r.status != http.StatusOK {
			t.Fatalf("add note on %s: %d", n.p.PublicID, r.status)
		}
	}
	r := h.signedIn("fran").get("/customers/email/ines.moreau@example.fr")
	mustContain(t, r, "Notes", "2 notes", "Second payment was a duplicate (T-101)", "Asked for a refund by phone")
	mustNotContain(t, r, "Paul's own note")
	if i, j := strings.Index(r.body, "Second payment was a duplicate"), strings.Index(r.body, "Asked for a refund by phone"); i > j {
		t.Error("the customer's notes are not newest first")
	}
	sec := r.body[strings.Index(r.body, `data-testid="customer-notes"`):]
	sec = sec[:strings.Index(sec, "</section>")]
	for _, want := range []string{
		`href="/payments/` + first.PublicID + `"`, `href="/payments/` + second.PublicID + `"`,
		`<a href="https://tickets.example/T-100" rel="noopener noreferrer" target="_blank">`,
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("the customer's notes lack %s:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, `data-testid="note-edit"`) {
		t.Error("the customer page offers to edit a note: that is done on the payment's page")
	}
}
