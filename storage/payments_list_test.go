package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// listFixture is a small set of payments across the providers, their states and
// currencies, created one hour apart: "a" is the newest, "h" the oldest.
type listFixture struct {
	db   *DB
	byID map[int64]string   // payment id → fixture name
	p    map[string]Payment // fixture name → payment
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	db := newTestDB(t)
	hour := func(n int) time.Time { return testEpoch.Add(-time.Duration(n) * time.Hour) }
	snaps := []struct {
		name string
		snap providers.Snapshot
	}{
		{"a", providers.Snapshot{Provider: powens.Name, PaymentID: "1001", MerchantReference: "INV-1", Amount: 5090, Captured: 5090,
			Currency: "EUR", RawStatus: "done", CustomerName: "Jean Dupont", CustomerEmail: "jean.dupont@example.com", CreatedAt: hour(1)}},
		{"b", providers.Snapshot{Provider: powens.Name, PaymentID: "1002", Amount: 12000, Currency: "EUR", RawStatus: "pending",
			StateDetail: "cancelling_webauth", CustomerName: "Marie Curie", CustomerEmail: "marie@example.org", CreatedAt: hour(2)}},
		{"c", providers.Snapshot{Provider: bpc.Name, PaymentID: "p_c", SessionID: "ps_c", MerchantReference: "ORD-77", Amount: 25000,
			Captured: 25000, Currency: "EUR", RawStatus: "succeeded", CardLast4: "4242", CustomerName: "Olena Shevchenko",
			CustomerEmail: "olena@example.com", CreatedAt: hour(3)}},
		{"d", providers.Snapshot{Provider: bpc.Name, SessionID: "ps_d", Amount: 999, Currency: "EUR", RawStatus: "open",
			SessionStatus: "open", CustomerName: "Taras Shevchenko", CreatedAt: hour(4)}},
		{"e", providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_e", OrderID: "order-e", MerchantReference: "order-e",
			Amount: 150000, Captured: 150000, Currency: "UAH", RawStatus: "success", Method: "purchase", CardLast4: "1234",
			CustomerName: "Anna Kowalska", CreatedAt: hour(5)}},
		{"f", providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_f", OrderID: "order-f", Amount: 40000, Currency: "GBP",
			RawStatus: "success", Method: "auth", CardLast4: "4242", CustomerName: "Jean-Luc Picard", CreatedAt: hour(6)}},
		{"g", providers.Snapshot{Provider: powens.Name, PaymentID: "4242", Amount: 700, Currency: "EUR", RawStatus: "rejected",
			ErrorCode: "cancelledByUser", CustomerName: "Élodie Brûlé", CreatedAt: hour(7)}},
		{"h", providers.Snapshot{Provider: bpc.Name, PaymentID: "p_h", Amount: 100, Currency: "EUR", RawStatus: "mystery",
			CustomerName: "Noah Novak", CreatedAt: hour(8)}},
	}
	fx := &listFixture{db: db, byID: map[int64]string{}, p: map[string]Payment{}}
	for _, s := range snaps {
		p, _ := upsertForTest(t, db, s.snap, UpsertOptions{Actor: "import"})
		fx.byID[p.ID] = s.name
		fx.p[s.name] = p
	}
	// What needs attention besides the statuses: an action whose outcome is unknown on e,
	// a refund awaiting approval on c, an active payer link on g; and what does not: a
	// finished action on a, a succeeded refund on d, an expired link on f.
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.db.Exec(q, args...); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	now := ms(testEpoch)
	action := `INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at) VALUES (?, 'refund', ?, ?, 'ann@example.com', ?)`
	exec(action, fx.p["e"].ID, "unknown", "act-e", now)
	exec(action, fx.p["a"].ID, "succeeded", "act-a", now)
	refund := `INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, updated_at) VALUES (?, 100, 'EUR', ?, 'ann@example.com', ?, ?)`
	exec(refund, fx.p["c"].ID, "awaiting_approval", now, now)
	exec(refund, fx.p["d"].ID, "succeeded", now, now)
	link := `INSERT INTO payer_links (payment_id, state, kind, url, nonce, created_by, created_at, expires_at, updated_at)
		VALUES (?, ?, 'webview', 'https://example.com/l', ?, 'ann@example.com', ?, ?, ?)`
	exec(link, fx.p["g"].ID, "active", "n-g", now, now+1000, now)
	exec(link, fx.p["f"].ID, "expired", "n-f", now, now+1000, now)
	return fx
}

