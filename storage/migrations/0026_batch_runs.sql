-- Running batches (storage/batch_runs.go, docs/batches.md): a draft is requested, waits
-- for a manager's approval when a rule says so, waits out the undo window, then runs
-- item by item in the background. The batch's life is its state; each item keeps the
-- key of the refund or cancellation it became and how that ended.
ALTER TABLE batches DROP COLUMN state;
ALTER TABLE batches ADD COLUMN state TEXT NOT NULL DEFAULT 'draft'
    CHECK (state IN ('draft', 'awaiting_approval', 'scheduled', 'running', 'done', 'cancelled', 'rejected'));
ALTER TABLE batches ADD COLUMN digest          TEXT    NOT NULL DEFAULT '';  -- sha256 of the ready items, bound at request
ALTER TABLE batches ADD COLUMN requested_at    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN approval_why    TEXT    NOT NULL DEFAULT '';  -- why a manager must approve ('' when not)
ALTER TABLE batches ADD COLUMN decided_by      TEXT    NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN decided_by_key  TEXT    NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN decided_at      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN decision_reason TEXT    NOT NULL DEFAULT '';  -- a rejection's or cancellation's words
ALTER TABLE batches ADD COLUMN start_at        INTEGER NOT NULL DEFAULT 0;   -- when the undo window ends
ALTER TABLE batches ADD COLUMN cancelled_by    TEXT    NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN cancelled_at    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN started_at      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN finished_at     INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batches_due ON batches (state, start_at) WHERE state IN ('scheduled', 'running');

ALTER TABLE batch_items ADD COLUMN run_state TEXT NOT NULL DEFAULT ''
    CHECK (run_state IN ('', 'queued', 'running', 'succeeded', 'pending', 'needs_payer', 'awaiting_approval', 'failed', 'unknown', 'skipped'));
ALTER TABLE batch_items ADD COLUMN item_key    TEXT    NOT NULL DEFAULT '';  -- the refund's or action's idempotency key
ALTER TABLE batch_items ADD COLUMN outcome     TEXT    NOT NULL DEFAULT '';  -- how it ended, in plain words
ALTER TABLE batch_items ADD COLUMN started_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batch_items ADD COLUMN finished_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batch_items_run ON batch_items (batch_id, run_state) WHERE run_state <> '';
-- The worker follows the items whose outcome may still change, across batches.
CREATE INDEX batch_items_unsettled ON batch_items (batch_id, line)
    WHERE run_state IN ('pending', 'unknown', 'needs_payer', 'awaiting_approval');
