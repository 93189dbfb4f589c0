package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/powens"
)

// plansFixture holds 1,500 payments: 700 in an unknown state, 600 of one family name,
// amounts from 1.00 to 1,500.00 EUR — enough for ListPayments to switch plans (a search or
// "needs attention" finding more than CountCap payments, a broad amount range).
func plansFixture(t *testing.T) *DB {
	t.Helper()
	db := newTestDB(t)
	var payments []BulkPayment
	for i := range 1500 {
		s := providers.Snapshot{Provider: powens.Name, PaymentID: fmt.Sprint(70_000 + i), Amount: int64(100 * (1 + i)),
			Currency: "EUR", RawStatus: "done", CustomerName: fmt.Sprintf("Person%d Unique%d", i, i),
			CreatedAt: testEpoch.Add(-time.Duration(i%700) * time.Hour)} // several payments share each hour
		s.Captured = s.Amount
		if i%15 < 7 {
			s.RawStatus = "processing_v2" // unknown to Paydesk
		}
		if i%5 < 2 {
			s.CustomerName = fmt.Sprintf("Person%d Kowalski", i)
		}
		payments = append(payments, BulkPayment{Snapshot: s})
	}
	bulkLoad(t, db, BulkOptions{}, payments...)
	return db
}

// walk returns every payment a filter lists, page after page, and the first page's count.
func walk(t *testing.T, db *DB, f PaymentFilter) ([]string, PaymentPage) {
	t.Helper()
	var ids []string
	var first PaymentPage
	for n := 0; ; n++ {
		page, err := db.ListPayments(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			first = page
		}
		for i, p := range page.Payments {
			if i > 0 && p.Cursor().String() == page.Payments[i-1].Cursor().String() {
				t.Fatalf("payment %s listed twice", p.PublicID)
			}
			ids = append(ids, p.PaymentID)
		}
		if page.Next == nil {
			return ids, first
		}
		f.After = page.Next
	}
}

// TestListPaymentsPlansGiveTheSameRows: whichever way ListPayments reads a filter (driven
// by a few matching ids, or the date index checked row by row), the rows, their order and
// the count are those of the filter.
func TestListPaymentsPlansGiveTheSameRows(t *testing.T) {
	db := plansFixture(t)
	all, _ := walk(t, db, PaymentFilter{Limit: MaxPageSize})
	if len(all) != 1500 {
		t.Fatalf("all payments: %d", len(all))
	}
	// want keeps the payments (in list order) for which keep is true.
	want := func(keep func(i int) bool) []string {
		var out []string
		for _, id := range all {
			var i int
			fmt.Sscan(id, &i)
			if keep(i - 70_000) {
				out = append(out, id)
			}
		}
		return out
	}
	lo, hi := int64(10_000), int64(120_000)   // 100.00 to 1,200.00: broad
	near, far := int64(50_000), int64(51_000) // 500.00 to 510.00: narrow
	tests := []struct {
		name string
		f    PaymentFilter
		keep func(i int) bool
	}{
		{"needs attention, many", PaymentFilter{NeedsAttention: true}, func(i int) bool { return i%15 < 7 }},
		{"needs attention and a name", PaymentFilter{NeedsAttention: true, Query: "kowalski"}, func(i int) bool { return i%15 < 7 && i%5 < 2 }},
		{"a name many have", PaymentFilter{Query: "kowalski"}, func(i int) bool { return i%5 < 2 }},
		{"a name one has", PaymentFilter{Query: "unique1499"}, func(i int) bool { return i == 1499 }},
		{"a broad amount range", PaymentFilter{Currency: "EUR", MinAmount: &lo, MaxAmount: &hi}, func(i int) bool { return 100*(1+i) >= 10_000 && 100*(1+i) <= 120_000 }},
		{"a narrow amount range", PaymentFilter{Currency: "EUR", MinAmount: &near, MaxAmount: &far}, func(i int) bool { return 100*(1+i) >= 50_000 && 100*(1+i) <= 51_000 }},
		{"from an amount", PaymentFilter{Currency: "EUR", MinAmount: &hi}, func(i int) bool { return 100*(1+i) >= 120_000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.Limit = 40
			got, first := walk(t, db, f)
			w := want(tt.keep)
			if !slices.Equal(got, w) {
				t.Errorf("rows: got %d %v…, want %d %v…", len(got), got[:min(5, len(got))], len(w), w[:min(5, len(w))])
			}
			if wantCount := min(len(w), CountCap); first.Count != wantCount || first.CountCapped != (len(w) > CountCap) {
				t.Errorf("count: got %d (capped %v), want %d (capped %v)", first.Count, first.CountCapped, wantCount, len(w) > CountCap)
			}
		})
	}
}

// TestListPaymentsFewNeedAttention: with few payments to look at, the page is driven by
// them and still lists exactly them.
func TestListPaymentsFewNeedAttention(t *testing.T) {
	db := newTestDB(t)
	var payments []BulkPayment
	for i := range 300 {
		s := providers.Snapshot{Provider: powens.Name, PaymentID: fmt.Sprint(80_000 + i), Amount: 1000, Captured: 1000,
			Currency: "EUR", RawStatus: "done", CreatedAt: testEpoch.Add(-time.Duration(i) * time.Minute)}
		if i%100 == 0 {
			s.RawStatus = "processing_v2"
		}
		payments = append(payments, BulkPayment{Snapshot: s})
	}
	bulkLoad(t, db, BulkOptions{}, payments...)
	got, first := walk(t, db, PaymentFilter{NeedsAttention: true})
	if want := []string{"80000", "80100", "80200"}; !slices.Equal(got, want) || first.Count != 3 || first.CountCapped {
		t.Errorf("needs attention: got %v (count %d), want %v (count 3)", got, first.Count, want)
	}
}

// TestSearchByIDSeeksTheUniqueIndexes: a search by a provider's id, session or order seeks
// the unique (provider, account, id) indexes on all three columns, once per stored provider
// and account (listed without naming them), and never reads the payments one by one.
func TestSearchByIDSeeksTheUniqueIndexes(t *testing.T) {
	db := plansFixture(t)
	for _, q := range []string{"1234", "70001"} { // as a card's last 4, and as any id
		c := filterConditions(PaymentFilter{Query: q})
		plan := planOf(t, db, c.idSet, c.idSetArgs)
		text := strings.Join(plan, "\n")
		for _, want := range []string{
			"USING COVERING INDEX payments_provider_payment (provider=? AND account=? AND provider_payment_id=?)",
			"USING COVERING INDEX payments_provider_session (provider=? AND account=? AND session_id=?)",
			"USING COVERING INDEX payments_provider_order (provider=? AND account=? AND order_id=?)",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%q: the plan has no %q:\n%s", q, want, text)
			}
		}
		for _, line := range plan {
			if line == "SCAN payments" || line == "SCAN p" || strings.HasPrefix(line, "SCAN payments ") || strings.HasPrefix(line, "SCAN p ") {
				t.Errorf("%q: the plan reads every payment (%s):\n%s", q, line, text)
			}
		}
	}
}
