package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers"
)

// testPaymentSeq numbers the payments insertTestPayment makes.
var testPaymentSeq atomic.Int64

// insertTestPayment inserts a paid payment directly with SQL and returns its id.
func insertTestPayment(t *testing.T, db *DB, provider, currency string, captured int64) int64 {
	t.Helper()
	n := testPaymentSeq.Add(1)
	var id int64
	err := db.SQL().QueryRow(`INSERT INTO payments (public_id, provider, provider_payment_id, amount, captured,
		currency, status, raw_status, customer_name, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'paid', 'succeeded', ?, ?, ?) RETURNING id`,
		fmt.Sprintf("pd_test%06d", n), provider, fmt.Sprintf("p_%06d", n), captured, captured, currency,
		fmt.Sprintf("Customer %d", n), ms(testEpoch), ms(testEpoch)).Scan(&id)
	if err != nil {
		t.Fatalf("insert test payment: %v", err)
	}
	return id
}

// mustBalance returns a payment's balance or stops the test.
func mustBalance(t *testing.T, db *DB, paymentID int64) RefundBalance {
	t.Helper()
	b, err := db.Balance(context.Background(), paymentID)
	if err != nil {
		t.Fatalf("Balance(%d): %v", paymentID, err)
	}
	return b
}

func TestRequestRefund(t *testing.T) {
	tests := []struct {
		name       string
		captured   int64
		req        RefundRequest
		wantStatus string
		wantAction bool
		wantErr    error  // a sentinel, or nil
		wantMsg    string // part of the error message when an error is expected
		// the balance afterwards: succeeded, in flight, reserved
		wantInFlight, wantReserved int64
	}{
		{
			name: "below threshold starts the refund", captured: 10000,
			req:        RefundRequest{Amount: 2500, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"},
			wantStatus: "pending", wantAction: true, wantInFlight: 2500,
		},
		{
			name: "full amount", captured: 10000,
			req:        RefundRequest{Amount: 10000, Reason: "requested_by_customer", RequestedBy: "ann@x", IdempotencyKey: "k"},
			wantStatus: "pending", wantAction: true, wantInFlight: 10000,
		},
		{
			name: "needs approval reserves", captured: 90000,
			req:        RefundRequest{Amount: 60000, Reason: "goodwill", RequestedBy: "ann@x", IdempotencyKey: "k", NeedsApproval: true, ApprovalTTL: time.Hour},
			wantStatus: "awaiting_approval", wantReserved: 60000,
		},
		{
			name: "other with a note", captured: 10000,
			req:        RefundRequest{Amount: 1, Reason: "other", Note: "courtesy", RequestedBy: "ann@x", IdempotencyKey: "k"},
			wantStatus: "pending", wantAction: true, wantInFlight: 1,
		},
		{
			name: "more than captured", captured: 10000,
			req:     RefundRequest{Amount: 10001, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"},
			wantErr: ErrInsufficientBalance, wantMsg: "only 100.00 EUR is refundable",
		},
		{
			name: "nothing captured", captured: 0,
			req:     RefundRequest{Amount: 1, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"},
			wantErr: ErrInsufficientBalance, wantMsg: "only 0.00 EUR is refundable",
		},
		{name: "zero amount", captured: 10000, req: RefundRequest{Amount: 0, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "positive"},
		{name: "negative amount", captured: 10000, req: RefundRequest{Amount: -5, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "positive"},
		{name: "unknown reason", captured: 10000, req: RefundRequest{Amount: 5, Reason: "because", RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "unknown reason"},
		{name: "provider reason is not offered", captured: 10000, req: RefundRequest{Amount: 5, Reason: "provider", RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "unknown reason"},
		{name: "other without a note", captured: 10000, req: RefundRequest{Amount: 5, Reason: "other", Note: "  ", RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "note is required"},
		{name: "note too long", captured: 10000, req: RefundRequest{Amount: 5, Reason: "other", Note: strings.Repeat("é", 1001), RequestedBy: "ann@x", IdempotencyKey: "k"}, wantMsg: "longer than"},
		{name: "missing requester", captured: 10000, req: RefundRequest{Amount: 5, Reason: "duplicate", IdempotencyKey: "k"}, wantMsg: "requester"},
		{name: "missing key", captured: 10000, req: RefundRequest{Amount: 5, Reason: "duplicate", RequestedBy: "ann@x"}, wantMsg: "idempotency key"},
		{name: "approval without ttl", captured: 10000, req: RefundRequest{Amount: 5, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k", NeedsApproval: true}, wantMsg: "time to live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			pid := insertTestPayment(t, db, "bpc", "EUR", tt.captured)
			tt.req.PaymentID = pid
			r, act, err := db.RequestRefund(ctx, tt.req)
			if tt.wantMsg != "" || tt.wantErr != nil {
				if err == nil {
					t.Fatalf("RequestRefund = %+v, nil error; want an error", r)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "storage: ") {
					t.Errorf("err = %q, want a storage: error mentioning %q", err, tt.wantMsg)
				}
				if act != nil {
					t.Errorf("action = %+v, want nil on error", act)
				}
				for _, table := range []string{"refunds", "actions", "events"} {
					if n := countRows(t, db, table); n != 0 {
						t.Errorf("%s rows = %d, want 0 after a refused request", table, n)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("RequestRefund: %v", err)
			}
			stored, err := db.RefundByID(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tt.wantStatus || stored.Amount != tt.req.Amount || stored.Currency != "EUR" ||
				stored.Reason != tt.req.Reason || stored.RequestedBy != "ann@x" || stored.IdempotencyKey != "k" ||
				!stored.RequestedAt.Equal(testEpoch) {
				t.Errorf("stored refund = %+v, want %s of %d EUR by ann@x", stored, tt.wantStatus, tt.req.Amount)
			}
			if r != stored {
				t.Errorf("returned refund = %+v, want it equal to the stored %+v", r, stored)
			}
			if tt.req.NeedsApproval {
				if want := testEpoch.Add(tt.req.ApprovalTTL); !stored.ApprovalExpiresAt.Equal(want) {
					t.Errorf("approval expires at %v, want %v", stored.ApprovalExpiresAt, want)
				}
			}
			if (act != nil) != tt.wantAction {
				t.Fatalf("action = %+v, want one: %v", act, tt.wantAction)
			}
			if act != nil {
				if act.Kind != "refund" || act.State != "pending" || act.Amount != tt.req.Amount || act.Currency != "EUR" ||
					act.RefundID != r.ID || act.IdempotencyKey != "k" || act.Actor != "ann@x" {
					t.Errorf("action = %+v, want a pending refund action for refund %d", act, r.ID)
				}
			}
			if n := countRows(t, db, "actions"); (n == 1) != tt.wantAction {
				t.Errorf("actions rows = %d, want action: %v", n, tt.wantAction)
			}
			events, err := db.Events(ctx, pid)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 || events[0].Kind != "refund_requested" || !strings.Contains(events[0].Message, providers.FormatMoney(tt.req.Amount, "EUR")) {
				t.Errorf("events = %+v, want refund_requested first with the amount", events)
			}
			b := mustBalance(t, db, pid)
			want := RefundBalance{Captured: tt.captured, InFlight: tt.wantInFlight, Reserved: tt.wantReserved,
				Refundable: tt.captured - tt.wantInFlight - tt.wantReserved, Currency: "EUR"}
			if b != want {
				t.Errorf("Balance = %+v, want %+v", b, want)
			}
		})
	}
}

func TestRequestRefundNotFound(t *testing.T) {
	db := newTestDB(t)
	_, _, err := db.RequestRefund(context.Background(), RefundRequest{PaymentID: 99, Amount: 5, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("RequestRefund(unknown payment) = %v, want ErrNotFound", err)
	}
	if _, err := db.Balance(context.Background(), 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Balance(unknown payment) = %v, want ErrNotFound", err)
	}
	if _, err := db.RefundByID(context.Background(), 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("RefundByID(unknown) = %v, want ErrNotFound", err)
	}
}

func TestRequestRefundIdempotency(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	p1 := insertTestPayment(t, db, "bpc", "EUR", 10000)
	p2 := insertTestPayment(t, db, "bpc", "EUR", 10000)

	first, firstAct, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p1, Amount: 4000, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "form-9"})
	if err != nil {
		t.Fatal(err)
	}
	// The same form sent again, even with another amount: nothing new, the first is returned.
	again, againAct, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p1, Amount: 9000, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "form-9"})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("repeat = %v, want ErrDuplicate", err)
	}
	if again.ID != first.ID || again.Amount != 4000 || againAct == nil || againAct.ID != firstAct.ID {
		t.Errorf("repeat returned %+v / %+v, want refund %d and action %d", again, againAct, first.ID, firstAct.ID)
	}
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p2, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "form-9"}); !errors.Is(err, ErrConflict) {
		t.Errorf("same key on another payment = %v, want ErrConflict", err)
	}
	// A key already used by another action (a cancel) cannot name a refund.
	if _, err := db.StartAction(ctx, Action{PaymentID: p2, Kind: "refresh", IdempotencyKey: "form-10", Actor: "ann@x"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p2, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "form-10"}); !errors.Is(err, ErrConflict) {
		t.Errorf("key of another action = %v, want ErrConflict", err)
	}
	if got := countRows(t, db, "refunds"); got != 1 {
		t.Errorf("refunds rows = %d, want 1", got)
	}
	if b := mustBalance(t, db, p1); b.InFlight != 4000 {
		t.Errorf("in flight = %d, want 4000", b.InFlight)
	}

	// An awaiting request repeated comes back without an action.
	r, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p2, Amount: 5000, Reason: "goodwill", RequestedBy: "ann@x", IdempotencyKey: "form-11", NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r2, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p2, Amount: 5000, Reason: "goodwill", RequestedBy: "ann@x", IdempotencyKey: "form-11", NeedsApproval: true, ApprovalTTL: time.Hour})
	if !errors.Is(err, ErrDuplicate) || r2.ID != r.ID || act != nil {
		t.Errorf("repeated approval request = %+v, %+v, %v; want refund %d, no action, ErrDuplicate", r2, act, err, r.ID)
	}
}

func TestRequestRefundWhileActionInFlight(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "tranzzo", "UAH", 10000)
	cancel, err := db.StartAction(ctx, Action{PaymentID: pid, Kind: "void", IdempotencyKey: "void-1", Actor: "bob@x"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "r1"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "void is already in flight") {
		t.Errorf("refund during a void = %v, want ErrConflict naming the void", err)
	}
	if n := countRows(t, db, "refunds"); n != 0 {
		t.Errorf("refunds rows = %d, want 0", n)
	}
	// A request that waits for approval starts no call, so it may be recorded meanwhile.
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "r2", NeedsApproval: true, ApprovalTTL: time.Hour}); err != nil {
		t.Errorf("approval request during a void = %v, want success", err)
	}
	if _, err := db.FinishAction(ctx, cancel.ID, "failed", "refused", "already settled", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "r3"}); err != nil {
		t.Errorf("refund after the void ended = %v, want success", err)
	}
}

