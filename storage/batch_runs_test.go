package storage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runTestBatch writes a draft batch of two ready items and one set aside on a payment.
func runTestBatch(t *testing.T, db *DB) (Batch, []BatchItem) {
	t.Helper()
	a := insertTestPayment(t, db, "bpc", "EUR", 10000)
	items := []BatchItem{
		{Line: 2, Input: "x", PaymentID: a, Amount: 1000, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady},
		{Line: 3, Input: "pd_none", Verdict: BatchSetAside, Why: "No payment has this id."},
		{Line: 4, Input: "y", PaymentID: a, Amount: 700, Currency: "EUR", Reason: "goodwill", Verdict: BatchReady},
	}
	b, err := db.CreateBatch(context.Background(), Batch{Kind: "refund", Source: "csv", CreatedBy: "sam@x", CreatedByKey: "k-sam"}, items, AuditEntry{Actor: "sam@x", Kind: "batch_previewed", Message: "draft {batch}"})
	if err != nil {
		t.Fatal(err)
	}
	return b, items
}

// runningTestBatch is runTestBatch requested and started, its items queued.
func runningTestBatch(t *testing.T, db *DB) Batch {
	t.Helper()
	ctx := context.Background()
	b, items := runTestBatch(t, db)
	if _, err := db.RequestBatch(ctx, b.ID, BatchDigest(items), "", db.Now(), BatchChange{By: "sam@x"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.StartBatch(ctx, b.ID, BatchChange{}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	return b
}

// TestBatchLife: request (items queued, digest bound), approval by another person for the
// same digest only, start only once due, items marked running once, finish only when no
// item is left; every change is conditional on the state before it.
func TestBatchLife(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b, items := runTestBatch(t, db)
	digest := BatchDigest(items)
	if _, err := db.RequestBatch(ctx, b.ID, "wrong", "", time.Now(), BatchChange{By: "sam@x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("request with another digest: %v", err)
	}
	got, err := db.RequestBatch(ctx, b.ID, digest, "A rule says so.", time.Time{}, BatchChange{By: "sam@x", ByKey: "k-sam",
		Audit: AuditEntry{Actor: "sam@x", Kind: "batch_requested", Message: "requested"}})
	if err != nil || got.State != BatchAwaitingApproval || got.Digest != digest || got.ApprovalWhy != "A rule says so." {
		t.Fatalf("request: %+v %v", got, err)
	}
	if _, err := db.RequestBatch(ctx, b.ID, digest, "", time.Now(), BatchChange{By: "sam@x"}); !errors.Is(err, ErrConflict) {
		t.Errorf("request twice: %v", err)
	}
	progress, _ := db.BatchProgress(ctx, b.ID)
	if progress[ItemQueued] != 2 || progress[""] != 1 {
		t.Errorf("progress %v", progress)
	}
	// The requester cannot approve, by key even under another name.
	if _, err := db.ApproveBatch(ctx, b.ID, digest, time.Now(), BatchChange{By: "Sam", ByKey: "k-sam"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("self-approval: %v", err)
	}
	start := db.Now().Add(time.Hour)
	got, err = db.ApproveBatch(ctx, b.ID, digest, start, BatchChange{By: "max@x", ByKey: "k-max"})
	if err != nil || got.State != BatchScheduled || got.DecidedBy != "max@x" || !got.StartAt.Equal(start.Truncate(time.Millisecond)) {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if _, ok, err := db.StartBatch(ctx, b.ID, BatchChange{}); ok || err != nil {
		t.Fatalf("started before its time: %v %v", ok, err)
	}
	if due, _ := db.DueBatches(ctx); len(due) != 0 {
		t.Errorf("due before its time: %d", len(due))
	}
	if next, _ := db.NextBatchStart(ctx); !next.Equal(got.StartAt) {
		t.Errorf("next start %v, want %v", next, got.StartAt)
	}
	db.Now = func() time.Time { return start.Add(time.Second) }
	if due, _ := db.DueBatches(ctx); len(due) != 1 {
		t.Fatalf("due: %d", len(due))
	}
	// Two rounds at once (two instances while the job moves): one starts it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := db.StartBatch(ctx, b.ID, BatchChange{})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				started++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if started != 1 {
		t.Fatalf("started %d times", started)
	}
	if ok, err := db.MarkBatchItemRunning(ctx, b.ID, 2, "key2"); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if ok, _ := db.MarkBatchItemRunning(ctx, b.ID, 2, "key2"); ok {
		t.Error("an item marked running twice")
	}
	if ok, _ := db.MarkBatchItemRunning(ctx, b.ID, 3, "key3"); ok {
		t.Error("a set-aside item marked running")
	}
	if _, ok, _ := db.FinishBatch(ctx, b.ID, BatchChange{}, nil); ok {
		t.Error("finished with items left")
	}
	toRun, _ := db.BatchItemsToRun(ctx, b.ID)
	if len(toRun) != 2 || toRun[0].RunState != ItemRunning || toRun[0].Key != "key2" || toRun[1].RunState != ItemQueued {
		t.Fatalf("to run: %+v", toRun)
	}
	for _, line := range []int{2, 4} {
		if err := db.FinishBatchItem(ctx, b.ID, line, ItemSucceeded, "Refunded.", AuditEntry{Actor: "w", Kind: "batch_item", Message: "done"}); err != nil {
			t.Fatal(err)
		}
	}
	// A final item does not change again.
	if err := db.FinishBatchItem(ctx, b.ID, 2, ItemFailed, "no", AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.FinishBatch(ctx, b.ID, BatchChange{}, nil)
	if !ok || err != nil || got.State != BatchDone {
		t.Fatalf("finish: %+v %v %v", got, ok, err)
	}
	all, _ := db.BatchItems(ctx, b.ID)
	if all[0].RunState != ItemSucceeded || all[0].FinishedAt.IsZero() || all[1].RunState != "" {
		t.Errorf("items %+v", all)
	}
	if _, err := db.CancelBatch(ctx, b.ID, BatchChange{By: "sam@x"}); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel a done batch: %v", err)
	}
	rows, _ := db.ListAuditRows(ctx, AuditFilter{Kind: "batch_item", Limit: 10})
	if len(rows) != 2 {
		t.Errorf("%d item audit entries, want 2 (an unchanged item writes none)", len(rows))
	}
}

// TestBatchCancelWhileRunning: a cancellation skips the items not yet started, and an
// item cannot be marked running after it.
func TestBatchCancelWhileRunning(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b := runningTestBatch(t, db)
	if ok, _ := db.MarkBatchItemRunning(ctx, b.ID, 2, "k2"); !ok {
		t.Fatal("mark")
	}
	got, err := db.CancelBatch(ctx, b.ID, BatchChange{By: "max@x", Reason: "stop"})
	if err != nil || got.State != BatchCancelled || got.CancelledBy != "max@x" {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if ok, _ := db.MarkBatchItemRunning(ctx, b.ID, 4, "k4"); ok {
		t.Error("an item started after the cancellation")
	}
	p, _ := db.BatchProgress(ctx, b.ID)
	if p[ItemRunning] != 1 || p[ItemSkipped] != 1 {
		t.Errorf("progress %v: the running item finishes, the queued one is skipped", p)
	}
	if _, err := db.RejectBatch(ctx, b.ID, BatchChange{By: "max@x", Reason: "x"}); !errors.Is(err, ErrConflict) {
		t.Errorf("reject a cancelled batch: %v", err)
	}
}

// TestBatchDigestAndKeys: the digest changes with any bound field of a ready item and not
// with set-aside ones; item keys are stable, distinct and shaped like a form's.
func TestBatchDigestAndKeys(t *testing.T) {
	base := []BatchItem{{Line: 2, PaymentID: 1, Amount: 100, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady}, {Line: 3, Verdict: BatchSetAside, Why: "x"}}
	d := BatchDigest(base)
	for name, change := range map[string]func(*BatchItem){
		"amount": func(it *BatchItem) { it.Amount++ }, "payment": func(it *BatchItem) { it.PaymentID++ },
		"currency": func(it *BatchItem) { it.Currency = "GBP" }, "reason": func(it *BatchItem) { it.Reason = "goodwill" },
		"note": func(it *BatchItem) { it.Note = "n" }, "line": func(it *BatchItem) { it.Line++ },
	} {
		items := append([]BatchItem(nil), base...)
		change(&items[0])
		if BatchDigest(items) == d {
			t.Errorf("changing the %s kept the digest", name)
		}
	}
	aside := append([]BatchItem(nil), base...)
	aside[1].Why = "y"
	if BatchDigest(aside) != d {
		t.Error("a set-aside item changed the digest")
	}
	k := BatchItemKey("bt_aaaaaaaaaaaa", 2)
	if k != BatchItemKey("bt_aaaaaaaaaaaa", 2) || k == BatchItemKey("bt_aaaaaaaaaaaa", 3) || k == BatchItemKey("bt_bbbbbbbbbbbb", 2) || len(k) != 32 {
		t.Errorf("keys: %q", k)
	}
}

// TestBatchBulkReadsInChunks: more ids than one chunk are read by several chunks at once,
// and every payment is found once, by either kind of id, with its balance.
func TestBatchBulkReadsInChunks(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	n := batchChunk*2 + 37
	var refs []string
	var ids []int64
	for i := range n {
		id := insertTestPayment(t, db, "bpc", "EUR", int64(100+i))
		p, err := db.PaymentByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if i%2 == 0 {
			refs = append(refs, p.PublicID)
		} else {
			refs = append(refs, p.PaymentID)
		}
	}
	found, err := db.PaymentsByRefs(ctx, refs, []AccountRef{{Provider: "bpc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != n {
		t.Fatalf("found %d of %d", len(found), n)
	}
	for i, r := range refs {
		if ps := found[r]; len(ps) != 1 || ps[0].ID != ids[i] {
			t.Fatalf("%s: %+v", r, ps)
		}
	}
	facts, err := db.PaymentFactsOf(ctx, ids)
	if err != nil || len(facts) != n {
		t.Fatalf("facts: %d of %d (%v)", len(facts), n, err)
	}
	for i, id := range ids {
		if facts[id].Balance.Refundable != int64(100+i) {
			t.Fatalf("payment %d: %+v", id, facts[id])
		}
	}
	// A failing chunk fails the read.
	boom := errors.New("boom")
	if err := inChunks(n, func(start, end int) error {
		if start > 0 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("inChunks: %v", err)
	}
}

// TestFinishBatchWritesItsEntryWithIt: a running batch is finished only once no item is
// queued or running, and its "finished" audit entry — with the items' count per run
// state as the transaction saw them — is written in the transaction that finishes it,
// once: a crash cannot leave a batch done with no entry saying so, nor a second finish
// write a second entry.
func TestFinishBatchWritesItsEntryWithIt(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	a := insertTestPayment(t, db, "bpc", "EUR", 10000)
	items := []BatchItem{
		{Line: 2, Input: "x", PaymentID: a, Amount: 1000, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady},
		{Line: 3, Input: "y", PaymentID: a, Amount: 500, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady},
		{Line: 4, Input: "pd_none", Verdict: BatchSetAside, Why: "No payment has this id."},
	}
	b, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "csv", CreatedBy: "sam@x", CreatedByKey: "k"}, items, AuditEntry{Actor: "sam@x", Kind: "batch_previewed", Message: "draft"})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := db.BatchItems(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RequestBatch(ctx, b.ID, BatchDigest(saved), "", db.Now().Add(-time.Second), BatchChange{By: "sam@x", ByKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.StartBatch(ctx, b.ID, BatchChange{By: "worker"}); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	calls := 0
	describe := func(done Batch, progress map[string]int) AuditEntry {
		calls++
		if done.State != BatchDone || done.PublicID != b.PublicID {
			t.Errorf("described %s %s", done.PublicID, done.State)
		}
		return AuditEntry{Actor: "worker", Kind: "batch_finished", Message: "finished", Data: []byte(`{"succeeded":` + strconv.Itoa(progress[ItemSucceeded]) + `,"failed":` + strconv.Itoa(progress[ItemFailed]) + `}`)}
	}
	finished := func() []AuditEntry {
		es, err := db.ListAudit(ctx, AuditFilter{Kind: "batch_finished"})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}

	// One item left queued: not finished, nothing written.
	if ok, err := db.MarkBatchItemRunning(ctx, b.ID, 2, BatchItemKey(b.PublicID, 2)); err != nil || !ok {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if err := db.FinishBatchItem(ctx, b.ID, 2, ItemSucceeded, "Refunded.", AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.FinishBatch(ctx, b.ID, BatchChange{By: "worker"}, describe); err != nil || ok || calls != 0 || len(finished()) != 0 {
		t.Fatalf("with line 3 queued: finished %v (%v), described %d times, %d entries", ok, err, calls, len(finished()))
	}
	if ok, err := db.MarkBatchItemRunning(ctx, b.ID, 3, BatchItemKey(b.PublicID, 3)); err != nil || !ok {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if _, ok, err := db.FinishBatch(ctx, b.ID, BatchChange{By: "worker"}, describe); err != nil || ok {
		t.Fatalf("with line 3 running: finished %v (%v)", ok, err)
	}
	if err := db.FinishBatchItem(ctx, b.ID, 3, ItemFailed, "Refused.", AuditEntry{}); err != nil {
		t.Fatal(err)
	}

	done, ok, err := db.FinishBatch(ctx, b.ID, BatchChange{By: "worker"}, describe)
	if err != nil || !ok || done.State != BatchDone || done.FinishedAt.IsZero() {
		t.Fatalf("finish: %+v %v %v", done, ok, err)
	}
	es := finished()
	if len(es) != 1 || !strings.Contains(string(es[0].Data), `"succeeded":1`) || !strings.Contains(string(es[0].Data), `"failed":1`) || !strings.Contains(string(es[0].Data), b.PublicID) {
		t.Fatalf("finished entries %+v", es)
	}
	// Finished already: not again, no second entry.
	if _, ok, err := db.FinishBatch(ctx, b.ID, BatchChange{By: "worker"}, describe); err != nil || ok || len(finished()) != 1 || calls != 1 {
		t.Errorf("a second finish: %v %v, %d entries, described %d times", ok, err, len(finished()), calls)
	}
}

// TestUnsettledBatchItemsPages: the items whose outcome may still change are read a page
// at a time after the last one read, so none waits behind the others.
func TestUnsettledBatchItemsPages(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b := runningTestBatch(t, db)
	for _, line := range []int{2, 4} {
		if ok, _ := db.MarkBatchItemRunning(ctx, b.ID, line, BatchItemKey(b.PublicID, line)); !ok {
			t.Fatal("mark")
		}
	}
	if err := db.FinishBatchItem(ctx, b.ID, 2, ItemPending, "sent", AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBatchItem(ctx, b.ID, 4, ItemNeedsPayer, "payer", AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	page, err := db.UnsettledBatchItems(ctx, BatchItemRef{}, 1)
	if err != nil || len(page) != 1 || page[0].Line != 2 || page[0].Key != BatchItemKey(b.PublicID, 2) || page[0].RunState != ItemPending {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, _ = db.UnsettledBatchItems(ctx, page[0], 1)
	if len(page) != 1 || page[0].Line != 4 || page[0].RunState != ItemNeedsPayer {
		t.Fatalf("second page: %+v", page)
	}
	if page, _ = db.UnsettledBatchItems(ctx, page[0], 1); len(page) != 0 {
		t.Fatalf("after the last: %+v", page)
	}
}
