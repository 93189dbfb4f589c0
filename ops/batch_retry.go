package ops

import (
	"context"
	"fmt"

	"paydesk/providers"
	"paydesk/storage"
)

// Retrying what did not run (docs/batches.md): a batch that ended — done, cancelled or
// rejected — with items that failed or were skipped may be tried again as a new draft of
// exactly those items, judged afresh by the dry run. Nothing runs without that draft's
// own request, approval and undo window.

// BatchEnded says whether a batch is over: done, cancelled or rejected.
func BatchEnded(b storage.Batch) bool {
	switch b.State {
	case storage.BatchDone, storage.BatchCancelled, storage.BatchRejected:
		return true
	}
	return false
}

// Retryable says whether an item's run state lets it be tried again: it failed or was
// skipped. An item that succeeded is done; one pending, unknown, awaiting the payer or a
// manager may still end either way, so it is never retried.
func Retryable(runState string) bool {
	return runState == storage.ItemFailed || runState == storage.ItemSkipped
}

// RetryCounts counts a batch's items that may be retried and those whose outcome is not
// final yet (neither retried nor counted as done).
func RetryCounts(items []storage.BatchItem) (retry, unsettled int) {
	for _, it := range items {
		switch {
		case Retryable(it.RunState):
			retry++
		case it.RunState != "" && !storage.ItemFinal(it.RunState):
			unsettled++
		}
	}
	return retry, unsettled
}

// MayRetryBatch says whether who may retry b: its maker or a manager, in a role that
// makes batches, once b has ended.
func MayRetryBatch(who Person, b storage.Batch) bool {
	return BatchEnded(b) && mayRetry(who, b)
}

// mayRetry: the batch's maker or a manager, in a role that makes batches.
func mayRetry(who Person, b storage.Batch) bool {
	return MayCreateBatches(who) && (who.mayApprove() || b.IsRequester(who.Email, who.Key))
}

// LiveRetry is the retry of b that counts among retries (one that may run, runs or ran),
// or none: while it exists b is not retried again, as its items could be refunded twice.
func LiveRetry(retries []storage.Batch) (storage.Batch, bool) {
	for _, r := range retries {
		if !r.RanNothing() {
			return r, true
		}
	}
	return storage.Batch{}, false
}

// RetryBatch makes a new draft batch of publicID's failed and skipped items: the same
// payment (by its Paydesk id), the same amount in major units (never "rest"), reason and
// note. PreviewBatch judges them afresh (a payment refunded meanwhile is set aside, with
// the reason) and records the draft as a retry of publicID. It refuses someone who is
// neither the batch's maker nor a manager (ErrNotAllowed), a batch not ended, one with
// nothing to retry or already retried (ErrInvalid); nothing is saved then.
func (d *Desk) RetryBatch(ctx context.Context, who Person, publicID string) (storage.Batch, error) {
	b, items, err := d.Batch(ctx, who, publicID)
	if err != nil {
		return storage.Batch{}, err
	}
	if !mayRetry(who, b) {
		return storage.Batch{}, refuse(ErrNotAllowed, "Only the batch's maker or a manager may retry it.")
	}
	if !BatchEnded(b) {
		return storage.Batch{}, refuse(ErrInvalid, fmt.Sprintf("The batch is %s: only a batch that is done, cancelled or rejected can be retried. Nothing was saved.", BatchStateLabel(b.State)))
	}
	retries, err := d.db.BatchRetries(ctx, b.ID)
	if err != nil {
		return storage.Batch{}, fmt.Errorf("ops: batch retries: %w", err)
	}
	if r, ok := LiveRetry(retries); ok {
		return storage.Batch{}, refuse(ErrInvalid, fmt.Sprintf("This batch was already retried in %s: retry what did not run there instead. Nothing was saved.", r.PublicID))
	}
	var in []BatchInput
	for _, it := range items {
		if !Retryable(it.RunState) {
			continue
		}
		payment := it.PublicID
		if payment == "" { // never for an item that ran; kept as given rather than dropped
			payment = it.Input
		}
		x := BatchInput{Line: len(in) + 1, Payment: payment}
		if b.Kind == BatchRefund {
			x.Amount, x.Reason, x.Note = providers.FormatMajor(it.Amount, it.Currency), it.Reason, it.Note
		}
		in = append(in, x)
	}
	if len(in) == 0 {
		_, unsettled := RetryCounts(items)
		msg := "No item of this batch failed or was skipped: there is nothing to retry, and nothing was saved."
		if unsettled > 0 {
			msg += fmt.Sprintf(" %d %s not settled yet (pending, unknown or waiting): %s not final.", unsettled, plural(unsettled, "item is", "items are"), plural(unsettled, "its outcome is", "their outcome is"))
		}
		return storage.Batch{}, refuse(ErrInvalid, msg)
	}
	return d.PreviewBatch(ctx, who, b.Kind, in, BatchOrigin{Source: "retry", RetryOf: b.PublicID})
}
