package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// countRows returns how many rows a table holds.
func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// lastEvent returns the newest timeline entry of a payment.
func lastEvent(t *testing.T, db *DB, paymentID int64) Event {
	t.Helper()
	events, err := db.Events(context.Background(), paymentID)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	if len(events) == 0 {
		t.Fatalf("payment %d has no events", paymentID)
	}
	return events[len(events)-1]
}

func TestStartActionValidation(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 10000)

	tests := []struct {
		name    string
		action  Action
		want    string
		notFind bool
	}{
		{"unknown kind", Action{PaymentID: pid, Kind: "capture", IdempotencyKey: "k", Actor: "a@x"}, "unknown kind", false},
		{"refund bypassing the balance", Action{PaymentID: pid, Kind: "refund", Amount: 100, IdempotencyKey: "k", Actor: "a@x"}, "RequestRefund", false},
		{"missing payment", Action{Kind: "cancel", IdempotencyKey: "k", Actor: "a@x"}, "missing payment", false},
		{"missing key", Action{PaymentID: pid, Kind: "cancel", IdempotencyKey: "  ", Actor: "a@x"}, "idempotency key", false},
		{"missing actor", Action{PaymentID: pid, Kind: "cancel", IdempotencyKey: "k"}, "actor", false},
		{"negative amount", Action{PaymentID: pid, Kind: "cancel", Amount: -1, IdempotencyKey: "k", Actor: "a@x"}, "negative", false},
		{"refund id on a cancel", Action{PaymentID: pid, Kind: "cancel", RefundID: 3, IdempotencyKey: "k", Actor: "a@x"}, "refund", false},
		{"other currency", Action{PaymentID: pid, Kind: "cancel", Amount: 5, Currency: "GBP", IdempotencyKey: "k", Actor: "a@x"}, "differs", false},
		{"unknown payment", Action{PaymentID: pid + 100, Kind: "cancel", IdempotencyKey: "k", Actor: "a@x"}, "not found", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.StartAction(ctx, tt.action)
			if err == nil {
				t.Fatalf("StartAction(%+v) = nil error, want one mentioning %q", tt.action, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "storage: ") {
				t.Errorf("error = %q, want the storage: prefix", err)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFind {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tt.notFind)
			}
			if got := countRows(t, db, "actions"); got != 0 {
				t.Errorf("actions rows = %d, want 0", got)
			}
			if got := countRows(t, db, "events"); got != 0 {
				t.Errorf("events rows = %d, want 0", got)
			}
		})
	}
}

func TestActionTransitions(t *testing.T) {
	type step struct {
		state     string
		wantState string // the state after the step
		wantErr   error  // nil, ErrConflict, or errBadInput for a plain validation error
	}
	errBadInput := errors.New("bad input")
	tests := []struct {
		name  string
		steps []step
	}{
		{"succeeded is final", []step{{"succeeded", "succeeded", nil}, {"failed", "succeeded", ErrConflict}, {"unknown", "succeeded", ErrConflict}}},
		{"failed is final", []step{{"failed", "failed", nil}, {"succeeded", "failed", ErrConflict}}},
		{"unknown then reconciled", []step{{"unknown", "unknown", nil}, {"unknown", "unknown", ErrConflict}, {"succeeded", "succeeded", nil}}},
		{"unknown then failed", []step{{"unknown", "unknown", nil}, {"failed", "failed", nil}}},
		{"needs payer is final", []step{{"needs_payer", "needs_payer", nil}, {"succeeded", "needs_payer", ErrConflict}}},
		{"pending is not an ending", []step{{"pending", "pending", errBadInput}, {"done", "pending", errBadInput}, {"failed", "failed", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			pid := insertTestPayment(t, db, "powens", "EUR", 5000)
			a, err := db.StartAction(ctx, Action{PaymentID: pid, Kind: "cancel", IdempotencyKey: "key-1", Actor: "ann@example.com"})
			if err != nil {
				t.Fatalf("StartAction: %v", err)
			}
			if a.State != "pending" || a.ID == 0 || !a.StartedAt.Equal(testEpoch) || !a.FinishedAt.IsZero() || a.Currency != "EUR" {
				t.Fatalf("started action = %+v, want pending, with id, started at %v, currency EUR", a, testEpoch)
			}
			if ev := lastEvent(t, db, pid); ev.Kind != "action_started" || ev.Message != "Cancel requested by ann@example.com" || ev.Actor != "ann@example.com" {
				t.Errorf("start event = %+v, want action_started \"Cancel requested by ann@example.com\"", ev)
			}
			for i, s := range tt.steps {
				events := countRows(t, db, "events")
				got, err := db.FinishAction(ctx, a.ID, s.state, "refused", "the words "+s.state, `{"raw":true}`)
				switch {
				case s.wantErr == nil && err != nil:
					t.Fatalf("step %d: FinishAction(%s) = %v, want success", i, s.state, err)
				case s.wantErr == errBadInput && (err == nil || errors.Is(err, ErrConflict)):
					t.Fatalf("step %d: FinishAction(%s) = %v, want a validation error", i, s.state, err)
				case s.wantErr == ErrConflict && !errors.Is(err, ErrConflict):
					t.Fatalf("step %d: FinishAction(%s) = %v, want ErrConflict", i, s.state, err)
				}
				stored, err2 := db.ActionByID(ctx, a.ID)
				if err2 != nil {
					t.Fatalf("ActionByID: %v", err2)
				}
				if stored.State != s.wantState {
					t.Errorf("step %d: state = %s, want %s", i, stored.State, s.wantState)
				}
				after := countRows(t, db, "events")
				if err != nil {
					if after != events {
						t.Errorf("step %d: refused finish wrote %d events", i, after-events)
					}
					continue
				}
				if got.State != s.state || stored.Message != "the words "+s.state || stored.ProviderAnswer != `{"raw":true}` || stored.Outcome != "refused" {
					t.Errorf("step %d: finished = %+v, stored = %+v", i, got, stored)
				}
				if !stored.FinishedAt.Equal(testEpoch) {
					t.Errorf("step %d: finished at %v, want %v", i, stored.FinishedAt, testEpoch)
				}
				ev := lastEvent(t, db, pid)
				if after != events+1 || ev.Kind != "action_finished" || !strings.Contains(ev.Message, "the words "+s.state) {
					t.Errorf("step %d: finish event = %+v (events %d → %d), want one action_finished with the provider's words", i, ev, events, after)
				}
			}
		})
	}
}

func TestFinishActionNotFound(t *testing.T) {
	db := newTestDB(t)
	_, err := db.FinishAction(context.Background(), 42, "succeeded", "done", "", "")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishAction(missing) = %v, want ErrNotFound", err)
	}
	if _, err := db.ActionByID(context.Background(), 42); !errors.Is(err, ErrNotFound) {
		t.Errorf("ActionByID(missing) = %v, want ErrNotFound", err)
	}
	if _, err := db.ActionByKey(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ActionByKey(missing) = %v, want ErrNotFound", err)
	}
}

func TestOneOpenActionPerPayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	p1 := insertTestPayment(t, db, "bpc", "EUR", 10000)
	p2 := insertTestPayment(t, db, "bpc", "EUR", 10000)

	cancel, err := db.StartAction(ctx, Action{PaymentID: p1, Kind: "cancel", IdempotencyKey: "c1", Actor: "ann@x"})
	if err != nil {
		t.Fatalf("start cancel: %v", err)
	}

	steps := []struct {
		name    string
		action  Action
		finish  string // finish the first cancel with this state before trying, if set
		wantErr error
	}{
		{"void while the cancel is pending", Action{PaymentID: p1, Kind: "void", IdempotencyKey: "v1", Actor: "bob@x"}, "", ErrConflict},
		{"refresh is not money-moving", Action{PaymentID: p1, Kind: "refresh", IdempotencyKey: "r1", Actor: "bob@x"}, "", nil},
		{"payer link is not money-moving", Action{PaymentID: p1, Kind: "payer_link", IdempotencyKey: "l1", Actor: "bob@x"}, "", nil},
		{"another payment is free", Action{PaymentID: p2, Kind: "cancel", IdempotencyKey: "c2", Actor: "bob@x"}, "", nil},
		{"unknown still blocks", Action{PaymentID: p1, Kind: "expire", IdempotencyKey: "e1", Actor: "bob@x"}, "unknown", ErrConflict},
		{"reconciled frees the payment", Action{PaymentID: p1, Kind: "expire", IdempotencyKey: "e2", Actor: "bob@x"}, "failed", nil},
	}
	for _, s := range steps {
		if s.finish != "" {
			if _, err := db.FinishAction(ctx, cancel.ID, s.finish, "unknown", "", ""); err != nil {
				t.Fatalf("%s: finish cancel %s: %v", s.name, s.finish, err)
			}
		}
		before := countRows(t, db, "actions")
		got, err := db.StartAction(ctx, s.action)
		if s.wantErr == nil {
			if err != nil {
				t.Errorf("%s: StartAction = %v, want success", s.name, err)
			} else if got.State != "pending" {
				t.Errorf("%s: state = %s, want pending", s.name, got.State)
			}
			continue
		}
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: StartAction = %v, want %v", s.name, err, s.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), "cancel is already in flight") {
			t.Errorf("%s: error = %q, want it to name the cancel in flight", s.name, err)
		}
		if after := countRows(t, db, "actions"); after != before {
			t.Errorf("%s: refused start changed actions from %d to %d rows", s.name, before, after)
		}
	}

	// needs_payer does not hold the payment: the payer, not the provider call, is awaited.
	p3 := insertTestPayment(t, db, "powens", "EUR", 0)
	a, err := db.StartAction(ctx, Action{PaymentID: p3, Kind: "cancel", IdempotencyKey: "c3", Actor: "ann@x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishAction(ctx, a.ID, "needs_payer", "needs_payer", "The payer must confirm", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartAction(ctx, Action{PaymentID: p3, Kind: "cancel", IdempotencyKey: "c4", Actor: "ann@x"}); err != nil {
		t.Errorf("cancel after needs_payer = %v, want success", err)
	}
}

