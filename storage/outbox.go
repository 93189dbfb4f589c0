// The outbox: every e-mail Paydesk sends, written in the transaction of the event that
// causes it and sent later by one background sender (ops/mail.go). docs/email.md.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Mail kinds: what an e-mail is about, and the preference that decides whether a person
// gets it (WantsMail).
const (
	// MailApprovalRequest tells a manager a refund awaits their approval.
	MailApprovalRequest = "approval_request"
	// MailDecision tells a requester their refund was approved or rejected.
	MailDecision = "decision"
	// MailPayerLink is a payer link e-mailed to the payer (no preference: staff send it).
	MailPayerLink = "payer_link"
	// MailPayerConfirmed tells the person who made a payer link that the payer confirmed
	// (the "payer-link confirmations" preference).
	MailPayerConfirmed = "payer_confirmed"
)

// Outbox states.
const (
	MailQueued  = "queued"
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// Mail is one e-mail of the outbox.
type Mail struct {
	ID      int64
	Kind    string
	To      string
	Subject string
	Body    string
	// Ref says what it is about ("refund:12", "payer_link:7").
	Ref string
	// Key is the message's identity, unique: enqueueing a key again adds nothing, and the
	// Message-ID header is made from it (receivers drop a copy sent twice).
	Key       string
	CreatedAt time.Time
	State     string
	Attempts  int
	// NextAttemptAt is when a queued message is due (a claimed one: its claim's end).
	NextAttemptAt time.Time
	ClaimedUntil  time.Time
	LastError     string
	SentAt        time.Time
}

const mailColumns = `id, kind, to_addr, subject, body, ref, idem_key, created_at, state, attempts, next_attempt_at,
	claimed_until, last_error, sent_at`

func scanMail(s scannable) (Mail, error) {
	var m Mail
	var created, next, claimed int64
	var sent sql.NullInt64
	err := s.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Body, &m.Ref, &m.Key, &created, &m.State, &m.Attempts, &next,
		&claimed, &m.LastError, &sent)
	m.CreatedAt, m.NextAttemptAt, m.SentAt = fromMS(created), fromMS(next), nullMS(sent)
	if claimed > 0 {
		m.ClaimedUntil = fromMS(claimed)
	}
	return m, err
}

// maxMailBody bounds a message's text (a payer link's message is edited by staff).
const maxMailBody = 20000

// EnqueueMail adds m to the outbox inside tx, due at once: it commits or rolls back with
// the event that causes it. A key already in the outbox adds nothing (created is false).
// m.CreatedAt is the event's time (now when zero).
func (tx *Tx) EnqueueMail(ctx context.Context, m Mail) (created bool, err error) {
	m.To, m.Key = strings.TrimSpace(m.To), strings.TrimSpace(m.Key)
	switch {
	case m.To == "" || !strings.Contains(m.To, "@"):
		return false, fmt.Errorf("storage: enqueue mail: %q is not an e-mail address", m.To)
	case m.Key == "":
		return false, errors.New("storage: enqueue mail: missing key")
	case m.Kind == "" || m.Subject == "":
		return false, errors.New("storage: enqueue mail: missing kind or subject")
	case len(m.Body) > maxMailBody:
		return false, fmt.Errorf("storage: enqueue mail: the text is longer than %d bytes", maxMailBody)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, to_addr, subject, body, ref, idem_key, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`,
		m.Kind, m.To, m.Subject, m.Body, m.Ref, m.Key, ms(m.CreatedAt), ms(m.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("storage: enqueue mail: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// EnqueueMail adds m to the outbox in a transaction of its own (see Tx.EnqueueMail).
func (db *DB) EnqueueMail(ctx context.Context, m Mail) (created bool, err error) {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = db.Now()
	}
	err = db.tx(ctx, func(tx *Tx) error {
		created, err = tx.EnqueueMail(ctx, m)
		return err
	})
	return created, err
}

// ClaimMail claims up to limit messages due at now — queued ones whose next attempt has
// come, and messages whose sender's claim ran out (it crashed or hung) — marking them
// sending until now+lease and counting the attempt, in one write transaction: of several
// senders (instances) each message goes to one. The oldest come first.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error) {
	// Most rounds find nothing due: a read says so without a write transaction (which on
	// PostgreSQL would also move every instance's page cache version).
	var one int
	err := db.db.QueryRowContext(ctx, `SELECT 1 FROM outbox
		WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until <= ?) LIMIT 1`, ms(now), ms(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", err)
	}
	var out []Mail
	until := ms(now.Add(lease))
	err = db.tx(ctx, func(tx *Tx) error {
		// PostgreSQL: the rows are locked as they are picked, and rows another sender
		// holds are skipped (every write transaction also takes the writers' lock, so
		// the two never meet; the lock keeps the claim right on its own). SQLite: the
		// transaction holds the database's write lock from its start.
		rows, err := tx.QueryContext(ctx, db.pick(
			`UPDATE outbox SET state = 'sending', claimed_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox
				WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING `+mailColumns,
			`UPDATE outbox SET state = 'sending', claimed_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox
				WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND claimed_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING `+mailColumns), until, ms(now), ms(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", err)
	}
	// RETURNING gives no order: the oldest first, as claimed.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].NextAttemptAt.Before(out[j-1].NextAttemptAt) ||
			out[j].NextAttemptAt.Equal(out[j-1].NextAttemptAt) && out[j].ID < out[j-1].ID); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// MarkMailSent records that the SMTP server accepted message id. Only the claim that
// sent it marks it (attempts is the claim's): a claim that expired and was taken again
// leaves the row to its new holder.
func (db *DB) MarkMailSent(ctx context.Context, id int64, attempts int, now time.Time) error {
	_, err := db.db.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, last_error = '', claimed_until = 0
		WHERE id = ? AND state = 'sending' AND attempts = ?`, ms(now), id, attempts)
	if err != nil {
		return fmt.Errorf("storage: mail %d sent: %w", id, err)
	}
	return nil
}

