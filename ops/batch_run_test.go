package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// refundPosts counts the refund requests the BPC simulator received, by path.
func (f *fixture) refundPosts() map[string]int {
	out := map[string]int{}
	for _, r := range f.bpc.Requests() {
		if strings.HasPrefix(r, "POST ") && strings.HasSuffix(r, "/refunds") {
			out[strings.TrimPrefix(r, "POST ")]++
		}
	}
	return out
}

func (f *fixture) totalRefundPosts() int {
	n := 0
	for _, c := range f.refundPosts() {
		n += c
	}
	return n
}

// round runs one round of the batch worker.
func (f *fixture) round() {
	f.t.Helper()
	if err := f.desk.BatchRound(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// batchNow re-reads a batch and its items.
func (f *fixture) batchNow(b storage.Batch) (storage.Batch, []storage.BatchItem) {
	f.t.Helper()
	got, err := f.db.BatchByPublicID(context.Background(), b.PublicID)
	if err != nil {
		f.t.Fatal(err)
	}
	items, err := f.db.BatchItems(context.Background(), got.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got, items
}

// allSucceeded fails unless the batch is done with every item succeeded.
func (f *fixture) allSucceeded(b storage.Batch) {
	f.t.Helper()
	got, items := f.batchNow(b)
	if got.State != storage.BatchDone {
		f.t.Fatalf("state %s", got.State)
	}
	for _, it := range items {
		if it.RunState != storage.ItemSucceeded {
			f.t.Errorf("line %d: %s %q", it.Line, it.RunState, it.Outcome)
		}
	}
}

// auditKinds counts the audit log's entries by kind.
func (f *fixture) auditKinds(kinds ...string) map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, k := range kinds {
		rows, err := f.db.ListAuditRows(context.Background(), storage.AuditFilter{Kind: k, Limit: 1000})
		if err != nil {
			f.t.Fatal(err)
		}
		out[k] = len(rows)
	}
	return out
}

// requestBatch previews csv as who and requests the batch as previewed.
func (f *fixture) requestBatch(who Person, kind, csv string) (storage.Batch, Result) {
	f.t.Helper()
	b, items, err := f.preview(who, kind, csv)
	if err != nil {
		f.t.Fatal(err)
	}
	after, res, err := f.desk.RequestBatch(context.Background(), who, b.PublicID, storage.BatchDigest(items))
	if err != nil {
		f.t.Fatal(err)
	}
	return after, res
}

// TestBatchRunsAfterTheUndoWindowEachItemOnce: a requested batch needing no approval
// waits out the undo window — nothing is sent before — then runs every ready item once,
// as the requester's own refunds; set-aside items never run; more rounds send nothing
// again; every step is audited.
func TestBatchRunsAfterTheUndoWindowEachItemOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b2 := f.add(bpc.Name, 2, 10000), f.add(bpc.Name, 2, 20000)
	csv := "payment,amount,reason,note\n" +
		a.PublicID + ",12.50,duplicate,\n" +
		b2.PublicID + ",rest,goodwill,\n" +
		a.PublicID + ",10,requested_by_customer,\n" +
		"pd_nosuchpayment00,1,duplicate,\n"
	b, res := f.requestBatch(sam, BatchRefund, csv)
	if b.State != storage.BatchScheduled || res.Tone != "success" || !strings.Contains(res.Message, "10 minutes") {
		t.Fatalf("requested: %s %+v", b.State, res)
	}
	if want := f.clock.Now().Add(DefaultBatchUndo); !b.StartAt.Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("starts at %v, want %v", b.StartAt, want)
	}
	// Inside the undo window nothing runs.
	f.clock.Advance(9 * time.Minute)
	f.round()
	if got, _ := f.batchNow(b); got.State != storage.BatchScheduled || f.totalRefundPosts() != 0 {
		t.Fatalf("inside the undo window: %s, %d refunds sent", got.State, f.totalRefundPosts())
	}
	f.clock.Advance(time.Minute)
	f.round()
	got, items := f.batchNow(b)
	if got.State != storage.BatchDone || got.StartedAt.IsZero() || got.FinishedAt.IsZero() {
		t.Fatalf("after the window: %+v", got)
	}
	want := map[int]string{2: storage.ItemSucceeded, 3: storage.ItemSucceeded, 4: storage.ItemSucceeded, 5: ""}
	for _, it := range items {
		if it.RunState != want[it.Line] {
			t.Errorf("line %d: %q (%s), want %q", it.Line, it.RunState, it.Outcome, want[it.Line])
		}
		if it.Verdict == storage.BatchReady && it.Key != storage.BatchItemKey(b.PublicID, it.Line) {
			t.Errorf("line %d: key %q", it.Line, it.Key)
		}
	}
	if f.totalRefundPosts() != 3 {
		t.Fatalf("refunds sent: %v, want 3", f.refundPosts())
	}
	// The money: exactly what the batch said, recorded as the requester's refunds.
	for _, c := range []struct {
		p    storage.Payment
		want int64
	}{{a, 2250}, {b2, 20000}} {
		bal, err := f.db.Balance(ctx, c.p.ID)
		if err != nil || bal.Succeeded != c.want {
			t.Errorf("%s: refunded %d (%v), want %d", c.p.PublicID, bal.Succeeded, err, c.want)
		}
		refunds, _ := f.db.RefundsOfPayment(ctx, c.p.ID)
		for _, r := range refunds {
			if r.RequestedBy != sam.Email || r.Status != "succeeded" {
				t.Errorf("refund %+v", r)
			}
		}
	}
	// More rounds send nothing again.
	f.clock.Advance(time.Minute)
	f.round()
	f.round()
	if f.totalRefundPosts() != 3 {
		t.Fatalf("later rounds sent more: %v", f.refundPosts())
	}
	if got := f.auditKinds("batch_requested", "batch_started", "batch_item", "batch_finished"); got["batch_requested"] != 1 || got["batch_started"] != 1 || got["batch_item"] != 3 || got["batch_finished"] != 1 {
		t.Errorf("audit: %v", got)
	}
	// A finished batch cannot be requested, cancelled or approved again.
	if _, _, err := f.desk.CancelBatch(ctx, sam, b.PublicID, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel a done batch: %v", err)
	}
	if _, _, err := f.desk.RequestBatch(ctx, sam, b.PublicID, got.Digest); !errors.Is(err, ErrConflict) {
		t.Errorf("request a done batch: %v", err)
	}
}

