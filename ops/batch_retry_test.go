package ops

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// TestRetryBatchCarriesTheItemsOver: a batch cancelled in its undo window (every item
// skipped) is retried as a new draft of the same items — payment by its Paydesk id, the
// exact amount (a zero-decimal currency too), reason and note — judged afresh: a payment
// refunded by hand meanwhile is set aside. The draft names the batch it retries, in the
// audit too; the batch is not retried twice while that draft may run; only its maker or
// a manager may retry it.
func TestRetryBatchCarriesTheItemsOver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 10000)
	y := f.addIn(bpc.Name, 2, 10000, "JPY")
	q := f.add(bpc.Name, 2, 10000)
	orig, _ := f.requestBatch(sam, BatchRefund, "payment,amount,reason,note\n"+
		p.PublicID+",12.34,duplicate,Ticket 1\n"+
		y.PaymentID+",1500,other,Agreed by phone\n"+ // by the provider's id
		q.PublicID+",rest,goodwill,\n")
	if _, _, err := f.desk.CancelBatch(ctx, sam, orig.PublicID, "wrong day"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.Refund(ctx, mia, f.payment(q), RefundArgs{Amount: 10000, Reason: "goodwill", Key: key()}); err != nil {
		t.Fatal(err)
	}
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, fin, orig.PublicID); return err }(), ErrNotAllowed, "")
	sue := Person{Email: "sue@paydesk.test", Roles: []Role{RoleSupport}, FreshSignIn: true}
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, sue, orig.PublicID); return err }(), ErrNotAllowed, "Only the batch's maker or a manager")

	retry, err := f.desk.RetryBatch(ctx, sam, orig.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	got, items := f.batchNow(retry)
	if got.State != storage.BatchDraft || got.Source != "retry" || got.RetryOf != orig.ID || got.RetryOfPublicID != orig.PublicID || got.CreatedBy != sam.Email {
		t.Fatalf("retry: %+v", got)
	}
	if len(items) != 3 {
		t.Fatalf("%d items, want 3: %+v", len(items), items)
	}
	want := []struct {
		payment  storage.Payment
		amount   int64
		currency string
		reason   string
		note     string
	}{{p, 1234, "EUR", "duplicate", "Ticket 1"}, {y, 1500, "JPY", "other", "Agreed by phone"}}
	for i, w := range want {
		it := items[i]
		if it.Verdict != storage.BatchReady || it.Input != w.payment.PublicID || it.Amount != w.amount || it.Currency != w.currency || it.Reason != w.reason || it.Note != w.note {
			t.Errorf("item %d: %+v, want %s %d %s %s %q ready", i, it, w.payment.PublicID, w.amount, w.currency, w.reason, w.note)
		}
	}
	if it := items[2]; it.Verdict != storage.BatchSetAside || it.PublicID != q.PublicID || !strings.Contains(it.Why, "has been refunded already") {
		t.Errorf("the payment refunded meanwhile: %+v", it)
	}
	if got.Totals["EUR"] != 1234 || got.Totals["JPY"] != 1500 || got.Ready != 2 || got.SetAside != 1 {
		t.Errorf("totals %v, %d ready, %d set aside", got.Totals, got.Ready, got.SetAside)
	}
	rows, _ := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "batch_previewed", Limit: 1})
	if len(rows) != 1 || !strings.Contains(rows[0].Message, retry.PublicID) || !strings.Contains(rows[0].Message, "retrying the failed or skipped items of "+orig.PublicID) ||
		!strings.Contains(string(rows[0].Data), `"retry_of":"`+orig.PublicID+`"`) {
		t.Errorf("audit: %+v", rows)
	}
	if f.totalRefundPosts() != 1 { // the refund by hand only: a retry runs nothing
		t.Errorf("refunds sent: %v", f.refundPosts())
	}

	// Not twice while the retry may run; once it is discarded, a manager may retry it.
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, sam, orig.PublicID); return err }(), ErrInvalid, "already retried in "+retry.PublicID)
	if _, _, err := f.desk.CancelBatch(ctx, sam, retry.PublicID, ""); err != nil {
		t.Fatal(err)
	}
	again, err := f.desk.RetryBatch(ctx, mia, orig.PublicID)
	if err != nil || again.CreatedBy != mia.Email || again.RetryOf != orig.ID {
		t.Fatalf("retry by a manager: %+v %v", again, err)
	}
}

