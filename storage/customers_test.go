package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// customerPayment is one payment of the customer tests' fixture.
type customerPayment struct {
	provider           providers.Name
	email, name, last4 string
	currency           string
	captured, refunded int64
	age                time.Duration // before testEpoch
	publicID           string
	id                 int64
}

// insertCustomerPayment stores a paid payment with a customer, created age before testEpoch.
func insertCustomerPayment(t *testing.T, db *DB, p *customerPayment) {
	t.Helper()
	n := testPaymentSeq.Add(1)
	p.publicID = fmt.Sprintf("pd_cust%06d", n)
	err := db.SQL().QueryRow(`INSERT INTO payments (public_id, provider, provider_payment_id, amount, captured, refunded,
		currency, status, raw_status, customer_name, customer_email, card_last4, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'paid', 'succeeded', ?, ?, ?, ?, ?) RETURNING id`,
		p.publicID, string(p.provider), fmt.Sprintf("c_%06d", n), p.captured, p.captured, p.refunded, p.currency,
		p.name, p.email, p.last4, ms(testEpoch.Add(-p.age)), ms(testEpoch)).Scan(&p.id)
	if err != nil {
		t.Fatalf("insert customer payment: %v", err)
	}
}

// refundFor records a refund with a reason; succeeded says the provider made it.
func refundFor(t *testing.T, db *DB, paymentID, amount int64, reason string, succeeded bool) {
	t.Helper()
	ctx := context.Background()
	key := fmt.Sprintf("cust-refund-%d", testPaymentSeq.Add(1))
	r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: paymentID, Amount: amount, Reason: reason,
		RequestedBy: "sam@x", IdempotencyKey: key, NeedsApproval: !succeeded, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatalf("request refund: %v", err)
	}
	if succeeded {
		if _, err := db.FinishAction(ctx, act.ID, "succeeded", "done", "Refunded", "{}"); err != nil {
			t.Fatalf("finish refund %d: %v", r.ID, err)
		}
	}
}

// customerFixture: Ann pays three times under one e-mail in three spellings (two in EUR
// by BPC card 4242, one in GBP by Tranzzo card 4242); Bob pays once with a BPC card 4242
// too; Annie's e-mail only starts like Ann's.
func customerFixture(t *testing.T) (*DB, map[string]*customerPayment) {
	t.Helper()
	db := newTestDB(t)
	ps := map[string]*customerPayment{
		"ann1":  {provider: bpc.Name, email: "Ann@Example.com", name: "Ann Lee", last4: "4242", currency: "EUR", captured: 10000, age: time.Hour},
		"ann2":  {provider: tranzzo.Name, email: "ann@example.COM", name: "ann lee", last4: "4242", currency: "GBP", captured: 5000, age: 2 * time.Hour},
		"ann3":  {provider: bpc.Name, email: "ann@example.com", name: "Ann Lee", last4: "4242", currency: "EUR", captured: 2000, refunded: 2000, age: 3 * time.Hour},
		"bob":   {provider: bpc.Name, email: "bob@example.com", name: "Bob Stone", last4: "4242", currency: "EUR", captured: 700, age: 4 * time.Hour},
		"annie": {provider: bpc.Name, email: "annie@example.com", name: "Annie Lee", last4: "1881", currency: "EUR", captured: 900, age: 5 * time.Hour},
	}
	for _, k := range []string{"ann1", "ann2", "ann3", "bob", "annie"} {
		insertCustomerPayment(t, db, ps[k])
	}
	refundFor(t, db, ps["ann1"].id, 3000, "duplicate", true)
	refundFor(t, db, ps["ann1"].id, 1000, "goodwill", false) // awaiting approval
	refundFor(t, db, ps["ann2"].id, 500, "duplicate", true)
	refundFor(t, db, ps["bob"].id, 700, "fraudulent", true)
	// ann3's 20.00 were refunded outside Paydesk: only the provider's total says so.
	newLink(t, db, ps["ann3"].id, "cust-link-ann")
	newLink(t, db, ps["bob"].id, "cust-link-bob")
	return db, ps
}

