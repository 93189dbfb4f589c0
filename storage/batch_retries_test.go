package storage

import (
	"context"
	"errors"
	"testing"
)

// TestBatchRetryOf: migration 0028 lets a batch's source be "retry" and name the batch it
// retries (read back with its public id); an unknown source is still refused; a batch has
// one retry that counts at a time, and a retry discarded as a draft (it ran nothing) no
// longer counts.
func TestBatchRetryOf(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	a := insertTestPayment(t, db, "bpc", "EUR", 10000)
	item := func() []BatchItem {
		return []BatchItem{{Line: 2, Input: "x", PaymentID: a, Amount: 1000, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady}}
	}
	audit := AuditEntry{Actor: "sam@x", Kind: "batch_previewed", Message: "draft batch {batch}"}
	orig, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "csv", CreatedBy: "sam@x"}, item(), audit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "bogus", CreatedBy: "sam@x"}, item(), audit); err == nil {
		t.Error("a batch with an unknown source was saved")
	}
	retry, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "retry", CreatedBy: "sam@x", RetryOf: orig.ID}, item(), audit)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.BatchByPublicID(ctx, retry.PublicID)
	if err != nil || got.Source != "retry" || got.RetryOf != orig.ID || got.RetryOfPublicID != orig.PublicID {
		t.Fatalf("retry read back: %+v %v", got, err)
	}
	if o, _ := db.BatchByPublicID(ctx, orig.PublicID); o.Source != "csv" || o.RetryOf != 0 || o.RetryOfPublicID != "" {
		t.Errorf("original read back: source %q retry of %d %q", o.Source, o.RetryOf, o.RetryOfPublicID)
	}
	list, err := db.ListBatches(ctx, 10)
	if err != nil || len(list) != 2 || list[0].RetryOfPublicID != orig.PublicID {
		t.Errorf("list: %+v %v", list, err)
	}
	// A second retry while the first may still run is refused, nothing saved.
	if _, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "retry", CreatedBy: "sam@x", RetryOf: orig.ID}, item(), audit); !errors.Is(err, ErrConflict) {
		t.Errorf("second retry: %v", err)
	}
	if list, _ := db.ListBatches(ctx, 10); len(list) != 2 {
		t.Errorf("%d batches after a refused retry, want 2", len(list))
	}
	// The first discarded as a draft: it ran nothing, so the batch may be retried again.
	discarded, err := db.CancelBatch(ctx, retry.ID, BatchChange{By: "sam@x", Audit: AuditEntry{Actor: "sam@x", Kind: "batch_cancelled", Message: "x"}})
	if err != nil || !discarded.RanNothing() {
		t.Fatalf("discard: %+v %v", discarded, err)
	}
	again, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "retry", CreatedBy: "sam@x", RetryOf: orig.ID}, item(), audit)
	if err != nil {
		t.Fatal(err)
	}
	retries, err := db.BatchRetries(ctx, orig.ID)
	if err != nil || len(retries) != 2 || retries[0].PublicID != retry.PublicID || retries[1].PublicID != again.PublicID {
		t.Errorf("retries: %+v %v", retries, err)
	}
	if (Batch{State: BatchCancelled, StartedAt: got.CreatedAt}).RanNothing() || (Batch{State: BatchDone}).RanNothing() {
		t.Error("a batch that ran counts as having run nothing")
	}
}
