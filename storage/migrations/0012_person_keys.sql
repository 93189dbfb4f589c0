-- People are identified by a stable person key derived from the identity provider's
-- issuer and the ID token's sub (web/auth: PersonKey), not by their e-mail: a provider
-- may send no e-mail, and an address can change or be reused. requested_by keeps the
-- name shown (the e-mail, else the name); requested_by_key says whose request it is, for
-- "my refunds" and the rule that nobody decides on their own request.
--
-- Rows from before (demo data, refunds learnt from the provider) have the key '': they
-- are compared by requested_by, as before. A constant default makes the column instant
-- on any number of rows; the index starts with the key and carries requested_by (as the
-- page compares it, without case) for those older rows.
ALTER TABLE refunds ADD COLUMN requested_by_key TEXT NOT NULL DEFAULT '';
CREATE INDEX refunds_requester_key ON refunds (requested_by_key, requested_by COLLATE NOCASE, id);
