-- Sign-in sessions, kept on the server (web/auth/store.go): the browser's cookie carries
-- only a random id, and this table keeps the SHA-256 of that id, never the id itself, so
-- someone who reads the database (or a backup) cannot replay a session. Deleting a row
-- ends the session at the next request: sign-out, "sign out everywhere", a manager on
-- /sessions, the expiry sweep (ops.Maintain).
--
--   subject       the person (the ID token's sub); '' for a visitor's session that only
--                 carries a flash message
--   data          what the session holds, as the auth package's JSON (roles, auth_time,
--                 a form saved for a step-up, flashes)
--   signed_in_at, last_seen, expires_at   unix milliseconds; expires_at is the earlier of
--                 the idle and the absolute expiry, what the sweep deletes by (the auth
--                 package checks both again at every request, on its own clock)
--
-- A new, small table: instant on a database of any size.
CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
    subject      TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    signed_in_at INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    data         TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- A person's sessions (sign out everywhere, the managers' page) and the sweep.
CREATE INDEX sessions_subject ON sessions (subject, last_seen);
CREATE INDEX sessions_expires ON sessions (expires_at);