func TestStartActionIdempotency(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	p1 := insertTestPayment(t, db, "tranzzo", "UAH", 10000)
	p2 := insertTestPayment(t, db, "tranzzo", "UAH", 10000)

	first, err := db.StartAction(ctx, Action{PaymentID: p1, Kind: "void", IdempotencyKey: "form-1", Actor: "ann@x"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		action  Action
		wantErr error
		wantID  int64
	}{
		{"double click", Action{PaymentID: p1, Kind: "void", IdempotencyKey: "form-1", Actor: "ann@x"}, ErrDuplicate, first.ID},
		{"double click by someone else", Action{PaymentID: p1, Kind: "void", IdempotencyKey: " form-1 ", Actor: "bob@x"}, ErrDuplicate, first.ID},
		{"same key, other payment", Action{PaymentID: p2, Kind: "void", IdempotencyKey: "form-1", Actor: "ann@x"}, ErrConflict, 0},
		{"same key, other kind", Action{PaymentID: p1, Kind: "cancel", IdempotencyKey: "form-1", Actor: "ann@x"}, ErrConflict, 0},
	}
	for _, tt := range tests {
		got, err := db.StartAction(ctx, tt.action)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		if tt.wantID != 0 && (got.ID != tt.wantID || got.Actor != "ann@x" || got.State != "pending") {
			t.Errorf("%s: got %+v, want the existing action %d", tt.name, got, tt.wantID)
		}
	}
	if n := countRows(t, db, "actions"); n != 1 {
		t.Errorf("actions rows = %d, want 1", n)
	}
	byKey, err := db.ActionByKey(ctx, "form-1")
	if err != nil || byKey.ID != first.ID {
		t.Errorf("ActionByKey = %+v, %v; want action %d", byKey, err, first.ID)
	}
}

func TestActionQueries(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	clock := testEpoch
	db.Now = func() time.Time { return clock }
	p1 := insertTestPayment(t, db, "bpc", "EUR", 10000)
	p2 := insertTestPayment(t, db, "bpc", "EUR", 10000)

	start := func(pid int64, kind, key string) Action {
		t.Helper()
		clock = clock.Add(time.Minute)
		a, err := db.StartAction(ctx, Action{PaymentID: pid, Kind: kind, IdempotencyKey: key, Actor: "ann@x"})
		if err != nil {
			t.Fatalf("start %s: %v", key, err)
		}
		return a
	}
	finish := func(a Action, state string) {
		t.Helper()
		if _, err := db.FinishAction(ctx, a.ID, state, "", "", ""); err != nil {
			t.Fatalf("finish %s: %v", a.IdempotencyKey, err)
		}
	}
	a1 := start(p1, "refresh", "a1")
	finish(a1, "succeeded")
	a2 := start(p1, "cancel", "a2")
	finish(a2, "failed")
	a3 := start(p1, "expire", "a3")
	finish(a3, "unknown")
	a4 := start(p2, "cancel", "a4") // pending
	a5 := start(p2, "refresh", "a5")
	finish(a5, "failed")

	ids := func(as []Action) []int64 {
		var out []int64
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	of1, err := db.ActionsOfPayment(ctx, p1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(of1), []int64{a1.ID, a2.ID, a3.ID}; !equalIDs(got, want) {
		t.Errorf("ActionsOfPayment = %v, want %v (oldest first)", got, want)
	}
	open, err := db.OpenActions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(open), []int64{a3.ID, a4.ID}; !equalIDs(got, want) {
		t.Errorf("OpenActions = %v, want %v", got, want)
	}

	byState := []struct {
		states []string
		limit  int
		want   []int64
	}{
		{[]string{"failed"}, 0, []int64{a5.ID, a2.ID}},
		{[]string{"failed"}, 1, []int64{a5.ID}},
		{[]string{"unknown", "pending"}, 10, []int64{a4.ID, a3.ID}},
		{[]string{"succeeded"}, 10, []int64{a1.ID}},
		{[]string{"needs_payer"}, 10, nil},
	}
	for _, tt := range byState {
		got, err := db.ActionsByState(ctx, tt.states, tt.limit)
		if err != nil {
			t.Errorf("ActionsByState(%v): %v", tt.states, err)
			continue
		}
		if !equalIDs(ids(got), tt.want) {
			t.Errorf("ActionsByState(%v, %d) = %v, want %v (newest first)", tt.states, tt.limit, ids(got), tt.want)
		}
	}
	for _, bad := range [][]string{nil, {"done"}} {
		if _, err := db.ActionsByState(ctx, bad, 10); err == nil {
			t.Errorf("ActionsByState(%v) = nil error, want one", bad)
		}
	}
}

// equalIDs reports whether two id lists are equal, in order.
func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
