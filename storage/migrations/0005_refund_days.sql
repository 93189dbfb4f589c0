-- The refund history at 200,000 refunds (docs/benchmarks.md has the figures).

-- Each refund carries what the history and its export show of its payment, as it carries
-- the provider (0004): the export reads the refunds (and their decisions) without joining
-- each to its payment, which was half of its reading time. One trigger fills the three on insert (it replaces
-- 0004's refunds_provider, which filled the provider alone); the bulk loader writes them
-- itself, from the payment it is inserting. A payment's customer name can change with a
-- refresh from the provider: a trigger on payments keeps its refunds in step.
ALTER TABLE refunds ADD COLUMN payment_public_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN customer_name TEXT NOT NULL DEFAULT '';
UPDATE refunds SET (payment_public_id, customer_name) =
    (SELECT p.public_id, p.customer_name FROM payments p WHERE p.id = refunds.payment_id);
DROP TRIGGER refunds_provider;
CREATE TRIGGER refunds_fill_payment AFTER INSERT ON refunds WHEN new.payment_public_id = '' OR new.provider = '' BEGIN
    UPDATE refunds SET (provider, payment_public_id, customer_name) =
        (SELECT p.provider, p.public_id, p.customer_name FROM payments p WHERE p.id = new.payment_id)
        WHERE id = new.id;
END;
CREATE TRIGGER payments_refunds_customer AFTER UPDATE OF public_id, customer_name ON payments
    WHEN old.public_id IS NOT new.public_id OR old.customer_name IS NOT new.customer_name BEGIN
    UPDATE refunds SET payment_public_id = new.public_id, customer_name = new.customer_name WHERE payment_id = new.id;
END;

-- The history's pages list 50 refunds newest first (by id) and need no totals any more
-- (the summary below has them): the status and currency indexes are ordered by id after
-- their column, so a page of rejected refunds or of one currency is read in order and
-- stops after 51 entries (the other filters checked on the entries) instead of sorting
-- every match (5 ms for one currency). The approver filter walks that manager's
-- decisions in refund order. refunds_daily only served the chart: gone.
DROP INDEX refunds_status;
DROP INDEX refunds_currency;
DROP INDEX refunds_daily;
DROP INDEX refund_approvals_decider;
CREATE INDEX refunds_status   ON refunds (status, id, currency, provider, reason, requested_by, requested_at, amount);
CREATE INDEX refunds_currency ON refunds (currency, id, status, provider, reason, requested_by, requested_at, amount);
CREATE INDEX refund_approvals_decider ON refund_approvals (decided_by COLLATE NOCASE, decision, refund_id);

-- The history's totals and daily chart, kept per UTC day (requested_at / 86400000) as
-- refunds change, so that a page adds up at most 16,000 groups (4,000 for a month or a
-- manager, 13,000 for a requester) instead of reading every matching refund (200,000
-- index entries, 20 ms: 16 pages at once queued on two cores). refund_days serves every filter but the
-- people; refund_days_people adds who requested and who approved (the decided_by of an
-- approved decision, else ''), compared without case as the filters compare them. Both
-- are ordered by day and currency after the filter that leads (none, the requester, or
-- the approver through refund_days_approver), so SQLite adds a page's groups up as it
-- reads them, without sorting. storage.RefundSummary reads them for filters on whole
-- days and falls back to the refunds themselves otherwise.
CREATE TABLE refund_days (
    day      INTEGER NOT NULL,
    provider TEXT    NOT NULL,
    currency TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    amount   INTEGER NOT NULL,
    PRIMARY KEY (day, currency, provider, status, reason)
) STRICT, WITHOUT ROWID;
CREATE TABLE refund_days_people (
    requested_by TEXT    NOT NULL COLLATE NOCASE,
    approved_by  TEXT    NOT NULL COLLATE NOCASE,
    day          INTEGER NOT NULL,
    provider     TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    PRIMARY KEY (requested_by, day, currency, approved_by, provider, status, reason)
) STRICT, WITHOUT ROWID;
-- The approver filter: covering, so its few thousand rows are read from the index alone.
CREATE INDEX refund_days_approver ON refund_days_people (approved_by, day, currency, requested_by, provider, status, reason, n, amount);
-- A status, a reason or a currency reads only its own groups, still in day and currency
-- order (rejected refunds: 0.7 ms instead of 1.2; awaiting approval: 0.03 ms instead of 0.5).
CREATE INDEX refund_days_status   ON refund_days (status, day, currency, provider, reason, n, amount);
CREATE INDEX refund_days_reason   ON refund_days (reason, day, currency, provider, status, n, amount);
CREATE INDEX refund_days_currency ON refund_days (currency, day, provider, status, reason, n, amount);

INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
    SELECT r.requested_by, coalesce(ap.decided_by, ''), r.requested_at / 86400000, r.provider, r.currency, r.status,
        r.reason, count(*), sum(r.amount)
    FROM refunds r LEFT JOIN refund_approvals ap ON ap.refund_id = r.id AND ap.decision = 'approved'
    GROUP BY r.requested_by COLLATE NOCASE, 3, 5, coalesce(ap.decided_by, '') COLLATE NOCASE, 4, 6, 7;
INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
    SELECT day, provider, currency, status, reason, sum(n), sum(amount)
    FROM refund_days_people GROUP BY day, currency, provider, status, reason;

-- The triggers keep both tables exact. Each change subtracts the old row's contribution
-- and adds the new one's, from OLD and NEW alone, and removes a group whose count falls to
-- zero: the result does not depend on the order SQLite fires triggers in (refunds_fill_payment
-- updates a refund right after its insert). The bulk loader drops them (their names start
-- with refund_days_) and rebuilds the tables once at the end.
CREATE TRIGGER refund_days_insert AFTER INSERT ON refunds BEGIN
    INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
        VALUES (new.requested_at / 86400000, new.provider, new.currency, new.status, new.reason, 1, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days WHERE day = new.requested_at / 86400000 AND provider = new.provider
        AND currency = new.currency AND status = new.status AND reason = new.reason AND n = 0;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        VALUES (new.requested_by, coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = new.id AND decision = 'approved'), ''),
            new.requested_at / 86400000, new.provider, new.currency, new.status, new.reason, 1, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE requested_by = new.requested_by
        AND approved_by = coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = new.id AND decision = 'approved'), '')
        AND day = new.requested_at / 86400000 AND provider = new.provider AND currency = new.currency
        AND status = new.status AND reason = new.reason AND n = 0;
