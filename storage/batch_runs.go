// Running batches (docs/batches.md): a draft batch is requested, waits for a manager when
// a rule says so, waits out the undo window, and runs item by item in the background.
// Every change of a batch's state is one conditional UPDATE (the state it must be in is in
// the WHERE clause), so two people or two instances acting at once change it once; each
// change writes its audit entry in the same transaction.

package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The states of a batch.
const (
	BatchDraft            = "draft"             // the dry run, never run
	BatchAwaitingApproval = "awaiting_approval" // requested; a manager other than the requester must approve
	BatchScheduled        = "scheduled"         // approved (or needing no approval): runs at StartAt
	BatchRunning          = "running"           // the worker runs its items
	BatchDone             = "done"              // every item ran (some outcomes may still be learnt)
	BatchCancelled        = "cancelled"         // cancelled before or while running: queued items skipped
	BatchRejected         = "rejected"          // a manager said no
)

// The run states of a batch item ("" for a set-aside item, which never runs).
const (
	ItemQueued           = "queued"
	ItemRunning          = "running" // recorded before the call: its key says what it became
	ItemSucceeded        = "succeeded"
	ItemPending          = "pending"           // the provider has it, not finished yet
	ItemNeedsPayer       = "needs_payer"       // a cancellation the payer must confirm
	ItemAwaitingApproval = "awaiting_approval" // a rule asked for a manager when it ran
	ItemFailed           = "failed"
	ItemUnknown          = "unknown" // the reconciler will read the provider
	ItemSkipped          = "skipped" // the batch was cancelled before it ran
)

// ItemFinal says whether an item's run state can no longer change.
func ItemFinal(state string) bool {
	switch state {
	case ItemSucceeded, ItemFailed, ItemSkipped:
		return true
	}
	return false
}

// BatchDigest is the fingerprint of what a batch would do: each ready item's line,
// payment, amount, currency, reason and note. The request records it; the approval must
// name the same one, and the worker checks it again before it starts: an approval binds
// the exact items and amounts the approver saw.
func BatchDigest(items []BatchItem) string {
	h := sha256.New()
	for _, it := range items {
		if it.Verdict != BatchReady {
			continue
		}
		fmt.Fprintf(h, "%d|%d|%d|%s|%s|%q\n", it.Line, it.PaymentID, it.Amount, it.Currency, it.Reason, it.Note)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BatchItemKey is the idempotency key of the refund or cancellation a batch item becomes
// (32 lower-case hex characters, like a form's): the same item always gets the same key,
// so an item that ran once is never sent twice, whatever happened in between.
func BatchItemKey(batchPublicID string, line int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("batch-item|%s|%d", batchPublicID, line)))
	return hex.EncodeToString(sum[:16])
}

// BatchChange is one change of a batch's state, with who made it and its audit entry.
type BatchChange struct {
	By, ByKey string
	// Reason is a rejection's or cancellation's words.
	Reason string
	// Audit is written in the transaction of the change.
	Audit AuditEntry
	// Then, when set, runs in the transaction once the change and its audit entry are
	// recorded (b as stored then, now the change's time): what it writes — notifications
	// (Tx.Notify), e-mails (Tx.EnqueueMail) — commits or rolls back with the change.
	Then BatchHook
}

// BatchHook runs inside the write transaction of a batch's change once it is recorded: b
// is the batch as stored then, now the change's time. An error rolls the change back.
type BatchHook func(ctx context.Context, tx *Tx, b Batch, now time.Time) error

// BatchProgress counts, in tx, a batch's items by run state ("" for the set-aside ones):
// for a hook that says how a batch ended.
func (tx *Tx) BatchProgress(ctx context.Context, batchID int64) (map[string]int, error) {
	return batchProgress(ctx, tx, batchID)
}

// RequestBatch asks for a draft batch to run: its ready items are queued and its digest
// recorded. With approvalWhy it waits for a manager (awaiting_approval); without, it is
// scheduled to start at startAt (the undo window's end). A batch no longer a draft is
// ErrConflict; a digest that is not the items' (they changed since the page was shown) is
// ErrConflict too.
func (db *DB) RequestBatch(ctx context.Context, batchID int64, digest, approvalWhy string, startAt time.Time, c BatchChange) (Batch, error) {
	return db.changeBatch(ctx, batchID, "request", func(tx *Tx, b Batch, now time.Time) (string, error) {
		if b.State != BatchDraft {
			return "", fmt.Errorf("batch %s is %s, not a draft: %w", b.PublicID, b.State, ErrConflict)
		}
		if err := checkDigest(ctx, tx, b, digest); err != nil {
			return "", err
		}
		state, start := BatchScheduled, ms(startAt)
		if approvalWhy != "" {
			state, start = BatchAwaitingApproval, 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batch_items SET run_state = 'queued' WHERE batch_id = ? AND verdict = 'ready'`, b.ID); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET state = ?, digest = ?, requested_at = ?, approval_why = ?, start_at = ? WHERE id = ? AND state = 'draft'`,
			state, digest, ms(now), approvalWhy, start, b.ID)
		return state, err
	}, &c)
}

