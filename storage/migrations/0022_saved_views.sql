-- Saved views (storage/saved_views.go): a named state of the payments list — its search
-- and filters as the list's own query string — private to its owner or shared with the
-- team. A private view's name is unique for its owner, a shared one's among the shared
-- ones (case aside). The four views Paydesk ships with are shared and have no owner.
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    owner_key   TEXT    NOT NULL DEFAULT '',  -- the owner's person key (issuer + subject); '' for a built-in view
    owner_email TEXT    NOT NULL DEFAULT '',  -- the owner as people read it
    shared      INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)),
    query       TEXT    NOT NULL,             -- the list's filter query, canonical (sorted keys, no paging)
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX saved_views_shared_name ON saved_views (lower(name)) WHERE shared = 1;
CREATE UNIQUE INDEX saved_views_private_name ON saved_views (owner_key, lower(name)) WHERE shared = 0;
CREATE INDEX saved_views_owner ON saved_views (owner_key, shared);

INSERT INTO saved_views (name, shared, query, position, created_at, updated_at, updated_by) VALUES
    ('Needs attention',         1, 'attention=1',               1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'Paydesk'),
    ('Cancelling without link', 1, 'link=none&status=cancelling', 2, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'Paydesk'),
    ('Awaiting approval',       1, 'refund=awaiting_approval',  3, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'Paydesk'),
    ('Refunded today',          1, 'refunded=today',            4, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'Paydesk');
