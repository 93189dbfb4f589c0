package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// listFixture is a small, varied set of payments: three providers, several statuses,
// currencies, amounts and days, each known by a short name.
type listFixture struct {
	h  *harness
	b  *browser
	by map[string]storage.Payment // fixture name → payment
}

// day is noon UTC on a day of June 2025, the fixture's calendar.
func day(d int) time.Time { return time.Date(2025, 6, d, 12, 0, 0, 0, time.UTC) }

// listOrder is the fixture newest first: the order the list must show it in.
var listOrder = []string{"pw-done", "pw-cancelling", "bpc-paid", "bpc-open", "bpc-unknown", "tz-paid", "tz-init", "tz-failed"}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	h := newHarness(t)
	fx := &listFixture{h: h, by: map[string]storage.Payment{}}
	for _, p := range []struct {
		name     string
		provider providers.Name
		spec     spec
	}{
		{"pw-done", powens.Name, spec{variant: 7, currency: "EUR", amount: 5090, name: "Jean Dupont", email: "jean.dupont@example.com", created: day(8)}},
		{"pw-cancelling", powens.Name, spec{variant: 4, currency: "GBP", amount: 12000, name: "Amelia Smith", email: "amelia@example.org", created: day(7)}},
		{"bpc-paid", bpc.Name, spec{variant: 2, currency: "EUR", amount: 25000, name: "Olena Shevchenko", email: "Olena.Shevchenko@Example.com", created: day(6)}},
		{"bpc-open", bpc.Name, spec{variant: 0, currency: "JPY", amount: 5000, name: "Haruto Sato", email: "haruto@example.net", created: day(5)}},
		{"bpc-unknown", bpc.Name, spec{variant: 13, currency: "EUR", amount: 1000, name: "Ada Lovelace", email: "ada@example.com", created: day(4)}},
		{"tz-paid", tranzzo.Name, spec{variant: 4, currency: "UAH", amount: 400000, name: "Taras Melnyk", email: "taras@example.com", created: day(3)}},
		{"tz-init", tranzzo.Name, spec{variant: 0, currency: "XTS", amount: 9999, name: "Iryna Koval", email: "iryna@example.com", created: day(2)}},
		{"tz-failed", tranzzo.Name, spec{variant: 10, currency: "EUR", amount: 70000, name: "Jean Martin", email: "jean.martin@example.com", created: day(1)}},
	} {
		fx.by[p.name] = h.add(p.provider, p.spec)
	}
	fx.b = h.signedIn("sam")
	return fx
}

// names maps listed public ids back to fixture names.
func (fx *listFixture) names(t *testing.T, ids []string) []string {
	t.Helper()
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		found := ""
		for name, p := range fx.by {
			if p.PublicID == id {
				found = name
			}
		}
		if found == "" {
			t.Fatalf("the list shows %s, which is not in the fixture", id)
		}
		out = append(out, found)
	}
	return out
}

// inOrder returns the given fixture names in list order.
func inOrder(names ...string) []string {
	var out []string
	for _, n := range listOrder {
		if slices.Contains(names, n) {
			out = append(out, n)
		}
	}
	return out
}

var listedRe = regexp.MustCompile(`data-testid="payment-link"[^>]*>([^<]+)<`)

// listed returns the public ids of the rows a list page shows, top to bottom.
func listed(r response) []string {
	var ids []string
	for _, m := range listedRe.FindAllStringSubmatch(r.body, -1) {
		ids = append(ids, strings.TrimSpace(m[1]))
	}
	return ids
}

var rowRe = regexp.MustCompile(`(?s)<tr data-testid="payment-row">(.*?)</tr>`)

// rowTexts returns what a person reads on each row of a list page.
func rowTexts(r response) []string {
	var out []string
	for _, m := range rowRe.FindAllStringSubmatch(r.body, -1) {
		out = append(out, text(m[1]))
	}
	return out
}

// countText is the list's count line.
func countText(r response) string {
	return text(regexpFind(r.body, `(?s)data-testid="count">(.*?)</p>`))
}

