package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// summaryFixture loads 400 card payments with provider refunds and staff requests in
// every status, over three currencies, two providers and two months.
func summaryFixture(t *testing.T) *DB {
	t.Helper()
	db := newTestDB(t)
	r := rand.New(rand.NewPCG(4, 2))
	staff := []string{"sam@paydesk.example", "tess@paydesk.example"}
	var payments []BulkPayment
	for i := range 400 {
		created := testEpoch.Add(-time.Duration(r.IntN(60*24)) * time.Hour)
		prov := []providers.Name{bpc.Name, tranzzo.Name}[i%2]
		cur := []string{"EUR", "GBP", "UAH"}[r.IntN(3)]
		amount := int64(1000 + r.IntN(100_000))
		s := providers.Snapshot{Provider: prov, PaymentID: fmt.Sprintf("p_%d", i), Amount: amount, Captured: amount,
			Currency: cur, RawStatus: "succeeded", CreatedAt: created}
		if prov == tranzzo.Name {
			s.RawStatus, s.Method = "success", "purchase"
		}
		p := BulkPayment{Snapshot: s}
		for k := range r.IntN(3) {
			id := fmt.Sprintf("re_%d_%d", i, k)
			ok := r.IntN(4) > 0
			s.Refunds = append(s.Refunds, providers.RefundSnapshot{ID: id, Amount: amount / 4, Status: map[bool]string{true: "succeeded", false: "failed"}[ok],
				Succeeded: ok, Failed: !ok, CreatedAt: created.Add(time.Duration(1+r.IntN(100)) * time.Hour)})
			if r.IntN(2) == 0 {
				p.Requests = append(p.Requests, BulkRefund{ProviderRefundID: id, Amount: amount / 4, Reason: "goodwill",
					RequestedBy: staff[r.IntN(2)], RequestedAt: created.Add(30 * time.Minute)})
			}
		}
		p.Snapshot = s
		if r.IntN(5) == 0 {
			st := []string{"rejected", "expired", "awaiting_approval", "failed"}[r.IntN(4)]
			q := BulkRefund{Amount: amount / 10, Status: st, Reason: "duplicate", RequestedBy: staff[r.IntN(2)], RequestedAt: created.Add(2 * time.Hour)}
			if st == "rejected" {
				q.Decision, q.DecidedBy, q.DecidedAt = "rejected", "max@paydesk.example", created.Add(3*time.Hour)
			}
			p.Requests = append(p.Requests, q)
		}
		payments = append(payments, p)
	}
	bulkLoad(t, db, BulkOptions{BatchRows: 150}, payments...)
	return db
}

// TestRefundSummary: RefundSummary gives what RefundTotals and RefundSeries(day) give,
// and what the refunds themselves add up to, for every kind of filter.
func TestRefundSummary(t *testing.T) {
	ctx := context.Background()
	db := summaryFixture(t)
	filters := []RefundFilter{
		{},
		{Provider: bpc.Name},
		{Currency: "EUR"},
		{Status: "succeeded"},
		{Status: "rejected"},
		{Reason: "goodwill", Currency: "GBP"},
		{RequestedBy: "SAM@paydesk.example"},
		{From: testEpoch.AddDate(0, 0, -20), To: testEpoch.AddDate(0, 0, -5)},
		{Reason: ProviderRefundReason, Provider: tranzzo.Name},
		{Currency: "JPY"},
	}
	for _, f := range filters {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			wantTotals, err := db.RefundTotals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			wantDays, err := db.RefundSeries(ctx, f, "day")
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.RefundSummary(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Totals, wantTotals) {
				t.Errorf("totals:\n got %+v\nwant %+v", got.Totals, wantTotals)
			}
			if !reflect.DeepEqual(got.Days, wantDays) {
				t.Errorf("days:\n got %+v\nwant %+v", got.Days, wantDays)
			}
			// Whichever path answered (the daily summary, or the refunds for times within a
			// day), the refunds themselves agree.
			raw, err := db.refundSummaryFromRefunds(ctx, f, false)
			if err != nil {
				t.Fatal(err)
			}
			if !equalSummaries(got, raw) {
				t.Errorf("from the refunds themselves:\n got %+v\nwant %+v", raw, got)
			}
			if f == (RefundFilter{}) && len(wantTotals) != 3 {
				t.Errorf("the fixture has %d currencies, want 3", len(wantTotals))
			}
		})
	}
	if _, err := db.RefundSummary(ctx, RefundFilter{Status: "lost"}); err == nil {
		t.Error("an unknown status: got no error")
	}
}

