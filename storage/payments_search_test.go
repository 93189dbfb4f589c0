package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// searchFixture stores payments named by their merchant reference, for the searches by
// part of an e-mail or name and by amount.
func searchFixture(t *testing.T) *DB {
	t.Helper()
	db := newTestDB(t)
	for i, p := range []struct {
		ref, name, email, currency string
		amount                     int64
	}{
		{"jules", "Jules Thomas", "jules.thomas31@mail.example", "EUR", 1000},
		{"lena", "Lena Thomas", "lena.thomas3@example.org", "EUR", 1000},
		{"aiko", "Aiko Sato", "aiko.sato@example.net", "EUR", 1000},
		{"thomasina", "Thomasina Berg", "tb@post.example", "EUR", 1000},
		{"eur", "Eva Euro", "eva@example.org", "EUR", 253374},
		{"gbp", "Gil Pound", "gil@example.org", "GBP", 253374},
		{"kwd", "Kamal Dinar", "kamal@example.org", "KWD", 2533740},
		{"jpy", "Jun Yen", "jun@example.org", "JPY", 2533},
		{"uah", "Ulyana Hryvnia", "ulyana@example.org", "UAH", 2533},
		{"eur-next", "Eli Euro", "eli@example.org", "EUR", 253375},
		{"eur-more", "Ema Euro", "ema@example.org", "EUR", 25337400},
	} {
		upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: fmt.Sprintf("p_%d", i+1), Amount: p.amount,
			Currency: p.currency, RawStatus: "succeeded", MerchantReference: p.ref, CustomerName: p.name, CustomerEmail: p.email,
			CreatedAt: testEpoch.Add(-time.Duration(i) * time.Minute)}, UpsertOptions{})
	}
	return db
}

// refsOf lists the merchant references of what a search finds, sorted.
func refsOf(t *testing.T, db *DB, q string) string {
	t.Helper()
	page, err := db.ListPayments(context.Background(), PaymentFilter{Query: q})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var refs []string
	for _, p := range page.Payments {
		refs = append(refs, p.MerchantReference)
	}
	slices.Sort(refs)
	if page.Count != len(refs) {
		t.Errorf("search %q: count %d for %d payments", q, page.Count, len(refs))
	}
	return strings.Join(refs, " ")
}

