package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"reflect"
	"sync"
	"testing"
	"time"
)

// refund_day_totals kept in memory while refund_summary_version (0007) stays the same:
// read back whole whatever its text holds, read again after a change made through another
// handle, safe to read from many goroutines while refunds change.

// tableDayTotals reads refund_day_totals row by row, in its order.
func tableDayTotals(t *testing.T, db *DB) []refundDayGroup {
	t.Helper()
	rows, err := db.db.Query(`SELECT day, currency, provider, status, n, amount FROM refund_day_totals
		ORDER BY day, currency, provider, status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []refundDayGroup
	for rows.Next() {
		var g refundDayGroup
		if err := rows.Scan(&g.day, &g.currency, &g.provider, &g.status, &g.n, &g.amount); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRefundDayTotalsReadBack: the groups come back from SQLite exactly as the table holds
// them, whatever their text (spaces, digits, other alphabets, nothing) and numbers, and in
// the table's order.
func TestRefundDayTotalsReadBack(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	groups, err := db.refundDayTotals(ctx)
	if err != nil || len(groups) != 0 {
		t.Fatalf("empty table: %v, %v", groups, err)
	}
	for i, g := range []refundDayGroup{
		{20_000, "EUR", "bpc", "succeeded", 3, 1500},
		{19_999, "E U R", "b p c", "failed", 1, 7},
		{20_000, "", "", "", 2, 0},
		{20_000, "12 3", "4", "5 6", 9_000_000_000_000, 9_000_000_000_000_000_000},
		{-3, "€uro", "Привіт світ", "succeeded", -1, -250},
		{20_000, "EUR", "bpc", "succeeded ", 1, 1},
		{0, "-5", "9 -9", "x", 1, 1},
		{0, "", "bpc", "succeeded", 4, 40},
	} {
		if _, err := db.db.Exec(`INSERT INTO refund_day_totals (day, currency, provider, status, n, amount) VALUES (?, ?, ?, ?, ?, ?)`,
			g.day, g.currency, g.provider, g.status, g.n, g.amount); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	got, err := db.refundDayTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := tableDayTotals(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, want)
	}
	// Added up in memory as SQLite adds the table up, odd groups included (day 0 and no
	// currency: the first point of the series).
	day := time.UnixMilli(20_000 * msPerDay).UTC()
	for _, f := range []RefundFilter{{}, {Status: "succeeded"}, {Currency: "EUR"}, {Provider: "bpc"}, {From: day},
		{To: day}, {From: day, To: day.AddDate(0, 0, 1), Status: "failed"}} {
		want, err := db.refundSummaryFromTable(ctx, "refund_day_totals", f)
		if err != nil {
			t.Fatal(err)
		}
		if got := sumRefundDayTotals(got, f); !equalSummaries(got, want) {
			t.Errorf("%+v:\n got %+v\nwant %+v", f, got, want)
		}
	}
}

// TestRefundSummaryFollowsOtherHandles: refunds made, decided and bulk loaded through
// another handle on the same file (another process) show in a summary that was read, and
// kept, before them.
func TestRefundSummaryFollowsOtherHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "two.db")
	reader, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	writer, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	filters := []RefundFilter{{}, {Provider: bpc.Name}, {Status: "succeeded"}, {Status: "awaiting_approval"}, {Currency: "EUR"}}
	check := func(when string) {
		t.Helper()
		checkSummaryTables(t, reader, when)
		for _, f := range filters {
			compareSummaryPaths(t, reader, f)
		}
	}
	check("empty")
	for i := range 3 {
		pid := insertTestPayment(t, writer, "bpc", "EUR", 100_000)
		if _, _, err := writer.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: int64(100 * (i + 1)), Reason: "goodwill",
			RequestedBy: "sam@x.test", IdempotencyKey: fmt.Sprintf("k%d", i), NeedsApproval: i == 2, ApprovalTTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after refund %d", i))
	}
	if _, err := writer.db.Exec(`UPDATE refunds SET status = 'succeeded' WHERE status <> 'awaiting_approval'`); err != nil {
		t.Fatal(err)
	}
	check("after the refunds succeeded")
	bulkLoad(t, writer, BulkOptions{BatchRows: 30}, summaryBulkPayments(9, 60)...)
	check("after a bulk load")
}

// TestRefundSummaryConcurrent: summaries read from many goroutines while refunds change
// (for the race detector), then one equal to the refunds.
func TestRefundSummaryConcurrent(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "tranzzo", "UAH", 10_000_000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.RefundSummary(ctx, RefundFilter{Provider: tranzzo.Name}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 50 {
		if _, err := db.db.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			VALUES (?, ?, 'UAH', ?, 'duplicate', 'sam@x.test', ?, 0)`, pid, 10+i, RefundStatuses[i%len(RefundStatuses)],
			ms(testEpoch.Add(time.Duration(i)*7*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	checkSummaryTables(t, db, "after the changes")
	compareSummaryPaths(t, db, RefundFilter{})
}