func TestCustomerSummary(t *testing.T) {
	db, ps := customerFixture(t)
	ctx := context.Background()
	annTotals := []CustomerTotal{
		// 100.00 + 20.00 paid; 30.00 refunded through Paydesk, 20.00 by the provider alone.
		{Currency: "EUR", Payments: 2, Paid: 12000, Refunded: 5000, Net: 7000},
		{Currency: "GBP", Payments: 1, Paid: 5000, Refunded: 500, Net: 4500},
	}
	annReasons := []CustomerReason{
		{Reason: "duplicate", Currency: "EUR", Count: 1, Succeeded: 1, Amount: 3000, SucceededAmount: 3000},
		{Reason: "duplicate", Currency: "GBP", Count: 1, Succeeded: 1, Amount: 500, SucceededAmount: 500},
		{Reason: "goodwill", Currency: "EUR", Count: 1, Succeeded: 0, Amount: 1000, SucceededAmount: 0},
	}
	tests := []struct {
		name     string
		c        Customer
		payments int
		totals   []CustomerTotal
		reasons  []CustomerReason
		links    []string // payments' public ids
		names    []string
		emails   []string
		cards    []Card
	}{
		{"e-mail, any case", CustomerEmail("  ANN@example.com "), 3, annTotals, annReasons, []string{ps["ann3"].publicID},
			[]string{"Ann Lee", "ann lee"}, nil, []Card{{bpc.Name, "4242"}, {tranzzo.Name, "4242"}}},
		{"name, any case", CustomerName("ANN LEE"), 3, annTotals, annReasons, []string{ps["ann3"].publicID},
			nil, []string{"Ann@Example.com", "ann@example.COM", "ann@example.com"}, []Card{{bpc.Name, "4242"}, {tranzzo.Name, "4242"}}},
		{"a BPC card: Ann's and Bob's payments, not Tranzzo's 4242", CustomerCard(bpc.Name, "4242"), 3,
			[]CustomerTotal{{Currency: "EUR", Payments: 3, Paid: 12700, Refunded: 5700, Net: 7000}},
			[]CustomerReason{
				{Reason: "duplicate", Currency: "EUR", Count: 1, Succeeded: 1, Amount: 3000, SucceededAmount: 3000},
				{Reason: "fraudulent", Currency: "EUR", Count: 1, Succeeded: 1, Amount: 700, SucceededAmount: 700},
				{Reason: "goodwill", Currency: "EUR", Count: 1, Amount: 1000},
			},
			[]string{ps["bob"].publicID, ps["ann3"].publicID}, // newest link first
			[]string{"Ann Lee", "Bob Stone"}, []string{"Ann@Example.com", "ann@example.com", "bob@example.com"}, nil},
		{"a Tranzzo card", CustomerCard(tranzzo.Name, "4242"), 1,
			[]CustomerTotal{{Currency: "GBP", Payments: 1, Paid: 5000, Refunded: 500, Net: 4500}},
			[]CustomerReason{{Reason: "duplicate", Currency: "GBP", Count: 1, Succeeded: 1, Amount: 500, SucceededAmount: 500}},
			nil, []string{"ann lee"}, []string{"ann@example.COM"}, nil},
		{"an e-mail nobody paid with", CustomerEmail("ann@example.org"), 0, nil, nil, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := db.CustomerSummary(ctx, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if s.Payments != tt.payments {
				t.Errorf("payments: got %d, want %d", s.Payments, tt.payments)
			}
			if !reflect.DeepEqual(s.Totals, tt.totals) {
				t.Errorf("totals:\n got %+v\nwant %+v", s.Totals, tt.totals)
			}
			if !reflect.DeepEqual(s.Reasons, tt.reasons) {
				t.Errorf("refunds by reason:\n got %+v\nwant %+v", s.Reasons, tt.reasons)
			}
			var links []string
			for _, l := range s.Links {
				if l.State != "active" || l.URL == "" {
					t.Errorf("link %d: state %q, URL %q; want an active link with its URL", l.ID, l.State, l.URL)
				}
				links = append(links, l.PaymentPublicID)
			}
			if !slices.Equal(links, tt.links) {
				t.Errorf("live links: got %v, want %v", links, tt.links)
			}
			if !slices.Equal(s.Names, tt.names) || !slices.Equal(s.Emails, tt.emails) || !reflect.DeepEqual(s.Cards, tt.cards) {
				t.Errorf("other identities: got names %q, e-mails %q, cards %v; want %q, %q, %v", s.Names, s.Emails, s.Cards, tt.names, tt.emails, tt.cards)
			}
		})
	}
}