// TestBatchApprovalBindsTheItems: a batch with an item at the approval threshold waits for
// a manager other than the requester; the approval must name the items the manager saw;
// once approved, its refunds run as approved in advance by that manager, not back into
// the queue.
func TestBatchApprovalBindsTheItems(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big, small := f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 10000)
	csv := "payment,amount,reason,note\n" + big.PublicID + ",600,fraudulent,\n" + small.PublicID + ",5,duplicate,\n"
	b, res := f.requestBatch(mara, BatchRefund, csv)
	if b.State != storage.BatchAwaitingApproval || !strings.Contains(b.ApprovalWhy, "1 item meets the rule") || res.Tone != "info" {
		t.Fatalf("requested: %s %q %+v", b.State, b.ApprovalWhy, res)
	}
	f.clock.Advance(time.Hour)
	f.round()
	if f.totalRefundPosts() != 0 {
		t.Fatal("a batch awaiting approval ran")
	}
	// Not support, not the requester, not other items.
	if _, _, err := f.desk.ApproveBatch(ctx, sam, b.PublicID, b.Digest); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("support approves: %v", err)
	}
	refusedWith(t, func() error { _, _, err := f.desk.ApproveBatch(ctx, mara, b.PublicID, b.Digest); return err }(), ErrNotAllowed, "another manager")
	if _, _, err := f.desk.ApproveBatch(ctx, mia, b.PublicID, strings.Repeat("0", 64)); !errors.Is(err, ErrConflict) {
		t.Errorf("approve other items: %v", err)
	}
	stale := mia
	stale.FreshSignIn = false
	if _, _, err := f.desk.ApproveBatch(ctx, stale, b.PublicID, b.Digest); !errors.Is(err, ErrStepUp) {
		t.Errorf("stale sign-in: %v", err)
	}
	approved, res, err := f.desk.ApproveBatch(ctx, mia, b.PublicID, b.Digest)
	if err != nil || approved.State != storage.BatchScheduled || approved.DecidedBy != mia.Email || res.Tone != "success" {
		t.Fatalf("approve: %+v %+v %v", approved, res, err)
	}
	if _, _, err := f.desk.ApproveBatch(ctx, mia, b.PublicID, b.Digest); !errors.Is(err, ErrConflict) {
		t.Errorf("approve twice: %v", err)
	}
	f.clock.Advance(DefaultBatchUndo)
	f.round()
	f.allSucceeded(b)
	refunds, _ := f.db.RefundsOfPayment(ctx, big.ID)
	if len(refunds) != 1 || refunds[0].Status != "succeeded" || refunds[0].Amount != 60000 || refunds[0].DecidedBy != mia.Email || refunds[0].ApprovalRule != RulePerRefund {
		t.Fatalf("the large refund: %+v", refunds)
	}
	if q, _ := f.db.ApprovalQueue(ctx); len(q) != 0 {
		t.Errorf("the approval queue holds %d refunds, want none", len(q))
	}
}

