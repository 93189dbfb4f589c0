package storage

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The refund history's summary at 120,000 refunds: read from the daily summaries (in
// memory or from a table) or from the refunds themselves, and the in-memory copy read
// again after a change.

var (
	benchRefundsOnce sync.Once
	benchRefundsDB   *DB
	benchRefundsDir  string
	benchRefundsErr  error
)

// benchRefundsDatabase returns a database of 60,000 payments with two refunds each,
// requested over 180 days by five people in every status, built once per run (TestMain
// removes it). The triggers fill the daily summaries as the refunds are inserted.
func benchRefundsDatabase(b *testing.B) *DB {
	b.Helper()
	benchRefundsOnce.Do(func() {
		benchRefundsDir, benchRefundsErr = os.MkdirTemp("", "paydesk-bench-refunds-")
		if benchRefundsErr != nil {
			return
		}
		benchRefundsDB, benchRefundsErr = Open(context.Background(), filepath.Join(benchRefundsDir, "bench.db"))
		if benchRefundsErr != nil {
			return
		}
		db := benchRefundsDB
		db.Now = func() time.Time { return testEpoch }
		r := rand.New(rand.NewPCG(3, 4))
		bulkInsertPayments(b, db, 60_000, func(i int) Payment { return syntheticPayment(r, i) })
		// A status drawn from the refund's id: three in four succeeded.
		_, benchRefundsErr = db.db.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by,
				requested_at, updated_at)
			SELECT p.id, 1 + (p.amount / (2 + k.n)), p.currency,
				CASE WHEN (p.id * 7 + k.n) % 100 < 75 THEN 'succeeded'
					WHEN (p.id * 7 + k.n) % 100 < 83 THEN 'failed'
					WHEN (p.id * 7 + k.n) % 100 < 88 THEN 'rejected'
					WHEN (p.id * 7 + k.n) % 100 < 91 THEN 'pending'
					WHEN (p.id * 7 + k.n) % 100 < 94 THEN 'expired'
					WHEN (p.id * 7 + k.n) % 100 < 96 THEN 'awaiting_approval'
					WHEN (p.id * 7 + k.n) % 100 < 98 THEN 'approved'
					ELSE 'unknown' END,
				CASE (p.id + k.n) % 6 WHEN 0 THEN 'requested_by_customer' WHEN 1 THEN 'duplicate' WHEN 2 THEN 'fraudulent'
					WHEN 3 THEN 'product_not_delivered' WHEN 4 THEN 'goodwill' ELSE 'other' END,
				CASE (p.id * 3 + k.n) % 5 WHEN 0 THEN 'sam@paydesk.example' WHEN 1 THEN 'tess@paydesk.example'
					WHEN 2 THEN 'ann@paydesk.example' WHEN 3 THEN 'lee@paydesk.example' ELSE 'kim@paydesk.example' END,
				?1 - ((p.id * 2654435761 + k.n * 104729) % (180 * 86400000)), ?1
			FROM payments p CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2) k ORDER BY p.id, k.n`, ms(testEpoch))
		if benchRefundsErr != nil {
			return
		}
		_, benchRefundsErr = db.db.Exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at,
				amount, currency, payment_id)
			SELECT id, iif(id % 20 = 0, 'max@paydesk.example', 'eve@paydesk.example'), 'approved', requested_at + 60000,
				amount, currency, payment_id
			FROM refunds WHERE id % 10 = 0 AND status IN ('succeeded', 'failed', 'pending', 'approved', 'unknown')`)
	})
	if benchRefundsErr != nil {
		b.Fatalf("bench refunds database: %v", benchRefundsErr)
	}
	return benchRefundsDB
}

// closeBenchRefundsDatabase removes the refund benchmarks' database, if one was built.
func closeBenchRefundsDatabase() {
	if benchRefundsDB != nil {
		benchRefundsDB.Close()
	}
	if benchRefundsDir != "" {
		os.RemoveAll(benchRefundsDir)
	}
}

// BenchmarkRefundDayTotalsRead reads refund_day_totals again, as the first history page
// after a refund's change does.
func BenchmarkRefundDayTotalsRead(b *testing.B) {
	db := benchRefundsDatabase(b)
	ctx := context.Background()
	var groups int
	for b.Loop() {
		db.dayTotals.mu.Lock()
		db.dayTotals.kept = false
		db.dayTotals.mu.Unlock()
		g, err := db.refundDayTotals(ctx)
		if err != nil || len(g) == 0 {
			b.Fatalf("refund_day_totals: %d groups, %v", len(g), err)
		}
		groups = len(g)
	}
	b.ReportMetric(float64(groups), "groups")
}

// BenchmarkRefundSummary reads the summary the history shows for its filters, and for
// one that does not fall on whole days.
func BenchmarkRefundSummary(b *testing.B) {
	db := benchRefundsDatabase(b)
	ctx := context.Background()
	day := time.Date(testEpoch.Year(), testEpoch.Month(), testEpoch.Day(), 0, 0, 0, 0, time.UTC)
	month := day.AddDate(0, -1, 0)
	cases := []struct {
		name string
		f    RefundFilter
	}{
		{"all", RefundFilter{}},
		{"last_month", RefundFilter{From: month}},
		{"provider_succeeded", RefundFilter{From: month, Provider: "bpc", Status: "succeeded"}},
		{"reason_currency", RefundFilter{Reason: "goodwill", Currency: "EUR"}},
		{"requested_by", RefundFilter{RequestedBy: "sam@paydesk.example"}},
		{"approved_by", RefundFilter{ApprovedBy: "max@paydesk.example"}},
		{"not_whole_days", RefundFilter{From: month.Add(time.Hour)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := db.RefundSummary(ctx, c.f)
				if err != nil || len(s.Totals) == 0 {
					b.Fatalf("%s: %+v, %v", c.name, s.Totals, err)
				}
			}
		})
	}
	// RefundTotals and RefundSeries on their own, where they do not read the summaries.
	b.Run("totals_not_whole_days", func(b *testing.B) {
		for b.Loop() {
			if t, err := db.RefundTotals(ctx, RefundFilter{From: month.Add(time.Hour)}); err != nil || len(t) == 0 {
				b.Fatalf("totals: %+v, %v", t, err)
			}
		}
	})
	b.Run("series_not_whole_days", func(b *testing.B) {
		for b.Loop() {
			if s, err := db.RefundSeries(ctx, RefundFilter{From: month.Add(time.Hour)}, "week"); err != nil || len(s) == 0 {
				b.Fatalf("series: %+v, %v", s, err)
			}
		}
	})
}