// MarkMailFailed records a failed attempt of message id (by the claim that made it): due
// again at retryAt, or failed for good when retryAt is zero.
func (db *DB) MarkMailFailed(ctx context.Context, id int64, attempts int, why string, retryAt time.Time) error {
	why = strings.ToValidUTF8(why, "?")
	if len(why) > 1000 {
		why = why[:1000]
	}
	q, args := `UPDATE outbox SET state = 'failed', last_error = ?, claimed_until = 0`, []any{why}
	if !retryAt.IsZero() {
		q, args = `UPDATE outbox SET state = 'queued', last_error = ?, claimed_until = 0, next_attempt_at = ?`, []any{why, ms(retryAt)}
	}
	_, err := db.db.ExecContext(ctx, q+` WHERE id = ? AND state = 'sending' AND attempts = ?`, append(args, id, attempts)...)
	if err != nil {
		return fmt.Errorf("storage: mail %d failed: %w", id, err)
	}
	return nil
}

// RetryMail puts a failed message back in the queue, due at now, with its attempts
// counted from zero again. A message that is not failed gives ErrConflict.
func (db *DB) RetryMail(ctx context.Context, id int64, now time.Time) (Mail, error) {
	var m Mail
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		m, err = scanMail(tx.QueryRowContext(ctx, `SELECT `+mailColumns+` FROM outbox WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if m.State != MailFailed {
			return fmt.Errorf("the message is %s, not failed: %w", m.State, ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ? WHERE id = ?`, ms(now), id)
		m.State, m.Attempts, m.NextAttemptAt = MailQueued, 0, now
		return err
	})
	if err != nil {
		return m, fmt.Errorf("storage: retry mail %d: %w", id, err)
	}
	return m, nil
}

// MailByID returns one message of the outbox.
func (db *DB) MailByID(ctx context.Context, id int64) (Mail, error) {
	return queryOne(ctx, db, fmt.Sprintf("mail %d", id), scanMail, `SELECT `+mailColumns+` FROM outbox WHERE id = ?`, id)
}

// OutboxFilter selects the outbox page's messages.
type OutboxFilter struct {
	// States are the states listed (all when empty).
	States []string
	// Limit caps the list (100 when not positive).
	Limit int
}

// Outbox lists messages, newest first.
func (db *DB) Outbox(ctx context.Context, f OutboxFilter) ([]Mail, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + mailColumns + ` FROM outbox`
	var args []any
	if len(f.States) > 0 {
		q += ` WHERE state IN (?` + strings.Repeat(", ?", len(f.States)-1) + `)`
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	return queryAll(ctx, db, "outbox", scanMail, q, args...)
}

// OutboxCounts is how many messages are in each state (metrics, the outbox page).
func (db *DB) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("storage: outbox counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{MailQueued: 0, MailSending: 0, MailSent: 0, MailFailed: 0}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("storage: outbox counts: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}