func TestPaymentsListFilters(t *testing.T) {
	fx := newListFixture(t)
	all := listOrder
	tests := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"provider=powens", inOrder("pw-done", "pw-cancelling")},
		{"provider=bpc", inOrder("bpc-paid", "bpc-open", "bpc-unknown")},
		{"provider=+BPC", inOrder("bpc-paid", "bpc-open", "bpc-unknown")}, // as typed into a URL
		{"provider=tranzzo", inOrder("tz-paid", "tz-init", "tz-failed")},
		{"status=paid", inOrder("pw-done", "bpc-paid", "tz-paid")},
		{"status=awaiting_payment", inOrder("bpc-open", "tz-init")},
		{"status=cancelling", inOrder("pw-cancelling")},
		{"status=unknown", inOrder("bpc-unknown")},
		{"status=failed", inOrder("tz-failed")},
		{"currency=EUR", inOrder("pw-done", "bpc-paid", "bpc-unknown", "tz-failed")},
		{"currency=eur", inOrder("pw-done", "bpc-paid", "bpc-unknown", "tz-failed")},
		{"currency=+JPY+", inOrder("bpc-open")},
		{"currency=EUR&min=50", inOrder("pw-done", "bpc-paid", "tz-failed")},
		{"currency=EUR&max=50.90", inOrder("pw-done", "bpc-unknown")}, // bounds are inclusive
		{"currency=EUR&min=50.90&max=250", inOrder("pw-done", "bpc-paid")},
		{"currency=EUR&min=50.91&max=249.99", nil},
		{"currency=EUR&min=50,90&max=50,90", inOrder("pw-done")}, // a decimal comma
		{"currency=UAH&min=4%20000,00", inOrder("tz-paid")},      // grouped by a space
		{"currency=JPY&min=5000&max=5000", inOrder("bpc-open")},
		{"currency=JPY&min=5001", nil},
		{"currency=UAH&min=3999.99", inOrder("tz-paid")},
		{"from=2025-06-03&to=2025-06-05", inOrder("bpc-open", "bpc-unknown", "tz-paid")}, // both days included
		{"from=2025-06-07", inOrder("pw-done", "pw-cancelling")},
		{"to=2025-06-01", inOrder("tz-failed")},
		{"from=2025-06-04&to=2025-06-04", inOrder("bpc-unknown")},
		{"from=2025-07-01", nil},
		{"attention=1", inOrder("pw-cancelling", "bpc-unknown")},
		// Combinations: every filter narrows the others.
		{"provider=tranzzo&status=paid", inOrder("tz-paid")},
		{"provider=bpc&currency=EUR&status=paid", inOrder("bpc-paid")},
		{"provider=powens&attention=1", inOrder("pw-cancelling")},
		{"provider=tranzzo&attention=1", nil},
		{"status=paid&from=2025-06-05", inOrder("pw-done", "bpc-paid")},
		{"currency=EUR&min=100&from=2025-06-01&to=2025-06-06&provider=bpc&status=paid", inOrder("bpc-paid")},
		{"currency=EUR&min=100&to=2025-06-05", inOrder("tz-failed")},
		{"q=jean&currency=EUR", inOrder("pw-done", "tz-failed")},
		{"q=jean&provider=tranzzo", inOrder("tz-failed")},
		{"q=jean&status=paid&from=2025-06-08&to=2025-06-08", inOrder("pw-done")},
		{"q=jean&attention=1", nil},
		{"provider=powens&currency=UAH", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := fx.b.get("/payments?" + tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.status, text(r.body))
			}
			got := fx.names(t, listed(r))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			wantCount := fmt.Sprintf("%d payments", len(tt.want))
			if len(tt.want) == 1 {
				wantCount = "1 payment"
			}
			if got := countText(r); got != wantCount {
				t.Errorf("count: got %q, want %q", got, wantCount)
			}
			if len(tt.want) == 0 {
				mustContain(t, r, "No payment matches this search.")
				if !strings.Contains(r.body, `data-testid="empty"`) {
					t.Errorf("no empty panel on a no-match page")
				}
			}
		})
	}
}