// names lists the fixture names of a page's payments, in order.
func (fx *listFixture) names(ps []Payment) string {
	var out []string
	for _, p := range ps {
		out = append(out, fx.byID[p.ID])
	}
	return strings.Join(out, " ")
}

func int64p(v int64) *int64 { return &v }

func TestListPaymentsFilters(t *testing.T) {
	fx := newListFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		f    PaymentFilter
		want string
	}{
		{"everything, newest first", PaymentFilter{}, "a b c d e f g h"},
		{"provider", PaymentFilter{Provider: bpc.Name}, "c d h"},
		{"status", PaymentFilter{Status: providers.StatusPaid}, "a c e"},
		{"status unknown", PaymentFilter{Status: providers.StatusUnknown}, "h"},
		{"currency", PaymentFilter{Currency: "EUR"}, "a b c d g h"},
		{"currency in lower case", PaymentFilter{Currency: " gbp "}, "f"},
		{"minimum amount", PaymentFilter{MinAmount: int64p(12000)}, "b c e f"},
		{"maximum amount", PaymentFilter{MaxAmount: int64p(999)}, "d g h"},
		{"amount range, inclusive", PaymentFilter{MinAmount: int64p(999), MaxAmount: int64p(5090)}, "a d"},
		{"from", PaymentFilter{From: testEpoch.Add(-3 * time.Hour)}, "a b c"},
		{"to, exclusive", PaymentFilter{To: testEpoch.Add(-6 * time.Hour)}, "g h"},
		{"date range", PaymentFilter{From: testEpoch.Add(-4 * time.Hour), To: testEpoch.Add(-2 * time.Hour)}, "c d"},
		{"empty date range", PaymentFilter{From: testEpoch.Add(-4 * time.Hour), To: testEpoch.Add(-4 * time.Hour)}, ""},
		{"needs attention", PaymentFilter{NeedsAttention: true}, "b c e g h"},
		{"provider and status", PaymentFilter{Provider: bpc.Name, Status: providers.StatusPaid}, "c"},
		{"currency and minimum", PaymentFilter{Currency: "EUR", MinAmount: int64p(5000)}, "a b c"},
		{"attention and provider", PaymentFilter{NeedsAttention: true, Provider: powens.Name}, "b g"},
		{"attention and dates", PaymentFilter{NeedsAttention: true, From: testEpoch.Add(-5 * time.Hour), To: testEpoch.Add(-2 * time.Hour)}, "c e"},
		{"search and provider", PaymentFilter{Query: "shevchenko", Provider: bpc.Name}, "c d"},
		{"search and status", PaymentFilter{Query: "shevchenko", Status: providers.StatusAwaitingPayment}, "d"},
		{"last 4 and currency", PaymentFilter{Query: "4242", Currency: "GBP"}, "f"},
		{"e-mail and attention", PaymentFilter{Query: "olena@example.com", NeedsAttention: true}, "c"},
		{"e-mail and another provider", PaymentFilter{Query: "olena@example.com", Provider: powens.Name}, ""},
		{"all filters", PaymentFilter{Query: "jean", Provider: powens.Name, Status: providers.StatusPaid, Currency: "EUR",
			MinAmount: int64p(5000), MaxAmount: int64p(6000), From: testEpoch.Add(-2 * time.Hour), To: testEpoch}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := fx.db.ListPayments(ctx, tt.f)
			if err != nil {
				t.Fatalf("ListPayments: %v", err)
			}
			if got := fx.names(page.Payments); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if wantN := len(strings.Fields(tt.want)); page.Count != wantN || page.CountCapped {
				t.Errorf("count: got %d (capped %v), want %d", page.Count, page.CountCapped, wantN)
			}
			if page.Next != nil || page.Prev != nil {
				t.Errorf("cursors of a single page: got next %v prev %v, want none", page.Next, page.Prev)
			}
		})
	}
}

