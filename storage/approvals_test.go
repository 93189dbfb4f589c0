package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestApproval records a refund awaiting approval (TTL one hour) and returns it.
func requestApproval(t *testing.T, db *DB, paymentID, amount int64, by, key string) Refund {
	t.Helper()
	r, act, err := db.RequestRefund(context.Background(), RefundRequest{PaymentID: paymentID, Amount: amount,
		Reason: "goodwill", RequestedBy: by, IdempotencyKey: key, NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatalf("request approval: %v", err)
	}
	if act != nil || r.Status != "awaiting_approval" {
		t.Fatalf("request approval = %+v, %+v; want awaiting approval with no action", r, act)
	}
	return r
}

// expectationOf is what a manager sees of a refund.
func expectationOf(r Refund) Expectation {
	return Expectation{PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency, Reason: r.Reason}
}

func TestApproveRefund(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	r := requestApproval(t, db, pid, 60000, "ann@x", "req-1")

	queue, err := db.ApprovalQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 1 || queue[0].ID != r.ID || queue[0].RequestedBy != "ann@x" || queue[0].Amount != 60000 ||
		queue[0].Reason != "goodwill" || queue[0].Provider != "bpc" || queue[0].PaymentPublicID == "" || queue[0].CustomerName == "" {
		t.Fatalf("queue = %+v, want ann's 600.00 EUR request with its payment", queue)
	}
	if queue[0].Refundable != 40000 {
		t.Errorf("queue refundable = %d, want 40000 (the reservation deducted)", queue[0].Refundable)
	}

	got, act, err := db.ApproveRefund(ctx, r.ID, "max@x", "approve-1", expectationOf(r))
	if err != nil {
		t.Fatalf("ApproveRefund: %v", err)
	}
	if got.Status != "pending" || got.DecidedBy != "max@x" || !got.DecidedAt.Equal(testEpoch) {
		t.Errorf("approved refund = %+v, want pending, decided by max@x", got)
	}
	if act.Kind != "refund" || act.State != "pending" || act.RefundID != r.ID || act.Amount != 60000 ||
		act.IdempotencyKey != "approve-1" || act.Actor != "max@x" {
		t.Errorf("action = %+v, want a pending refund action by max@x", act)
	}
	if b := mustBalance(t, db, pid); b.Reserved != 0 || b.InFlight != 60000 || b.Refundable != 40000 {
		t.Errorf("Balance = %+v, want 600.00 in flight, nothing reserved", b)
	}
	if queue, _ := db.ApprovalQueue(ctx); len(queue) != 0 {
		t.Errorf("queue after approval = %+v, want empty", queue)
	}
	events, _ := db.Events(ctx, pid)
	kinds := []string{}
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "refund_requested,refund_approved,action_started" {
		t.Errorf("timeline = %v, want requested, approved, started", kinds)
	}

	// The same approval form sent twice: the first result comes back.
	again, againAct, err := db.ApproveRefund(ctx, r.ID, "max@x", "approve-1", expectationOf(r))
	if !errors.Is(err, ErrDuplicate) || again.ID != r.ID || againAct.ID != act.ID {
		t.Errorf("repeated approval = %+v, %+v, %v; want the same refund and action with ErrDuplicate", again, againAct, err)
	}
	// Another manager, later: already decided.
	_, _, err = db.ApproveRefund(ctx, r.ID, "kim@x", "approve-2", expectationOf(r))
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "already decided by max@x") {
		t.Errorf("second approval = %v, want ErrConflict already decided by max@x", err)
	}
	if _, err := db.FinishAction(ctx, act.ID, "succeeded", "done", "", ""); err != nil {
		t.Fatal(err)
	}
	if b := mustBalance(t, db, pid); b.Succeeded != 60000 || b.Refundable != 40000 {
		t.Errorf("Balance after success = %+v", b)
	}
}