// TestPaymentsListBadFilters: a filter that cannot be understood answers 400 with a
// sentence saying what to fix, shows no payment, and keeps what was typed.
func TestPaymentsListBadFilters(t *testing.T) {
	fx := newListFixture(t)
	tests := []struct {
		query, want string
	}{
		{"min=10", "Choose a currency to filter by amount"},
		{"max=10", "Choose a currency to filter by amount"},
		{"currency=EUR&min=ten", `The minimum amount "ten" is not an amount in EUR: write it like 12.50.`},
		{"currency=EUR&max=1.234", `The maximum amount "1.234" is not an amount in EUR: write it like 12.50.`},
		{"currency=JPY&min=1.5", `The minimum amount "1.5" is not an amount in JPY: write it like 12.`},
		{"currency=EUR&min=-5", `The minimum amount "-5" is not an amount in EUR`},
		{"currency=EUR&min=1e3", `The minimum amount "1e3" is not an amount in EUR`},
		{"currency=EUR&min=20&max=10", "The minimum amount is above the maximum: swap them, or lower the minimum."},
		{"currency=EURO", `"EURO" is not a currency code`},
		{"currency=12", `"12" is not a currency code`},
		{"provider=paypal", `Unknown provider "paypal"`},
		{"status=refundable", `Unknown status "refundable": choose one from the Status list.`},
		{"from=31/01/2025", "The From date must look like 2026-01-31"},
		{"to=yesterday", "The To date must look like 2026-01-31"},
		{"from=2025-06-05&to=2025-06-04", "The From date is after the To date: swap them."},
		{"after=garbage", "This page link is damaged"},
		{"before=12-0", "This page link is damaged"},
		{"after=1-1&before=1-2", "This page link is damaged"},
		{"q=" + strings.Repeat("x", 201), "The search is 201 characters long: shorten it to 200 at most."},
	}
	for _, tt := range tests {
		t.Run(tt.query[:min(len(tt.query), 40)], func(t *testing.T) {
			r := fx.b.get("/payments?" + tt.query)
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", r.status)
			}
			if got := text(regexpFind(r.body, `(?s)data-testid="filter-error"[^>]*>(.*?)</div>`)); !strings.Contains(got, tt.want) {
				t.Errorf("filter error %q, want it to say %q", got, tt.want)
			}
			if ids := listed(r); len(ids) != 0 {
				t.Errorf("a refused filter shows %d payments, want none", len(ids))
			}
			// One message per problem: no count, no "no payment matches" beside it.
			if n := strings.Count(r.body, `role="alert"`); n != 1 {
				t.Errorf("the refused page has %d alerts, want 1:\n%s", n, text(r.body))
			}
			for _, other := range []string{`data-testid="count"`, `data-testid="empty"`, "No payment matches", "No results"} {
				if strings.Contains(r.body, other) {
					t.Errorf("the refused page also shows %s", other)
				}
			}
			// The page is still the list, with the form to fix the filter.
			if !strings.Contains(r.body, `data-testid="filters"`) {
				t.Errorf("the refused page has no filter form")
			}
		})
	}
	// What was typed stays in the form, to be corrected.
	r := fx.b.get("/payments?currency=eur&min=ten&provider=bpc&status=paid&from=2025-06-01&attention=1")
	if got := attr(r.body, "filter-currency", "value"); got != "EUR" {
		t.Errorf("currency field: got %q, want EUR", got)
	}
	for _, want := range []string{`name="min" value="ten"`, `value="bpc" selected`, `value="paid" selected`, `name="from" value="2025-06-01"`, `name="attention" value="1" checked`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the refused form lost %s", want)
		}
	}
}