// ApproveBatch records a manager's approval of a batch awaiting it, for the exact items of
// digest, and schedules it to start at startAt. The requester cannot approve their own
// batch (ErrSelfApproval); a batch not awaiting approval, or a digest that is not the one
// requested, is ErrConflict.
func (db *DB) ApproveBatch(ctx context.Context, batchID int64, digest string, startAt time.Time, c BatchChange) (Batch, error) {
	return db.changeBatch(ctx, batchID, "approve", func(tx *Tx, b Batch, now time.Time) (string, error) {
		if b.State != BatchAwaitingApproval {
			return "", fmt.Errorf("batch %s is %s, not awaiting approval: %w", b.PublicID, b.State, ErrConflict)
		}
		if b.IsRequester(c.By, c.ByKey) {
			return "", fmt.Errorf("batch %s: %w", b.PublicID, ErrSelfApproval)
		}
		if digest != b.Digest {
			return "", fmt.Errorf("batch %s: the approval names other items than the request: %w", b.PublicID, ErrConflict)
		}
		if err := checkDigest(ctx, tx, b, digest); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'scheduled', decided_by = ?, decided_by_key = ?, decided_at = ?, start_at = ?
			WHERE id = ? AND state = 'awaiting_approval'`, c.By, c.ByKey, ms(now), ms(startAt), b.ID)
		return BatchScheduled, err
	}, &c)
}

// RejectBatch records a manager's rejection (reason required) of a batch awaiting
// approval: nothing of it runs. The requester cannot reject their own (ErrSelfApproval:
// they cancel it instead).
func (db *DB) RejectBatch(ctx context.Context, batchID int64, c BatchChange) (Batch, error) {
	if strings.TrimSpace(c.Reason) == "" {
		return Batch{}, fmt.Errorf("storage: reject batch %d: a reason is required", batchID)
	}
	return db.changeBatch(ctx, batchID, "reject", func(tx *Tx, b Batch, now time.Time) (string, error) {
		if b.State != BatchAwaitingApproval {
			return "", fmt.Errorf("batch %s is %s, not awaiting approval: %w", b.PublicID, b.State, ErrConflict)
		}
		if b.IsRequester(c.By, c.ByKey) {
			return "", fmt.Errorf("batch %s: %w", b.PublicID, ErrSelfApproval)
		}
		if err := skipQueued(ctx, tx, b.ID, now); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'rejected', decided_by = ?, decided_by_key = ?, decided_at = ?, decision_reason = ?, finished_at = ?
			WHERE id = ? AND state = 'awaiting_approval'`, c.By, c.ByKey, ms(now), strings.TrimSpace(c.Reason), ms(now), b.ID)
		return BatchRejected, err
	}, &c)
}

// CancelBatch cancels a batch not yet finished: a draft, one awaiting approval, one in its
// undo window, or one running — then its items not yet started are skipped, and those
// already sent finish as they would have. A batch done, rejected or cancelled already is
// ErrConflict.
func (db *DB) CancelBatch(ctx context.Context, batchID int64, c BatchChange) (Batch, error) {
	return db.changeBatch(ctx, batchID, "cancel", func(tx *Tx, b Batch, now time.Time) (string, error) {
		switch b.State {
		case BatchDraft, BatchAwaitingApproval, BatchScheduled, BatchRunning:
		default:
			return "", fmt.Errorf("batch %s is %s already: %w", b.PublicID, b.State, ErrConflict)
		}
		if err := skipQueued(ctx, tx, b.ID, now); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'cancelled', cancelled_by = ?, cancelled_at = ?, decision_reason = ?, finished_at = ?
			WHERE id = ? AND state = ?`, c.By, ms(now), strings.TrimSpace(c.Reason), ms(now), b.ID, b.State)
		return BatchCancelled, err
	}, &c)
}

// StartBatch moves a scheduled batch whose undo window is over to running. It reports
// false when the batch is not (or no longer) due: cancelled meanwhile, or started by
// another round.
func (db *DB) StartBatch(ctx context.Context, batchID int64, c BatchChange) (Batch, bool, error) {
	b, err := db.changeBatch(ctx, batchID, "start", func(tx *Tx, b Batch, now time.Time) (string, error) {
		if b.State != BatchScheduled || b.StartAt.After(now) {
			return "", errNotDue
		}
		if err := checkDigest(ctx, tx, b, b.Digest); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'running', started_at = ? WHERE id = ? AND state = 'scheduled'`, ms(now), b.ID)
		return BatchRunning, err
	}, &c)
	if errors.Is(err, errNotDue) {
		return b, false, nil
	}
	return b, err == nil, err
}

