package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// TestBatchRetry: a running batch offers no retry; once stopped (its items skipped) its
// maker and managers are offered a new batch of those items, finance is not and gets 403;
// the post makes a draft whose page says what it retries, the original links to it and
// offers no second retry, the list shows the source. A done batch whose items all
// succeeded offers nothing, and a post says there is nothing to retry, saving nothing.
func TestBatchRetry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p1 := h.add(bpc.Name, spec{variant: 2})
	p2 := h.add(bpc.Name, spec{variant: 2})
	p3 := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	fran := h.signedIn("fran")
	max := h.signedIn("max")
	path := startedBatch(t, h, sam, "payment,amount,reason,note\n"+p1.PublicID+",5.00,duplicate,\n"+p2.PublicID+",6.00,other,Ticket 12\n"+p3.PublicID+",7.00,duplicate,\n")
	orig := strings.TrimPrefix(path, "/batches/")
	const offer = "Preview a new batch of the 2 items that failed or were skipped"
	mustNotContain(t, sam.get(path), "items that failed or were skipped", "batch-retry-form")
	// The third item was sent and is pending at the provider when the batch is stopped.
	bt, _ := h.db.BatchByPublicID(ctx, orig)
	if ok, err := h.db.MarkBatchItemRunning(ctx, bt.ID, 4, storage.BatchItemKey(orig, 4)); !ok || err != nil {
		t.Fatalf("mark running: %v %v", ok, err)
	}
	if err := h.db.FinishBatchItem(ctx, bt.ID, 4, storage.ItemPending, "The provider has it.", storage.AuditEntry{Actor: "batch worker", Kind: "batch_item", Message: "pending"}); err != nil {
		t.Fatal(err)
	}
	stopped := sam.post(path+"/cancel", url.Values{"reason": {"wrong day"}})
	mustContain(t, stopped, "skipped: 2", offer, "1 item is not settled yet (pending, unknown or waiting): its outcome is not final, so it is not retried.")
	mustContain(t, max.get(path), offer)
	mustNotContain(t, fran.get(path), offer, "batch-retry-form")
	if r := fran.post(path+"/retry", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("finance retrying: %d", r.status)
	}

	r := sam.post(path+"/retry", url.Values{"form": {"retry"}})
	if !strings.HasPrefix(r.url.Path, "/batches/bt_") || r.url.Path == path {
		t.Fatalf("the retry landed on %s: %.600s", r.url, text(r.body))
	}
	mustBeCleanPage(t, r)
	mustContain(t, r, "Draft batch", "Retry of "+orig, "5.00 EUR", "6.00 EUR", "Ticket 12", "Request this batch")
	mustNotContain(t, r, "7.00 EUR")
	if !strings.Contains(r.body, `href="`+path+`"`) {
		t.Error("the retry's page does not link to the batch it retries")
	}
	retry := strings.TrimPrefix(r.url.Path, "/batches/")
	if b, err := h.db.BatchByPublicID(ctx, retry); err != nil || b.Source != "retry" || b.RetryOfPublicID != orig || b.State != storage.BatchDraft {
		t.Fatalf("retry batch %+v %v", b, err)
	}
	page := sam.get(path)
	mustContain(t, page, "Retried in "+retry)
	mustNotContain(t, page, offer)
	mustContain(t, sam.get("/batches"), "retry of "+orig)
	mustContain(t, sam.post(path+"/retry", url.Values{}), "already retried in "+retry, "Nothing was saved")
	// The retry is requested like any batch: it waits out its own undo window.
	mustContain(t, sam.post(r.url.Path+"/request", url.Values{"digest": {batchDigest(t, r)}}), "The batch starts in 10 minutes", "Retry of "+orig)
	if got := text(sam.get(path).body); !strings.Contains(got, "Retried in "+retry+" (scheduled)") {
		t.Errorf("the original's page does not follow its retry: %.400s", got)
	}

	// A batch whose items all succeeded: nothing to offer, nothing saved.
	done := startedBatch(t, h, sam, "payment,amount,reason,note\n"+p1.PublicID+",1.00,duplicate,\n")
	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	page = sam.get(done)
	mustContain(t, page, "Every item ran", "succeeded")
	mustNotContain(t, page, "items that failed or were skipped")
	before, _ := h.db.ListBatches(ctx, 100)
	mustContain(t, sam.post(done+"/retry", url.Values{}), "there is nothing to retry, and nothing was saved")
	if after, _ := h.db.ListBatches(ctx, 100); len(after) != len(before) {
		t.Errorf("%d batches after a refused retry, want %d", len(after), len(before))
	}
}