// TestBatchRejectAndCancel: a manager rejects with a reason (never the requester); the
// requester or a manager cancels inside the undo window, finance cannot; nothing of either
// batch is ever sent.
func TestBatchRejectAndCancel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big, p := f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 10000)
	held, _ := f.requestBatch(sam, BatchRefund, "payment,amount,reason,note\n"+big.PublicID+",600,fraudulent,\n")
	if _, _, err := f.desk.RejectBatch(ctx, mia, held.PublicID, "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("reject without a reason: %v", err)
	}
	rejected, _, err := f.desk.RejectBatch(ctx, mia, held.PublicID, "Not a fraud wave")
	if err != nil || rejected.State != storage.BatchRejected || rejected.DecisionReason != "Not a fraud wave" {
		t.Fatalf("reject: %+v %v", rejected, err)
	}
	if _, items := f.batchNow(held); items[0].RunState != storage.ItemSkipped {
		t.Errorf("rejected item: %s", items[0].RunState)
	}

	sched, _ := f.requestBatch(sam, BatchRefund, "payment,amount,reason,note\n"+p.PublicID+",5,duplicate,\n")
	if _, _, err := f.desk.CancelBatch(ctx, fin, sched.PublicID, ""); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("finance cancels: %v", err)
	}
	f.clock.Advance(5 * time.Minute)
	cancelled, res, err := f.desk.CancelBatch(ctx, sam, sched.PublicID, "wrong file")
	if err != nil || cancelled.State != storage.BatchCancelled || cancelled.CancelledBy != sam.Email || !strings.Contains(res.Message, "nothing of this batch was run") {
		t.Fatalf("cancel: %+v %+v %v", cancelled, res, err)
	}
	f.clock.Advance(time.Hour)
	f.round()
	if f.totalRefundPosts() != 0 {
		t.Fatalf("sent: %v", f.refundPosts())
	}
	if _, items := f.batchNow(sched); items[0].RunState != storage.ItemSkipped || !strings.Contains(items[0].Outcome, "stopped before") {
		t.Errorf("cancelled item: %+v", items[0])
	}
	if got := f.auditKinds("batch_rejected", "batch_cancelled", "batch_started"); got["batch_rejected"] != 1 || got["batch_cancelled"] != 1 || got["batch_started"] != 0 {
		t.Errorf("audit: %v", got)
	}
	// Someone else's draft cannot be requested.
	draft, items, err := f.preview(sam, BatchRefund, "payment,amount,reason,note\n"+p.PublicID+",5,duplicate,\n")
	if err != nil {
		t.Fatal(err)
	}
	refusedWith(t, func() error {
		_, _, err := f.desk.RequestBatch(ctx, mia, draft.PublicID, storage.BatchDigest(items))
		return err
	}(), ErrNotAllowed, "Only the person who made this batch")
}

