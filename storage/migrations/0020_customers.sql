-- The customer page (storage/customers.go): every payment of one e-mail, one name or one
-- card (a provider and its last 4), newest first, keyset-paged on (created_at, id) like
-- the payments list. Each identity is one index range ending in (created_at DESC, id DESC),
-- so a page reads its 50 rows and stops, and the totals read the customer's rows only.
--
-- payments_email and payments_last4 (0001) lacked the id (so a page's ties needed a sort)
-- and, for the last 4, the provider (a last 4 is one card within one provider only): both
-- are rebuilt under their names, which the search's plans name too. payments_name is new:
-- NOCASE as the e-mail is, so "jean dupont" and "Jean Dupont" are one customer.
-- On the million payments of the benchmarks the three indexes took X s to build
-- (docs/benchmarks.md, "The customer page").
DROP INDEX payments_email;
CREATE INDEX payments_email ON payments (customer_email COLLATE NOCASE, created_at DESC, id DESC);
DROP INDEX payments_last4;
CREATE INDEX payments_last4 ON payments (card_last4, provider, created_at DESC, id DESC) WHERE card_last4 <> '';
CREATE INDEX payments_name  ON payments (customer_name COLLATE NOCASE, created_at DESC, id DESC);