func TestApproveRefundRefusals(t *testing.T) {
	tests := []struct {
		name    string
		manager string
		expect  func(Refund) Expectation
		setup   func(t *testing.T, db *DB, r Refund)
		wantErr error
		wantMsg string
	}{
		{name: "self approval", manager: "ann@x", wantErr: ErrSelfApproval, wantMsg: "ann@x requested"},
		{name: "self approval, other case", manager: " ANN@X ", wantErr: ErrSelfApproval},
		{name: "amount changed", manager: "max@x", wantErr: ErrConflict, wantMsg: "changed",
			expect: func(r Refund) Expectation { e := expectationOf(r); e.Amount--; return e }},
		{name: "reason changed", manager: "max@x", wantErr: ErrConflict,
			expect: func(r Refund) Expectation { e := expectationOf(r); e.Reason = "duplicate"; return e }},
		{name: "currency changed", manager: "max@x", wantErr: ErrConflict,
			expect: func(r Refund) Expectation { e := expectationOf(r); e.Currency = "GBP"; return e }},
		{name: "payment changed", manager: "max@x", wantErr: ErrConflict,
			expect: func(r Refund) Expectation { e := expectationOf(r); e.PaymentID++; return e }},
		{name: "balance shrank", manager: "max@x", wantErr: ErrInsufficientBalance, wantMsg: "only 500.00 EUR is refundable now",
			setup: func(t *testing.T, db *DB, r Refund) {
				// The provider reports 500.00 refunded outside Paydesk.
				if _, err := db.SQL().Exec(`UPDATE payments SET refunded = 50000 WHERE id = ?`, r.PaymentID); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "expired", manager: "max@x", wantErr: ErrConflict, wantMsg: "expired",
			setup: func(t *testing.T, db *DB, r Refund) {
				db.Now = func() time.Time { return testEpoch.Add(time.Hour) }
			}},
		{name: "another action in flight", manager: "max@x", wantErr: ErrConflict, wantMsg: "cancel is already in flight",
			setup: func(t *testing.T, db *DB, r Refund) {
				if _, err := db.StartAction(context.Background(), Action{PaymentID: r.PaymentID, Kind: "cancel", IdempotencyKey: "c", Actor: "bob@x"}); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "rejected already", manager: "max@x", wantErr: ErrConflict, wantMsg: "already decided by kim@x",
			setup: func(t *testing.T, db *DB, r Refund) {
				if _, err := db.RejectRefund(context.Background(), r.ID, "kim@x", "", "no"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "no manager", manager: " ", wantMsg: "missing manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
			r := requestApproval(t, db, pid, 60000, "ann@x", "req-1")
			if tt.setup != nil {
				tt.setup(t, db, r)
			}
			before, _ := db.RefundByID(ctx, r.ID)
			actions := countRows(t, db, "actions")
			expect := expectationOf(r)
			if tt.expect != nil {
				expect = tt.expect(r)
			}
			_, _, err := db.ApproveRefund(ctx, r.ID, tt.manager, "approve-1", expect)
			if err == nil {
				t.Fatal("ApproveRefund = nil error, want a refusal")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "storage: ") {
				t.Errorf("err = %q, want a storage: error mentioning %q", err, tt.wantMsg)
			}
			after, _ := db.RefundByID(ctx, r.ID)
			if after != before {
				t.Errorf("refund changed by a refused approval: %+v → %+v", before, after)
			}
			if n := countRows(t, db, "actions"); n != actions {
				t.Errorf("actions %d → %d after a refused approval", actions, n)
			}
		})
	}
}

func TestApproveRefundNotFound(t *testing.T) {
	db := newTestDB(t)
	_, _, err := db.ApproveRefund(context.Background(), 7, "max@x", "k", Expectation{})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("ApproveRefund(missing) = %v, want ErrNotFound", err)
	}
}

// TestApproveRefundRace has two managers approve the same refund at once, several times:
// exactly one wins each time.
func TestApproveRefundRace(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for round := 0; round < 8; round++ {
		pid := insertTestPayment(t, db, "tranzzo", "EUR", 100000)
		r := requestApproval(t, db, pid, 90000, "ann@x", fmt.Sprintf("req-%d", round))
		managers := []string{"max@x", "kim@x"}
		errs := make([]error, len(managers))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, m := range managers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _, errs[i] = db.ApproveRefund(ctx, r.ID, m, fmt.Sprintf("approve-%d-%s", round, m), expectationOf(r))
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrConflict):
				t.Errorf("round %d: %s got %v, want success or ErrConflict", round, managers[i], err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d approvals won (%v), want exactly 1", round, wins, errs)
		}
		var decisions, actions int
		db.SQL().QueryRow(`SELECT count(*) FROM refund_approvals WHERE refund_id = ?`, r.ID).Scan(&decisions)
		db.SQL().QueryRow(`SELECT count(*) FROM actions WHERE refund_id = ?`, r.ID).Scan(&actions)
		if decisions != 1 || actions != 1 {
			t.Errorf("round %d: %d decisions and %d actions, want 1 and 1", round, decisions, actions)
		}
	}
}

func TestRejectRefund(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	r := requestApproval(t, db, pid, 60000, "ann@x", "req-1")
	if b := mustBalance(t, db, pid); b.Refundable != 40000 {
		t.Fatalf("refundable while reserved = %d, want 40000", b.Refundable)
	}

	refusals := []struct {
		name, manager, reason string
		wantErr               error
		wantMsg               string
	}{
		{"no reason", "max@x", "   ", nil, "reason is required"},
		{"by the requester", "ann@x", "changed my mind", ErrSelfApproval, "requested this refund"},
		{"no manager", "", "x", nil, "missing manager"},
		{"reason too long", "max@x", strings.Repeat("a", 1001), nil, "longer than"},
	}
	for _, tt := range refusals {
		_, err := db.RejectRefund(ctx, r.ID, tt.manager, "", tt.reason)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.wantMsg)
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if got, _ := db.RefundByID(ctx, r.ID); got.Status != "awaiting_approval" {
			t.Errorf("%s: status = %s, want awaiting_approval unchanged", tt.name, got.Status)
		}
	}

	got, err := db.RejectRefund(ctx, r.ID, "max@x", "", "  Customer already compensated  ")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "rejected" || got.DecidedBy != "max@x" || got.DecisionReason != "Customer already compensated" {
		t.Errorf("rejected refund = %+v", got)
	}
	if b := mustBalance(t, db, pid); b.Reserved != 0 || b.Refundable != 100000 {
		t.Errorf("Balance after rejection = %+v, want the reservation released", b)
	}
	if ev := lastEvent(t, db, pid); ev.Kind != "refund_rejected" || !strings.Contains(ev.Message, "Customer already compensated") {
		t.Errorf("last event = %+v, want refund_rejected with the reason", ev)
	}
	if _, _, err := db.ApproveRefund(ctx, r.ID, "kim@x", "a", expectationOf(r)); !errors.Is(err, ErrConflict) {
		t.Errorf("approve after rejection = %v, want ErrConflict", err)
	}
	if _, err := db.RejectRefund(ctx, r.ID, "kim@x", "", "again"); !errors.Is(err, ErrConflict) {
		t.Errorf("reject twice = %v, want ErrConflict", err)
	}
}

