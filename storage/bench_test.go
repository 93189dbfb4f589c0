package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// benchRows is the size of the benchmarks' database.
const benchRows = 100_000

var (
	benchOnce sync.Once
	benchDB   *DB
	benchDir  string
	benchErr  error
)

// benchFirstNames and benchLastNames make the seeded customers' names.
var (
	benchFirstNames = []string{"Jean", "Marie", "Olena", "Taras", "Anna", "Lukas", "Sofia", "Pierre", "Iryna", "Mateo", "Emma", "Noah"}
	benchLastNames  = []string{"Dupont", "Martin", "Shevchenko", "Kowalski", "Rossi", "Müller", "Garcia", "Bernard", "Kovalenko", "Novak", "Moreau", "Petit"}
)

// benchStatus draws a status with a realistic spread: mostly paid, few needing attention.
func benchStatus(r *rand.Rand) providers.Status {
	switch n := r.IntN(1000); {
	case n < 600:
		return providers.StatusPaid
	case n < 700:
		return providers.StatusFailed
	case n < 770:
		return providers.StatusCancelled
	case n < 830:
		return providers.StatusExpired
	case n < 880:
		return providers.StatusAwaitingPayment
	case n < 920:
		return providers.StatusRefunded
	case n < 950:
		return providers.StatusPartiallyRefunded
	case n < 975:
		return providers.StatusProcessing
	case n < 990:
		return providers.StatusAuthorized
	case n < 995:
		return providers.StatusCancelling
	}
	return providers.StatusUnknown
}

// syntheticPayment returns the i-th row of a deterministic, realistic-looking data set:
// the three providers, their ids, a spread of statuses, currencies, amounts and dates
// (created_at goes back one minute per row from testEpoch, so some rows share a
// millisecond only when asked to by the caller).
func syntheticPayment(r *rand.Rand, i int) Payment {
	first := benchFirstNames[r.IntN(len(benchFirstNames))]
	last := benchLastNames[r.IntN(len(benchLastNames))]
	p := Payment{Status: benchStatus(r)}
	p.CustomerName = first + " " + last
	p.CustomerEmail = fmt.Sprintf("%s.%s%d@example.com", first, last, i)
	p.Amount = int64(100 + r.IntN(200_000))
	p.Captured = p.Amount
	p.Currency = []string{"EUR", "EUR", "GBP", "UAH", "XTS"}[r.IntN(5)]
	p.MerchantReference = fmt.Sprintf("ORD-%07d", i)
	p.CreatedAt = testEpoch.Add(-time.Duration(i) * time.Minute)
	p.UpdatedAt = testEpoch
	switch i % 3 {
	case 0:
		p.Provider = powens.Name
		p.PaymentID = fmt.Sprintf("%d", 1_000_000+i)
		p.RawStatus = "done"
	case 1:
		p.Provider = bpc.Name
		p.PaymentID = fmt.Sprintf("p_%08d", i)
		p.SessionID = fmt.Sprintf("ps_%08d", i)
		p.RawStatus = "succeeded"
		p.CardLast4 = fmt.Sprintf("%04d", r.IntN(10000))
	default:
		p.Provider = tranzzo.Name
		p.PaymentID = fmt.Sprintf("tz_%08d", i)
		p.OrderID = fmt.Sprintf("order-%08d", i)
		p.RawStatus = "success"
		p.CardLast4 = fmt.Sprintf("%04d", r.IntN(10000))
	}
	p.PublicID = PublicIDFor(p.Provider, snapshotKey(p.Snapshot))
	return p
}

// bulkInsertPayments inserts n payments made by gen in one transaction with a prepared
// statement, skipping UpsertPayment (no events, no validation): the fast way to build a
// large database.
func bulkInsertPayments(tb testing.TB, db *DB, n int, gen func(i int) Payment) {
	tb.Helper()
	ctx := context.Background()
	err := db.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO payments (public_id, provider, provider_payment_id, session_id,
			order_id, merchant_reference, amount, captured, refunded, currency, status, raw_status, card_last4,
			customer_name, customer_email, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			p := gen(i)
			_, err := stmt.ExecContext(ctx, p.PublicID, string(p.Provider), p.PaymentID, p.SessionID,
				p.OrderID, p.MerchantReference, p.Amount, p.Captured, p.Refunded, p.Currency, string(p.Status), p.RawStatus, p.CardLast4,
				p.CustomerName, p.CustomerEmail, ms(p.CreatedAt), ms(p.UpdatedAt))
			if err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("bulk insert payments: %v", err)
	}
}