END;

CREATE TRIGGER refund_days_delete AFTER DELETE ON refunds BEGIN
    INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
        VALUES (old.requested_at / 86400000, old.provider, old.currency, old.status, old.reason, -1, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days WHERE day = old.requested_at / 86400000 AND provider = old.provider
        AND currency = old.currency AND status = old.status AND reason = old.reason AND n = 0;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        VALUES (old.requested_by, coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = old.id AND decision = 'approved'), ''),
            old.requested_at / 86400000, old.provider, old.currency, old.status, old.reason, -1, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE requested_by = old.requested_by
        AND approved_by = coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = old.id AND decision = 'approved'), '')
        AND day = old.requested_at / 86400000 AND provider = old.provider AND currency = old.currency
        AND status = old.status AND reason = old.reason AND n = 0;
END;

CREATE TRIGGER refund_days_update AFTER UPDATE OF id, requested_at, provider, currency, status, reason, amount, requested_by ON refunds
    WHEN old.id IS NOT new.id OR old.requested_at / 86400000 IS NOT new.requested_at / 86400000
        OR old.provider IS NOT new.provider OR old.currency IS NOT new.currency OR old.status IS NOT new.status
        OR old.reason IS NOT new.reason OR old.amount IS NOT new.amount OR old.requested_by IS NOT new.requested_by BEGIN
    INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
        VALUES (old.requested_at / 86400000, old.provider, old.currency, old.status, old.reason, -1, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days WHERE day = old.requested_at / 86400000 AND provider = old.provider
        AND currency = old.currency AND status = old.status AND reason = old.reason AND n = 0;
    INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
        VALUES (new.requested_at / 86400000, new.provider, new.currency, new.status, new.reason, 1, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days WHERE day = new.requested_at / 86400000 AND provider = new.provider
        AND currency = new.currency AND status = new.status AND reason = new.reason AND n = 0;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        VALUES (old.requested_by, coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = old.id AND decision = 'approved'), ''),
            old.requested_at / 86400000, old.provider, old.currency, old.status, old.reason, -1, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE requested_by = old.requested_by
        AND approved_by = coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = old.id AND decision = 'approved'), '')
        AND day = old.requested_at / 86400000 AND provider = old.provider AND currency = old.currency
        AND status = old.status AND reason = old.reason AND n = 0;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        VALUES (new.requested_by, coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = new.id AND decision = 'approved'), ''),
            new.requested_at / 86400000, new.provider, new.currency, new.status, new.reason, 1, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE requested_by = new.requested_by
        AND approved_by = coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = new.id AND decision = 'approved'), '')
        AND day = new.requested_at / 86400000 AND provider = new.provider AND currency = new.currency
        AND status = new.status AND reason = new.reason AND n = 0;
