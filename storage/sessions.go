package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is one sign-in session as the server keeps it (web/auth/store.go). The
// browser's cookie holds a random id; the database holds only its SHA-256, IDHash.
type Session struct {
	IDHash     []byte // SHA-256 of the cookie's id: 32 bytes
	Subject    string // the person; "" for a visitor's session holding only a flash
	Email      string
	Name       string
	UserAgent  string // as the browser sent it at sign-in, cut to MaxUserAgent bytes
	SignedInAt time.Time
	LastSeen   time.Time
	// ExpiresAt is the earlier of the idle and the absolute expiry: the sweep deletes by it.
	ExpiresAt time.Time
	// Data is what the session holds, as the auth package's JSON.
	Data []byte
}

// MaxUserAgent caps the user agent kept with a session.
const MaxUserAgent = 256

// sessionColumns is the column list scanSession reads.
const sessionColumns = `id_hash, subject, email, name, user_agent, signed_in_at, last_seen, expires_at, data`

func scanSession(s scannable) (Session, error) {
	var x Session
	var in, seen, exp int64
	var data string
	if err := s.Scan(&x.IDHash, &x.Subject, &x.Email, &x.Name, &x.UserAgent, &in, &seen, &exp, &data); err != nil {
		return x, err
	}
	x.SignedInAt, x.LastSeen, x.ExpiresAt, x.Data = fromMS(in), fromMS(seen), fromMS(exp), []byte(data)
	return x, nil
}

func checkSessionHash(h []byte) error {
	if len(h) != 32 {
		return fmt.Errorf("storage: session: the id hash is %d bytes, want 32", len(h))
	}
	return nil
}

// Session reads one session by its id hash: one point query on the primary key. It
// returns ErrNotFound when there is none (ended, swept or never existed); whether it has
// expired is for the caller to decide, on its own clock.
func (db *DB) Session(ctx context.Context, idHash []byte) (Session, error) {
	if err := checkSessionHash(idHash); err != nil {
		return Session{}, err
	}
	s, err := scanSession(db.db.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id_hash = ?", idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("storage: session: %w", ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("storage: session: %w", err)
	}
	return s, nil
}

// InsertSession records a new session. The id hash must be new (a random id never
// repeats); the user agent is cut to MaxUserAgent bytes.
func (db *DB) InsertSession(ctx context.Context, s Session) error {
	if err := checkSessionHash(s.IDHash); err != nil {
		return err
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.Subject, s.Email, s.Name, cutUTF8(s.UserAgent, MaxUserAgent), ms(s.SignedInAt), ms(s.LastSeen), ms(s.ExpiresAt), string(s.Data))
	if err != nil {
		return fmt.Errorf("storage: insert session: %w", err)
	}
	return nil
}

// UpdateSession rewrites what a session holds (its data, e-mail and name), moving
// last_seen and expires_at only forward. It never creates a session: a session ended
// since it was read (signed out elsewhere, ended by a manager, swept) stays ended and the
// update returns ErrNotFound.
func (db *DB) UpdateSession(ctx context.Context, s Session) error {
	if err := checkSessionHash(s.IDHash); err != nil {
		return err
	}
	res, err := db.db.ExecContext(ctx, db.pick(`UPDATE sessions SET email = ?, name = ?, data = ?,
		last_seen = max(last_seen, ?), expires_at = max(expires_at, ?) WHERE id_hash = ?`, `UPDATE sessions SET email = ?, name = ?, data = ?,
		last_seen = greatest(last_seen, ?), expires_at = greatest(expires_at, ?) WHERE id_hash = ?`),
		s.Email, s.Name, string(s.Data), ms(s.LastSeen), ms(s.ExpiresAt), s.IDHash)
	if err != nil {
		return fmt.Errorf("storage: update session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("storage: update session: %w", ErrNotFound)
	}
	return nil
}

// TouchSession moves a session's last_seen to seen and its expiry to expires, only if
// last_seen is at or before notAfter (seen minus the renewal interval): of concurrent
// requests of one session, one renews it and the others write nothing. It reports whether
// this call renewed it (false also when the session is gone).
func (db *DB) TouchSession(ctx context.Context, idHash []byte, seen, expires, notAfter time.Time) (bool, error) {
	if err := checkSessionHash(idHash); err != nil {
		return false, err
	}
	res, err := db.db.ExecContext(ctx, db.pick(`UPDATE sessions SET last_seen = ?, expires_at = max(expires_at, ?)
		WHERE id_hash = ? AND last_seen <= ?`, `UPDATE sessions SET last_seen = ?, expires_at = greatest(expires_at, ?)
		WHERE id_hash = ? AND last_seen <= ?`), ms(seen), ms(expires), idHash, ms(notAfter))
	if err != nil {
		return false, fmt.Errorf("storage: touch session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteSession ends one session. It reports whether there was one.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) (bool, error) {
	if err := checkSessionHash(idHash); err != nil {
		return false, err
	}
	res, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = ?", idHash)
	if err != nil {
		return false, fmt.Errorf("storage: delete session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteSessionsOf ends every session of a person (sign out everywhere) and returns how
// many there were.
func (db *DB) DeleteSessionsOf(ctx context.Context, subject string) (int, error) {
	if strings.TrimSpace(subject) == "" {
		return 0, errors.New("storage: delete sessions: no person named")
	}
	res, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE subject = ?", subject)
	if err != nil {
		return 0, fmt.Errorf("storage: delete sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredSessions deletes the sessions whose expiry is at or before now (the
// maintenance sweep) and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := db.db.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ?", ms(now))
	if err != nil {
		return 0, fmt.Errorf("storage: sweep sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ActiveSessions lists the signed-in sessions not expired at now, by person (subject),
// then the most recently seen first. Visitors' sessions (no subject) are left out. At most
// limit rows (≤ 0: 1,000).
func (db *DB) ActiveSessions(ctx context.Context, now time.Time, limit int) ([]Session, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.db.QueryContext(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE subject <> '' AND expires_at > ? ORDER BY subject, last_seen DESC LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: active sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: active sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: active sessions: %w", err)
	}
	return out, nil
}

// cutUTF8 keeps at most n bytes of s, dropping a character cut in two.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
