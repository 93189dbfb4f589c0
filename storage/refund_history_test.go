package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// refundFixture is a set of refunds across providers, currencies, statuses and people,
// with what the test knows of each.
type refundFixture struct {
	db   *DB
	rows []fixtureRefund
}

// fixtureRefund is one refund of the fixture and the attributes filters look at.
type fixtureRefund struct {
	id                      int64
	provider                providers.Name
	currency, status        string
	reason, by, approvedBy  string
	amount                  int64
	requestedAt             time.Time
	paymentPublic, customer string
}

// newRefundFixture creates refunds one day apart: in EUR, GBP and JPY, on BPC and
// Tranzzo, succeeded, failed, pending, awaiting approval, rejected and approved.
func newRefundFixture(t *testing.T) refundFixture {
	t.Helper()
	db := newTestDB(t)
	ctx := context.Background()
	clock := testEpoch
	db.Now = func() time.Time { return clock }
	fx := refundFixture{db: db}
	type spec struct {
		provider       providers.Name
		currency       string
		amount         int64
		reason, by     string
		approveBy      string // approved by this manager before it runs
		rejectBy       string
		awaiting       bool
		end            string // how the action ends: succeeded, failed, or "" (pending)
		daysAfterEpoch int
	}
	specs := []spec{
		{bpc.Name, "EUR", 1000, "duplicate", "ann@x", "", "", false, "succeeded", 0},
		{bpc.Name, "EUR", 2550, "goodwill", "bob@x", "", "", false, "failed", 1},
		{tranzzo.Name, "EUR", 70000, "fraudulent", "ann@x", "max@x", "", false, "succeeded", 2},
		{bpc.Name, "GBP", 999, "requested_by_customer", "bob@x", "", "", false, "succeeded", 3},
		{tranzzo.Name, "GBP", 45000, "other", "ann@x", "", "max@x", false, "", 9},
		{bpc.Name, "JPY", 1500, "product_not_delivered", "bob@x", "", "", false, "succeeded", 10},
		{bpc.Name, "JPY", 80000, "goodwill", "ann@x", "", "", true, "", 12},
		{tranzzo.Name, "EUR", 300, "duplicate", "bob@x", "", "", false, "", 40},
		{tranzzo.Name, "GBP", 60000, "duplicate", "bob@x", "kim@x", "", false, "succeeded", 41},
		{bpc.Name, "EUR", 12345, "duplicate", "ann@x", "", "", false, "succeeded", 41},
	}
	for i, s := range specs {
		clock = testEpoch.Add(time.Duration(s.daysAfterEpoch) * 24 * time.Hour)
		pid := insertTestPayment(t, db, string(s.provider), s.currency, 100000)
		needs := s.approveBy != "" || s.rejectBy != "" || s.awaiting
		r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: s.amount, Reason: s.reason, Note: "a note",
			RequestedBy: s.by, IdempotencyKey: fmt.Sprintf("fx-%d", i), NeedsApproval: needs, ApprovalTTL: 72 * time.Hour})
		if err != nil {
			t.Fatalf("fixture %d: %v", i, err)
		}
		status := r.Status
		switch {
		case s.approveBy != "":
			_, a, err := db.ApproveRefund(ctx, r.ID, s.approveBy, fmt.Sprintf("fx-approve-%d", i),
				Expectation{PaymentID: pid, Amount: s.amount, Currency: s.currency, Reason: s.reason})
			if err != nil {
				t.Fatalf("fixture %d: approve: %v", i, err)
			}
			act, status = &a, "pending"
		case s.rejectBy != "":
			if _, err := db.RejectRefund(ctx, r.ID, s.rejectBy, "", "not justified"); err != nil {
				t.Fatalf("fixture %d: reject: %v", i, err)
			}
			status = "rejected"
		}
		if s.end != "" {
			if _, err := db.FinishAction(ctx, act.ID, s.end, "", "", ""); err != nil {
				t.Fatalf("fixture %d: finish: %v", i, err)
			}
			status = s.end
		}
		var public, customer string
		if err := db.SQL().QueryRow(`SELECT public_id, customer_name FROM payments WHERE id = ?`, pid).Scan(&public, &customer); err != nil {
			t.Fatal(err)
		}
		fx.rows = append(fx.rows, fixtureRefund{id: r.ID, provider: s.provider, currency: s.currency, status: status,
			reason: s.reason, by: s.by, approvedBy: s.approveBy, amount: s.amount, requestedAt: clock,
			paymentPublic: public, customer: customer})
	}
	return fx
}

// expect returns the fixture's refund ids matching keep, newest (highest id) first.
func (fx refundFixture) expect(keep func(fixtureRefund) bool) []int64 {
	var out []int64
	for i := len(fx.rows) - 1; i >= 0; i-- {
		if keep(fx.rows[i]) {
			out = append(out, fx.rows[i].id)
		}
	}
	return out
}