// TestCustomerSummaryLinksOnlyLive: a link that ended (confirmed, superseded, expired)
// is not an open link of the customer.
func TestCustomerSummaryLinksOnlyLive(t *testing.T) {
	db, ps := customerFixture(t)
	ctx := context.Background()
	s, err := db.CustomerSummary(ctx, CustomerEmail("ann@example.com"))
	if err != nil || len(s.Links) != 1 {
		t.Fatalf("before: %d links, %v; want 1", len(s.Links), err)
	}
	if _, err := db.SetPayerLinkState(ctx, s.Links[0].ID, "confirmed", "The payer confirmed"); err != nil {
		t.Fatal(err)
	}
	if s, err = db.CustomerSummary(ctx, CustomerEmail("ann@example.com")); err != nil || len(s.Links) != 0 {
		t.Errorf("after the payer confirmed: links %+v, %v; want none", s.Links, err)
	}
	_ = ps
}

// TestCustomerPaymentsPages: a customer's payments page by page, newest first, as the
// payments list pages (a page's cursors lead to the next and back), only theirs.
func TestCustomerPaymentsPages(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var mine []*customerPayment
	for i := range 130 {
		email := []string{"Zoe@Shop.example", "zoe@shop.example", "ZOE@SHOP.EXAMPLE"}[i%3]
		if i%4 == 3 {
			email = "someone@shop.example"
		}
		// Several payments share a creation time, so the id breaks ties.
		p := &customerPayment{provider: bpc.Name, email: email, name: "Zoe", currency: "EUR", captured: 100, age: time.Duration(i/2) * time.Minute}
		insertCustomerPayment(t, db, p)
		if i%4 != 3 {
			mine = append(mine, p)
		}
	}
	// Newest first: the youngest first, and the higher id first within an age.
	slices.SortFunc(mine, func(a, b *customerPayment) int {
		return cmp.Or(cmp.Compare(a.age, b.age), cmp.Compare(b.id, a.id))
	})
	var want []string
	for _, p := range mine {
		want = append(want, p.publicID)
	}
	var got []string
	var pages []PaymentPage
	f := PaymentFilter{Limit: 40}
	for {
		page, err := db.CustomerPayments(ctx, CustomerEmail("zoe@SHOP.example"), f)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
		for _, p := range page.Payments {
			if !strings.EqualFold(p.CustomerEmail, "zoe@shop.example") {
				t.Errorf("payment %s of %s listed", p.PublicID, p.CustomerEmail)
			}
			got = append(got, p.PublicID)
		}
		if page.Next == nil {
			break
		}
		f = PaymentFilter{Limit: 40, After: page.Next}
	}
	if !slices.Equal(got, want) || len(pages) != 3 {
		t.Fatalf("got %d payments on %d pages, want %d on 3 in order:\n got %v\nwant %v", len(got), len(pages), len(want), got, want)
	}
	for i := 1; i < len(pages); i++ {
		prev := pages[i-1].Payments
		first := pages[i].Payments[0]
		last := prev[len(prev)-1]
		if first.CreatedAt.After(last.CreatedAt) || (first.CreatedAt.Equal(last.CreatedAt) && first.ID >= last.ID) {
			t.Errorf("page %d starts with %s (%s, %d), not older than %s (%s, %d)", i, first.PublicID, first.CreatedAt, first.ID,
				last.PublicID, last.CreatedAt, last.ID)
		}
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s listed twice", id)
		}
		seen[id] = true
	}
	if pages[0].Count != len(want) || pages[0].CountCapped || pages[0].Prev != nil {
		t.Errorf("first page: count %d (capped %v), prev %v; want %d, no previous page", pages[0].Count, pages[0].CountCapped, pages[0].Prev, len(want))
	}
	// Back from the second page: the first page again.
	back, err := db.CustomerPayments(ctx, CustomerEmail("zoe@shop.example"), PaymentFilter{Limit: 40, Before: pages[1].Prev})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(publicIDs(back.Payments), publicIDs(pages[0].Payments)) || back.Prev != nil {
		t.Errorf("back from page 2: %v (prev %v), want page 1 %v", publicIDs(back.Payments), back.Prev, publicIDs(pages[0].Payments))
	}
}