// TestSearchByPartOfAnEmailOrName: any word of an e-mail (its local part split at the
// points, the domain) and of a name is searched by its prefix; the rest of the search
// must be in the e-mail too.
func TestSearchByPartOfAnEmailOrName(t *testing.T) {
	db := searchFixture(t)
	for _, tt := range []struct{ query, want string }{
		{"thomas31", "jules"},
		{"THOMAS31", "jules"},
		{"thomas3", "jules lena"}, // a prefix of both
		{"thomas31@", "jules"},
		{"thomas31@mail.ex", "jules"},
		{"jules.thomas31@mail.example", "jules"},
		{"Jules.Thomas31@Mail.Example", "jules"},
		{"jules.thom", "jules"},
		{"@mail.example", "jules"},
		{"thomas31@example.org", ""}, // the local part matches, the domain does not
		{"thomas@", ""},              // no e-mail's local part ends with "thomas"
		{"thomasi", "thomasina"},     // a name's prefix
		{"thom", "jules lena thomasina"},
		{"sato", "aiko"},
		{"ato", ""}, // words are matched from their start, not inside
		{"post.example", "thomasina"},
	} {
		if got := refsOf(t, db, tt.query); got != tt.want {
			t.Errorf("search %q: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestSearchByAmount: an amount written as people write it finds that amount in every
// currency by its exponent (2533.74 is 253374 cents, 2533740 fils, nothing in yen), or in
// the currency it names; never a neighbouring amount.
func TestSearchByAmount(t *testing.T) {
	db := searchFixture(t)
	for _, tt := range []struct{ query, want string }{
		{"2533.74", "eur gbp kwd"},
		{"2533,74", "eur gbp kwd"},
		{"2 533.74", "eur gbp kwd"},
		{"2\u00a0533,74", "eur gbp kwd"},
		{"2,533.74", "eur gbp kwd"},
		{"2.533,74", "eur gbp kwd"},
		{"2'533.74", "eur gbp kwd"},
		{"€2533.74", "eur"},
		{"€ 2 533,74", "eur"},
		{"2533.74 €", "eur"},
		{"2533.74 GBP", "gbp"},
		{"gbp2533.74", "gbp"},
		{"2533.740", "eur gbp kwd"},
		{"2533.75", "eur-next"},
		{"253374", ""},             // bare digits are an id, not an amount
		{"2533", ""},               // a card's last 4, not an amount
		{"¥2533", "jpy"},           // with a currency, digits are an amount
		{"2,533", "jpy"},           // 2533 yen; 2533.00 hryvnias and 2.533 dinars are not stored
		{"253,374.00", "eur-more"}, // 253374.00 euros, not 2533.74
		{"25.33", "uah"},           // 2533 kopiyky
		{"1.2.3", ""},              // not an amount, not grouped by threes
		{"2533.74.1", ""},          // not an amount
		{"12 eur 5", ""},           // not an amount either
		{"2533.741", ""},           // 2533.740 dinars are stored, not 2533.741
		{"2533.7400", "eur gbp kwd"} /* zeros */} {
		if got := refsOf(t, db, tt.query); got != tt.want {
			t.Errorf("search %q: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestParseAmountQuery pins how a search is read as an amount.
func TestParseAmountQuery(t *testing.T) {
	for _, tt := range []struct {
		in       string
		decimals []string
		currency string
		ok       bool
	}{
		{"2533.74", []string{"2533.74"}, "", true},
		{"2533,74", []string{"2533.74"}, "", true},
		{"2 533.74", []string{"2533.74"}, "", true},
		{"€2533.74", []string{"2533.74"}, "EUR", true},
		{"2,533", []string{"2.533", "2533"}, "", true},
		{"1.234.567", []string{"1234567"}, "", true},
		{"1.234.567,5", []string{"1234567.5"}, "", true},
		{"EUR 12", []string{"12"}, "EUR", true},
		{"2533", nil, "", false},
		{"pd_2533.74", nil, "", false},
		{"ORD-0100000", nil, "", false},
		{"12.", nil, "", false},
		{".5", nil, "", false},
		{"1,23,456", nil, "", false},
	} {
		got, ok := parseAmountQuery(tt.in)
		if ok != tt.ok || (ok && (!slices.Equal(got.decimals, tt.decimals) || got.currency != tt.currency)) {
			t.Errorf("parseAmountQuery(%q) = %+v, %v; want %v %q, %v", tt.in, got, ok, tt.decimals, tt.currency, tt.ok)
		}
	}
}

// TestSearchByAmountSeeksTheAmountIndex: an amount is found by seeks of
// payments_currency_amount, one per stored currency, never by reading the payments.
func TestSearchByAmountSeeksTheAmountIndex(t *testing.T) {
	db := searchFixture(t)
	currencies, err := db.storedCurrencies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"EUR", "GBP", "JPY", "KWD", "UAH"}; !slices.Equal(currencies, want) {
		t.Fatalf("stored currencies: %v, want %v", currencies, want)
	}
	c := filterConditions(PaymentFilter{Query: "2533.74", currencies: currencies})
	plan := strings.Join(planOf(t, db, c.idSet, c.idSetArgs), "\n")
	if n := strings.Count(plan, "USING COVERING INDEX payments_currency_amount (currency=? AND amount=?)"); n != 4 {
		t.Errorf("the plan seeks payments_currency_amount %d times, want 4 (EUR, GBP, KWD, UAH; not JPY):\n%s", n, plan)
	}
	for _, line := range strings.Split(plan, "\n") {
		if line == "SCAN payments" || strings.HasPrefix(line, "SCAN payments ") {
			t.Errorf("the plan reads every payment:\n%s", plan)
		}
	}
	// A part of an e-mail: the search index, then the row of each payment it finds.
	c = filterConditions(PaymentFilter{Query: "thomas31@mail"})
	plan = strings.Join(planOf(t, db, c.idSet, c.idSetArgs), "\n")
	if !strings.Contains(plan, "VIRTUAL TABLE INDEX 0:M") {
		t.Errorf("the plan for part of an e-mail does not use the search index:\n%s", plan)
	}
}

// TestPaymentCountsFollowTheRows: the counts by provider, status and currency follow every
// insert, change and bulk load, and the list's count for those filters is exact past
// CountCap.
func TestPaymentCountsFollowTheRows(t *testing.T) {
	ctx := context.Background()
	db := searchFixture(t)
	check := func(when string) {
		t.Helper()
		rows, err := db.db.QueryContext(ctx, `SELECT provider, status, currency, count(*) FROM payments GROUP BY 1, 2, 3
			EXCEPT SELECT provider, status, currency, n FROM payment_counts`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var p, s, c string
			var n int
			if err := rows.Scan(&p, &s, &c, &n); err != nil {
				t.Fatal(err)
			}
			t.Errorf("%s: %s %s %s has %d payments, payment_counts says otherwise", when, p, s, c, n)
		}
		var extra int
		if err := db.db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM payment_counts`).Scan(&extra); err != nil {
			t.Fatal(err)
		}
		var total int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM payments`).Scan(&total); err != nil {
			t.Fatal(err)
		}
		if extra != total {
			t.Errorf("%s: payment_counts adds up to %d, want %d", when, extra, total)
		}
	}
	check("after inserts")
	if _, err := db.db.ExecContext(ctx, `UPDATE payments SET status = 'failed' WHERE merchant_reference IN ('eur', 'gbp')`); err != nil {
		t.Fatal(err)
	}
	check("after a change of status")
	if _, err := db.db.ExecContext(ctx, `UPDATE payments SET customer_name = 'X' WHERE merchant_reference = 'jpy'`); err != nil {
		t.Fatal(err)
	}
	check("after a change of name")

	var bulk []BulkPayment
	for i := range CountCap + 20 {
		bulk = append(bulk, BulkPayment{Snapshot: providers.Snapshot{Provider: tranzzo.Name, PaymentID: fmt.Sprintf("tz_%d", i),
			Amount: 100, Currency: "EUR", RawStatus: "success", CreatedAt: testEpoch.Add(-time.Duration(i) * time.Second)}})
	}
	bulkLoad(t, db, BulkOptions{}, bulk...)
	check("after a bulk load")
	page := listPage(t, db, PaymentFilter{Provider: tranzzo.Name})
	if page.Count != CountCap+20 || page.CountCapped {
		t.Errorf("tranzzo: count %d (capped %v), want %d exactly", page.Count, page.CountCapped, CountCap+20)
	}
	page = listPage(t, db, PaymentFilter{})
	if want := CountCap + 20 + 11; page.Count != want || page.CountCapped {
		t.Errorf("all: count %d (capped %v), want %d exactly", page.Count, page.CountCapped, want)
	}
}
