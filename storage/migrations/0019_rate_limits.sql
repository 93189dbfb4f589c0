-- Rate limits shared by every instance of one database (storage/rate_limits.go): one row
-- per budget (e.g. refused webhooks of one source address), kept as the generic cell rate
-- algorithm's single number: tat, the Unix millisecond at which the budget is whole again.
-- Spending is one upsert; denied counts refusals since the last spend that went through.
-- A row whose tat has passed says nothing a missing row does not: maintenance deletes it.
-- On SQLite (one process) Paydesk keeps these budgets in memory and leaves this table
-- empty: a write here would move the data version and empty the page cache.
CREATE TABLE rate_limits (
	key TEXT PRIMARY KEY,
	tat INTEGER NOT NULL,
	denied INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_by_tat ON rate_limits (tat);
