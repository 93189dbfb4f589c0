-- Notifications about a batch (docs/batches.md, "Who hears about it"): a notification
-- names a payment or a batch, never both, never neither. Four kinds more:
--
--   batch_approval_requested  a batch waits for a manager (to the role, as a refund's)
--   batch_decided             one's batch was approved or rejected
--   batch_finished            one's batch ran to its end
--   batch_cancelled           someone else cancelled or stopped one's batch
--
-- SQLite cannot drop a column's NOT NULL nor change a CHECK in place: the table is built
-- again under a new name, filled with every row (ids kept: notification_marks counts by
-- id), and renamed. Dropping the old table deletes its notification_reads by their
-- ON DELETE CASCADE (foreign keys are on, and a transaction cannot turn them off), so
-- the reads are kept aside first and put back after.
CREATE TABLE notifications_0027 (
    id             INTEGER PRIMARY KEY,
    recipient_key  TEXT    NOT NULL DEFAULT '',
    recipient_role TEXT    NOT NULL DEFAULT '',
    actor_key      TEXT    NOT NULL DEFAULT '',
    kind           TEXT    NOT NULL CHECK (kind IN ('approval_requested', 'request_decided', 'payer_confirmed', 'payer_link_ended',
                                                    'batch_approval_requested', 'batch_decided', 'batch_finished', 'batch_cancelled')),
    payment_id     INTEGER REFERENCES payments (id) ON DELETE CASCADE,
    refund_id      INTEGER REFERENCES refunds (id) ON DELETE CASCADE,
    link_id        INTEGER REFERENCES payer_links (id) ON DELETE CASCADE,
    batch_id       INTEGER REFERENCES batches (id) ON DELETE CASCADE,
    text           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    read_at        INTEGER,
    CHECK ((recipient_key = '') <> (recipient_role = '')),
    CHECK ((payment_id IS NULL) <> (batch_id IS NULL))
) STRICT;

INSERT INTO notifications_0027 (id, recipient_key, recipient_role, actor_key, kind, payment_id, refund_id, link_id, text, created_at, read_at)
    SELECT id, recipient_key, recipient_role, actor_key, kind, payment_id, refund_id, link_id, text, created_at, read_at FROM notifications;

CREATE TABLE notification_reads_0027 AS SELECT notification_id, person_key, read_at FROM notification_reads;
DROP TABLE notifications;
ALTER TABLE notifications_0027 RENAME TO notifications;
INSERT INTO notification_reads (notification_id, person_key, read_at)
    SELECT notification_id, person_key, read_at FROM notification_reads_0027;
DROP TABLE notification_reads_0027;

CREATE INDEX notifications_unread ON notifications (recipient_key, read_at, kind);
CREATE INDEX notifications_person ON notifications (recipient_key, id);
CREATE INDEX notifications_role ON notifications (recipient_role, id);
-- A batch's notifications, for the cascade when a batch is deleted.
CREATE INDEX notifications_batch ON notifications (batch_id) WHERE batch_id IS NOT NULL;
