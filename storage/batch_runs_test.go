package storage

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