func publicIDs(ps []Payment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PublicID)
	}
	return out
}

// TestCustomerCardAndName: a card is one provider's last 4; a name matches whole, not
// as a prefix or a word.
func TestCustomerCardAndName(t *testing.T) {
	db, ps := customerFixture(t)
	ctx := context.Background()
	for _, tt := range []struct {
		c    Customer
		want []string
	}{
		{CustomerCard(bpc.Name, "4242"), []string{ps["ann1"].publicID, ps["ann3"].publicID, ps["bob"].publicID}},
		{CustomerCard(tranzzo.Name, "4242"), []string{ps["ann2"].publicID}},
		{CustomerCard(tranzzo.Name, "1881"), nil},
		{CustomerName("ann lee"), []string{ps["ann1"].publicID, ps["ann2"].publicID, ps["ann3"].publicID}},
		{CustomerName("Lee"), nil},
		{CustomerEmail("ann@example.co"), nil},
	} {
		page, err := db.CustomerPayments(ctx, tt.c, PaymentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := publicIDs(page.Payments); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.c, got, tt.want)
		}
	}
}

// TestCustomerBadIdentity: what cannot name a customer is refused, saying why.
func TestCustomerBadIdentity(t *testing.T) {
	db, _ := customerFixture(t)
	ctx := context.Background()
	for _, tt := range []struct {
		c    Customer
		want string
	}{
		{CustomerEmail(""), "e-mail is empty"},
		{CustomerEmail("   "), "e-mail is empty"},
		{CustomerEmail("ann.example.com"), "not an e-mail address"},
		{CustomerEmail("ann@"), "not an e-mail address"},
		{CustomerEmail("a@b@c"), "not an e-mail address"},
		{CustomerEmail(strings.Repeat("a", 250) + "@b.example"), "at most 254"},
		{CustomerName(""), "name is empty"},
		{CustomerName("Ann\x00Lee"), "characters a name cannot"},
		{CustomerName(strings.Repeat("é", 201)), "at most 200"},
		{CustomerCard(bpc.Name, "424"), "not a card's last 4"},
		{CustomerCard(bpc.Name, "42a2"), "not a card's last 4"},
		{CustomerCard(bpc.Name, "٤٢٤٢"), "not a card's last 4"}, // Arabic-Indic digits
		{CustomerCard("stripe", "4242"), `unknown provider "stripe"`},
		{CustomerCard("", "4242"), "unknown provider"},
		{Customer{Kind: "phone", Value: "123"}, "unknown kind"},
	} {
		_, err := db.CustomerSummary(ctx, tt.c)
		if !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CustomerSummary(%+v) = %v; want ErrInvalidFilter saying %q", tt.c, err, tt.want)
		}
		_, err = db.CustomerPayments(ctx, tt.c, PaymentFilter{})
		if !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CustomerPayments(%+v) = %v; want ErrInvalidFilter saying %q", tt.c, err, tt.want)
		}
	}
}