func TestFinishRefundAction(t *testing.T) {
	tests := []struct {
		name   string
		states []string // successive FinishAction states
		want   string   // the refund's final status
		// the balance afterwards
		wantSucceeded, wantInFlight int64
	}{
		{"succeeded", []string{"succeeded"}, "succeeded", 3000, 0},
		{"failed releases the amount", []string{"failed"}, "failed", 0, 0},
		{"unknown keeps it in flight", []string{"unknown"}, "unknown", 0, 3000},
		{"unknown then succeeded", []string{"unknown", "succeeded"}, "succeeded", 3000, 0},
		{"unknown then failed", []string{"unknown", "failed"}, "failed", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			pid := insertTestPayment(t, db, "bpc", "GBP", 10000)
			r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 3000, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.states {
				if _, err := db.FinishAction(ctx, act.ID, s, "", "provider says "+s, ""); err != nil {
					t.Fatalf("finish %s: %v", s, err)
				}
			}
			got, err := db.RefundByID(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			last := tt.states[len(tt.states)-1]
			if got.Status != tt.want || got.Message != "provider says "+last {
				t.Errorf("refund = %s %q, want %s with the provider's words", got.Status, got.Message, tt.want)
			}
			b := mustBalance(t, db, pid)
			want := RefundBalance{Captured: 10000, Succeeded: tt.wantSucceeded, InFlight: tt.wantInFlight,
				Refundable: 10000 - tt.wantSucceeded - tt.wantInFlight, Currency: "GBP"}
			if b != want {
				t.Errorf("Balance = %+v, want %+v", b, want)
			}
			ev := lastEvent(t, db, pid)
			if !strings.HasPrefix(ev.Message, "Refund of 30.00 GBP") || !strings.Contains(ev.Message, "provider says "+last) {
				t.Errorf("last event = %q, want the refund's amount and the provider's words", ev.Message)
			}
		})
	}
}