// benchDatabase returns the benchmarks' database of benchRows payments, built once per
// run (TestMain removes it).
func benchDatabase(b *testing.B) *DB {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "paydesk-bench-")
		if benchErr != nil {
			return
		}
		benchDB, benchErr = Open(context.Background(), filepath.Join(benchDir, "bench.db"))
		if benchErr != nil {
			return
		}
		benchDB.Now = func() time.Time { return testEpoch }
		r := rand.New(rand.NewPCG(1, 2))
		// No ANALYZE: the planner must do well without statistics, as in production.
		bulkInsertPayments(b, benchDB, benchRows, func(i int) Payment { return syntheticPayment(r, i) })
	})
	if benchErr != nil {
		b.Fatalf("bench database: %v", benchErr)
	}
	return benchDB
}

// closeBenchDatabase removes the benchmarks' databases, those that were built.
func closeBenchDatabase() {
	closeBenchRefundsDatabase()
	if benchDB != nil {
		benchDB.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
}

func BenchmarkListPayments(b *testing.B) {
	db := benchDatabase(b)
	ctx := context.Background()
	lo, hi := int64(10_000), int64(50_000)
	// A cursor a few pages down, for the "page 5" case.
	first, err := db.ListPayments(ctx, PaymentFilter{Limit: 200})
	if err != nil || first.Next == nil {
		b.Fatalf("first page: %v", err)
	}
	cases := []struct {
		name string
		f    PaymentFilter
	}{
		{"default", PaymentFilter{}},
		{"after_cursor", PaymentFilter{After: first.Next}},
		{"provider", PaymentFilter{Provider: bpc.Name}},
		{"status", PaymentFilter{Status: providers.StatusRefunded}},
		{"currency_amount", PaymentFilter{Currency: "GBP", MinAmount: &lo, MaxAmount: &hi}},
		{"date_range", PaymentFilter{From: testEpoch.AddDate(0, 0, -30), To: testEpoch.AddDate(0, 0, -20)}},
		{"needs_attention", PaymentFilter{NeedsAttention: true}},
		{"combined", PaymentFilter{Provider: tranzzo.Name, Status: providers.StatusPaid, Currency: "EUR"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.ListPayments(ctx, c.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Payments) == 0 {
					b.Fatalf("%s: empty page", c.name)
				}
			}
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	db := benchDatabase(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	var sample []Payment
	for i := range 1000 {
		sample = append(sample, syntheticPayment(r, i))
	}
	p := sample[700] // a BPC payment (700 % 3 == 1)
	cases := []struct {
		name, query string
	}{
		{"email", p.CustomerEmail},
		{"email_upper", strings.ToUpper(p.CustomerEmail)},
		{"public_id", p.PublicID},
		{"provider_id", p.PaymentID},
		{"session_id", p.SessionID},
		{"reference", p.MerchantReference},
		{"last4", p.CardLast4},
		{"name", "Shevchenko"},
		{"name_prefix", "shev"},
		{"two_words", "olena kowal"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.ListPayments(ctx, PaymentFilter{Query: c.query})
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Payments) == 0 {
					b.Fatalf("%s %q: nothing found", c.name, c.query)
				}
			}
		})
	}
}

// BenchmarkWorkQueue is the dashboard's counts (storage.WorkQueue), every one asked for.
func BenchmarkWorkQueue(b *testing.B) {
	db := benchDatabase(b)
	ctx := context.Background()
	f := WorkQueueFilter{Since: testEpoch.AddDate(0, 0, -7), Links: true, Approvals: true, Mine: &Requester{Email: "ann@x"}}
	for b.Loop() {
		q, err := db.WorkQueue(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		if q.UnknownStatus.N == 0 || q.CancellingNoLink.N == 0 {
			b.Fatalf("work queue %+v: the data has unknown and cancelling payments", q)
		}
	}
}