// TestBatchResumesWithoutDoubling: the worker stopped at each point of an item's life —
// marked running but nothing recorded; the refund recorded but never sent; the refund
// sent and finished but the item not updated — and a new round: the first runs once, the
// second is never sent (the reconciler settles it by reading the provider), the third is
// recognised by its key. No payment gets a second refund.
func TestBatchResumesWithoutDoubling(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ps []storage.Payment
	csv := "payment,amount,reason,note\n"
	for i := range 4 {
		p := f.add(bpc.Name, 2, 10000)
		ps = append(ps, p)
		csv += fmt.Sprintf("%s,%d,duplicate,\n", p.PublicID, i+1)
	}
	b, _ := f.requestBatch(sam, BatchRefund, csv)
	f.clock.Advance(DefaultBatchUndo)
	if _, ok, err := f.db.StartBatch(ctx, b.ID, storage.BatchChange{By: "test"}); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	key := func(line int) string { return storage.BatchItemKey(b.PublicID, line) }
	// Line 2: marked running, then the process stopped.
	if ok, err := f.db.MarkBatchItemRunning(ctx, b.ID, 2, key(2)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	// Line 3: the refund recorded (intent), never sent.
	if ok, err := f.db.MarkBatchItemRunning(ctx, b.ID, 3, key(3)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, _, err := f.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: ps[1].ID, Amount: 200, Reason: "duplicate", RequestedBy: sam.Email, IdempotencyKey: key(3)}); err != nil {
		t.Fatal(err)
	}
	// Line 4: sent and finished by hand (as by the crashed process), the item not updated.
	if ok, err := f.db.MarkBatchItemRunning(ctx, b.ID, 4, key(4)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := f.desk.Refund(ctx, sam, f.payment(ps[2]), RefundArgs{Amount: 300, Reason: "duplicate", Key: key(4)}); err != nil {
		t.Fatal(err)
	}
	sentBefore := f.totalRefundPosts() // line 4's one refund
	// The restart: a process started after all that, past the grace in which another
	// instance's worker could still be at it (PostgreSQL; an item claimed by a live worker
	// is left to it: TestTwoWorkersAtOnceSendEachItemOnce).
	f.clock.Advance(f.desk.cfg.ReconcileGrace + time.Second)
	f.desk.started = f.clock.Now()
	f.round()
	_, items := f.batchNow(b)
	states := map[int]string{}
	for _, it := range items {
		states[it.Line] = it.RunState
	}
	if states[2] != storage.ItemSucceeded || states[3] != storage.ItemPending || states[4] != storage.ItemSucceeded || states[5] != storage.ItemSucceeded {
		t.Fatalf("after the resumed round: %v", states)
	}
	if got := f.totalRefundPosts() - sentBefore; got != 2 {
		t.Fatalf("refunds sent by the resumed round: %d, want 2 (lines 2 and 5): %v", got, f.refundPosts())
	}
	// Line 3's intent is settled by the reconciler, which reads the provider: it has no
	// such refund, so it failed — never sent by the worker.
	f.clock.Advance(3 * time.Minute)
	if _, err := f.desk.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	f.round()
	got, items := f.batchNow(b)
	if items[1].RunState != storage.ItemFailed || got.State != storage.BatchDone {
		t.Fatalf("line 3 after reconciling: %s %q; batch %s", items[1].RunState, items[1].Outcome, got.State)
	}
	for i, p := range ps {
		refunds, _ := f.db.RefundsOfPayment(ctx, p.ID)
		if len(refunds) != 1 {
			t.Errorf("payment %d has %d refunds, want 1", i, len(refunds))
		}
	}
	if f.totalRefundPosts() != sentBefore+2 {
		t.Errorf("refunds sent in all: %v", f.refundPosts())
	}
}

// ranBehindAHandRefund is a batch of two refunds — 80.00 of one 100.00 payment, p, and
// 1.00 of another — run after a manager refunded 50.00 of p by hand: its first item
// fails (less is left than it was approved for), the second succeeds.
func (f *fixture) ranBehindAHandRefund() (storage.Batch, storage.Payment) {
	f.t.Helper()
	p, q := f.add(bpc.Name, 2, 10000), f.add(bpc.Name, 2, 10000)
	b, _ := f.requestBatch(sam, BatchRefund, "payment,amount,reason,note\n"+p.PublicID+",80,duplicate,\n"+q.PublicID+",1,duplicate,\n")
	if _, err := f.desk.Refund(context.Background(), mia, f.payment(p), RefundArgs{Amount: 5000, Reason: "goodwill", Key: key()}); err != nil {
		f.t.Fatal(err)
	}
	f.clock.Advance(DefaultBatchUndo)
	f.round()
	return b, p
}

// TestBatchRunRejudgesEachItem: an item is judged again when it runs — the payment
// refunded by hand meanwhile leaves less than the batch's amount, so that item fails
// with the reason and nothing is sent for it; the others run.
func TestBatchRunRejudgesEachItem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, p := f.ranBehindAHandRefund()
	_, items := f.batchNow(b)
	if items[0].RunState != storage.ItemFailed || !strings.Contains(items[0].Outcome, "Only 50.00 EUR is left to refund now") {
		t.Errorf("line 2: %s %q", items[0].RunState, items[0].Outcome)
	}
	if items[1].RunState != storage.ItemSucceeded {
		t.Errorf("line 3: %s %q", items[1].RunState, items[1].Outcome)
	}
	if refunds, _ := f.db.RefundsOfPayment(ctx, p.ID); len(refunds) != 1 {
		t.Errorf("payment refunded %d times, want once (by hand)", len(refunds))
	}
}