// explainCustomer returns the plan of a query: SQLite's EXPLAIN QUERY PLAN lines, or
// PostgreSQL's EXPLAIN with sequential scans priced out (a test's few rows would make
// one the cheapest; at a million payments the planner's statistics decide the same way,
// docs/benchmarks.md).
func explainCustomer(t *testing.T, db *DB, query string, args []any) string {
	t.Helper()
	if !onPostgres() {
		return strings.Join(planOf(t, db, query, args), "\n")
	}
	ctx := context.Background()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// TestCustomerQueryPlans: each identity's page, count and totals read its own index
// (0020_customers.sql), in date order for the page (no sort), never every payment — on
// both engines.
func TestCustomerQueryPlans(t *testing.T) {
	db, _ := customerFixture(t)
	cursor := &Cursor{CreatedAt: testEpoch, ID: 10}
	fullScan := regexp.MustCompile(`(?m)^SCAN (payments|p|refunds|r)$|Seq Scan on (payments|refunds)`)
	for _, tt := range []struct {
		c     Customer
		index string
	}{
		{CustomerEmail("Ann@Example.com"), "payments_email"},
		{CustomerName("Ann Lee"), "payments_name"},
		{CustomerCard(bpc.Name, "4242"), "payments_last4"},
	} {
		t.Run(string(tt.c.Kind), func(t *testing.T) {
			type query struct {
				what, sql string
				args      []any
				sorted    bool // the index gives the order: no sort
			}
			var queries []query
			for _, page := range []PaymentFilter{{}, {After: cursor}, {Before: cursor}} {
				page.Customer = &tt.c
				f, err := page.normalise()
				if err != nil {
					t.Fatal(err)
				}
				c := filterConditions(f)
				q, args, _ := paymentListSQL(f, c)
				queries = append(queries, query{"page", q, args, true})
				q, args = paymentCountSQL(c)
				queries = append(queries, query{"count", q, args, false})
			}
			term, args := tt.c.term("p.")
			queries = append(queries,
				query{"totals", customerRowsSQL(term, db.pick("max", "greatest")), args, false},
				query{"refunds by reason", customerReasonsSQL(term), args, false},
				query{"payer links", customerLinksSQL(term), append(slices.Clone(args), 50), false},
			)
			for _, q := range queries {
				plan := explainCustomer(t, db, q.sql, q.args)
				if !strings.Contains(plan, tt.index) {
					t.Errorf("%s does not use %s:\n%s", q.what, tt.index, plan)
				}
				if s := fullScan.FindString(plan); s != "" {
					t.Errorf("%s reads a whole table (%s):\n%s", q.what, s, plan)
				}
				if q.sorted && (strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") || strings.Contains(plan, "Sort Key")) {
					t.Errorf("%s sorts its rows instead of reading them in the index's order:\n%s", q.what, plan)
				}
			}
		})
	}
}

// TestCustomerNotes: the notes of a customer's payments, whatever the e-mail's case, newest
// first, at most the limit, with their earlier texts; not another customer's.
func TestCustomerNotes(t *testing.T) {
	db, ps := customerFixture(t)
	ctx := context.Background()
	add := func(p *customerPayment, text string) Note {
		t.Helper()
		n, err := db.AddNote(ctx, NewNote{PaymentID: p.id, Author: "sam@example.com", AuthorKey: "k:sam", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	old := add(ps["ann1"], "first words")
	if _, err := db.EditNote(ctx, NoteEdit{NoteID: old.ID, PaymentID: ps["ann1"].id, Version: 1, Editor: "sam@example.com", EditorKey: "k:sam", Text: "better words"}); err != nil {
		t.Fatal(err)
	}
	add(ps["ann3"], "on the third")
	add(ps["bob"], "bob's")
	notes, err := db.CustomerNotes(ctx, Customer{Kind: CustomerByEmail, Value: "ANN@example.com"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, n := range notes {
		texts = append(texts, n.Text)
	}
	if got := strings.Join(texts, "|"); got != "on the third|better words" {
		t.Fatalf("ann's notes: %q, want the third payment's then the edited one", got)
	}
	if len(notes[1].Revisions) != 1 || notes[1].Revisions[0].Text != "first words" || notes[0].PaymentPublicID == "" {
		t.Errorf("the edited note's history: %+v", notes[1])
	}
	if notes, err = db.CustomerNotes(ctx, Customer{Kind: CustomerByEmail, Value: "ann@example.com"}, 1); err != nil || len(notes) != 1 || notes[0].Text != "on the third" {
		t.Errorf("limit 1: %+v, %v", notes, err)
	}
	if notes, err = db.CustomerNotes(ctx, Customer{Kind: CustomerByCard, Provider: bpc.Name, Last4: "4242"}, 10); err != nil || len(notes) != 3 {
		t.Errorf("the BPC card 4242 (ann1, ann3, bob): %d notes, %v", len(notes), err)
	}
	if _, err = db.CustomerNotes(ctx, Customer{Kind: CustomerByEmail, Value: ""}, 10); err == nil {
		t.Error("an empty e-mail found notes")
	}
}
