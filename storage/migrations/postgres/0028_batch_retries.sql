-- Retrying what did not run, as migrations/0028_batch_retries.sql does on SQLite: the
-- source 'retry' and the batch a retry is of. PostgreSQL changes the CHECK in place.
ALTER TABLE batches DROP CONSTRAINT batches_source_check;
ALTER TABLE batches ADD CONSTRAINT batches_source_check CHECK (source IN ('csv', 'list', 'retry'));
ALTER TABLE batches ADD COLUMN retry_of BIGINT REFERENCES batches (id);  -- the batch retried, when source is 'retry'
CREATE INDEX batches_retry_of ON batches (retry_of) WHERE retry_of IS NOT NULL;
