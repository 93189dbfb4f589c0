-- Internal notes on a payment (storage/notes.go, docs/notes.md): staff write them, a payer
-- never sees them. A note's current text is in payment_notes; each earlier text, with who
-- wrote it and when, is a row of payment_note_revisions, written in the transaction that
-- replaces it (nothing is ever deleted: the history is the point).
--
-- author and author_key are who wrote the note first (e-mail and person key, as refunds'
-- requester); editor and editor_key who wrote its current text, at updated_at. version
-- counts the texts (1 for a note never edited): an edit names the version it replaces, so
-- two people editing at once cannot silently overwrite each other.
CREATE TABLE payment_notes (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    author     TEXT    NOT NULL,
    author_key TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    editor     TEXT    NOT NULL,
    editor_key TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;
CREATE INDEX payment_notes_payment ON payment_notes (payment_id, created_at, id);

CREATE TABLE payment_note_revisions (
    id         INTEGER PRIMARY KEY,
    note_id    INTEGER NOT NULL REFERENCES payment_notes (id),
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    written_by TEXT    NOT NULL,
    writer_key TEXT    NOT NULL DEFAULT '',
    written_at INTEGER NOT NULL,
    UNIQUE (note_id, version)
) STRICT;

-- The search box finds a payment by its notes' words (payments_search.go): an FTS5 index
-- over the notes' current text, tokenized as payments_fts is (the same search expression
-- serves both), kept in step by triggers. An earlier text is not indexed: once edited
-- away, its words no longer find the payment.
CREATE VIRTUAL TABLE payment_notes_fts USING fts5 (
    body,
    content = 'payment_notes', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_-'"
);
CREATE TRIGGER payment_notes_fts_insert AFTER INSERT ON payment_notes BEGIN
    INSERT INTO payment_notes_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER payment_notes_fts_delete AFTER DELETE ON payment_notes BEGIN
    INSERT INTO payment_notes_fts (payment_notes_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER payment_notes_fts_update AFTER UPDATE OF body ON payment_notes BEGIN
    INSERT INTO payment_notes_fts (payment_notes_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO payment_notes_fts (rowid, body) VALUES (new.id, new.body);
END;