func TestListPaymentsSearch(t *testing.T) {
	fx := newListFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, query, want string
	}{
		{"public id", fx.p["c"].PublicID, "c"},
		{"public id prefix", fx.p["c"].PublicID[:7], "c"},
		{"provider payment id", "p_c", "c"},
		{"numeric provider payment id", "1002", "b"},
		{"session id", "ps_d", "d"},
		{"order id", "order-e", "e"},
		{"merchant reference", "ORD-77", "c"},
		{"reference among others", "INV-1", "a"},
		{"e-mail", "jean.dupont@example.com", "a"},
		{"e-mail in another case, padded", "  Jean.DUPONT@Example.COM ", "a"},
		{"the start of an e-mail", "jean.dupont@", "a"},
		{"last 4, and an id equal to it", "4242", "c f g"},
		{"last 4 of one card", "1234", "e"},
		{"surname", "Shevchenko", "c d"},
		{"name prefix", "shev", "c d"},
		{"two words", "olena shev", "c"},
		{"two words in another order", "Shevchenko Taras", "d"},
		{"first name, also in e-mails and hyphenated names", "jean", "a f"},
		{"without diacritics", "elodie brule", "g"},
		{"with diacritics", "Brûlé", "g"},
		{"nothing", "zzz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := fx.db.ListPayments(ctx, PaymentFilter{Query: tt.query})
			if err != nil {
				t.Fatalf("search %q: %v", tt.query, err)
			}
			if got := fx.names(page.Payments); got != tt.want {
				t.Errorf("search %q: got %q, want %q", tt.query, got, tt.want)
			}
			if wantN := len(strings.Fields(tt.want)); page.Count != wantN {
				t.Errorf("search %q: count %d, want %d", tt.query, page.Count, wantN)
			}
		})
	}
}