// refundFilterCases are the filters the history tests try, each with the rule it applies.
func refundFilterCases() []struct {
	name   string
	filter RefundFilter
	keep   func(fixtureRefund) bool
} {
	day := 24 * time.Hour
	return []struct {
		name   string
		filter RefundFilter
		keep   func(fixtureRefund) bool
	}{
		{"all", RefundFilter{}, func(fixtureRefund) bool { return true }},
		{"provider", RefundFilter{Provider: tranzzo.Name}, func(r fixtureRefund) bool { return r.provider == tranzzo.Name }},
		{"currency", RefundFilter{Currency: "GBP"}, func(r fixtureRefund) bool { return r.currency == "GBP" }},
		{"status", RefundFilter{Status: "succeeded"}, func(r fixtureRefund) bool { return r.status == "succeeded" }},
		{"reason", RefundFilter{Reason: "duplicate"}, func(r fixtureRefund) bool { return r.reason == "duplicate" }},
		{"requester", RefundFilter{RequestedBy: "ANN@x"}, func(r fixtureRefund) bool { return r.by == "ann@x" }},
		{"approver", RefundFilter{ApprovedBy: "max@x"}, func(r fixtureRefund) bool { return r.approvedBy == "max@x" }},
		{"rejecter is no approver", RefundFilter{ApprovedBy: "max@x", Currency: "GBP"}, func(r fixtureRefund) bool { return r.approvedBy == "max@x" && r.currency == "GBP" }},
		{"date range", RefundFilter{From: testEpoch.Add(2 * day), To: testEpoch.Add(12 * day)}, func(r fixtureRefund) bool {
			return !r.requestedAt.Before(testEpoch.Add(2*day)) && r.requestedAt.Before(testEpoch.Add(12*day))
		}},
		{"combined", RefundFilter{Provider: bpc.Name, Currency: "EUR", Status: "succeeded"}, func(r fixtureRefund) bool {
			return r.provider == bpc.Name && r.currency == "EUR" && r.status == "succeeded"
		}},
		{"nothing", RefundFilter{Currency: "USD"}, func(fixtureRefund) bool { return false }},
	}
}

func TestListRefunds(t *testing.T) {
	fx := newRefundFixture(t)
	ctx := context.Background()
	for _, tt := range refundFilterCases() {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := fx.db.ListRefunds(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range rows {
				got = append(got, r.ID)
			}
			want := fx.expect(tt.keep)
			if !equalIDs(got, want) {
				t.Errorf("ListRefunds(%+v) = %v, want %v", tt.filter, got, want)
			}
		})
	}

	// Every row carries its payment and its decision.
	rows, err := fx.db.ListRefunds(ctx, RefundFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]fixtureRefund{}
	for _, r := range fx.rows {
		byID[r.id] = r
	}
	for _, row := range rows {
		want := byID[row.ID]
		if row.PaymentPublicID != want.paymentPublic || row.CustomerName != want.customer || row.Provider != want.provider ||
			row.Status != want.status || row.Amount != want.amount || row.Currency != want.currency {
			t.Errorf("row %d = %+v, want %+v", row.ID, row, want)
		}
		if want.approvedBy != "" && (row.DecidedBy != want.approvedBy || row.DecidedAt.IsZero()) {
			t.Errorf("row %d decided by %q at %v, want %q", row.ID, row.DecidedBy, row.DecidedAt, want.approvedBy)
		}
	}
}

func TestListRefundsPages(t *testing.T) {
	fx := newRefundFixture(t)
	ctx := context.Background()
	want := fx.expect(func(fixtureRefund) bool { return true })
	var got []int64
	f := RefundFilter{Limit: 3}
	for page := 0; page < 10; page++ {
		rows, err := fx.db.ListRefunds(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > 3 {
			t.Fatalf("page %d has %d rows, want at most 3", page, len(rows))
		}
		for _, r := range rows {
			got = append(got, r.ID)
		}
		if len(rows) < 3 {
			break
		}
		f.After = rows[len(rows)-1].ID
	}
	if !equalIDs(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
}

func TestRefundFilterValidation(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	bad := []RefundFilter{
		{Provider: "stripe"},
		{Currency: "eur"},
		{Status: "done"},
		{Reason: "because"},
	}
	for _, f := range bad {
		if _, err := db.ListRefunds(ctx, f); err == nil {
			t.Errorf("ListRefunds(%+v) = nil error, want one", f)
		}
		if _, err := db.RefundTotals(ctx, f); err == nil {
			t.Errorf("RefundTotals(%+v) = nil error, want one", f)
		}
		if _, err := db.RefundSeries(ctx, f, "day"); err == nil {
			t.Errorf("RefundSeries(%+v) = nil error, want one", f)
		}
	}
	if _, err := db.ListRefunds(ctx, RefundFilter{Reason: ProviderRefundReason}); err != nil {
		t.Errorf("filter on refunds made at the provider = %v, want success", err)
	}
	if _, err := db.RefundSeries(ctx, RefundFilter{}, "hour"); err == nil {
		t.Error("RefundSeries(hour) = nil error, want one")
	}
}

func TestEachRefundStreamsAll(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	const n = 250
	for i := 0; i < n; i++ {
		pid := insertTestPayment(t, db, "bpc", "EUR", 1000)
		if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: int64(i + 1), Reason: "duplicate",
			RequestedBy: "ann@x", IdempotencyKey: fmt.Sprintf("k%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	count := 0
	var sum, last int64
	err := db.EachRefund(ctx, RefundFilter{}, func(r RefundRow) error {
		if last != 0 && r.ID >= last {
			t.Fatalf("row %d after %d: want newest first", r.ID, last)
		}
		last = r.ID
		count++
		sum += r.Amount
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n+1)/2 {
		t.Errorf("EachRefund saw %d rows summing %d, want %d rows summing %d", count, sum, n, n*(n+1)/2)
	}
	stop := errors.New("stop")
	seen := 0
	err = db.EachRefund(ctx, RefundFilter{}, func(RefundRow) error {
		seen++
		if seen == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 10 {
		t.Errorf("EachRefund stopped with %v after %d rows, want stop after 10", err, seen)
	}
	// The default page is capped; Limit 0 in EachRefund means everything.
	page, err := db.ListRefunds(ctx, RefundFilter{})
	if err != nil || len(page) != 100 {
		t.Errorf("ListRefunds default page = %d rows, %v; want 100", len(page), err)
	}
}
