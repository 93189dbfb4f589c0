package ops

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// TestBatchResumedAfterACrashWaitsForTheItemCut: a crash left one item of a running
// batch marked running, its refund recorded and its action pending (the process died at
// the call). The restarted worker, whose round comes before the reconciler's, must not
// send that item again, and the batch's next item on the same payment must wait for it
// rather than fail as "in progress"; an item on another payment runs meanwhile. Once the
// reconciler has read the provider (no such refund: failed), the waiting item runs and the
// batch ends.
func TestBatchResumedAfterACrashWaitsForTheItemCut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.desk.cfg.BatchUndo = time.Minute
	p := f.add(bpc.Name, 2, 10000) // 100.00 EUR, succeeded
	q := f.add(bpc.Name, 2, 10000)
	b, items, err := f.preview(sam, BatchRefund, fmt.Sprintf("payment,amount,reason\n%s,30.00,duplicate\n%s,20.00,duplicate\n%s,10.00,duplicate\n",
		p.PublicID, p.PublicID, q.PublicID))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.desk.RequestBatch(ctx, sam, b.PublicID, storage.BatchDigest(items)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if _, ok, err := f.db.StartBatch(ctx, b.ID, storage.BatchChange{By: batchActor}); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}

	// What the crash left on line 2: marked running, its refund and action recorded, no call.
	key2 := storage.BatchItemKey(b.PublicID, 2)
	if ok, err := f.db.MarkBatchItemRunning(ctx, b.ID, 2, key2); err != nil || !ok {
		t.Fatalf("mark running: %v %v", ok, err)
	}
	if _, _, err := f.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: p.ID, Amount: 3000, Reason: "duplicate",
		RequestedBy: sam.Email, IdempotencyKey: key2}); err != nil {
		t.Fatal(err)
	}
	// The restart: a process started after that action, past the grace in which another
	// instance's worker could still be at it (PostgreSQL).
	f.clock.Advance(f.desk.cfg.ReconcileGrace + time.Second)
	f.desk.started = f.clock.Now()

	item := func(line int) storage.BatchItem {
		t.Helper()
		got, err := f.db.BatchItems(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range got {
			if it.Line == line {
				return it
			}
		}
		t.Fatalf("no line %d", line)
		return storage.BatchItem{}
	}
	if err := f.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if it := item(2); it.RunState != storage.ItemPending {
		t.Errorf("line 2 (cut by the crash) is %s (%s), want pending until the provider is read", it.RunState, it.Outcome)
	}
	if it := item(3); it.RunState != storage.ItemQueued || !strings.Contains(it.Outcome, "in progress") {
		t.Errorf("line 3 (same payment) is %s (%s), want queued, waiting for line 2's refund", it.RunState, it.Outcome)
	}
	if it := item(4); it.RunState != storage.ItemSucceeded {
		t.Errorf("line 4 (another payment) is %s (%s), want succeeded", it.RunState, it.Outcome)
	}
	if now, _ := f.db.BatchByPublicID(ctx, b.PublicID); now.State != storage.BatchRunning {
		t.Errorf("with an item waiting the batch is %s, want running", now.State)
	}

	// The reconciler reads the provider: it never received line 2's refund. (On
	// PostgreSQL, where another instance's call may still be in flight, only once the
	// grace is over.)
	f.clock.Advance(f.desk.cfg.ReconcileGrace + time.Second)
	if _, err := f.desk.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if it := item(2); it.RunState != storage.ItemFailed {
		t.Errorf("line 2 is %s (%s), want failed: the provider never had it", it.RunState, it.Outcome)
	}
	if it := item(3); it.RunState != storage.ItemSucceeded {
		t.Errorf("line 3 is %s (%s), want succeeded once line 2 is settled", it.RunState, it.Outcome)
	}
	if now, _ := f.db.BatchByPublicID(ctx, b.PublicID); now.State != storage.BatchDone {
		t.Errorf("the batch is %s, want done", now.State)
	}
	// At the provider: 20.00 on p (line 3 only, line 2 never sent), 10.00 on q.
	for _, c := range []struct {
		p    storage.Payment
		want string
	}{{p, "[2000]"}, {q, "[1000]"}} {
		snap, err := f.bpc.Snapshot(providers.Ref{PaymentID: c.p.PaymentID})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range snap.Refunds {
			if r.Succeeded {
				got = append(got, r.Amount)
			}
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: the provider refunded %v, want %s", c.p.PublicID, got, c.want)
		}
	}
}
