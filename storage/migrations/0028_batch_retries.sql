-- Retrying what did not run (docs/batches.md, "Retrying what did not run"): a new draft
-- batch of a finished batch's failed or skipped items. Its source is 'retry' and it names
-- the batch it retries. SQLite cannot change a CHECK in place: the source moves to a new
-- column with the new CHECK, is copied, the old one dropped and the new one renamed.
ALTER TABLE batches ADD COLUMN source_new TEXT NOT NULL DEFAULT 'csv'
    CHECK (source_new IN ('csv', 'list', 'retry'));
UPDATE batches SET source_new = source;
ALTER TABLE batches DROP COLUMN source;
ALTER TABLE batches RENAME COLUMN source_new TO source;
ALTER TABLE batches ADD COLUMN retry_of INTEGER REFERENCES batches (id);  -- the batch retried, when source is 'retry'
CREATE INDEX batches_retry_of ON batches (retry_of) WHERE retry_of IS NOT NULL;