// TestRetryBatchOnlyWhatDidNotRun: of a done batch only the failed item is retried (not
// the one that succeeded), with its amount, and the dry run sets it aside when less is
// left now; a batch whose items all succeeded, or one not ended, has nothing to retry and
// nothing is saved.
func TestRetryBatchOnlyWhatDidNotRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, p := f.ranBehindAHandRefund()
	if done, items := f.batchNow(b); done.State != storage.BatchDone || items[0].RunState != storage.ItemFailed || items[1].RunState != storage.ItemSucceeded {
		t.Fatalf("batch %s, items %+v", done.State, items)
	}
	retry, err := f.desk.RetryBatch(ctx, sam, b.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	_, items := f.batchNow(retry)
	if len(items) != 1 || items[0].Input != p.PublicID || items[0].Amount != 8000 || items[0].Line != 1 {
		t.Fatalf("retry items %+v, want only %s's 80.00", items, p.PublicID)
	}
	if items[0].Verdict != storage.BatchSetAside || !strings.Contains(items[0].Why, "At most 50.00 EUR can be refunded.") {
		t.Errorf("the item with less left now: %s %q", items[0].Verdict, items[0].Why)
	}

	q := f.add(bpc.Name, 2, 10000)
	all, _ := f.requestBatch(sam, BatchRefund, "payment,amount,reason,note\n"+q.PublicID+",1,duplicate,\n")
	f.clock.Advance(DefaultBatchUndo)
	f.round()
	before, _ := f.db.ListBatches(ctx, 100)
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, sam, all.PublicID); return err }(), ErrInvalid, "there is nothing to retry, and nothing was saved")
	draft, _, err := f.preview(sam, BatchRefund, "payment,amount,reason,note\n"+q.PublicID+",1,duplicate,\n")
	if err != nil {
		t.Fatal(err)
	}
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, sam, draft.PublicID); return err }(), ErrInvalid, "only a batch that is done, cancelled or rejected can be retried")
	if after, _ := f.db.ListBatches(ctx, 100); len(after) != len(before)+1 { // the draft only
		t.Errorf("%d batches, want %d: a refused retry saved one", len(after), len(before)+1)
	}
}

// TestRetryCounts: failed and skipped items are retried; pending, unknown, awaiting and
// running ones are not final and counted apart; succeeded and set-aside ones neither.
func TestRetryCounts(t *testing.T) {
	var items []storage.BatchItem
	for _, s := range []string{storage.ItemFailed, storage.ItemSkipped, storage.ItemSkipped, storage.ItemSucceeded, "",
		storage.ItemPending, storage.ItemUnknown, storage.ItemNeedsPayer, storage.ItemAwaitingApproval, storage.ItemQueued} {
		items = append(items, storage.BatchItem{RunState: s})
	}
	if retry, unsettled := RetryCounts(items); retry != 3 || unsettled != 5 {
		t.Errorf("retry %d unsettled %d, want 3 and 5", retry, unsettled)
	}
}

// TestRetryRejectedCancellations: a rejected batch of cancellations (its items skipped) is
// retried as cancellations of the same payments, awaiting their own request.
func TestRetryRejectedCancellations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 8, 100000) // authorised, manual capture: may be cancelled
	held, _ := f.requestBatch(sam, BatchCancel, "payment\n"+p.PublicID+"\n")
	if held.State != storage.BatchAwaitingApproval {
		t.Fatalf("cancellation batch %s, want it awaiting approval", held.State)
	}
	refusedWith(t, func() error { _, err := f.desk.RetryBatch(ctx, sam, held.PublicID); return err }(), ErrInvalid, "The batch is awaiting approval")
	if _, _, err := f.desk.RejectBatch(ctx, mia, held.PublicID, "not today"); err != nil {
		t.Fatal(err)
	}
	retry, err := f.desk.RetryBatch(ctx, sam, held.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	got, items := f.batchNow(retry)
	if got.Kind != BatchCancel || got.State != storage.BatchDraft || len(items) != 1 || items[0].Input != p.PublicID || items[0].Verdict != storage.BatchReady {
		t.Fatalf("retry %+v items %+v", got, items)
	}
}
