-- A refused webhook (bad signature, not configured, malformed) is kept as what identifies
-- it — its SHA-256, its size, the kept headers and a short excerpt — not its body: 300
-- forged posts once grew the database by 19 MB in 4 s. Accepted webhooks keep their
-- body whole, as before (storage/webhooks.go).
--
-- Adding columns with a constant default is instant, whatever the table's size. Rows
-- written before this migration keep their body; their hash and size are read from it
-- (body_size -1 means "not recorded: the body is whole").
ALTER TABLE webhook_events ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_events ADD COLUMN body_size INTEGER NOT NULL DEFAULT -1;
ALTER TABLE webhook_events ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';

-- The maintenance job deletes refused records after a shorter retention than accepted
-- ones (ops/maintain.go): this index finds them without walking the accepted rows of the
-- weeks in between. It holds only refused rows.
CREATE INDEX webhook_events_refused ON webhook_events (received_at) WHERE verdict IN ('bad_signature', 'malformed');
