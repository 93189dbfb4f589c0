-- Several accounts per provider (docs/providers.md, "Accounts"): every payment belongs to
-- one account of its provider. Adding a column with a constant default rewrites nothing
-- (SQLite keeps the default in the schema), so a million payments take no time; the
-- payments stored before belong to the account named 'default', which is the account the
-- PAYDESK_<PROVIDER>_* variables configure (or the one marked default in the accounts
-- file).
ALTER TABLE payments ADD COLUMN account TEXT NOT NULL DEFAULT 'default';

-- A provider's ids are unique within one account, not across accounts: a provider that
-- keys payments on the merchant's own order id lets two points of sale use the same one. Building the
-- three unique indexes again reads the table once each (a few seconds on a million
-- payments), acceptable once.
DROP INDEX payments_provider_payment;
DROP INDEX payments_provider_session;
DROP INDEX payments_provider_order;
CREATE UNIQUE INDEX payments_provider_payment ON payments (provider, account, provider_payment_id) WHERE provider_payment_id <> '';
CREATE UNIQUE INDEX payments_provider_session ON payments (provider, account, session_id) WHERE session_id <> '';
CREATE UNIQUE INDEX payments_provider_order   ON payments (provider, account, order_id) WHERE order_id <> '';

-- The payments list filtered by account (always with its provider), newest first, covering
-- the other filters' columns like payments_provider_created.
CREATE INDEX payments_account_created ON payments (provider, account, created_at DESC, id DESC, status, currency, amount);
