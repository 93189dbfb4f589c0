-- The customer page (storage/customers.go), as 0020_customers.sql on SQLite: each identity
-- (e-mail, name, card = last 4 and provider) is one index range ending in
-- (created_at DESC, id DESC), the e-mail and the name compared with the nocase collation
-- (0018_schema.sql). No table changes: no change-notification trigger to add.
DROP INDEX payments_email;
CREATE INDEX payments_email ON payments (customer_email COLLATE nocase, created_at DESC, id DESC);
DROP INDEX payments_last4;
CREATE INDEX payments_last4 ON payments (card_last4, provider, created_at DESC, id DESC) WHERE card_last4 <> '';
CREATE INDEX payments_name  ON payments (customer_name COLLATE nocase, created_at DESC, id DESC);