// FinishBatch moves a running batch with no item queued or running to done, writing the
// audit entry describe makes of the batch as done and its items' count per run state in
// the same transaction (a crash cannot leave a batch done with no entry saying so). It
// reports false while items remain.
func (db *DB) FinishBatch(ctx context.Context, batchID int64, c BatchChange, describe func(done Batch, progress map[string]int) AuditEntry) (Batch, bool, error) {
	b, err := db.changeBatch(ctx, batchID, "finish", func(tx *Tx, b Batch, now time.Time) (string, error) {
		if b.State != BatchRunning {
			return "", errNotDue
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM batch_items WHERE batch_id = ? AND run_state IN ('queued', 'running')`, b.ID).Scan(&left); err != nil {
			return "", err
		}
		if left > 0 {
			return "", errNotDue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET state = 'done', finished_at = ? WHERE id = ? AND state = 'running'`, ms(now), b.ID); err != nil {
			return "", err
		}
		if describe != nil {
			progress, err := batchProgress(ctx, tx, b.ID)
			if err != nil {
				return "", err
			}
			b.State, b.FinishedAt = BatchDone, now
			c.Audit = describe(b, progress)
		}
		return BatchDone, nil
	}, &c)
	if errors.Is(err, errNotDue) {
		return b, false, nil
	}
	return b, err == nil, err
}

var errNotDue = errors.New("not due")

// changeBatch reads the batch in a write transaction, lets change update it (returning
// the new state), writes the audit entry and reads the batch back.
func (db *DB) changeBatch(ctx context.Context, batchID int64, what string, change func(*Tx, Batch, time.Time) (string, error), c *BatchChange) (Batch, error) {
	var out Batch
	err := db.tx(ctx, func(tx *Tx) error {
		b, err := scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, batchID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := db.Now()
		if _, err := change(tx, b, now); err != nil {
			return err
		}
		if c.Audit.Kind != "" {
			c.Audit.Data = injectBatchID(c.Audit.Data, b.PublicID)
			if _, err := db.audit(ctx, tx, c.Audit); err != nil {
				return err
			}
		}
		out, err = scanBatch(tx.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, batchID))
		if err != nil || c.Then == nil {
			return err
		}
		return c.Then(ctx, tx, out, now)
	})
	if err != nil {
		if errors.Is(err, errNotDue) {
			return out, err
		}
		return out, fmt.Errorf("storage: %s batch %d: %w", what, batchID, err)
	}
	return out, nil
}

// checkDigest refuses a digest that is not the batch's ready items'.
func checkDigest(ctx context.Context, tx *Tx, b Batch, digest string) error {
	items, err := queryIn(ctx, tx, "batch items", scanDigestItem, `SELECT line, payment_id, amount, currency, reason, note, verdict FROM batch_items WHERE batch_id = ? ORDER BY line`, b.ID)
	if err != nil {
		return err
	}
	if got := BatchDigest(items); got != digest {
		return fmt.Errorf("batch %s: its items are not the ones shown (digest %.12s, asked %.12s): %w", b.PublicID, got, digest, ErrConflict)
	}
	return nil
}

func scanDigestItem(s scannable) (BatchItem, error) {
	var it BatchItem
	var pid *int64
	err := s.Scan(&it.Line, &pid, &it.Amount, &it.Currency, &it.Reason, &it.Note, &it.Verdict)
	if pid != nil {
		it.PaymentID = *pid
	}
	return it, err
}

// skipQueued marks a batch's items not yet started as skipped.
func skipQueued(ctx context.Context, tx *Tx, batchID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE batch_items SET run_state = 'skipped', outcome = 'Not run: the batch was stopped before this item started.', finished_at = ?
		WHERE batch_id = ? AND run_state = 'queued'`, ms(now), batchID)
	return err
}

// DueBatches lists the batches the worker has to look at now: scheduled ones whose undo
// window is over, and running ones (a crash may have left one running), oldest first.
func (db *DB) DueBatches(ctx context.Context) ([]Batch, error) {
	return queryAll(ctx, db, "due batches", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE (state = 'scheduled' AND start_at <= ?) OR state = 'running' ORDER BY start_at, id`, ms(db.Now()))
}