func TestListPaymentsSearchSyntaxIsText(t *testing.T) {
	fx := newListFixture(t)
	ctx := context.Background()
	tests := []struct {
		query, want string
	}{
		{"!!!", ""},
		{`"`, ""},
		{`""`, ""},
		{"*", ""},
		{"-", ""},
		{"'", ""},
		{"()", ""},
		{":", ""},
		{"^", ""},
		{"NEAR", ""},
		{"NEAR(jean dupont)", ""},
		{"jean OR marie", ""},
		{"jean AND", ""},
		{"NOT jean", ""},
		{"jean -dupont", ""},
		{"customer_name:jean", ""},
		{`"jean"`, "a f"},
		{"jean*", "a f"},
		{`jean" dupont`, "a"},
		{"(olena)", "c"},
		{"olena+", "c"},
		{"{shevchenko}", "c d"},
		{"%_", ""},
		{strings.Repeat("an ", 50), "e"}, // many words: only the first few are used
	}
	for _, tt := range tests {
		page, err := fx.db.ListPayments(ctx, PaymentFilter{Query: tt.query})
		if err != nil {
			t.Errorf("search %q: got error %v, want none", tt.query, err)
			continue
		}
		if got := fx.names(page.Payments); got != tt.want {
			t.Errorf("search %q: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

func TestFTSExpression(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jean", `"jean"*`},
		{"olena shev", `"olena"* AND "shev"*`},
		{`a"b`, `"a"* AND "b"*`},
		{"NEAR(x y)", `"NEAR"* AND "x"* AND "y"*`},
		{"jean-luc o'brien", `"jean-luc"* AND "o"* AND "brien"*`},
		{"!!! ???", ""},
		{"", ""},
		{"1 2 3 4 5 6 7 8 9 10", `"1"* AND "2"* AND "3"* AND "4"* AND "5"* AND "6"* AND "7"* AND "8"*`},
	}
	for _, tt := range tests {
		if got := ftsExpression(tt.in); got != tt.want {
			t.Errorf("ftsExpression(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestListPaymentsInvalidFilter(t *testing.T) {
	db := newTestDB(t)
	tests := []struct {
		name string
		f    PaymentFilter
		want string
	}{
		{"unknown provider", PaymentFilter{Provider: "stripe"}, `unknown provider "stripe"`},
		{"unknown status", PaymentFilter{Status: "lost"}, `unknown status "lost"`},
		{"bad currency", PaymentFilter{Currency: "EURO"}, `currency "EURO"`},
		{"digits for a currency", PaymentFilter{Currency: "123"}, `currency "123"`},
		{"negative minimum", PaymentFilter{MinAmount: int64p(-1)}, "minimum amount -1 is negative"},
		{"negative maximum", PaymentFilter{MaxAmount: int64p(-1)}, "maximum amount -1 is negative"},
		{"minimum above maximum", PaymentFilter{MinAmount: int64p(500), MaxAmount: int64p(100)}, "minimum amount 500 is above maximum amount 100"},
		{"from after to", PaymentFilter{From: testEpoch, To: testEpoch.Add(-time.Second)}, "is after to"},
		{"both cursors", PaymentFilter{After: &Cursor{testEpoch, 1}, Before: &Cursor{testEpoch, 2}}, "both after and before"},
		{"negative limit", PaymentFilter{Limit: -1}, "limit -1 is negative"},
		{"search too long", PaymentFilter{Query: strings.Repeat("x", maxSearchLen+1)}, "search is 201 characters long"},
	}
	for _, tt := range tests {
		page, err := db.ListPayments(context.Background(), tt.f)
		if !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want ErrInvalidFilter with %q", tt.name, err, tt.want)
		}
		if page.Payments != nil || page.Count != 0 {
			t.Errorf("%s: got a page %+v with the error", tt.name, page)
		}
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{CreatedAt: time.UnixMilli(1732240000123).UTC(), ID: 42}
	if got := c.String(); got != "1732240000123-42" {
		t.Errorf("String: got %q, want 1732240000123-42", got)
	}
	back, err := ParseCursor(c.String())
	if err != nil || back != c {
		t.Errorf("ParseCursor(String): got %+v (%v), want %+v", back, err, c)
	}
	old := Cursor{CreatedAt: time.UnixMilli(-5000).UTC(), ID: 7}
	if back, err := ParseCursor(old.String()); err != nil || back != old {
		t.Errorf("ParseCursor(%q): got %+v (%v), want %+v", old.String(), back, err, old)
	}
	for _, bad := range []string{"", "abc", "12", "12-", "-5", "12-0", "12--3", "12-x", "x-12", "1.5-3", "12-3 ", "99999999999999999999-1"} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("ParseCursor(%q): got %v, want ErrInvalidFilter", bad, err)
		}
	}
}

// seedOrdered inserts n payments created at(i) and returns their ids in insertion order.
func seedOrdered(t *testing.T, db *DB, n int, at func(i int) time.Time) []int64 {
	t.Helper()
	start, _ := db.CountPayments(context.Background())
	bulkInsertPayments(t, db, n, func(i int) Payment {
		p := Payment{Status: providers.StatusPaid}
		p.Provider, p.PaymentID, p.Currency, p.RawStatus = bpc.Name, fmt.Sprintf("p_seed_%d", start+i), "EUR", "succeeded"
		p.PublicID = PublicIDFor(p.Provider, p.PaymentID)
		p.CreatedAt, p.UpdatedAt = at(i), testEpoch
		return p
	})
	rows, err := db.db.Query("SELECT id FROM payments ORDER BY id DESC LIMIT ?", n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := make([]int64, n)
	for i := n - 1; rows.Next(); i-- {
		rows.Scan(&ids[i])
	}
	return ids
}

// pageIDs returns a page's payment ids.
func pageIDs(p PaymentPage) []int64 {
	var out []int64
	for _, x := range p.Payments {
		out = append(out, x.ID)
	}
	return out
}

// listPage loads a page or fails the test.
func listPage(t *testing.T, db *DB, f PaymentFilter) PaymentPage {
	t.Helper()
	p, err := db.ListPayments(context.Background(), f)
	if err != nil {
		t.Fatalf("ListPayments(%+v): %v", f, err)
	}
	return p
}

func TestListPaymentsPagination(t *testing.T) {
	db := newTestDB(t)
	// Seven payments a minute apart: ids[6] is the newest.
	ids := seedOrdered(t, db, 7, func(i int) time.Time { return testEpoch.Add(time.Duration(i) * time.Minute) })
	newest := []int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}

	p1 := listPage(t, db, PaymentFilter{Limit: 3})
	if got := pageIDs(p1); !reflect.DeepEqual(got, newest[:3]) {
		t.Errorf("page 1: got %v, want %v", got, newest[:3])
	}
	if p1.Prev != nil || p1.Next == nil || *p1.Next != p1.Payments[2].Cursor() {
		t.Errorf("page 1 cursors: got prev %v next %v, want no prev and next at its last row", p1.Prev, p1.Next)
	}
	if p1.Count != 7 {
		t.Errorf("count: got %d, want 7", p1.Count)
	}

	p2 := listPage(t, db, PaymentFilter{Limit: 3, After: p1.Next})
	if got := pageIDs(p2); !reflect.DeepEqual(got, newest[3:6]) {
		t.Errorf("page 2: got %v, want %v", got, newest[3:6])
	}
	if p2.Prev == nil || p2.Next == nil {
		t.Fatalf("page 2 cursors: got prev %v next %v, want both", p2.Prev, p2.Next)
	}
	if p2.Count != 7 {
		t.Errorf("page 2 count: got %d, want 7 (the cursor does not change the count)", p2.Count)
	}

	p3 := listPage(t, db, PaymentFilter{Limit: 3, After: p2.Next})
	if got := pageIDs(p3); !reflect.DeepEqual(got, newest[6:]) {
		t.Errorf("page 3: got %v, want %v", got, newest[6:])
	}
	if p3.Next != nil || p3.Prev == nil {
		t.Errorf("last page cursors: got prev %v next %v, want a prev and no next", p3.Prev, p3.Next)
	}

	// Prev from page 3 is page 2, Prev from page 2 is page 1.
	back2 := listPage(t, db, PaymentFilter{Limit: 3, Before: p3.Prev})
	if got := pageIDs(back2); !reflect.DeepEqual(got, newest[3:6]) || back2.Prev == nil || back2.Next == nil || *back2.Next != *p2.Next {
		t.Errorf("back to page 2: got %v prev %v next %v, want %v with both cursors", got, back2.Prev, back2.Next, newest[3:6])
	}
	back1 := listPage(t, db, PaymentFilter{Limit: 3, Before: back2.Prev})
	if got := pageIDs(back1); !reflect.DeepEqual(got, newest[:3]) {
		t.Errorf("back to page 1: got %v, want %v", got, newest[:3])
	}
	if back1.Prev != nil || back1.Next == nil || *back1.Next != *p1.Next {
		t.Errorf("back to page 1 cursors: got prev %v next %v, want no prev and page 1's next", back1.Prev, back1.Next)
	}

	// Past the end: an empty page whose Prev leads back to the last page.
	end := listPage(t, db, PaymentFilter{Limit: 3, After: cursorPtr(p3.Payments[0].Cursor())})
	if len(end.Payments) != 0 || end.Next != nil || end.Prev == nil {
		t.Fatalf("past the end: got %v prev %v next %v, want empty with a prev", pageIDs(end), end.Prev, end.Next)
	}
	if got := pageIDs(listPage(t, db, PaymentFilter{Limit: 3, Before: end.Prev})); !reflect.DeepEqual(got, newest[4:]) {
		t.Errorf("prev of past the end: got %v, want %v", got, newest[4:])
	}
	// Before the start: an empty page whose Next leads to the first page.
	start := listPage(t, db, PaymentFilter{Limit: 3, Before: cursorPtr(p1.Payments[0].Cursor())})
	if len(start.Payments) != 0 || start.Prev != nil || start.Next == nil {
		t.Fatalf("before the start: got %v prev %v next %v, want empty with a next", pageIDs(start), start.Prev, start.Next)
	}
	if got := pageIDs(listPage(t, db, PaymentFilter{Limit: 3, After: start.Next})); !reflect.DeepEqual(got, newest[:3]) {
		t.Errorf("next of before the start: got %v, want %v", got, newest[:3])
	}
}

func TestListPaymentsExactlyLimit(t *testing.T) {
	db := newTestDB(t)
	empty := listPage(t, db, PaymentFilter{})
	if len(empty.Payments) != 0 || empty.Next != nil || empty.Prev != nil || empty.Count != 0 {
		t.Errorf("empty database: got %+v, want an empty page", empty)
	}
	seedOrdered(t, db, 6, func(i int) time.Time { return testEpoch.Add(time.Duration(i) * time.Second) })
	one := listPage(t, db, PaymentFilter{Limit: 6})
	if len(one.Payments) != 6 || one.Next != nil || one.Prev != nil {
		t.Errorf("limit = rows: got %d rows next %v prev %v, want 6 and no cursors", len(one.Payments), one.Next, one.Prev)
	}
	p1 := listPage(t, db, PaymentFilter{Limit: 3})
	p2 := listPage(t, db, PaymentFilter{Limit: 3, After: p1.Next})
	if len(p2.Payments) != 3 || p2.Next != nil || p2.Prev == nil {
		t.Errorf("second of two full pages: got %d rows next %v prev %v, want 3, no next, a prev", len(p2.Payments), p2.Next, p2.Prev)
	}
}

func TestListPaymentsLimit(t *testing.T) {
	db := newTestDB(t)
	seedOrdered(t, db, MaxPageSize+10, func(i int) time.Time { return testEpoch.Add(time.Duration(i) * time.Second) })
	for _, tt := range []struct{ limit, want int }{{0, DefaultPageSize}, {1, 1}, {MaxPageSize, MaxPageSize}, {MaxPageSize + 1, MaxPageSize}, {100000, MaxPageSize}} {
		if got := len(listPage(t, db, PaymentFilter{Limit: tt.limit}).Payments); got != tt.want {
			t.Errorf("limit %d: got %d rows, want %d", tt.limit, got, tt.want)
		}
	}
}

func TestListPaymentsEqualTimestamps(t *testing.T) {
	db := newTestDB(t)
	// Ten payments in the same millisecond, between two others.
	seedOrdered(t, db, 1, func(int) time.Time { return testEpoch.Add(-time.Second) })
	seedOrdered(t, db, 10, func(int) time.Time { return testEpoch })
	seedOrdered(t, db, 1, func(int) time.Time { return testEpoch.Add(time.Second) })
	var all []int64
	var pages []PaymentPage
	f := PaymentFilter{Limit: 4}
	for {
		p := listPage(t, db, f)
		pages = append(pages, p)
		all = append(all, pageIDs(p)...)
		if p.Next == nil {
			break
		}
		f.After = p.Next
		if len(pages) > 10 {
			t.Fatal("pagination does not end")
		}
	}
	// Newest first: id 12 (a second later), then 11…2 (same millisecond, id descending), then 1.
	want := []int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("walking forward: got %v, want %v", all, want)
	}
	if len(pages) != 3 {
		t.Errorf("pages: got %d, want 3", len(pages))
	}
	// Walking back from the last page gives the same pages.
	p := pages[len(pages)-1]
	for i := len(pages) - 2; i >= 0; i-- {
		p = listPage(t, db, PaymentFilter{Limit: 4, Before: p.Prev})
		if got := pageIDs(p); !reflect.DeepEqual(got, pageIDs(pages[i])) {
			t.Errorf("walking back to page %d: got %v, want %v", i+1, got, pageIDs(pages[i]))
		}
	}
	if p.Prev != nil {
		t.Errorf("first page reached backwards has prev %v, want none", p.Prev)
	}
}

func TestListPaymentsInsertBetweenLoads(t *testing.T) {
	db := newTestDB(t)
	ids := seedOrdered(t, db, 6, func(i int) time.Time { return testEpoch.Add(time.Duration(i) * time.Minute) })
	p1 := listPage(t, db, PaymentFilter{Limit: 3})
	// New payments arrive: a newer one, and one in the very millisecond of page 1's last
	// row (it sorts above that row, having a higher id).
	seedOrdered(t, db, 1, func(int) time.Time { return testEpoch.Add(time.Hour) })
	seedOrdered(t, db, 1, func(int) time.Time { return p1.Payments[2].CreatedAt })
	p2 := listPage(t, db, PaymentFilter{Limit: 3, After: p1.Next})
	if want := []int64{ids[2], ids[1], ids[0]}; !reflect.DeepEqual(pageIDs(p2), want) {
		t.Errorf("page 2 after inserts: got %v, want %v (neither shifted nor duplicated)", pageIDs(p2), want)
	}
	if p2.Count != 8 {
		t.Errorf("count after inserts: got %d, want 8", p2.Count)
	}
	// Going back now shows the three rows just above page 2, the new one among them.
	back := listPage(t, db, PaymentFilter{Limit: 3, Before: p2.Prev})
	if want := []int64{ids[4], 8, ids[3]}; !reflect.DeepEqual(pageIDs(back), want) || back.Prev == nil {
		t.Errorf("back from page 2: got %v prev %v, want %v with a prev", pageIDs(back), back.Prev, want)
	}
}

func TestListPaymentsCountCap(t *testing.T) {
	db := newTestDB(t)
	n := CountCap + 50
	bulkInsertPayments(t, db, n, func(i int) Payment {
		p := Payment{Status: providers.StatusPaid}
		p.Provider, p.Currency, p.RawStatus = providers.Names[i%3], "EUR", "x"
		p.PaymentID = fmt.Sprintf("id_%d", i)
		p.CustomerName = []string{"Olena Shevchenko", "Jean Dupont", "Anna Kowalska", "Marie Curie"}[i%4]
		p.PublicID = PublicIDFor(p.Provider, p.PaymentID)
		p.CreatedAt, p.UpdatedAt = testEpoch.Add(-time.Duration(i)*time.Second), testEpoch
		return p
	})
	// Each case's rows, counted independently from how they were made.
	// exact: no filter, or provider, status and currency only, are counted exactly
	// however many (payment_counts), the others up to CountCap.
	tests := []struct {
		name    string
		f       PaymentFilter
		matches func(i int) bool
		exact   bool
	}{
		{"all", PaymentFilter{}, func(int) bool { return true }, true},
		{"a provider", PaymentFilter{Provider: bpc.Name}, func(i int) bool { return i%3 == 1 }, true},
		{"a status and a currency", PaymentFilter{Status: providers.StatusPaid, Currency: "EUR"}, func(int) bool { return true }, true},
		{"a name", PaymentFilter{Query: "shevchenko"}, func(i int) bool { return i%4 == 0 }, false},
		{"a name and a provider", PaymentFilter{Query: "dupont", Provider: tranzzo.Name}, func(i int) bool { return i%4 == 1 && i%3 == 2 }, false},
		{"an id, and the ids it prefixes", PaymentFilter{Query: "id_77"}, func(i int) bool { return strings.HasPrefix(fmt.Sprintf("id_%d", i), "id_77") }, false},
		{"a date range", PaymentFilter{From: testEpoch.Add(-3 * time.Hour), To: testEpoch}, func(i int) bool { return i > 0 && i <= 3*3600 }, false},
		{"none", PaymentFilter{Currency: "GBP"}, func(int) bool { return false }, true},
	}
	for _, tt := range tests {
		want := 0
		for i := range n {
			if tt.matches(i) {
				want++
			}
		}
		wantCapped := want > CountCap && !tt.exact
		if wantCapped {
			want = CountCap
		}
		page := listPage(t, db, tt.f)
		if page.Count != want || page.CountCapped != wantCapped {
			t.Errorf("%s: got count %d capped %v, want %d capped %v", tt.name, page.Count, page.CountCapped, want, wantCapped)
		}
	}
}

// planOf returns the EXPLAIN QUERY PLAN lines of a query.
func planOf(t *testing.T, db *DB, query string, args []any) []string {
	t.Helper()
	if onPostgres() {
		// PostgreSQL plans by its statistics, not by these hints: its plans are checked
		// by pg_schema_test.go's index tests and measured at 1M and 10M payments
		// (docs/benchmarks.md).
		t.Skip("SQLite's query plans")
	}
	rows, err := db.db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

func TestListPaymentsQueryPlans(t *testing.T) {
	db := newTestDB(t)
	fullScan := regexp.MustCompile(`^SCAN (payments|actions|refunds|payer_links)$`)
	cursor := &Cursor{CreatedAt: testEpoch, ID: 10}
	tests := []struct {
		name string
		f    PaymentFilter
		// want are index names the plan must use; sorted says no temporary b-tree may
		// sort the rows (the index gives the order).
		want   []string
		sorted bool
	}{
		{"default", PaymentFilter{}, []string{"payments_created"}, true},
		{"default, next page", PaymentFilter{After: cursor}, []string{"payments_created"}, true},
		{"default, previous page", PaymentFilter{Before: cursor}, []string{"payments_created"}, true},
		{"provider", PaymentFilter{Provider: bpc.Name}, []string{"payments_provider_created"}, true},
		{"provider, next page", PaymentFilter{Provider: bpc.Name, After: cursor}, []string{"payments_provider_created"}, true},
		{"status", PaymentFilter{Status: providers.StatusPaid}, []string{"payments_status_created"}, true},
		{"currency", PaymentFilter{Currency: "EUR"}, []string{"payments_currency_created"}, true},
		{"date range", PaymentFilter{From: testEpoch.Add(-time.Hour), To: testEpoch}, []string{"payments_created"}, true},
		{"amount range", PaymentFilter{MinAmount: int64p(100), MaxAmount: int64p(200)}, nil, false},
		{"needs attention", PaymentFilter{NeedsAttention: true}, []string{"payments_status_created", "actions_state", "refunds_", "payer_links_state"}, false},
		{"e-mail", PaymentFilter{Query: "Ann@Example.com", wholeEmail: true}, []string{"payments_email"}, false},
		{"part of an e-mail", PaymentFilter{Query: "ann@exa"}, []string{"VIRTUAL TABLE INDEX 0:M"}, false},
		{"id", PaymentFilter{Query: "p_123"}, []string{"payments_provider_payment", "payments_provider_session", "payments_provider_order", "payments_reference", "sqlite_autoindex_payments_1"}, false},
		{"last 4", PaymentFilter{Query: "4242"}, []string{"payments_last4", "payments_provider_payment"}, false},
		{"name", PaymentFilter{Query: "olena shev"}, []string{"payments_fts", "payments_provider_payment"}, false},
		{"amount in a currency", PaymentFilter{Currency: "EUR", MinAmount: int64p(100), MaxAmount: int64p(200)}, []string{"payments_currency_"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.f.normalise()
			if err != nil {
				t.Fatal(err)
			}
			c := filterConditions(f)
			query, args, _ := paymentListSQL(f, c)
			countQuery, countArgs := paymentCountSQL(c)
			for _, q := range []struct {
				what  string
				query string
				args  []any
			}{{"list", query, args}, {"count", countQuery, countArgs}} {
				plan := planOf(t, db, q.query, q.args)
				text := strings.Join(plan, "\n")
				for _, line := range plan {
					if fullScan.MatchString(line) {
						t.Errorf("%s plan has a full table scan %q:\n%s", q.what, line, text)
					}
				}
				if q.what == "count" {
					continue
				}
				for _, idx := range tt.want {
					if !strings.Contains(text, idx) {
						t.Errorf("%s plan does not use %s:\n%s", q.what, idx, text)
					}
				}
				if tt.sorted && strings.Contains(text, "TEMP B-TREE FOR ORDER BY") {
					t.Errorf("%s plan sorts in a temporary b-tree:\n%s", q.what, text)
				}
			}
		})
	}
}

// TestFTSExpressionPunctuationWords: a word of punctuation alone is dropped, so that
// "Dupont - order" still finds Dupont.
func TestFTSExpressionPunctuationWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Dupont - order", `"Dupont"* AND "order"*`},
		{"Sato -", `"Sato"*`},
		{"- . _ @", ""},
		{"a.b@c", `"a.b@c"*`},
		{"jean-luc", `"jean-luc"*`},
	}
	for _, tt := range tests {
		if got := ftsExpression(tt.in); got != tt.want {
			t.Errorf("ftsExpression(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
	db := newTestDB(t)
	upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 100, Currency: "EUR",
		RawStatus: "succeeded", CustomerName: "Haruto Sato", CreatedAt: testEpoch}, UpsertOptions{})
	page, err := db.ListPayments(context.Background(), PaymentFilter{Query: "Sato - "})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Payments) != 1 {
		t.Errorf(`"Sato - " finds %d payments, want 1`, len(page.Payments))
	}
}

// The export walks the same filters as the list, newest first, with every page's rows and
// the columns it writes; an error of the caller's stops it.
func TestExportPaymentsFollowsTheListsFilters(t *testing.T) {
	fx := newListFixture(t)
	ctx := context.Background()
	export := func(f PaymentFilter) (names string, rows []ExportedPayment) {
		t.Helper()
		var out []string
		err := fx.db.ExportPayments(ctx, f, func(p ExportedPayment) error {
			for id, name := range fx.byID {
				if fx.p[name].PublicID == p.PublicID {
					out = append(out, fx.byID[id])
				}
			}
			rows = append(rows, p)
			return nil
		})
		if err != nil {
			t.Fatalf("export %+v: %v", f, err)
		}
		return strings.Join(out, " "), rows
	}
	for _, tc := range []struct {
		f    PaymentFilter
		want string
	}{
		{PaymentFilter{}, "a b c d e f g h"},
		{PaymentFilter{Limit: 2, After: &Cursor{CreatedAt: testEpoch, ID: 1 << 40}}, "a b c d e f g h"}, // paging ignored
		{PaymentFilter{Provider: bpc.Name}, "c d h"},
		{PaymentFilter{NeedsAttention: true}, "b c e g h"},
		{PaymentFilter{Query: "4242"}, "c f g"},
		{PaymentFilter{Currency: "EUR", MinAmount: int64p(5000)}, "a b c"},
	} {
		if got, _ := export(tc.f); got != tc.want {
			t.Errorf("export %+v: %q, want %q", tc.f, got, tc.want)
		}
	}
	_, rows := export(PaymentFilter{Query: "order-e"})
	if len(rows) != 1 {
		t.Fatalf("order-e: %d rows", len(rows))
	}
	e, p := rows[0], fx.p["e"]
	if e.Provider != p.Provider || e.PaymentID != "tz_e" || e.OrderID != "order-e" || e.Amount != 150000 || e.Captured != 150000 ||
		e.Currency != "UAH" || e.CardLast4 != "1234" || e.Status != p.Status || e.RawStatus != "success" ||
		e.CustomerName != "Anna Kowalska" || !e.CreatedAt.Equal(p.CreatedAt) || !e.UpdatedAt.Equal(p.UpdatedAt) || e.Account != p.Account {
		t.Errorf("exported row %+v, payment %+v", e, p)
	}
	stop := errors.New("enough")
	n := 0
	err := fx.db.ExportPayments(ctx, PaymentFilter{}, func(ExportedPayment) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("a caller's error: %v after %d rows, want it back after 1", err, n)
	}
}
