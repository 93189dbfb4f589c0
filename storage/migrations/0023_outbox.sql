-- E-mail (docs/email.md). Three parts:
--
-- outbox: every e-mail Paydesk sends, written in the same transaction as the event that
-- causes it (a refund waiting for approval, a decision, a payer link e-mailed), and sent
-- by a background sender (ops/mail.go) with retries. idem_key is the message's stable
-- identity: the Message-ID header is made from it, so a receiver can drop the one copy
-- a crash between the SMTP server's acceptance and the 'sent' mark may send again.
--   state           queued → sending (claimed until claimed_until) → sent | queued (retry
--                   at next_attempt_at) | failed (after the last attempt; "retry now")
--   ref             what it is about, e.g. "refund:12", "payer_link:7"
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    ref             TEXT    NOT NULL DEFAULT '',
    idem_key        TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER
) STRICT;
-- The sender's question: what is due (queued, or sending with an expired claim).
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- people: who signed in, as last seen (web/auth's sign-in records it): their e-mail and
-- whether they are a manager — the approval requests go to managers — and which e-mails
-- they want (1 = yes; a person with no row gets all of them).
CREATE TABLE people (
    person_key        TEXT    PRIMARY KEY,
    email             TEXT    NOT NULL DEFAULT '',
    name              TEXT    NOT NULL DEFAULT '',
    manager           INTEGER NOT NULL DEFAULT 0,
    seen_at           INTEGER NOT NULL,
    mail_approvals    INTEGER NOT NULL DEFAULT 1,
    mail_decisions    INTEGER NOT NULL DEFAULT 1,
    mail_payer_links  INTEGER NOT NULL DEFAULT 1
) STRICT, WITHOUT ROWID;
CREATE INDEX people_managers ON people (manager, email);

-- A payer link e-mailed to the payer: to whom, by whom, when (the latest sending).
ALTER TABLE payer_links ADD COLUMN emailed_to TEXT NOT NULL DEFAULT '';
ALTER TABLE payer_links ADD COLUMN emailed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE payer_links ADD COLUMN emailed_at INTEGER;