// TestBatchPaceIsBoundedPerAccount: at BatchRate items per second, six items to one
// provider account take at least five intervals (the first goes at once); the
// limiter is the account's, shared by every batch.
func TestBatchPaceIsBoundedPerAccount(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.BatchRate = 20
	csv := "payment,amount,reason,note\n"
	for range 6 {
		csv += f.add(bpc.Name, 2, 10000).PublicID + ",1,duplicate,\n"
	}
	f.requestBatch(sam, BatchRefund, csv)
	f.clock.Advance(DefaultBatchUndo)
	began := time.Now()
	f.round()
	if took := time.Since(began); took < 5*time.Second/20 {
		t.Errorf("six items took %v, less than five intervals of 50ms", took)
	}
	if f.totalRefundPosts() != 6 {
		t.Errorf("sent %d", f.totalRefundPosts())
	}
	if a, b := f.desk.batches.of("x/default", 1), f.desk.batches.of("x/default", 1); a != b || a == f.desk.batches.of("y/default", 1) {
		t.Error("one limiter per account")
	}
}

// TestDurationWords: a configured duration in the largest unit that says it exactly.
func TestDurationWords(t *testing.T) {
	for d, want := range map[time.Duration]string{72 * time.Hour: "72 hours", time.Hour: "1 hour", 10 * time.Minute: "10 minutes",
		90 * time.Minute: "90 minutes", 20 * time.Second: "20 seconds", 90 * time.Second: "90 seconds", time.Second: "1 second"} {
		if got := DurationWords(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestTwoWorkersAtOnceSendEachItemOnce: two instances' workers on one database running
// the same batch at once (a job changing hands while the old holder still runs) send each
// item once: an item is claimed by one conditional update, and a refund's key is recorded
// once.
func TestTwoWorkersAtOnceSendEachItemOnce(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.BatchRate = 1000
	ctx := context.Background()
	var ps []storage.Payment
	csv := "payment,amount,reason,note\n"
	for i := range 8 {
		p := f.add(bpc.Name, 2, 10000)
		ps = append(ps, p)
		csv += fmt.Sprintf("%s,%d,duplicate,\n", p.PublicID, i+1)
	}
	other, err := New(f.desk.cfg, f.db, map[providers.Name]providers.Provider{bpc.Name: f.desk.ProviderOf(ps[0])}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.requestBatch(sam, BatchRefund, csv)
	f.clock.Advance(DefaultBatchUndo)
	// Started already: both rounds find it running and run its items side by side.
	if _, ok, err := f.db.StartBatch(ctx, b.ID, storage.BatchChange{By: "test"}); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	var wg sync.WaitGroup
	for _, d := range []*Desk{f.desk, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.BatchRound(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.round()
	f.allSucceeded(b)
	if n := f.totalRefundPosts(); n != 8 {
		t.Errorf("%d refunds sent for 8 items", n)
	}
	for _, p := range ps {
		if refunds, _ := f.db.RefundsOfPayment(ctx, p.ID); len(refunds) != 1 {
			t.Errorf("%s: %d refunds", p.PublicID, len(refunds))
		}
	}
	if n := f.auditKinds("batch_finished"); n["batch_finished"] != 1 {
		t.Errorf("audit %v", n)
	}
	// Each item's end is audited once (an item seen pending by one worker and finished
	// by the other also has its pending entry).
	rows, err := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "batch_item", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ends := map[string]int{}
	for _, r := range rows {
		if strings.Contains(r.Message, "): succeeded") {
			ends[r.Message[:strings.Index(r.Message, " (")]]++
		}
	}
	if len(ends) != 8 {
		t.Errorf("items with a succeeded entry: %v", ends)
	}
	for line, n := range ends {
		if n != 1 {
			t.Errorf("%s: %d succeeded entries", line, n)
		}
	}
}

// TestBatchesRunSideBySide: the worker's rounds go on while a batch runs — a batch due
// later starts while the first still runs, and a running batch is never run twice by
// the same process; each item is sent once.
func TestBatchesRunSideBySide(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.BatchRate = 10 // ten items of one account take about a second
	ctx := context.Background()
	csv := func(n int) string {
		out := "payment,amount,reason,note\n"
		for range n {
			out += f.add(bpc.Name, 2, 10000).PublicID + ",1,duplicate,\n"
		}
		return out
	}
	first, _ := f.requestBatch(sam, BatchRefund, csv(10))
	f.clock.Advance(DefaultBatchUndo)
	if err := f.desk.startBatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.desk.batches.isRunning(first.ID) {
		t.Fatal("the first batch is not running after the round")
	}
	// Another round while it runs: it is not run a second time here.
	if err := f.desk.startBatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	second, _ := f.requestBatch(sam, BatchRefund, csv(3))
	f.clock.Advance(DefaultBatchUndo)
	if err := f.desk.startBatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.batchNow(second); got.State != storage.BatchRunning && got.State != storage.BatchDone {
		t.Fatalf("the second batch is %s while the first runs", got.State)
	}
	if got, _ := f.batchNow(first); got.State != storage.BatchRunning {
		t.Fatalf("the first batch is %s already: the test proves nothing", got.State)
	}
	f.desk.batches.runners.Wait()
	f.allSucceeded(first)
	f.allSucceeded(second)
	if n := f.totalRefundPosts(); n != 13 {
		t.Errorf("%d refunds sent for 13 items", n)
	}
}
