-- Rate limits shared by every instance (storage/rate_limits.go): one row per budget, its
-- generic-cell-rate tat (Unix ms at which the budget is whole again) and the refusals
-- since the last spend that went through. Maintenance deletes rows whose tat has passed.
--
-- No change-notification trigger (paydesk_notify_change) on this table, unlike every other:
-- a spent rate limit changes no page, and notifying would empty every instance's page
-- cache at each refused webhook or failed sign-in of a flood.
CREATE TABLE rate_limits (
	key TEXT PRIMARY KEY,
	tat BIGINT NOT NULL,
	denied BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX rate_limits_by_tat ON rate_limits (tat);