func TestExpireApprovals(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	clock := testEpoch
	db.Now = func() time.Time { return clock }
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	r := requestApproval(t, db, pid, 60000, "ann@x", "req-1")
	clock = clock.Add(30 * time.Minute)
	later := requestApproval(t, db, pid, 30000, "bob@x", "req-2")

	if n, err := db.ExpireApprovals(ctx, clock); err != nil || n != 0 {
		t.Errorf("ExpireApprovals before expiry = %d, %v; want 0", n, err)
	}
	if b := mustBalance(t, db, pid); b.Reserved != 90000 || b.Refundable != 10000 {
		t.Errorf("Balance with two reservations = %+v", b)
	}

	// One hour after the first request, it no longer reserves: the balance goes back up
	// and it leaves the queue, even before ExpireApprovals records it.
	clock = testEpoch.Add(time.Hour)
	if b := mustBalance(t, db, pid); b.Reserved != 30000 || b.Refundable != 70000 {
		t.Errorf("Balance at the first expiry = %+v, want only the second reserved", b)
	}
	queue, err := db.ApprovalQueue(ctx)
	if err != nil || len(queue) != 1 || queue[0].ID != later.ID {
		t.Errorf("queue at the first expiry = %+v, %v; want only refund %d", queue, err, later.ID)
	}
	if _, _, err := db.ApproveRefund(ctx, r.ID, "max@x", "a", expectationOf(r)); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("approve after expiry = %v, want ErrConflict expired", err)
	}
	n, err := db.ExpireApprovals(ctx, clock)
	if err != nil || n != 1 {
		t.Fatalf("ExpireApprovals = %d, %v; want 1", n, err)
	}
	got, _ := db.RefundByID(ctx, r.ID)
	if got.Status != "expired" {
		t.Errorf("status = %s, want expired", got.Status)
	}
	if ev := lastEvent(t, db, pid); ev.Kind != "refund_expired" {
		t.Errorf("last event = %+v, want refund_expired", ev)
	}
	if n, _ := db.ExpireApprovals(ctx, clock); n != 0 {
		t.Errorf("ExpireApprovals again = %d, want 0", n)
	}
	if got, _ := db.RefundByID(ctx, later.ID); got.Status != "awaiting_approval" {
		t.Errorf("later request = %s, want still awaiting", got.Status)
	}
	// The released amount can be requested again.
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 70000, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "req-3"}); err != nil {
		t.Errorf("request of the released amount = %v, want success", err)
	}
}
