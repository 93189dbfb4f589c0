-- Paydesk's PostgreSQL schema as of version 18: what the SQLite migrations 0001–0018
-- (storage/migrations/*.sql) produce, in one file. Their comments say why each table,
-- index and trigger exists; docs/postgres-schema.md says how this file translates them.
-- Later migrations are 0019 onwards, in both folders.
--
-- Conventions the Go code relies on, so that most SQL is shared by both engines:
--   - INTEGER is BIGINT: times are unix milliseconds, money is minor units, and flags
--     stay 0/1 (voided, instant), so "= 1" reads the same on both.
--   - A rowid alias (INTEGER PRIMARY KEY) is an identity column BY DEFAULT: explicit ids
--     stay insertable (copying a SQLite database), and paydesk_reset_identities() moves
--     the sequences past them afterwards.
--   - Same table, column, index and trigger names as SQLite; same column order (columns
--     SQLite added with ALTER TABLE come last, as there).
--   - "x = ? COLLATE NOCASE" works unchanged: PostgreSQL folds NOCASE to the nocase
--     collation below.

-- Case-insensitive comparison (SQLite's NOCASE): ICU's root locale at secondary strength
-- ignores case and keeps accents. Nondeterministic: PostgreSQL 15 refuses LIKE and
-- strpos on it (instr below compares bytes instead).
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- SQLite scalar functions the shared SQL uses. Plain SQL functions, inlined by the planner.

-- instr is SQLite's: where needle starts in haystack (1-based, 0 when absent), comparing
-- code points whatever the operands' collation.
CREATE FUNCTION instr(haystack text, needle text) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN strpos(haystack COLLATE "C", needle COLLATE "C");

-- iif is SQLite's: b when c is false or NULL. anycompatible lets iif(x, amount, 0) mix
-- bigint and integer as SQLite does. (A polymorphic function cannot have a standard body.)
CREATE FUNCTION iif(c boolean, a anycompatible, b anycompatible) RETURNS anycompatible
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT CASE WHEN c THEN a ELSE b END';

-- Full-text search. SQLite's payments_fts (FTS5, "unicode61 remove_diacritics 2
-- tokenchars '_-'") becomes a tsvector built here the same way: lowercased, Latin
-- diacritics removed, words of letters, digits, '_' and '-' ('.', '@' and spaces
-- separate), each with its position so that phrases ('jules' <-> 'thomas31') work.
-- unaccent() and to_tsvector's parser are not the same words (and unaccent is not
-- IMMUTABLE), hence a fixed table.
--
-- paydesk_fold lowercases (ICU, whatever the database's locale) and removes diacritics
-- as the tokenizer does: the table maps each lowercase Latin letter unicode61 strips to
-- its base letter (generated from SQLite itself: every code point of Latin-1, Latin
-- Extended-A/B and Latin Extended Additional; storage/pg_schema_test.go checks it), the
-- Greek letter variants it folds, and deletes the combining marks it drops (ICU lowers
-- 'İ' to 'i' + U+0307). Go may fold a search with it too: paydesk_fold(?)::tsquery.
-- Standard SQL bodies (RETURN, BEGIN ATOMIC) are bound when created, not looked up by
-- search_path when run: the generated column and indexes below stay valid under any
-- search_path (pg_restore runs with an empty one).
CREATE FUNCTION paydesk_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    -- ASCII text (most of it: ids, e-mails, card digits) has nothing to strip: lower() in
    -- the C collation alone, 2–5 µs where the translate() below costs 60–160 µs a row. A
    -- string is ASCII when its UTF-8 bytes are as many as its characters.
    RETURN CASE WHEN octet_length(t) = char_length(t) THEN lower(t COLLATE "C") COLLATE "und-x-icu"
        ELSE translate(lower(t COLLATE "und-x-icu"),
        'àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹµςϐϑϕϖϰϱϵ' || U&'\0300\0301\0302\0303\0304\0306\0307\0308\0309\030A\030B\030C\030F\0311\031B\0323\0324\0325\0326\0327\0328\032D\032E\0330\0331',
        'aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuuagkoojgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttttuuuuuvvwwwwwxxyzzzhtwysaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyyμσβθφπκρε') END;

-- paydesk_words is t's words as a tsvector with positions, as payments_fts indexes them.
-- (regexp_split_to_array then unnest rather than regexp_split_to_table: with
-- paydesk_fold's ASCII path, a payment's search column costs about 90 µs instead of 470.)
-- A word of 2 KB or more (no payment field has one) is left out: tsvector cannot hold it.
CREATE FUNCTION paydesk_words(t text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(string_agg('''' || replace(replace(w, '\', '\\'), '''', '''''') || ''':' || n, ' ' ORDER BY n), '')::tsvector
      FROM unnest(regexp_split_to_array(paydesk_fold(t) COLLATE "und-x-icu", '[^[:alnum:]_-]+')) WITH ORDINALITY AS s (w, n)
     WHERE w <> '' AND octet_length(w) < 2048;
END;

-- paydesk_reset_identities moves every identity sequence of this schema past the
-- largest id stored, after rows were copied in with their ids (a sequence does not move
-- for explicit ids: the next default id would collide).
CREATE FUNCTION paydesk_reset_identities() RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attrelid::regclass AS tbl, a.attname AS col
               FROM pg_attribute a JOIN pg_class k ON k.oid = a.attrelid
              WHERE a.attidentity <> '' AND NOT a.attisdropped AND k.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce(max(%I), 0) + 1, false) FROM %s',
            c.tbl, c.col, c.col, c.tbl);
    END LOOP;
END $$;

-- Tables, as SQLite has them after 0018 (0001_schema.sql and the ALTERs after it).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE payments (
    id                  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,             -- Paydesk's own id, "pd_…"
    provider            TEXT    NOT NULL,                    -- any registered provider (0013)
    provider_payment_id TEXT    NOT NULL DEFAULT '',         -- the provider's payment id
    session_id          TEXT    NOT NULL DEFAULT '',         -- the provider's session id
    order_id            TEXT    NOT NULL DEFAULT '',         -- the provider's order id
    merchant_reference  TEXT    NOT NULL DEFAULT '',
    amount              BIGINT  NOT NULL CHECK (amount >= 0),
    captured            BIGINT  NOT NULL DEFAULT 0 CHECK (captured >= 0),
    refunded            BIGINT  NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    currency            TEXT    NOT NULL CHECK (length(currency) = 3),
    status              TEXT    NOT NULL,                    -- Paydesk's normalised status
    raw_status          TEXT    NOT NULL DEFAULT '',         -- the provider's, verbatim
    state_detail        TEXT    NOT NULL DEFAULT '',         -- the provider's state detail
    error_code          TEXT    NOT NULL DEFAULT '',         -- the provider's error or status code
    session_status      TEXT    NOT NULL DEFAULT '',         -- the provider's session status
    method              TEXT    NOT NULL DEFAULT '',         -- the provider's payment method
    mode                TEXT    NOT NULL DEFAULT '',         -- the provider's mode
    voided              BIGINT  NOT NULL DEFAULT 0,          -- 1: the authorisation was voided
    instant             BIGINT  NOT NULL DEFAULT 0,          -- 1: an instant transfer
    validate_uri        TEXT    NOT NULL DEFAULT '',
    customer_name       TEXT    NOT NULL DEFAULT '',
    customer_email      TEXT    NOT NULL DEFAULT '',
    card_last4          TEXT    NOT NULL DEFAULT '',
    description         TEXT    NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,                    -- when the provider created it
    updated_at          BIGINT  NOT NULL,                    -- when Paydesk last changed the row
    raw_json            TEXT    NOT NULL DEFAULT '{}',       -- the provider's last objects (import envelope)
    account             TEXT    NOT NULL DEFAULT 'default',  -- the provider's account (0014)
    -- What payments_fts indexes on SQLite: the words of the ids, reference, name, e-mail
    -- and last 4, kept by PostgreSQL itself (no triggers). Never written by Go.
    search_words        TSVECTOR GENERATED ALWAYS AS (paydesk_words(public_id || ' ' || provider_payment_id || ' ' ||
        session_id || ' ' || order_id || ' ' || merchant_reference || ' ' || customer_name || ' ' ||
        customer_email || ' ' || card_last4)) STORED
);
CREATE INDEX payments_reference ON payments (merchant_reference) WHERE merchant_reference <> '';
CREATE INDEX payments_email     ON payments (customer_email COLLATE nocase, created_at DESC);
CREATE INDEX payments_last4     ON payments (card_last4, created_at DESC) WHERE card_last4 <> '';
CREATE INDEX payments_created          ON payments (created_at DESC, id DESC, provider, status, currency, amount);
CREATE INDEX payments_provider_created ON payments (provider, created_at DESC, id DESC, status, currency, amount);
CREATE INDEX payments_status_created   ON payments (status, created_at DESC, id DESC, provider, currency, amount);
CREATE INDEX payments_currency_created ON payments (currency, created_at DESC, id DESC, provider, status, amount);
CREATE INDEX payments_currency_amount  ON payments (currency, amount, created_at DESC, id DESC, provider, status);
-- The provider's id leads (SQLite's lead with provider, account): the same uniqueness,
-- and a search by an id alone is one seek. SQLite reaches those by skipping through the
-- few providers and accounts (payments_list.go's idMatchSQL); PostgreSQL 15 cannot skip,
-- and read the whole index instead (290 ms on a million payments).
CREATE UNIQUE INDEX payments_provider_payment ON payments (provider_payment_id, provider, account) WHERE provider_payment_id <> '';
CREATE UNIQUE INDEX payments_provider_session ON payments (session_id, provider, account) WHERE session_id <> '';
CREATE UNIQUE INDEX payments_provider_order   ON payments (order_id, provider, account) WHERE order_id <> '';
CREATE INDEX payments_account_created ON payments (provider, account, created_at DESC, id DESC, status, currency, amount);
-- The search: every field's words (search_words @@ 'jean':* & 'dup':*), and the e-mail's
-- alone for a part of an e-mail (paydesk_words(customer_email) @@ 'jules' <-> 'thomas31'),
-- as SQLite's "customer_email : …" column filter.
CREATE INDEX payments_search_words ON payments USING gin (search_words);
CREATE INDEX payments_email_words  ON payments USING gin (paydesk_words(customer_email));

CREATE TABLE events (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,            -- a person's e-mail, or provider / webhook / reconciler / import / payer
    kind       TEXT   NOT NULL,            -- imported, refreshed, action_started, action_finished, webhook, link_*, refund_*
    message    TEXT   NOT NULL,
    data       TEXT   NOT NULL DEFAULT '{}'
);
CREATE INDEX events_payment ON events (payment_id, at, id);

CREATE TABLE refunds (
    id                  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    payment_id          BIGINT NOT NULL REFERENCES payments (id),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    currency            TEXT   NOT NULL,
    status              TEXT   NOT NULL CHECK (status IN ('awaiting_approval', 'approved', 'pending', 'succeeded', 'failed', 'unknown', 'rejected', 'expired')),
    reason              TEXT   NOT NULL DEFAULT '',
    note                TEXT   NOT NULL DEFAULT '',
    requested_by        TEXT   NOT NULL,          -- e-mail, or 'provider' for refunds learnt from the provider
    requested_at        BIGINT NOT NULL,
    approval_expires_at BIGINT,                   -- set while awaiting approval
    provider_refund_id  TEXT   NOT NULL DEFAULT '',
    idempotency_key     TEXT   UNIQUE,            -- the form's key; NULL for refunds learnt from the provider
    message             TEXT   NOT NULL DEFAULT '', -- the provider's words / the outcome in plain words
    updated_at          BIGINT NOT NULL,
    provider            TEXT   NOT NULL DEFAULT '', -- the payment's (0004), filled by refunds_fill_payment
    payment_public_id   TEXT   NOT NULL DEFAULT '', -- the payment's (0005), idem
    customer_name       TEXT   NOT NULL DEFAULT '', -- the payment's (0005), idem
    approval_rule       TEXT   NOT NULL DEFAULT '', -- 0008
    approval_why        TEXT   NOT NULL DEFAULT '', -- 0008
    requested_by_key    TEXT   NOT NULL DEFAULT ''  -- 0012
);
CREATE INDEX refunds_payment ON refunds (payment_id, status);
CREATE UNIQUE INDEX refunds_provider_id ON refunds (payment_id, provider_refund_id) WHERE provider_refund_id <> '';
CREATE INDEX refunds_requested ON refunds (requested_at DESC, id DESC, currency, status, amount, provider, reason, requested_by);
CREATE INDEX refunds_status   ON refunds (status, id, currency, provider, reason, requested_by, requested_at, amount);
CREATE INDEX refunds_currency ON refunds (currency, id, status, provider, reason, requested_by, requested_at, amount);
CREATE INDEX refunds_requester_key ON refunds (requested_by_key, requested_by COLLATE nocase, id);
CREATE INDEX refunds_status_updated ON refunds (status, updated_at, payment_id);

CREATE TABLE refund_approvals (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    refund_id  BIGINT NOT NULL UNIQUE REFERENCES refunds (id),
    decided_by TEXT   NOT NULL,
    decision   TEXT   NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason     TEXT   NOT NULL DEFAULT '',
    decided_at BIGINT NOT NULL,
    -- what was approved, bound to the request: a changed refund is not the approved one
    amount     BIGINT NOT NULL,
    currency   TEXT   NOT NULL,
    payment_id BIGINT NOT NULL REFERENCES payments (id)
);
CREATE INDEX refund_approvals_decider ON refund_approvals (decided_by COLLATE nocase, decision, refund_id);
CREATE INDEX refund_approvals_decided ON refund_approvals (decided_at);

CREATE TABLE actions (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    payment_id      BIGINT NOT NULL REFERENCES payments (id),
    kind            TEXT   NOT NULL CHECK (kind IN ('cancel', 'void', 'expire', 'refund', 'refresh', 'payer_link')),
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'needs_payer', 'unknown')),
    amount          BIGINT NOT NULL DEFAULT 0,
    currency        TEXT   NOT NULL DEFAULT '',
    refund_id       BIGINT REFERENCES refunds (id),
    idempotency_key TEXT   NOT NULL UNIQUE,
    actor           TEXT   NOT NULL,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    outcome         TEXT   NOT NULL DEFAULT '',   -- done, needs_payer, not_supported, refused, unknown
    message         TEXT   NOT NULL DEFAULT '',   -- safe words shown to staff
    provider_answer TEXT   NOT NULL DEFAULT '',   -- the provider's raw answer, for the record
    payer_nonce     TEXT   NOT NULL DEFAULT ''    -- 0015
);
CREATE INDEX actions_payment ON actions (payment_id, started_at);
CREATE INDEX actions_state ON actions (state, started_at) WHERE state IN ('pending', 'unknown', 'needs_payer', 'failed');
CREATE UNIQUE INDEX actions_one_open ON actions (payment_id)
    WHERE state IN ('pending', 'unknown') AND kind IN ('cancel', 'void', 'expire', 'refund');

CREATE TABLE payer_links (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    payment_id  BIGINT NOT NULL REFERENCES payments (id),
    action_id   BIGINT REFERENCES actions (id),
    state       TEXT   NOT NULL CHECK (state IN ('active', 'superseded', 'confirmed', 'abandoned', 'expired')),
    kind        TEXT   NOT NULL CHECK (kind IN ('webview', 'validate_uri')),
    url         TEXT   NOT NULL,
    nonce       TEXT   NOT NULL UNIQUE,      -- carried inside the signed state
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    returned_at BIGINT,
    outcome     TEXT   NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    state_nonce TEXT   NOT NULL DEFAULT '',  -- 0015
    token       TEXT,                        -- 0015
    payer_said  TEXT   NOT NULL DEFAULT ''   -- 0015
);
CREATE INDEX payer_links_payment ON payer_links (payment_id, created_at);
CREATE INDEX payer_links_state ON payer_links (state, expires_at);
CREATE UNIQUE INDEX payer_links_one_live ON payer_links (payment_id) WHERE state IN ('active', 'abandoned');
CREATE INDEX payer_links_state_nonce ON payer_links (state_nonce);
CREATE UNIQUE INDEX payer_links_token ON payer_links (token) WHERE token IS NOT NULL;
CREATE INDEX payer_links_state_created ON payer_links (state, created_at);

CREATE TABLE audit_log (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    remote     TEXT   NOT NULL DEFAULT '',   -- where from (IP)
    kind       TEXT   NOT NULL,              -- sign_in, sign_out, refused, action, approval, link, export, …
    payment_id BIGINT,
    message    TEXT   NOT NULL,
    data       TEXT   NOT NULL DEFAULT '{}',
    prev_hash  TEXT   NOT NULL,
    hash       TEXT   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_kind ON audit_log (kind, at DESC);

CREATE TABLE webhook_events (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider    TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    event_key   TEXT   NOT NULL DEFAULT '',   -- dedupe key (a request id, a body hash…)
    event_type  TEXT   NOT NULL DEFAULT '',
    payment_id  BIGINT REFERENCES payments (id),
    verdict     TEXT   NOT NULL,              -- applied, duplicate, stale, bad_signature, unknown_payment, malformed
    detail      TEXT   NOT NULL DEFAULT '',
    headers     TEXT   NOT NULL DEFAULT '{}',
    body        BYTEA  NOT NULL,
    body_sha256 TEXT   NOT NULL DEFAULT '',   -- 0010
    body_size   BIGINT NOT NULL DEFAULT -1,   -- 0010: -1 is "not recorded: the body is whole"
    excerpt     TEXT   NOT NULL DEFAULT ''    -- 0010
);
CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);
CREATE INDEX webhook_events_key ON webhook_events (provider, event_key) WHERE event_key <> '';
CREATE INDEX webhook_events_refused ON webhook_events (received_at) WHERE verdict IN ('bad_signature', 'malformed');

-- The refund history's summaries (0005, 0006). refund_days_people compares the people
-- without case, as its SQLite columns do (COLLATE NOCASE): its primary key groups
-- 'Ann@x' and 'ann@x' together, as there.
CREATE TABLE refund_days (
    day      BIGINT NOT NULL,
    provider TEXT   NOT NULL,
    currency TEXT   NOT NULL,
    status   TEXT   NOT NULL,
    reason   TEXT   NOT NULL,
    n        BIGINT NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (day, currency, provider, status, reason)
);
CREATE INDEX refund_days_status   ON refund_days (status, day, currency, provider, reason, n, amount);
CREATE INDEX refund_days_reason   ON refund_days (reason, day, currency, provider, status, n, amount);
CREATE INDEX refund_days_currency ON refund_days (currency, day, provider, status, reason, n, amount);

CREATE TABLE refund_days_people (
    requested_by TEXT   NOT NULL COLLATE nocase,
    approved_by  TEXT   NOT NULL COLLATE nocase,
    day          BIGINT NOT NULL,
    provider     TEXT   NOT NULL,
    currency     TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    reason       TEXT   NOT NULL,
    n            BIGINT NOT NULL,
    amount       BIGINT NOT NULL,
    PRIMARY KEY (requested_by, day, currency, approved_by, provider, status, reason)
);
CREATE INDEX refund_days_approver ON refund_days_people (approved_by, day, currency, requested_by, provider, status, reason, n, amount);

CREATE TABLE refund_day_totals (
    day      BIGINT NOT NULL,
    currency TEXT   NOT NULL,
    provider TEXT   NOT NULL,
    status   TEXT   NOT NULL,
    n        BIGINT NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (day, currency, provider, status)
);

-- 0007: one row, moved by every change to refund_day_totals. Not an identity: its id is
-- always 1.
CREATE TABLE refund_summary_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    v  BIGINT NOT NULL
);
INSERT INTO refund_summary_version (id, v) VALUES (1, 1);

CREATE TABLE sessions (
    id_hash      BYTEA  PRIMARY KEY CHECK (length(id_hash) = 32),
    subject      TEXT   NOT NULL DEFAULT '',
    email        TEXT   NOT NULL DEFAULT '',
    name         TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT '',
    signed_in_at BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    data         TEXT   NOT NULL
);
CREATE INDEX sessions_subject ON sessions (subject, last_seen);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- 0011. A payment's own id is the key: not an identity.
CREATE TABLE payment_anomalies (
    payment_id BIGINT PRIMARY KEY REFERENCES payments (id),
    message    TEXT   NOT NULL,   -- what cannot be right, in plain words
    since      BIGINT NOT NULL,   -- when Paydesk first saw it (unix ms)
    actor      TEXT   NOT NULL    -- who brought the answer: webhook, import, reconciler, a person
);
CREATE INDEX payment_anomalies_since ON payment_anomalies (since DESC, payment_id DESC);

-- 0018: payments per provider, status and currency.
CREATE TABLE payment_counts (
    provider TEXT   NOT NULL,
    status   TEXT   NOT NULL,
    currency TEXT   NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (provider, status, currency)
);

-- Triggers. Each SQLite trigger is a trigger of the same name here, running a function of
-- the same name that makes the same statements (a trigger function returns NULL from an
-- AFTER trigger). "ON CONFLICT DO UPDATE" names its key, as PostgreSQL requires, and
-- "n = n + excluded.n" names the table's n, which is ambiguous here.

-- The audit log is append-only (0001). TRUNCATE, which SQLite does not have, is refused
-- too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- A refund carries its payment's provider, public id and customer name (0004, 0005).
-- SQLite updates the row after its insert; here it is filled before, which leaves the
-- same row and the same summaries (SQLite's extra update only moved the refund from
-- provider '' to its provider in refund_days).
CREATE FUNCTION refunds_fill_payment() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.provider, p.public_id, p.customer_name INTO NEW.provider, NEW.payment_public_id, NEW.customer_name
      FROM payments p WHERE p.id = NEW.payment_id;
    RETURN NEW;
END $$;
CREATE TRIGGER refunds_fill_payment BEFORE INSERT ON refunds
    FOR EACH ROW WHEN (NEW.payment_public_id = '' OR NEW.provider = '')
    EXECUTE FUNCTION refunds_fill_payment();

CREATE FUNCTION payments_refunds_customer() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refunds SET payment_public_id = NEW.public_id, customer_name = NEW.customer_name WHERE payment_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER payments_refunds_customer AFTER UPDATE OF public_id, customer_name ON payments
    FOR EACH ROW WHEN (OLD.public_id IS DISTINCT FROM NEW.public_id OR OLD.customer_name IS DISTINCT FROM NEW.customer_name)
    EXECUTE FUNCTION payments_refunds_customer();

-- refund_days and refund_days_people (0005): each change subtracts the old row's
-- contribution and adds the new one's, and removes a group whose count falls to zero.
-- The statements SQLite repeats are these helpers: an upsert followed by the delete of
-- the same group when its count is zero.

-- refund_days_add adds n refunds of amount to one group of refund_days.
CREATE FUNCTION refund_days_add(p_day bigint, p_provider text, p_currency text, p_status text, p_reason text,
        p_n bigint, p_amount bigint) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refund_days AS t (day, provider, currency, status, reason, n, amount)
        VALUES (p_day, p_provider, p_currency, p_status, p_reason, p_n, p_amount)
        ON CONFLICT (day, currency, provider, status, reason)
        DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount;
    DELETE FROM refund_days WHERE day = p_day AND provider = p_provider
        AND currency = p_currency AND status = p_status AND reason = p_reason AND n = 0;
END $$;

-- refund_days_people_add adds n refunds of amount to one group of refund_days_people.
CREATE FUNCTION refund_days_people_add(p_requested_by text, p_approved_by text, p_day bigint, p_provider text,
        p_currency text, p_status text, p_reason text, p_n bigint, p_amount bigint) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refund_days_people AS t (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        VALUES (p_requested_by, p_approved_by, p_day, p_provider, p_currency, p_status, p_reason, p_n, p_amount)
        ON CONFLICT (requested_by, day, currency, approved_by, provider, status, reason)
        DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount;
    DELETE FROM refund_days_people WHERE requested_by = p_requested_by AND approved_by = p_approved_by
        AND day = p_day AND provider = p_provider AND currency = p_currency
        AND status = p_status AND reason = p_reason AND n = 0;
END $$;

-- refund_days_approver is who approved a refund, '' when nobody did (yet).
CREATE FUNCTION refund_days_approver(p_refund_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT decided_by FROM refund_approvals WHERE refund_id = p_refund_id AND decision = 'approved'), '')
$$;

CREATE FUNCTION refund_days_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_days_add(NEW.requested_at / 86400000, NEW.provider, NEW.currency, NEW.status, NEW.reason, 1, NEW.amount);
    PERFORM refund_days_people_add(NEW.requested_by, refund_days_approver(NEW.id), NEW.requested_at / 86400000,
        NEW.provider, NEW.currency, NEW.status, NEW.reason, 1, NEW.amount);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_insert AFTER INSERT ON refunds
    FOR EACH ROW EXECUTE FUNCTION refund_days_insert();

CREATE FUNCTION refund_days_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_days_add(OLD.requested_at / 86400000, OLD.provider, OLD.currency, OLD.status, OLD.reason, -1, -OLD.amount);
    PERFORM refund_days_people_add(OLD.requested_by, refund_days_approver(OLD.id), OLD.requested_at / 86400000,
        OLD.provider, OLD.currency, OLD.status, OLD.reason, -1, -OLD.amount);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_delete AFTER DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refund_days_delete();

CREATE FUNCTION refund_days_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_days_add(OLD.requested_at / 86400000, OLD.provider, OLD.currency, OLD.status, OLD.reason, -1, -OLD.amount);
    PERFORM refund_days_add(NEW.requested_at / 86400000, NEW.provider, NEW.currency, NEW.status, NEW.reason, 1, NEW.amount);
    PERFORM refund_days_people_add(OLD.requested_by, refund_days_approver(OLD.id), OLD.requested_at / 86400000,
        OLD.provider, OLD.currency, OLD.status, OLD.reason, -1, -OLD.amount);
    PERFORM refund_days_people_add(NEW.requested_by, refund_days_approver(NEW.id), NEW.requested_at / 86400000,
        NEW.provider, NEW.currency, NEW.status, NEW.reason, 1, NEW.amount);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_update AFTER UPDATE OF id, requested_at, provider, currency, status, reason, amount, requested_by ON refunds
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.requested_at / 86400000 IS DISTINCT FROM NEW.requested_at / 86400000
        OR OLD.provider IS DISTINCT FROM NEW.provider OR OLD.currency IS DISTINCT FROM NEW.currency
        OR OLD.status IS DISTINCT FROM NEW.status OR OLD.reason IS DISTINCT FROM NEW.reason
        OR OLD.amount IS DISTINCT FROM NEW.amount OR OLD.requested_by IS DISTINCT FROM NEW.requested_by)
    EXECUTE FUNCTION refund_days_update();

-- A decision moves its refund between approved_by '' and the approving manager.
-- refund_days_people_move adds the refund's contribution n times (1 or -1) to the group
-- of approver; refund_days_people_prune then removes the refund's groups of approver a
-- or b whose count fell to zero (SQLite's statements, in its order).
CREATE FUNCTION refund_days_people_move(p_refund_id bigint, p_approved_by text, p_n bigint) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refund_days_people AS t (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
        SELECT r.requested_by, p_approved_by, r.requested_at / 86400000, r.provider, r.currency, r.status, r.reason,
            p_n, p_n * r.amount
        FROM refunds r WHERE r.id = p_refund_id
        ON CONFLICT (requested_by, day, currency, approved_by, provider, status, reason)
        DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount;
END $$;

CREATE FUNCTION refund_days_people_prune(p_refund_id bigint, p_a text, p_b text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM refund_days_people WHERE n = 0 AND approved_by IN (p_a, p_b)
        AND requested_by = (SELECT requested_by FROM refunds WHERE id = p_refund_id)
        AND day = (SELECT requested_at / 86400000 FROM refunds WHERE id = p_refund_id)
        AND provider = (SELECT provider FROM refunds WHERE id = p_refund_id)
        AND currency = (SELECT currency FROM refunds WHERE id = p_refund_id)
        AND status = (SELECT status FROM refunds WHERE id = p_refund_id)
        AND reason = (SELECT reason FROM refunds WHERE id = p_refund_id);
END $$;

CREATE FUNCTION refund_days_approval_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_days_people_move(NEW.refund_id, '', -1);
    PERFORM refund_days_people_move(NEW.refund_id, NEW.decided_by, 1);
    PERFORM refund_days_people_prune(NEW.refund_id, '', NEW.decided_by);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_approval_insert AFTER INSERT ON refund_approvals
    FOR EACH ROW WHEN (NEW.decision = 'approved') EXECUTE FUNCTION refund_days_approval_insert();

CREATE FUNCTION refund_days_approval_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_days_people_move(OLD.refund_id, OLD.decided_by, -1);
    PERFORM refund_days_people_move(OLD.refund_id, '', 1);
    PERFORM refund_days_people_prune(OLD.refund_id, '', OLD.decided_by);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_approval_delete AFTER DELETE ON refund_approvals
    FOR EACH ROW WHEN (OLD.decision = 'approved') EXECUTE FUNCTION refund_days_approval_delete();

CREATE FUNCTION refund_days_approval_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- The old decision's refund goes back to no approver…
    PERFORM refund_days_people_move(OLD.refund_id, iif(OLD.decision = 'approved', OLD.decided_by, ''), -1);
    PERFORM refund_days_people_move(OLD.refund_id, '', 1);
    PERFORM refund_days_people_prune(OLD.refund_id, '', OLD.decided_by);
    -- … and the new decision's refund moves to its approver, if approved.
    PERFORM refund_days_people_move(NEW.refund_id, '', -1);
    PERFORM refund_days_people_move(NEW.refund_id, iif(NEW.decision = 'approved', NEW.decided_by, ''), 1);
    PERFORM refund_days_people_prune(NEW.refund_id, '', NEW.decided_by);
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_approval_update AFTER UPDATE OF refund_id, decided_by, decision ON refund_approvals
    FOR EACH ROW WHEN (OLD.refund_id IS DISTINCT FROM NEW.refund_id OR OLD.decided_by IS DISTINCT FROM NEW.decided_by
        OR OLD.decision IS DISTINCT FROM NEW.decision)
    EXECUTE FUNCTION refund_days_approval_update();

-- refund_day_totals is refund_days summed over the reasons (0006), kept from refund_days.

-- refund_day_totals_add adds n refunds of amount to one group of refund_day_totals.
CREATE FUNCTION refund_day_totals_add(p_day bigint, p_currency text, p_provider text, p_status text,
        p_n bigint, p_amount bigint) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refund_day_totals AS t (day, currency, provider, status, n, amount)
        VALUES (p_day, p_currency, p_provider, p_status, p_n, p_amount)
        ON CONFLICT (day, currency, provider, status)
        DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount;
END $$;

CREATE FUNCTION refund_days_totals_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_day_totals_add(NEW.day, NEW.currency, NEW.provider, NEW.status, NEW.n, NEW.amount);
    DELETE FROM refund_day_totals WHERE day = NEW.day AND currency = NEW.currency
        AND provider = NEW.provider AND status = NEW.status AND n = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_totals_insert AFTER INSERT ON refund_days
    FOR EACH ROW EXECUTE FUNCTION refund_days_totals_insert();

CREATE FUNCTION refund_days_totals_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_day_totals_add(OLD.day, OLD.currency, OLD.provider, OLD.status, -OLD.n, -OLD.amount);
    DELETE FROM refund_day_totals WHERE day = OLD.day AND currency = OLD.currency
        AND provider = OLD.provider AND status = OLD.status AND n = 0;
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_totals_delete AFTER DELETE ON refund_days
    FOR EACH ROW EXECUTE FUNCTION refund_days_totals_delete();

CREATE FUNCTION refund_days_totals_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refund_day_totals_add(OLD.day, OLD.currency, OLD.provider, OLD.status, -OLD.n, -OLD.amount);
    PERFORM refund_day_totals_add(NEW.day, NEW.currency, NEW.provider, NEW.status, NEW.n, NEW.amount);
    DELETE FROM refund_day_totals WHERE n = 0 AND ((day = OLD.day AND currency = OLD.currency
        AND provider = OLD.provider AND status = OLD.status) OR (day = NEW.day AND currency = NEW.currency
        AND provider = NEW.provider AND status = NEW.status));
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_totals_update AFTER UPDATE ON refund_days
    FOR EACH ROW EXECUTE FUNCTION refund_days_totals_update();

-- Every change to refund_day_totals moves the summary's version (0007), row by row as
-- SQLite does.
CREATE FUNCTION refund_days_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE refund_summary_version SET v = v + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER refund_days_version_insert AFTER INSERT ON refund_day_totals
    FOR EACH ROW EXECUTE FUNCTION refund_days_version();
CREATE TRIGGER refund_days_version_update AFTER UPDATE ON refund_day_totals
    FOR EACH ROW EXECUTE FUNCTION refund_days_version();
CREATE TRIGGER refund_days_version_delete AFTER DELETE ON refund_day_totals
    FOR EACH ROW EXECUTE FUNCTION refund_days_version();

-- payment_counts (0018). A group whose count falls to zero stays, as on SQLite.
CREATE FUNCTION payment_counts_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_counts AS t (provider, status, currency, n) VALUES (NEW.provider, NEW.status, NEW.currency, 1)
        ON CONFLICT (provider, status, currency) DO UPDATE SET n = t.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_counts_insert AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION payment_counts_insert();

CREATE FUNCTION payment_counts_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE provider = OLD.provider AND status = OLD.status AND currency = OLD.currency;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_counts_delete AFTER DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payment_counts_delete();

CREATE FUNCTION payment_counts_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payment_counts SET n = n - 1 WHERE provider = OLD.provider AND status = OLD.status AND currency = OLD.currency;
    INSERT INTO payment_counts AS t (provider, status, currency, n) VALUES (NEW.provider, NEW.status, NEW.currency, 1)
        ON CONFLICT (provider, status, currency) DO UPDATE SET n = t.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_counts_update AFTER UPDATE OF provider, status, currency ON payments
    FOR EACH ROW WHEN (OLD.provider IS DISTINCT FROM NEW.provider OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION payment_counts_update();

-- Every commit that changes a table tells every instance (storage/postgres.go): each
-- instance LISTENs on paydesk_changes and empties its page cache on a notification.
-- pg_notify in a transaction is delivered at commit, once per transaction however many
-- statements fired it, and never for a rolled-back one. Tables added by later migrations
-- get the same trigger (see docs/postgres.md), except those whose writes change no page
-- (rate limits).
CREATE FUNCTION paydesk_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('paydesk_changes', '');
    RETURN NULL;
END $$;
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION paydesk_notify_change()',
            t || '_changed', t);
    END LOOP;
END $$;
