-- Search by part of an e-mail, and counts that say the real number (docs/benchmarks.md,
-- "Search: parts of e-mails, amounts, real counts").

-- The search index again, with '.' and '@' now separating words: an e-mail is its words
-- ("jules.thomas31@mail.example" is jules, thomas31, mail, example), so "thomas31" is a
-- word's prefix and finds it. '_' and '-' still join (ids such as pd_… and UUIDs stay one
-- word each). FTS5 cannot change a table's tokenizer: the table is made again and filled
-- from payments once (9.5 s on a million payments; the bulk loader rebuilds it the same way).
DROP TRIGGER payments_fts_insert;
DROP TRIGGER payments_fts_delete;
DROP TRIGGER payments_fts_update;
DROP TABLE payments_fts;
CREATE VIRTUAL TABLE payments_fts USING fts5 (
    public_id, provider_payment_id, session_id, order_id, merchant_reference,
    customer_name, customer_email, card_last4,
    content = 'payments', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_-'"
);
CREATE TRIGGER payments_fts_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payments_fts (rowid, public_id, provider_payment_id, session_id, order_id, merchant_reference, customer_name, customer_email, card_last4)
    VALUES (new.id, new.public_id, new.provider_payment_id, new.session_id, new.order_id, new.merchant_reference, new.customer_name, new.customer_email, new.card_last4);
END;
CREATE TRIGGER payments_fts_delete AFTER DELETE ON payments BEGIN
    INSERT INTO payments_fts (payments_fts, rowid, public_id, provider_payment_id, session_id, order_id, merchant_reference, customer_name, customer_email, card_last4)
    VALUES ('delete', old.id, old.public_id, old.provider_payment_id, old.session_id, old.order_id, old.merchant_reference, old.customer_name, old.customer_email, old.card_last4);
END;
CREATE TRIGGER payments_fts_update AFTER UPDATE OF public_id, provider_payment_id, session_id, order_id, merchant_reference, customer_name, customer_email, card_last4 ON payments BEGIN
    INSERT INTO payments_fts (payments_fts, rowid, public_id, provider_payment_id, session_id, order_id, merchant_reference, customer_name, customer_email, card_last4)
    VALUES ('delete', old.id, old.public_id, old.provider_payment_id, old.session_id, old.order_id, old.merchant_reference, old.customer_name, old.customer_email, old.card_last4);
    INSERT INTO payments_fts (rowid, public_id, provider_payment_id, session_id, order_id, merchant_reference, customer_name, customer_email, card_last4)
    VALUES (new.id, new.public_id, new.provider_payment_id, new.session_id, new.order_id, new.merchant_reference, new.customer_name, new.customer_email, new.card_last4);
END;
INSERT INTO payments_fts (payments_fts) VALUES ('rebuild');

-- How many payments each provider, status and currency has: the list's count for no
-- filter, or any of those three filters, is a sum over at most a few hundred rows here
-- instead of a count of up to a million index entries (19–31 ms). Triggers keep it in
-- step; the bulk loader drops them and fills the table once at the end (bulk.go).
CREATE TABLE payment_counts (
    provider TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    currency TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (provider, status, currency)
) STRICT, WITHOUT ROWID;
INSERT INTO payment_counts (provider, status, currency, n)
SELECT provider, status, currency, count(*) FROM payments GROUP BY provider, status, currency;
CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payment_counts (provider, status, currency, n) VALUES (new.provider, new.status, new.currency, 1)
        ON CONFLICT (provider, status, currency) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE provider = old.provider AND status = old.status AND currency = old.currency;
END;
CREATE TRIGGER payment_counts_update AFTER UPDATE OF provider, status, currency ON payments
    WHEN old.provider IS NOT new.provider OR old.status IS NOT new.status OR old.currency IS NOT new.currency BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE provider = old.provider AND status = old.status AND currency = old.currency;
    INSERT INTO payment_counts (provider, status, currency, n) VALUES (new.provider, new.status, new.currency, 1)
        ON CONFLICT (provider, status, currency) DO UPDATE SET n = n + 1;
END;
