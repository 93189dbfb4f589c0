-- In-app notifications (storage/notifications.go, docs/notifications.md): what happened
-- that concerns a person, written in the same transaction as the event itself.
--
--   recipient_key   the person told (their person key, web/auth PersonKey); '' for a
--                   notification to a role
--   recipient_role  'manager' for a refund request waiting for any manager; '' for one to
--                   a person. Paydesk keeps no list of managers (roles come from the
--                   identity provider's token at each sign-in), so a request is addressed
--                   to the role and every person holding it when they look sees it
--   actor_key       who caused it: a role notification is not shown to them (a manager's
--                   own request)
--   kind            approval_requested, request_decided, payer_confirmed, payer_link_ended
--   refund_id, link_id   what it is about, besides the payment (NULL when none)
--   read_at         when the person read it (NULL: unread); a role notification's reads
--                   are per person, in notification_reads
--
-- A notification goes with what it is about (ON DELETE CASCADE): Paydesk deletes no
-- payment, refund or link, but a repair by hand may.
CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY,
    recipient_key  TEXT    NOT NULL DEFAULT '',
    recipient_role TEXT    NOT NULL DEFAULT '',
    actor_key      TEXT    NOT NULL DEFAULT '',
    kind           TEXT    NOT NULL CHECK (kind IN ('approval_requested', 'request_decided', 'payer_confirmed', 'payer_link_ended')),
    payment_id     INTEGER NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
    refund_id      INTEGER REFERENCES refunds (id) ON DELETE CASCADE,
    link_id        INTEGER REFERENCES payer_links (id) ON DELETE CASCADE,
    text           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    read_at        INTEGER,
    CHECK ((recipient_key = '') <> (recipient_role = ''))
) STRICT;

-- A person's unread counts by kind (the navigation's badges, on every page): a range of
-- this index, never the table.
CREATE INDEX notifications_unread ON notifications (recipient_key, read_at, kind);
-- A person's notifications, newest first; a role's.
CREATE INDEX notifications_person ON notifications (recipient_key, id);
CREATE INDEX notifications_role ON notifications (recipient_role, id);

-- One person's reading of one notification addressed to a role.
CREATE TABLE notification_reads (
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    person_key      TEXT    NOT NULL,
    read_at         INTEGER NOT NULL,
    PRIMARY KEY (notification_id, person_key)
) STRICT, WITHOUT ROWID;

-- "Mark all read" of a role's notifications, as one number per person: every one up to
-- this id is read (rather than a row per notification and person).
CREATE TABLE notification_marks (
    person_key TEXT    PRIMARY KEY,
    read_upto  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Who made a payer link, by person key, so the payer's answer reaches them (their name
-- stays in created_by). Links made before have ''.
ALTER TABLE payer_links ADD COLUMN created_by_key TEXT NOT NULL DEFAULT '';
