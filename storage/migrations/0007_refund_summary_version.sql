-- The refund history's common views (everything, a date range, a provider, a currency, a
-- status) add up refund_day_totals (0006): 3,400 groups for 209,476 refunds, 1.2 ms a
-- page, most of it handing the rows one by one from SQLite to Go. The groups change only
-- when refunds do, far less often than the page is read, so storage keeps them in memory
-- (storage/refunds.go, refundDayTotals) and adds them up there (0.03 ms), as long as this
-- number has not changed: every change to refund_day_totals adds one to it, in the same
-- transaction, whoever makes it (this process, `paydesk import`, another server).
--
-- The triggers' names start with refund_days_: the bulk loader drops them with the other
-- summary triggers and adds one itself after it rebuilds the tables (storage/bulk.go).
CREATE TABLE refund_summary_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    v  INTEGER NOT NULL
) STRICT;
INSERT INTO refund_summary_version (id, v) VALUES (1, 1);

CREATE TRIGGER refund_days_version_insert AFTER INSERT ON refund_day_totals BEGIN
    UPDATE refund_summary_version SET v = v + 1;
END;
CREATE TRIGGER refund_days_version_update AFTER UPDATE ON refund_day_totals BEGIN
    UPDATE refund_summary_version SET v = v + 1;
END;
CREATE TRIGGER refund_days_version_delete AFTER DELETE ON refund_day_totals BEGIN
    UPDATE refund_summary_version SET v = v + 1;
END;
