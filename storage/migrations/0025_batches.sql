-- Bulk refunds and cancellations (storage/batches.go, docs/batches.md): a batch is a list
-- of items brought in from a CSV upload or the payments list, judged item by item by a
-- dry run (the preview) and kept as a draft. A draft batch is never run: execution,
-- approval and the undo window come later (issue 18).
CREATE TABLE batches (
    id             INTEGER PRIMARY KEY,
    public_id      TEXT    NOT NULL UNIQUE,           -- "bt_" and 12 lower-case hex characters
    kind           TEXT    NOT NULL CHECK (kind IN ('refund', 'cancel')),
    state          TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN ('draft')),
    source         TEXT    NOT NULL CHECK (source IN ('csv', 'list')),
    query          TEXT    NOT NULL DEFAULT '',       -- the payments list's filter, when from the list
    created_by     TEXT    NOT NULL,                  -- the creator's e-mail
    created_by_key TEXT    NOT NULL DEFAULT '',       -- the creator's person key
    created_at     INTEGER NOT NULL,
    items          INTEGER NOT NULL,                  -- how many items
    ready          INTEGER NOT NULL,                  -- how many would run
    set_aside      INTEGER NOT NULL,                  -- how many cannot run
    totals         TEXT    NOT NULL DEFAULT '{}'      -- JSON: currency -> minor units of the ready items
) STRICT;
CREATE INDEX batches_created ON batches (created_at DESC, id DESC);

CREATE TABLE batch_items (
    batch_id      INTEGER NOT NULL REFERENCES batches (id),
    line          INTEGER NOT NULL,                   -- the CSV line (from the list: the row's position)
    input         TEXT    NOT NULL,                   -- the payment as given (a Paydesk or provider id)
    payment_id    INTEGER REFERENCES payments (id),   -- NULL when not found
    amount        INTEGER NOT NULL DEFAULT 0,         -- minor units; 0 when unknown
    currency      TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    note          TEXT    NOT NULL DEFAULT '',
    verdict       TEXT    NOT NULL CHECK (verdict IN ('ready', 'set_aside')),
    why           TEXT    NOT NULL DEFAULT '',        -- in plain words
    approval_rule TEXT    NOT NULL DEFAULT '',        -- the approval rule that would hold it back
    PRIMARY KEY (batch_id, line)
) STRICT;
CREATE INDEX batch_items_payment ON batch_items (payment_id) WHERE payment_id IS NOT NULL;