func TestFinishRefundActionSettledByRefresh(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 10000)
	r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 3000, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishAction(ctx, act.ID, "unknown", "unknown", "timeout", ""); err != nil {
		t.Fatal(err)
	}
	// A refresh learnt from the provider that the refund went through.
	if _, err := db.SQL().Exec(`UPDATE refunds SET status = 'succeeded', provider_refund_id = 're_1' WHERE id = ?`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishAction(ctx, act.ID, "succeeded", "done", "reconciled", ""); err != nil {
		t.Errorf("finishing an action whose refund a refresh settled = %v, want success", err)
	}
	got, _ := db.RefundByID(ctx, r.ID)
	if got.Status != "succeeded" || got.ProviderRefundID != "re_1" {
		t.Errorf("refund = %+v, want the refresh's succeeded re_1 kept", got)
	}
}

func TestBalanceCountsProviderRefunds(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "tranzzo", "EUR", 10000)
	// The provider reports 70.00 refunded that Paydesk never saw requested.
	if _, err := db.SQL().Exec(`UPDATE payments SET refunded = 7000 WHERE id = ?`, pid); err != nil {
		t.Fatal(err)
	}
	if b := mustBalance(t, db, pid); b.Succeeded != 7000 || b.Refundable != 3000 {
		t.Errorf("Balance = %+v, want 70.00 succeeded and 30.00 refundable", b)
	}
	_, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 3001, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k"})
	if !errors.Is(err, ErrInsufficientBalance) || !strings.Contains(err.Error(), "only 30.00 EUR is refundable") {
		t.Errorf("over-refund = %v, want ErrInsufficientBalance with 30.00 EUR", err)
	}
}

