-- Provider answers that cannot be right (storage/anomalies.go): more refunded than
-- captured, refunds adding up above the captured amount, more captured than the payer was
-- asked for. Paydesk stores the provider's word as it is and keeps here, per payment, what
-- is wrong with it in plain words, until the provider's answer is consistent again.
--
-- A table of its own rather than a column of payments: it holds a handful of rows, so
-- "needs attention" and the dashboard read it whole in microseconds, and it costs the
-- million payments nothing — no index on payments to build here or to keep up in the bulk
-- loader (storage/bulk.go), no column in the payments rows.
CREATE TABLE payment_anomalies (
    payment_id INTEGER PRIMARY KEY REFERENCES payments (id),
    message    TEXT    NOT NULL,   -- what cannot be right, in plain words
    since      INTEGER NOT NULL,   -- when Paydesk first saw it (unix ms)
    actor      TEXT    NOT NULL    -- who brought the answer: webhook, import, reconciler, a person
) STRICT;
CREATE INDEX payment_anomalies_since ON payment_anomalies (since DESC, payment_id DESC);

-- Payments stored before Paydesk checked (one read of the payments table, once): the words
-- are general, as SQL cannot write money in its currency; the next answer from the provider
-- replaces them with the amounts (or clears them).
INSERT INTO payment_anomalies (payment_id, message, since, actor)
SELECT id,
    CASE WHEN refunded > captured
        THEN 'The provider''s last answer, stored before Paydesk checked for this, says more was refunded than captured. Refresh the payment to see the amounts.'
        ELSE 'The provider''s last answer, stored before Paydesk checked for this, says more was captured than the payer was asked for. Refresh the payment to see the amounts.'
    END,
    updated_at, 'system'
FROM payments WHERE refunded > captured OR captured > amount;
INSERT INTO events (payment_id, at, actor, kind, message)
SELECT payment_id, since, 'system', 'anomaly', 'Anomaly: ' || message FROM payment_anomalies;
