-- Notifications about a batch: the same change as SQLite's 0027_batch_notifications.sql
-- (explained there), made in place; the notifications_changed trigger stays.
ALTER TABLE notifications ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN batch_id BIGINT REFERENCES batches (id) ON DELETE CASCADE;
ALTER TABLE notifications ADD CONSTRAINT notifications_subject_check CHECK ((payment_id IS NULL) <> (batch_id IS NULL));
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('approval_requested', 'request_decided', 'payer_confirmed', 'payer_link_ended',
    'batch_approval_requested', 'batch_decided', 'batch_finished', 'batch_cancelled'));
CREATE INDEX notifications_batch ON notifications (batch_id) WHERE batch_id IS NOT NULL;