// TestRefundSeriesBuckets: weeks start on Monday, months on the first, in UTC, as SQLite's
// date functions counted them before the days were gathered in Go.
func TestRefundSeriesBuckets(t *testing.T) {
	ctx := context.Background()
	db := summaryFixture(t)
	for _, bucket := range []string{"week", "month"} {
		got, err := db.RefundSeries(ctx, RefundFilter{}, bucket)
		if err != nil {
			t.Fatal(err)
		}
		expr := map[string]string{
			"week":  `date(r.requested_at / 1000, 'unixepoch', 'weekday 0', '-6 days')`,
			"month": `date(r.requested_at / 1000, 'unixepoch', 'start of month')`,
		}[bucket]
		if onPostgres() {
			// Monday-first weeks and months of UTC days, in PostgreSQL's words.
			expr = map[string]string{
				"week":  `to_char(date_trunc('week', to_timestamp(r.requested_at / 1000) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
				"month": `to_char(date_trunc('month', to_timestamp(r.requested_at / 1000) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
			}[bucket]
		}
		rows, err := db.db.QueryContext(ctx, `SELECT `+expr+` AS b, r.currency, sum(r.amount), count(*) FROM refunds r
			WHERE r.status = 'succeeded' GROUP BY b, r.currency ORDER BY b, r.currency`)
		if err != nil {
			t.Fatal(err)
		}
		var want []SeriesPoint
		for rows.Next() {
			var p SeriesPoint
			var day string
			if err := rows.Scan(&day, &p.Currency, &p.Amount, &p.Count); err != nil {
				t.Fatal(err)
			}
			p.Bucket, _ = time.Parse(time.DateOnly, day)
			want = append(want, p)
		}
		rows.Close()
		if len(want) < 5 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s buckets:\n got %+v\nwant %+v", bucket, got, want)
		}
	}
}

func TestRefundTotalsMatchRows(t *testing.T) {
	fx := newRefundFixture(t)
	ctx := context.Background()
	for _, tt := range refundFilterCases() {
		t.Run(tt.name, func(t *testing.T) {
			totals, err := fx.db.RefundTotals(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]*CurrencyTotal{}
			err = fx.db.EachRefund(ctx, tt.filter, func(r RefundRow) error {
				c := want[r.Currency]
				if c == nil {
					c = &CurrencyTotal{Currency: r.Currency}
					want[r.Currency] = c
				}
				c.Count++
				c.Amount += r.Amount
				if r.Status == "succeeded" {
					c.SucceededCount++
					c.SucceededAmount += r.Amount
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(totals) != len(want) {
				t.Errorf("totals = %+v, want one per currency of %d", totals, len(want))
			}
			for i, got := range totals {
				if i > 0 && totals[i-1].Currency >= got.Currency {
					t.Errorf("totals not in currency order: %s then %s", totals[i-1].Currency, got.Currency)
				}
				if w := want[got.Currency]; w == nil || got != *w {
					t.Errorf("total %s = %+v, want %+v", got.Currency, got, w)
				}
			}
		})
	}
	// The fixture's own arithmetic, independent of EachRefund: 10.00 + 700.00 + 123.45 EUR succeeded.
	totals, err := fx.db.RefundTotals(ctx, RefundFilter{Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	var wantEUR CurrencyTotal
	wantEUR.Currency = "EUR"
	for _, r := range fx.rows {
		if r.currency != "EUR" {
			continue
		}
		wantEUR.Count++
		wantEUR.Amount += r.amount
		if r.status == "succeeded" {
			wantEUR.SucceededCount++
			wantEUR.SucceededAmount += r.amount
		}
	}
	if len(totals) != 1 || totals[0] != wantEUR {
		t.Errorf("EUR totals = %+v, want %+v", totals, wantEUR)
	}
}

func TestRefundSeries(t *testing.T) {
	fx := newRefundFixture(t)
	ctx := context.Background()
	buckets := map[string]func(time.Time) time.Time{
		"day": func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) },
		"week": func(t time.Time) time.Time {
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // back to Monday
		},
		"month": func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, bucketOf := range buckets {
		t.Run(name, func(t *testing.T) {
			points, err := fx.db.RefundSeries(ctx, RefundFilter{}, name)
			if err != nil {
				t.Fatal(err)
			}
			type key struct {
				bucket   time.Time
				currency string
			}
			want := map[key]int64{}
			for _, r := range fx.rows {
				if r.status == "succeeded" {
					want[key{bucketOf(r.requestedAt), r.currency}] += r.amount
				}
			}
			if len(points) != len(want) {
				t.Errorf("%d points, want %d: %+v", len(points), len(want), points)
			}
			for i, p := range points {
				if w, ok := want[key{p.Bucket, p.Currency}]; !ok || w != p.Amount {
					t.Errorf("point %v %s = %d, want %d (present: %v)", p.Bucket, p.Currency, p.Amount, w, ok)
				}
				if i > 0 && p.Bucket.Before(points[i-1].Bucket) {
					t.Errorf("points not oldest first: %v after %v", p.Bucket, points[i-1].Bucket)
				}
			}
		})
	}
	// Filters apply to the series too.
	points, err := fx.db.RefundSeries(ctx, RefundFilter{Provider: tranzzo.Name}, "month")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range points {
		sum += p.Amount
	}
	var want int64
	for _, r := range fx.rows {
		if r.provider == tranzzo.Name && r.status == "succeeded" {
			want += r.amount
		}
	}
	if sum != want {
		t.Errorf("Tranzzo series sums to %d, want %d", sum, want)
	}
}
