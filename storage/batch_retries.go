// Retrying what did not run (docs/batches.md): a new draft batch of a finished batch's
// failed or skipped items names the batch it retries. A batch is retried once: a second
// retry of the same items while the first may run (or ran) could refund them twice.

package storage

import (
	"context"
	"fmt"
)

// RanNothing says whether a batch ended without any item run: rejected, or cancelled
// before it started (a discarded draft included). Such a retry does not count: the
// batch it retried may be retried again.
func (b Batch) RanNothing() bool {
	return b.State == BatchRejected || (b.State == BatchCancelled && b.StartedAt.IsZero())
}

// liveRetry is the SQL condition (on batches) of a retry that counts: one that may run,
// runs or ran (not RanNothing).
const liveRetry = `NOT (state = 'rejected' OR (state = 'cancelled' AND started_at = 0))`

// BatchRetries returns the batches made to retry batchID's items, oldest first.
func (db *DB) BatchRetries(ctx context.Context, batchID int64) ([]Batch, error) {
	return queryAll(ctx, db, "batch retries", scanBatch, `SELECT `+batchColumns+` FROM batches
		WHERE retry_of = ? ORDER BY created_at, id`, batchID)
}

// checkNoRetry refuses (ErrConflict) a new retry of batchID when one that counts exists.
// On PostgreSQL the retried batch's row is locked first, so two retries made at once are
// made once; SQLite's write transactions are one at a time already.
func checkNoRetry(ctx context.Context, db *DB, tx *Tx, batchID int64) error {
	var id int64
	if err := tx.QueryRowContext(ctx, db.pick(`SELECT id FROM batches WHERE id = ?`, `SELECT id FROM batches WHERE id = ? FOR UPDATE`), batchID).Scan(&id); err != nil {
		return fmt.Errorf("the batch retried: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE retry_of = ? AND `+liveRetry, batchID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: the batch is already retried", ErrConflict)
	}
	return nil
}
