-- The dashboard's work queue (storage/work_queue.go) counts each kind of "needs someone"
-- with its oldest item, without reading every row it counts.
--
-- How many payments are in each status is read from payment_counts (by provider, status
-- and currency, kept by triggers: migration 0018), summed over a few rows: the count of
-- unknown statuses (75,000 on the million-payment demo) and of cancelling payments, where
-- counting their index entries took 5–10 ms each.

-- Refunds that failed lately, by when they failed (updated_at): the count reads only the
-- recent failures, not every failed refund of the history (33,000 on the demo), and the
-- index alone (it carries payment_id). The bulk loader drops and rebuilds the refunds'
-- indexes, this one included, without naming it.
CREATE INDEX refunds_status_updated ON refunds (status, updated_at, payment_id);
-- Payer links by state and age: the links waiting for the payer, or abandoned, and the
-- oldest of them. The table is small (at most one live link a payment).
CREATE INDEX payer_links_state_created ON payer_links (state, created_at);
-- Decisions by time: "my requests decided this week" reads the week's decisions and keeps
-- the person's, where starting from the person's requests read all of them (thousands for
-- a busy requester).
CREATE INDEX refund_approvals_decided ON refund_approvals (decided_at);
