-- The refund history's most asked views — everything, a date range, a provider, a status —
-- need neither the reason nor the people: refund_day_totals adds refund_days up per UTC
-- day, currency, provider and status (about 3,600 groups for 209,476 refunds, where
-- refund_days has 16,000), so such a page adds up a fifth of the groups (docs/benchmarks.md).
--
-- It is kept from refund_days itself, by triggers on that table: whatever changes
-- refund_days (its own triggers on refunds) changes the totals by the same amounts, so
-- refund_day_totals is always refund_days summed over the reasons. The bulk loader drops
-- these triggers with the other refund_days_* ones and rebuilds this table with them
-- (storage/bulk.go: firing them for the 16,000 groups of its rebuild took 1.3 s).
CREATE TABLE refund_day_totals (
    day      INTEGER NOT NULL,
    currency TEXT    NOT NULL,
    provider TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    amount   INTEGER NOT NULL,
    PRIMARY KEY (day, currency, provider, status)
) STRICT, WITHOUT ROWID;

INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
    SELECT day, currency, provider, status, sum(n), sum(amount) FROM refund_days
    GROUP BY day, currency, provider, status;

CREATE TRIGGER refund_days_totals_insert AFTER INSERT ON refund_days BEGIN
    INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
        VALUES (new.day, new.currency, new.provider, new.status, new.n, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_day_totals WHERE day = new.day AND currency = new.currency
        AND provider = new.provider AND status = new.status AND n = 0;
END;

CREATE TRIGGER refund_days_totals_delete AFTER DELETE ON refund_days BEGIN
    INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
        VALUES (old.day, old.currency, old.provider, old.status, -old.n, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_day_totals WHERE day = old.day AND currency = old.currency
        AND provider = old.provider AND status = old.status AND n = 0;
END;

CREATE TRIGGER refund_days_totals_update AFTER UPDATE ON refund_days BEGIN
    INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
        VALUES (old.day, old.currency, old.provider, old.status, -old.n, -old.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
        VALUES (new.day, new.currency, new.provider, new.status, new.n, new.amount)
        ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
    DELETE FROM refund_day_totals WHERE n = 0 AND ((day = old.day AND currency = old.currency
        AND provider = old.provider AND status = old.status) OR (day = new.day AND currency = new.currency
        AND provider = new.provider AND status = new.status));
END;