// TestPaymentsListBadFilterMarksItsField: the field at fault is marked invalid and
// described by the message; the others are not.
func TestPaymentsListBadFilterMarksItsField(t *testing.T) {
	fx := newListFixture(t)
	for _, tt := range []struct{ query, field string }{
		{"status=refundable", `<select name="status"`},
		{"currency=EUR&min=ten", `<input name="min"`},
		{"from=2025-06-05&to=2025-06-04", `<input type="date" name="from"`},
		{"currency=12", `<input name="currency"`},
	} {
		r := fx.b.get("/payments?" + tt.query)
		tag := regexpFind(r.body, `(`+regexp.QuoteMeta(tt.field)+`[^>]*>)`)
		if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="filter-error"`) {
			t.Errorf("%s: the field is not marked: %s", tt.query, tag)
		}
		if n := strings.Count(r.body, `aria-invalid="true"`); n != 1 {
			t.Errorf("%s: %d fields are marked invalid, want 1", tt.query, n)
		}
	}
}

// TestPaymentsListActionsAreLinks: the Actions column links each action the provider
// allows to its form for those who may act, and says it in words (no link, no button)
// to the others; a kept page of one never reaches the other.
func TestPaymentsListActionsAreLinks(t *testing.T) {
	fx := newListFixture(t)
	paid := fx.by["bpc-paid"]
	actionsCell := func(r response, id string) string {
		for _, m := range rowRe.FindAllStringSubmatch(r.body, -1) {
			if strings.Contains(m[1], ">"+id+"<") {
				cells := regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(m[1], -1)
				return cells[len(cells)-1][1]
			}
		}
		t.Fatalf("no row for %s", id)
		return ""
	}
	for round := range 2 { // the second round is served from the page cache
		r := fx.b.get("/payments")
		cell := actionsCell(r, paid.PublicID)
		want := `<a class="row-action" href="/payments/` + paid.PublicID + `/refund" data-testid="row-refund">Refund</a>`
		if !strings.Contains(cell, want) {
			t.Errorf("round %d: support's actions cell for a paid payment: %s, want %s", round, cell, want)
		}
		if strings.Contains(cell, "badge") {
			t.Errorf("round %d: the actions cell still shows badges: %s", round, cell)
		}
		// The link acts: it opens the refund form.
		form := fx.b.get("/payments/" + paid.PublicID + "/refund")
		if form.status != http.StatusOK || !strings.Contains(form.body, `method="post"`) {
			t.Errorf("round %d: following the Refund link: status %d, no form", round, form.status)
		}

		fran := fx.h.signedIn("fran") // finance: may see, may not act
		r = fran.get("/payments")
		cell = actionsCell(r, paid.PublicID)
		if strings.Contains(cell, "<a") || strings.Contains(cell, "<button") || strings.Contains(cell, "badge") {
			t.Errorf("round %d: finance's actions cell has a link or a button: %s", round, cell)
		}
		if got := text(cell); got != "Refundable" {
			t.Errorf("round %d: finance's actions cell reads %q, want Refundable", round, got)
		}
	}
	// A payment nothing can be done to says so.
	if cell := actionsCell(fx.b.get("/payments"), fx.by["tz-failed"].PublicID); text(cell) != "—" {
		t.Errorf("a failed payment's actions: %q, want —", text(cell))
	}
}

// TestPaymentsListSearch: one box finds a payment by any of its keys.
func TestPaymentsListSearch(t *testing.T) {
	fx := newListFixture(t)
	fx.by["thomas"] = fx.h.add(tranzzo.Name, spec{variant: 4, currency: "KWD", amount: 2533740, name: "Jules Thomas",
		email: "jules.thomas31@mail.example", created: day(9)})
	fx.by["thomas-eur"] = fx.h.add(powens.Name, spec{variant: 7, currency: "EUR", amount: 253374, name: "Lena Thomas",
		email: "lena.thomas3@example.org", created: day(10)})
	by := fx.by
	type search struct {
		kind, q string
		want    []string
	}
	tests := []search{
		{"Paydesk id", by["bpc-open"].PublicID, []string{"bpc-open"}},
		{"Paydesk id with spaces around", "  " + by["tz-init"].PublicID + " ", []string{"tz-init"}},
		{"Powens payment id", by["pw-done"].PaymentID, []string{"pw-done"}},
		{"BPC payment id", by["bpc-paid"].PaymentID, []string{"bpc-paid"}},
		{"BPC session id", by["bpc-open"].SessionID, []string{"bpc-open"}},
		{"Tranzzo payment id", by["tz-paid"].PaymentID, []string{"tz-paid"}},
		{"Tranzzo order id", by["tz-failed"].OrderID, []string{"tz-failed"}},
		{"merchant reference (Powens)", by["pw-cancelling"].MerchantReference, []string{"pw-cancelling"}},
		{"merchant reference (BPC)", by["bpc-paid"].MerchantReference, []string{"bpc-paid"}},
		{"merchant reference (Tranzzo)", by["tz-init"].MerchantReference, []string{"tz-init"}},
		{"e-mail", "jean.dupont@example.com", []string{"pw-done"}},
		{"e-mail in upper case", "JEAN.DUPONT@EXAMPLE.COM", []string{"pw-done"}},
		{"e-mail stored in mixed case, typed lower", "olena.shevchenko@example.com", []string{"bpc-paid"}},
		{"name", "Shevchenko", []string{"bpc-paid"}},
		{"name in lower case", "iryna koval", []string{"tz-init"}},
		{"first name shared by two", "Jean", inOrder("pw-done", "tz-failed")},
		{"name prefix", "Shev", []string{"bpc-paid"}},
		{"search syntax is only text", `"Sato*" -`, []string{"bpc-open"}},
		{"search operators are words", `Sato OR Koval`, nil},
		{"part of an e-mail", "thomas31", []string{"thomas"}},
		{"part of an e-mail, in capitals", "THOMAS31", []string{"thomas"}},
		{"a prefix of two e-mails' words", "thomas3", []string{"thomas-eur", "thomas"}},
		{"an e-mail up to its @", "thomas31@", []string{"thomas"}},
		{"an e-mail's end", "thomas31@mail.example", []string{"thomas"}},
		{"an e-mail's domain", "@mail.example", []string{"thomas"}},
		{"an e-mail's local part with another domain", "thomas31@example.org", nil},
		{"a word of an e-mail and a name", "dupont", []string{"pw-done"}},
		{"the prefix of a name", "Thom", []string{"thomas-eur", "thomas"}},
		{"amount", "2533.74", []string{"thomas-eur", "thomas"}}, // 2533.74 EUR, and 2533.740 KWD
		{"amount with a decimal comma", "2533,74", []string{"thomas-eur", "thomas"}},
		{"amount grouped by a space", "2 533.74", []string{"thomas-eur", "thomas"}},
		{"amount grouped by a comma", "2,533.74", []string{"thomas-eur", "thomas"}},
		{"amount in euros", "€2533.74", []string{"thomas-eur"}},
		{"amount with its code", "2533.74 KWD", []string{"thomas"}},
		{"amount with cents", "50.90", []string{"pw-done"}},
		{"amount in yen", "¥5 000", []string{"bpc-open"}},
		{"amount in hryvnias", "4 000,00", []string{"tz-paid"}},
		{"a neighbouring amount", "2533.75", nil},
		{"unknown e-mail", "nobody@example.com", nil},
		{"unknown id", "pd_zzzzzzzzzzzz", nil},
	}
	// Card last 4: every payment with that card, whichever provider.
	for _, name := range []string{"bpc-paid", "tz-paid"} {
		l4 := by[name].CardLast4
		if len(l4) != 4 {
			t.Fatalf("%s has card last 4 %q; the fixture needs a card", name, l4)
		}
		var want []string
		for _, n := range listOrder {
			if by[n].CardLast4 == l4 {
				want = append(want, n)
			}
		}
		tests = append(tests, search{"card last 4 of " + name, l4, want})
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			r := fx.b.get("/payments?q=" + url.QueryEscape(tt.q))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, text(r.body))
			}
			if got := fx.names(t, listed(r)); !slices.Equal(got, tt.want) {
				t.Errorf("search %q: got %v, want %v", tt.q, got, tt.want)
			}
			if got := attr(r.body, "search", "value"); got != strings.TrimSpace(tt.q) {
				t.Errorf("the search box shows %q, want %q", got, strings.TrimSpace(tt.q))
			}
		})
	}
}

// TestPaymentsListStates: no payments at all, no match, and what a row says.
func TestPaymentsListStates(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("fran")

	r := b.get("/payments")
	if r.status != http.StatusOK {
		t.Fatalf("empty list: status %d", r.status)
	}
	mustContain(t, r, "No payments yet.", "0 payments")
	mustNotContain(t, r, "No payment matches")
	if strings.Contains(r.body, `data-testid="next"`) || strings.Contains(r.body, `data-testid="prev"`) {
		t.Errorf("an empty list has page links")
	}

	p := h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 123456, name: "Grace Hopper"})
	r = b.get("/payments")
	if got, want := countText(r), "1 payment"; got != want {
		t.Errorf("count: got %q, want %q", got, want)
	}
	rows := rowTexts(r)
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	for _, want := range []string{p.PublicID, p.PaymentID, "BPC", "Grace Hopper", p.CustomerEmail, "1,234.56 EUR", "paid", "succeeded", "Refundable"} {
		if !strings.Contains(rows[0], want) {
			t.Errorf("the row does not say %q: %s", want, rows[0])
		}
	}
	if got := attr(r.body, "payment-link", "href"); got != "/payments/"+p.PublicID {
		t.Errorf("row link: got %q", got)
	}

	r = b.get("/payments?q=nobody")
	mustContain(t, r, "No payment matches this search.", "0 payments")
	mustNotContain(t, r, "No payments yet.")
	if got := attr(r.body, "empty", "class"); got == "" {
		t.Errorf("no empty panel for a search that matches nothing")
	}
	if !strings.Contains(r.body, `href="/payments">clear the filters</a>`) {
		t.Errorf("the no-match state offers no way to clear the filters")
	}
}

// TestPaymentsListMoney: amounts are written with their currency's own number of decimals.
func TestPaymentsListMoney(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	tests := []struct {
		currency string
		amount   int64
		want     string
	}{
		{"JPY", 150000, "150,000 JPY"},
		{"JPY", 7, "7 JPY"},
		{"EUR", 123456, "1,234.56 EUR"},
		{"EUR", 5, "0.05 EUR"},
		{"BHD", 12345, "12.345 BHD"},
		{"BHD", 1000005, "1,000.005 BHD"},
		{"UAH", 400000, "4,000.00 UAH"},
		{"XTS", 9999, "99.99 XTS"},
	}
	for _, tt := range tests {
		p := h.add(tranzzo.Name, spec{variant: 4, currency: tt.currency, amount: tt.amount})
		r := b.get("/payments?q=" + p.PublicID)
		rows := rowTexts(r)
		if len(rows) != 1 {
			t.Fatalf("%s: got %d rows, want 1", tt.want, len(rows))
		}
		if got := text(regexpFind(r.body, `(?s)<td class="num">(.*?)</td>`)); got != tt.want {
			t.Errorf("%d minor units of %s: got %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
		// The amount filter speaks the same units.
		major := providers.FormatMajor(tt.amount, tt.currency)
		r = b.get("/payments?currency=" + tt.currency + "&min=" + major + "&max=" + major)
		if got := listed(r); !slices.Contains(got, p.PublicID) {
			t.Errorf("min=max=%s %s does not find the payment of %s", major, tt.currency, tt.want)
		}
	}
}

// TestPaymentsListUnknownStatus: a status Paydesk does not know is shown verbatim, and
// no action is listed for it.
func TestPaymentsListUnknownStatus(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("max")
	for _, c := range []struct {
		provider providers.Name
		variant  int
		raw      string
	}{
		{powens.Name, 12, "processing_v2"},
		{bpc.Name, 13, "underReview"},
		{tranzzo.Name, 12, "processing"},
	} {
		p := h.add(c.provider, spec{variant: c.variant})
		if p.Status != providers.StatusUnknown {
			t.Fatalf("%s variant %d: status %q, want unknown", c.provider, c.variant, p.Status)
		}
		r := b.get("/payments?q=" + p.PublicID)
		rows := rowTexts(r)
		if len(rows) != 1 {
			t.Fatalf("%s: got %d rows", c.provider, len(rows))
		}
		if !strings.Contains(rows[0], "unknown "+c.raw) {
			t.Errorf("%s: the row does not show the raw status %q next to unknown: %s", c.provider, c.raw, rows[0])
		}
		if !strings.HasSuffix(rows[0], "—") {
			t.Errorf("%s: an unknown status lists actions: %s", c.provider, rows[0])
		}
		if strings.Contains(r.body, `class="row-action"`) {
			t.Errorf("%s: an unknown status shows an action", c.provider)
		}
	}
	r := b.get("/payments?status=unknown")
	if got := len(listed(r)); got != 3 {
		t.Errorf("status=unknown lists %d payments, want 3", got)
	}
	r = b.get("/payments?attention=1")
	if got := len(listed(r)); got != 3 {
		t.Errorf("attention=1 lists %d payments, want the 3 unknown ones", got)
	}
}

// TestPaymentsListStateInURL: the form shows the state of the URL, and every link of
// the page keeps it.
func TestPaymentsListStateInURL(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 53; i++ {
		h.add(bpc.Name, spec{variant: 2, currency: "EUR", amount: 10000 + int64(i), name: "Camille Martin"})
	}
	h.add(bpc.Name, spec{variant: 2, currency: "GBP", amount: 10000, name: "Camille Martin"})
	b := h.signedIn("sam")
	q := "q=camille&provider=bpc&status=paid&currency=EUR&min=100&max=200&from=2020-01-01&to=2099-12-31"
	r := b.get("/payments?" + q)
	if got := countText(r); got != "53 payments" {
		t.Fatalf("count %q, want 53 payments", got)
	}
	if got := attr(r.body, "search", "value"); got != "camille" {
		t.Errorf("search box: %q", got)
	}
	for _, want := range []string{`value="bpc" selected`, `value="paid" selected`, `name="min" value="100"`, `name="max" value="200"`,
		`name="from" value="2020-01-01"`, `name="to" value="2099-12-31"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the form does not show %s", want)
		}
	}
	if got := attr(r.body, "filter-currency", "value"); got != "EUR" {
		t.Errorf("currency: %q", got)
	}
	next := attr(r.body, "next", "href")
	if next == "" {
		t.Fatal("no next link on a page of 50 of 53")
	}
	wantParams := mustURL("/payments?" + q).Query()
	nu := mustURL(next)
	for k, v := range wantParams {
		if got := nu.Query().Get(k); got != v[0] {
			t.Errorf("next link %s: %s=%q, want %q", next, k, got, v[0])
		}
	}
	r2 := b.get(next)
	if got := len(listed(r2)); got != 3 {
		t.Errorf("page 2 shows %d rows, want 3", got)
	}
	if got := countText(r2); got != "53 payments" {
		t.Errorf("page 2 count %q, want the same 53 payments", got)
	}
	for _, id := range []string{"first", "prev"} {
		u := mustURL(attr(r2.body, id, "href"))
		for k, v := range wantParams {
			if got := u.Query().Get(k); got != v[0] {
				t.Errorf("%s link %s: %s=%q, want %q", id, u, k, got, v[0])
			}
		}
	}
	if got := attr(r2.body, "first", "href"); strings.Contains(got, "after=") || strings.Contains(got, "before=") {
		t.Errorf("the first-page link carries a cursor: %s", got)
	}
	// Pasting a page's URL into another browser shows the same page.
	other := h.signedIn("fran")
	if got, want := listed(other.get(next)), listed(r2); !slices.Equal(got, want) {
		t.Errorf("the same URL shows other rows to another user: %v, want %v", got, want)
	}
	// Clearing drops every filter.
	if got := attr(r.body, "filters", "action"); got != "/payments" {
		t.Errorf("the filter form posts to %q", got)
	}
	clear := regexp.MustCompile(`<a href="/payments"[^>]*>Clear</a>`)
	if !clear.MatchString(r.body) {
		t.Errorf("a filtered list has no Clear link")
	}
	if clear.MatchString(b.get("/payments").body) {
		t.Errorf("an unfiltered list offers to clear filters")
	}
}