// NextBatchStart is when the earliest scheduled batch's undo window ends (zero when none).
func (db *DB) NextBatchStart(ctx context.Context) (time.Time, error) {
	var at *int64
	if err := db.db.QueryRowContext(ctx, `SELECT min(start_at) FROM batches WHERE state = 'scheduled'`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("storage: next batch: %w", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return fromMS(*at), nil
}

// BatchItemsToRun returns a running batch's items queued or left running by a crash, in
// line order.
func (db *DB) BatchItemsToRun(ctx context.Context, batchID int64) ([]BatchItem, error) {
	return db.batchItemsWhere(ctx, batchID, `i.run_state IN ('queued', 'running')`)
}

// MarkBatchItemRunning records that an item is about to run with key, before anything
// is recorded for it or sent: only while its batch is running and the item queued (a
// cancellation in between wins). It reports whether the item may go ahead.
func (db *DB) MarkBatchItemRunning(ctx context.Context, batchID int64, line int, key string) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE batch_items SET run_state = 'running', item_key = ?, started_at = ?
			WHERE batch_id = ? AND line = ? AND run_state = 'queued'
			AND EXISTS (SELECT 1 FROM batches WHERE id = ? AND state = 'running')`, key, ms(db.Now()), batchID, line, batchID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: batch %d item %d running: %w", batchID, line, err)
	}
	return n == 1, nil
}

// FinishBatchItem records how an item ended (or where it stands: pending, unknown…),
// with its audit entry, in one transaction. An item already final is left alone.
func (db *DB) FinishBatchItem(ctx context.Context, batchID int64, line int, state, outcome string, audit AuditEntry) error {
	err := db.tx(ctx, func(tx *Tx) error {
		var finished any = 0
		if ItemFinal(state) {
			finished = ms(db.Now())
		}
		res, err := tx.ExecContext(ctx, `UPDATE batch_items SET run_state = ?, outcome = ?, finished_at = ?
			WHERE batch_id = ? AND line = ? AND run_state NOT IN ('succeeded', 'failed', 'skipped') AND (run_state <> ? OR outcome <> ?)`,
			state, outcome, finished, batchID, line, state, outcome)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || audit.Kind == "" {
			return nil
		}
		_, err = db.audit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: batch %d item %d: %w", batchID, line, err)
	}
	return nil
}

// UnsettledBatchItems returns items sent but whose outcome may still change (pending,
// unknown, awaiting a payer or a manager), in (batch, line) order after the item `after`
// names (its BatchID and Line; the zero ref for the start), at most limit: the worker
// follows them to their end through the refund or action their key names, a page at a
// time, so that none waits behind the others.
func (db *DB) UnsettledBatchItems(ctx context.Context, after BatchItemRef, limit int) ([]BatchItemRef, error) {
	return queryAll(ctx, db, "unsettled batch items", func(s scannable) (BatchItemRef, error) {
		var r BatchItemRef
		err := s.Scan(&r.BatchID, &r.BatchPublicID, &r.Kind, &r.Line, &r.Key, &r.RunState, &r.Outcome)
		return r, err
	}, `SELECT b.id, b.public_id, b.kind, i.line, i.item_key, i.run_state, i.outcome FROM batch_items i JOIN batches b ON b.id = i.batch_id
		WHERE i.run_state IN ('pending', 'unknown', 'needs_payer', 'awaiting_approval')
		AND (i.batch_id > ? OR (i.batch_id = ? AND i.line > ?))
		ORDER BY i.batch_id, i.line LIMIT ?`, after.BatchID, after.BatchID, after.Line, limit)
}

// BatchItemRef names one batch item for the worker.
type BatchItemRef struct {
	BatchID       int64
	BatchPublicID string
	Kind          string
	Line          int
	Key           string
	RunState      string
	Outcome       string
}

// BatchProgress counts a batch's items by run state ("" for the set-aside ones).
func (db *DB) BatchProgress(ctx context.Context, batchID int64) (map[string]int, error) {
	out, err := batchProgress(ctx, db.db, batchID)
	if err != nil {
		return nil, fmt.Errorf("storage: batch progress: %w", err)
	}
	return out, nil
}

func batchProgress(ctx context.Context, x execer, batchID int64) (map[string]int, error) {
	rows, err := x.QueryContext(ctx, `SELECT run_state, count(*) FROM batch_items WHERE batch_id = ? GROUP BY run_state`, batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rows.Err()
}

// IsRequester says whether name/key is the person who made the batch: by person key when
// both have one, else by name (as for refunds).
func (b Batch) IsRequester(name, key string) bool {
	if b.CreatedByKey != "" && key != "" {
		return b.CreatedByKey == key
	}
	return strings.EqualFold(strings.TrimSpace(b.CreatedBy), strings.TrimSpace(name))
}

// BatchesAwaitingApproval returns the batches waiting for a manager, the oldest request
// first, at most limit, and how many there are in all.
func (db *DB) BatchesAwaitingApproval(ctx context.Context, limit int) ([]Batch, int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE state = 'awaiting_approval'`).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("storage: batches awaiting approval: %w", err)
	}
	if n == 0 || limit <= 0 {
		return nil, n, nil
	}
	list, err := queryAll(ctx, db, "batches awaiting approval", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE state = 'awaiting_approval' ORDER BY requested_at, id LIMIT ?`, limit)
	return list, n, err
}
