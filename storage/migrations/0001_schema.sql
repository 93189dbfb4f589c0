-- Paydesk schema, designed for the whole product: later migrations add columns, not rewrites.
-- Times are INTEGER unix milliseconds (UTC): compact, sortable, exact for keyset pagination.
-- Money is INTEGER minor units next to its ISO 4217 currency; never REAL.

-- settings keeps small server-side values the process must remember across restarts
-- (the demo's generated session keys, the demo seed).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE payments (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,             -- Paydesk's own id, "pd_…"
    provider            TEXT    NOT NULL CHECK (provider IN ('powens', 'bpc', 'tranzzo')),
    provider_payment_id TEXT    NOT NULL DEFAULT '',         -- Powens id, BPC p_…, Tranzzo payment_id
    session_id          TEXT    NOT NULL DEFAULT '',         -- BPC ps_…
    order_id            TEXT    NOT NULL DEFAULT '',         -- Tranzzo order_id
    merchant_reference  TEXT    NOT NULL DEFAULT '',
    amount              INTEGER NOT NULL CHECK (amount >= 0),
    captured            INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
    refunded            INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    currency            TEXT    NOT NULL CHECK (length(currency) = 3),
    status              TEXT    NOT NULL,                    -- Paydesk's normalised status
    raw_status          TEXT    NOT NULL DEFAULT '',         -- the provider's, verbatim
    state_detail        TEXT    NOT NULL DEFAULT '',         -- Powens state_detail
    error_code          TEXT    NOT NULL DEFAULT '',         -- Powens error_code, Tranzzo status_code
    session_status      TEXT    NOT NULL DEFAULT '',         -- BPC session status
    method              TEXT    NOT NULL DEFAULT '',         -- Tranzzo method
    mode                TEXT    NOT NULL DEFAULT '',         -- Tranzzo mode
    voided              INTEGER NOT NULL DEFAULT 0,          -- Tranzzo auth voided
    instant             INTEGER NOT NULL DEFAULT 0,          -- any Powens instruction is instant
    validate_uri        TEXT    NOT NULL DEFAULT '',
    customer_name       TEXT    NOT NULL DEFAULT '',
    customer_email      TEXT    NOT NULL DEFAULT '',
    card_last4          TEXT    NOT NULL DEFAULT '',
    description         TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,                    -- when the provider created it
    updated_at          INTEGER NOT NULL,                    -- when Paydesk last changed the row
    raw_json            TEXT    NOT NULL DEFAULT '{}'        -- the provider's last objects (import envelope)
) STRICT;

-- One row per provider object, whichever id it is found by.
CREATE UNIQUE INDEX payments_provider_payment ON payments (provider, provider_payment_id) WHERE provider_payment_id <> '';
CREATE UNIQUE INDEX payments_provider_session ON payments (provider, session_id) WHERE session_id <> '';
CREATE UNIQUE INDEX payments_provider_order   ON payments (provider, order_id) WHERE order_id <> '';
-- The default sort (newest first) and each filter followed by the sort key, so a filtered
-- page is an index range scan.
CREATE INDEX payments_created          ON payments (created_at DESC, id DESC);
CREATE INDEX payments_provider_created ON payments (provider, created_at DESC, id DESC);
CREATE INDEX payments_status_created   ON payments (status, created_at DESC, id DESC);
CREATE INDEX payments_currency_created ON payments (currency, created_at DESC, id DESC);
CREATE INDEX payments_amount           ON payments (amount);
-- Exact-key search: ids, reference, e-mail, last 4.
CREATE INDEX payments_payment_id  ON payments (provider_payment_id) WHERE provider_payment_id <> '';
CREATE INDEX payments_session_id  ON payments (session_id) WHERE session_id <> '';
CREATE INDEX payments_order_id    ON payments (order_id) WHERE order_id <> '';
CREATE INDEX payments_reference   ON payments (merchant_reference) WHERE merchant_reference <> '';
CREATE INDEX payments_email       ON payments (customer_email COLLATE NOCASE, created_at DESC);
CREATE INDEX payments_last4       ON payments (card_last4, created_at DESC) WHERE card_last4 <> '';