func TestSetProviderRefundID(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 10000)
	r1, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k1", NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 100, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k2", NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetProviderRefundID(ctx, r1.ID, "re_1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.RefundByID(ctx, r1.ID); got.ProviderRefundID != "re_1" {
		t.Errorf("provider refund id = %q, want re_1", got.ProviderRefundID)
	}
	if err := db.SetProviderRefundID(ctx, r2.ID, "re_1"); !errors.Is(err, ErrConflict) {
		t.Errorf("same provider id twice = %v, want ErrConflict", err)
	}
	if err := db.SetProviderRefundID(ctx, 999, "re_2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown refund = %v, want ErrNotFound", err)
	}
	if err := db.SetProviderRefundID(ctx, r2.ID, " "); err == nil {
		t.Error("empty provider id = nil error, want one")
	}
}

// TestRequestRefundConcurrent fires 20 requests of 30% each at once: the sum accepted must
// never exceed what was captured, whatever the interleaving.
func TestRequestRefundConcurrent(t *testing.T) {
	const captured = 100000
	const each = captured * 30 / 100
	tests := []struct {
		name          string
		needsApproval bool
		finish        bool // finish each accepted refund as succeeded at once, freeing the payment
		allowed       []error
		wantAccepted  func(n int) bool
	}{
		{"immediate", false, false, []error{ErrConflict, ErrInsufficientBalance}, func(n int) bool { return n == 1 }},
		{"immediate, each settled at once", false, true, []error{ErrConflict, ErrInsufficientBalance}, func(n int) bool { return n >= 1 && n <= 3 }},
		{"awaiting approval", true, false, []error{ErrInsufficientBalance}, func(n int) bool { return n == 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			pid := insertTestPayment(t, db, "bpc", "EUR", captured)
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, 20)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, act, err := db.RequestRefund(ctx, RefundRequest{
						PaymentID: pid, Amount: each, Reason: "duplicate", RequestedBy: fmt.Sprintf("agent%d@x", i),
						IdempotencyKey: fmt.Sprintf("key-%d", i), NeedsApproval: tt.needsApproval, ApprovalTTL: time.Hour,
					})
					if err == nil && tt.finish {
						_, err = db.FinishAction(ctx, act.ID, "succeeded", "done", "", "")
					}
					errs[i] = err
				}()
			}
			close(start)
			wg.Wait()
			accepted := 0
			for i, err := range errs {
				if err == nil {
					accepted++
					continue
				}
				ok := false
				for _, want := range tt.allowed {
					ok = ok || errors.Is(err, want)
				}
				if !ok {
					t.Errorf("request %d: %v, want one of %v", i, err, tt.allowed)
				}
			}
			if !tt.wantAccepted(accepted) {
				t.Errorf("accepted = %d requests", accepted)
			}
			var sum, rows int64
			if err := db.SQL().QueryRow(`SELECT coalesce(sum(amount), 0), count(*) FROM refunds WHERE payment_id = ?`, pid).Scan(&sum, &rows); err != nil {
				t.Fatal(err)
			}
			if sum > captured || rows != int64(accepted) || sum != int64(accepted)*each {
				t.Errorf("refunds sum %d over %d rows with %d accepted; want at most %d captured", sum, rows, accepted, captured)
			}
			b := mustBalance(t, db, pid)
			if b.Succeeded+b.InFlight+b.Reserved != sum || b.Refundable != captured-sum {
				t.Errorf("Balance = %+v, want the %d accepted counted", b, sum)
			}
		})
	}
}

func TestRefundReasonLabel(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range RefundReasons {
		if r.Label == "" || r.Label == r.Code || seen[r.Code] {
			t.Errorf("reason %+v: want a unique code and a label", r)
		}
		seen[r.Code] = true
		if got := RefundReasonLabel(r.Code); got != r.Label {
			t.Errorf("RefundReasonLabel(%s) = %q, want %q", r.Code, got, r.Label)
		}
	}
	if !seen["other"] {
		t.Error("RefundReasons lacks other")
	}
	if got := RefundReasonLabel("mystery"); got != "mystery" {
		t.Errorf("RefundReasonLabel(mystery) = %q, want the code back", got)
	}
}