END;

-- A decision moves its refund between approved_by '' and the approving manager in
-- refund_days_people (refund_days does not know who decided).
CREATE TRIGGER refund_days_approval_insert AFTER INSERT ON refund_approvals WHEN new.decision = 'approved' BEGIN
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, '', r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, -1, -r.amount
        FROM refunds r WHERE r.id = new.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, new.decided_by, r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, 1, r.amount
        FROM refunds r WHERE r.id = new.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE n = 0 AND approved_by IN ('', new.decided_by)
        AND requested_by = (SELECT requested_by FROM refunds WHERE id = new.refund_id)
        AND day = (SELECT requested_at / 86400000 FROM refunds WHERE id = new.refund_id)
        AND provider = (SELECT provider FROM refunds WHERE id = new.refund_id)
        AND currency = (SELECT currency FROM refunds WHERE id = new.refund_id)
        AND status = (SELECT status FROM refunds WHERE id = new.refund_id)
        AND reason = (SELECT reason FROM refunds WHERE id = new.refund_id);
END;

CREATE TRIGGER refund_days_approval_delete AFTER DELETE ON refund_approvals WHEN old.decision = 'approved' BEGIN
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, old.decided_by, r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, -1, -r.amount
        FROM refunds r WHERE r.id = old.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, '', r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, 1, r.amount
        FROM refunds r WHERE r.id = old.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE n = 0 AND approved_by IN ('', old.decided_by)
        AND requested_by = (SELECT requested_by FROM refunds WHERE id = old.refund_id)
        AND day = (SELECT requested_at / 86400000 FROM refunds WHERE id = old.refund_id)
        AND provider = (SELECT provider FROM refunds WHERE id = old.refund_id)
        AND currency = (SELECT currency FROM refunds WHERE id = old.refund_id)
        AND status = (SELECT status FROM refunds WHERE id = old.refund_id)
        AND reason = (SELECT reason FROM refunds WHERE id = old.refund_id);
END;

CREATE TRIGGER refund_days_approval_update AFTER UPDATE OF refund_id, decided_by, decision ON refund_approvals
    WHEN old.refund_id IS NOT new.refund_id OR old.decided_by IS NOT new.decided_by OR old.decision IS NOT new.decision BEGIN
    -- The old decision's refund goes back to no approver…
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, iif(old.decision = 'approved', old.decided_by, ''), r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, -1, -r.amount
        FROM refunds r WHERE r.id = old.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, '', r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, 1, r.amount
        FROM refunds r WHERE r.id = old.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE n = 0 AND approved_by IN ('', old.decided_by)
        AND requested_by = (SELECT requested_by FROM refunds WHERE id = old.refund_id)
        AND day = (SELECT requested_at / 86400000 FROM refunds WHERE id = old.refund_id)
        AND provider = (SELECT provider FROM refunds WHERE id = old.refund_id)
        AND currency = (SELECT currency FROM refunds WHERE id = old.refund_id)
        AND status = (SELECT status FROM refunds WHERE id = old.refund_id)
        AND reason = (SELECT reason FROM refunds WHERE id = old.refund_id);
    -- … and the new decision's refund moves to its approver, if approved.
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, '', r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, -1, -r.amount
        FROM refunds r WHERE r.id = new.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, iif(new.decision = 'approved', new.decided_by, ''), r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason, 1, r.amount
        FROM refunds r WHERE r.id = new.refund_id
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_days_people WHERE n = 0 AND approved_by IN ('', new.decided_by)
        AND requested_by = (SELECT requested_by FROM refunds WHERE id = new.refund_id)
        AND day = (SELECT requested_at / 86400000 FROM refunds WHERE id = new.refund_id)
        AND provider = (SELECT provider FROM refunds WHERE id = new.refund_id)
        AND currency = (SELECT currency FROM refunds WHERE id = new.refund_id)
        AND status = (SELECT status FROM refunds WHERE id = new.refund_id)
        AND reason = (SELECT reason FROM refunds WHERE id = new.refund_id);
END;