-- Full-text search over ids, reference, name, e-mail and last 4 (external content: the
-- text lives once, in payments; triggers keep the index in step).
CREATE VIRTUAL TABLE payments_fts USING fts5 (
    public_id, provider_payment_id, session_id, order_id, merchant_reference,
    customer_name, customer_email, card_last4,
    content = 'payments', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_-@.'"
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

-- The timeline: everything that happened to one payment, with who and when.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,            -- a person's e-mail, or provider / webhook / reconciler / import / payer
    kind       TEXT    NOT NULL,            -- imported, refreshed, action_started, action_finished, webhook, link_*, refund_*
    message    TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX events_payment ON events (payment_id, at, id);

-- Refunds: requested through Paydesk (with governance) or learnt from the provider.
CREATE TABLE refunds (
    id                 INTEGER PRIMARY KEY,
    payment_id         INTEGER NOT NULL REFERENCES payments (id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('awaiting_approval', 'approved', 'pending', 'succeeded', 'failed', 'unknown', 'rejected', 'expired')),
    reason             TEXT    NOT NULL DEFAULT '',
    note               TEXT    NOT NULL DEFAULT '',
    requested_by       TEXT    NOT NULL,          -- e-mail, or 'provider' for refunds learnt from the provider
    requested_at       INTEGER NOT NULL,
    approval_expires_at INTEGER,                  -- set while awaiting approval
    provider_refund_id TEXT    NOT NULL DEFAULT '',
    idempotency_key    TEXT    UNIQUE,            -- the form's key; NULL for refunds learnt from the provider
    message            TEXT    NOT NULL DEFAULT '', -- the provider's words / the outcome in plain words
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX refunds_payment ON refunds (payment_id, status);
CREATE INDEX refunds_requested ON refunds (requested_at DESC, id DESC);
CREATE INDEX refunds_status ON refunds (status, requested_at DESC);
CREATE INDEX refunds_currency ON refunds (currency, requested_at DESC);
CREATE UNIQUE INDEX refunds_provider_id ON refunds (payment_id, provider_refund_id) WHERE provider_refund_id <> '';

-- A manager's decision on a refund awaiting approval: at most one per refund, so two
-- managers deciding at once cannot both win.
CREATE TABLE refund_approvals (
    id         INTEGER PRIMARY KEY,
    refund_id  INTEGER NOT NULL UNIQUE REFERENCES refunds (id),
    decided_by TEXT    NOT NULL,
    decision   TEXT    NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason     TEXT    NOT NULL DEFAULT '',
    decided_at INTEGER NOT NULL,
    -- what was approved, bound to the request: a changed refund is not the approved one
    amount     INTEGER NOT NULL,
    currency   TEXT    NOT NULL,
    payment_id INTEGER NOT NULL REFERENCES payments (id)
) STRICT;

-- The journal: one row per provider call that changes something, written before the call.
CREATE TABLE actions (
    id              INTEGER PRIMARY KEY,
    payment_id      INTEGER NOT NULL REFERENCES payments (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('cancel', 'void', 'expire', 'refund', 'refresh', 'payer_link')),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'needs_payer', 'unknown')),
    amount          INTEGER NOT NULL DEFAULT 0,
    currency        TEXT    NOT NULL DEFAULT '',
    refund_id       INTEGER REFERENCES refunds (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    actor           TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    outcome         TEXT    NOT NULL DEFAULT '',   -- done, needs_payer, not_supported, refused, unknown
    message         TEXT    NOT NULL DEFAULT '',   -- safe words shown to staff
    provider_answer TEXT    NOT NULL DEFAULT ''    -- the provider's raw answer, for the record
) STRICT;
CREATE INDEX actions_payment ON actions (payment_id, started_at);
CREATE INDEX actions_state ON actions (state, started_at) WHERE state IN ('pending', 'unknown', 'needs_payer', 'failed');
-- At most one money-moving call in flight (pending or unknown) per payment.
CREATE UNIQUE INDEX actions_one_open ON actions (payment_id)
    WHERE state IN ('pending', 'unknown') AND kind IN ('cancel', 'void', 'expire', 'refund');

-- Links the payer opens to confirm an action (Powens cancellation).
CREATE TABLE payer_links (
    id          INTEGER PRIMARY KEY,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    action_id   INTEGER REFERENCES actions (id),
    state       TEXT    NOT NULL CHECK (state IN ('active', 'superseded', 'confirmed', 'abandoned', 'expired')),
    kind        TEXT    NOT NULL CHECK (kind IN ('webview', 'validate_uri')),
    url         TEXT    NOT NULL,
    nonce       TEXT    NOT NULL UNIQUE,      -- carried inside the signed state
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    returned_at INTEGER,
    outcome     TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX payer_links_payment ON payer_links (payment_id, created_at);
CREATE INDEX payer_links_state ON payer_links (state, expires_at);
-- One live link per payment: making a new one supersedes the old one.
CREATE UNIQUE INDEX payer_links_one_live ON payer_links (payment_id) WHERE state IN ('active', 'abandoned');

-- The audit log: append-only, each row chained to the previous by hash.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    remote     TEXT    NOT NULL DEFAULT '',   -- where from (IP)
    kind       TEXT    NOT NULL,              -- sign_in, sign_out, refused, action, approval, link, export, …
    payment_id INTEGER,
    message    TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_kind ON audit_log (kind, at DESC);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Every webhook received, raw, with how it was handled.
CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    provider     TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    event_key    TEXT    NOT NULL DEFAULT '',   -- dedupe key (BPC API-Request-Id, body hash…)
    event_type   TEXT    NOT NULL DEFAULT '',
    payment_id   INTEGER REFERENCES payments (id),
    verdict      TEXT    NOT NULL,              -- applied, duplicate, stale, bad_signature, unknown_payment, malformed
    detail       TEXT    NOT NULL DEFAULT '',
    headers      TEXT    NOT NULL DEFAULT '{}',
    body         BLOB    NOT NULL
) STRICT;
CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);
CREATE INDEX webhook_events_key ON webhook_events (provider, event_key) WHERE event_key <> '';