// TestPaymentsListPages walks keyset pages forth and back over runs of equal timestamps,
// and checks that a payment arriving between two page loads neither repeats nor hides
// a row.
func TestPaymentsListPages(t *testing.T) {
	h := newHarness(t)
	base := h.clock.Now().Add(-time.Hour)
	// 120 payments; 60 of them (rows 30 to 89) share one timestamp, across the boundary
	// of pages 1 and 2 and of pages 2 and 3.
	for i := 0; i < 120; i++ {
		at := base.Add(-time.Duration(i) * time.Minute)
		if i >= 30 && i < 90 {
			at = base.Add(-30 * time.Minute)
		}
		h.add(tranzzo.Name, spec{variant: i % 13, created: at, currency: "UAH", amount: int64(1000 + i)})
	}
	b := h.signedIn("sam")
	ctx := context.Background()

	var pages [][]string
	r := b.get("/payments")
	if strings.Contains(r.body, `data-testid="prev"`) || strings.Contains(r.body, `data-testid="first"`) {
		t.Errorf("the first page links to a newer page")
	}
	if got := countText(r); got != "120 payments" {
		t.Errorf("count %q, want 120 payments", got)
	}
	var urls []string
	for u := "/payments"; u != ""; u = attr(r.body, "next", "href") {
		r = b.get(u)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", u, r.status)
		}
		urls = append(urls, u)
		pages = append(pages, listed(r))
		if len(pages) > 5 {
			t.Fatal("the next links never end")
		}
	}
	if got := []int{len(pages[0]), len(pages[1]), len(pages[2])}; len(pages) != 3 || !slices.Equal(got, []int{50, 50, 20}) {
		t.Fatalf("pages of %v rows, want 50, 50, 20", got)
	}
	// The last page: no older page, links back.
	if strings.Contains(r.body, `data-testid="next"`) {
		t.Errorf("the last page links to an older page")
	}
	if attr(r.body, "prev", "href") == "" || attr(r.body, "first", "href") != "/payments" {
		t.Errorf("the last page has no link back (prev %q, first %q)", attr(r.body, "prev", "href"), attr(r.body, "first", "href"))
	}
	// Every payment exactly once, newest first.
	var walked []string
	for _, p := range pages {
		walked = append(walked, p...)
	}
	seen := map[string]bool{}
	var prev storage.Payment
	for i, id := range walked {
		if seen[id] {
			t.Errorf("%s appears twice", id)
		}
		seen[id] = true
		p, err := h.db.PaymentByPublicID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (p.CreatedAt.After(prev.CreatedAt) || p.CreatedAt.Equal(prev.CreatedAt) && p.ID > prev.ID) {
			t.Errorf("row %d (%s, %s) is newer than the row above it", i, id, p.CreatedAt)
		}
		prev = p
	}
	if n, _ := h.db.CountPayments(ctx); len(seen) != n {
		t.Errorf("walked %d distinct payments of %d", len(seen), n)
	}
	// Back again with the newer links: the same pages.
	for i := len(pages) - 1; i > 0; i-- {
		back := attr(r.body, "prev", "href")
		r = b.get(back)
		if got := listed(r); !slices.Equal(got, pages[i-1]) {
			t.Errorf("back to page %d: got %d rows %v…, want %v…", i, len(got), head(got), head(pages[i-1]))
		}
	}
	if strings.Contains(r.body, `data-testid="prev"`) {
		t.Errorf("back on the first page, a newer link remains")
	}

	// A payment arrives between the loads of page 1 and page 2.
	r = b.get("/payments")
	next := attr(r.body, "next", "href")
	fresh := h.add(bpc.Name, spec{variant: 2, created: h.clock.Now()})
	r = b.get(next)
	if got := listed(r); !slices.Equal(got, pages[1]) {
		t.Errorf("page 2 after an arrival: got %v…, want the page 2 seen before %v…", head(got), head(pages[1]))
	}
	if got := countText(r); got != "121 payments" {
		t.Errorf("count after the arrival %q, want 121 payments", got)
	}
	r = b.get(attr(r.body, "prev", "href"))
	if got := listed(r); !slices.Equal(got, pages[0]) {
		t.Errorf("newer page after an arrival: got %v…, want page 1 as first seen %v…", head(got), head(pages[0]))
	}
	if attr(r.body, "prev", "href") == "" {
		t.Errorf("the page below the new arrival does not link to it")
	}
	r = b.get(attr(r.body, "first", "href"))
	if got := listed(r); len(got) != 50 || got[0] != fresh.PublicID || !slices.Equal(got[1:], pages[0][:49]) {
		t.Errorf("newest page: got %v…, want the arrival then page 1", head(got))
	}
	// A page link whose row is gone still works (the cursor is a position, not a row).
	r = b.get("/payments?after=" + storage.Cursor{CreatedAt: base.Add(-30 * time.Minute), ID: 1 << 40}.String())
	if r.status != http.StatusOK || len(listed(r)) != 50 {
		t.Errorf("a cursor naming no row: status %d, %d rows", r.status, len(listed(r)))
	}
	// Urls of the walk stay valid later: the first page is the newest one.
	if urls[0] != "/payments" {
		t.Errorf("the walk started at %s", urls[0])
	}
}

// TestPaymentsListEqualTimestampsOnly: a whole list created in the same second pages by id.
func TestPaymentsListEqualTimestampsOnly(t *testing.T) {
	h := newHarness(t)
	at := h.clock.Now().Add(-time.Hour)
	for i := 0; i < 101; i++ {
		h.add(powens.Name, spec{variant: 7, created: at})
	}
	b := h.signedIn("sam")
	var all []string
	r := b.get("/payments")
	for n := 0; ; n++ {
		all = append(all, listed(r)...)
		next := attr(r.body, "next", "href")
		if next == "" {
			break
		}
		if n > 3 {
			t.Fatal("the next links never end")
		}
		r = b.get(next)
	}
	if len(all) != 101 {
		t.Errorf("walked %d rows, want 101", len(all))
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != 101 {
		t.Errorf("some rows were shown twice")
	}
	if got := len(listed(r)); got != 1 {
		t.Errorf("last page of 101 has %d rows, want 1", got)
	}
}

func head(ids []string) []string { return ids[:min(3, len(ids))] }
