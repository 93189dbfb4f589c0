package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// PayerLink is a tracked link the payer opens to confirm an action (a cancellation the
// provider needs the payer to confirm): active, superseded, confirmed, abandoned or
// expired (docs/states.md, payer links).
type PayerLink struct {
	ID        int64
	PaymentID int64
	// ActionID is the action waiting for the payer, 0 for none.
	ActionID int64
	State    string
	// Kind is webview (a scoped token and the provider's webview) or validate_uri (the bank's page).
	Kind  string
	URL   string
	Nonce string // the link's own nonce, unique (links made before 0015 carried it in their state)
	// StateNonce is the nonce inside the signed state the link carries: the
	// cancellation's, shared by every link made for it (Nonce when not given).
	StateNonce string
	// Token is the random part of the short address shared with the payer (/p/{token});
	// "" for links made before there were short addresses.
	Token     string
	CreatedBy string
	// CreatedByKey is the person key of who made the link (migration 0024): the payer's
	// answer is told to them (Tx.Notify). "" for links made before, and by no one.
	CreatedByKey string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// ReturnedAt is when the payer last came back (zero if never).
	ReturnedAt time.Time
	UpdatedAt  time.Time
	// Outcome is what re-reading the payment said, in plain words.
	Outcome string
	// PayerSaid is what the payer's browser last brought back (id_payment, bank_message…),
	// for staff: recorded, never trusted.
	PayerSaid string
	// EmailedTo, EmailedBy and EmailedAt: the latest e-mailing of the link to the payer
	// (EmailPayerLink); empty when never e-mailed.
	EmailedTo, EmailedBy string
	EmailedAt            time.Time
}

// LinkHook runs inside the write transaction that moves a payer link (SetPayerLinkState)
// once the move is recorded: l is the link as it is now. An error rolls the move back.
type LinkHook func(ctx context.Context, tx *Tx, l PayerLink, now time.Time) error

// payerLinkMoves lists, for each state, the states a link may move to.
var payerLinkMoves = map[string]map[string]bool{
	"active":    {"confirmed": true, "abandoned": true, "superseded": true, "expired": true},
	"abandoned": {"active": true, "confirmed": true, "superseded": true, "expired": true},
}

// payerLinkStates are every state a link can be in.
var payerLinkStates = map[string]bool{"active": true, "superseded": true, "confirmed": true, "abandoned": true, "expired": true}

// payerLinkColumns is the column list scanPayerLink reads.
const payerLinkColumns = `id, payment_id, action_id, state, kind, url, nonce, created_by, created_at, expires_at,
	returned_at, outcome, updated_at, state_nonce, coalesce(token, ''), payer_said, created_by_key, emailed_to, emailed_by, emailed_at`

// scanPayerLink reads one row selected with payerLinkColumns.
func scanPayerLink(s scannable) (PayerLink, error) {
	var l PayerLink
	err := scanPayerLinkAnd(s, &l)
	return l, err
}

// scanPayerLinkAnd reads one row selected with payerLinkColumns into l, and the columns
// selected after them into more.
func scanPayerLinkAnd(s scannable, l *PayerLink, more ...any) error {
	var action, returned, emailed sql.NullInt64
	var created, expires, updated int64
	err := s.Scan(append([]any{&l.ID, &l.PaymentID, &action, &l.State, &l.Kind, &l.URL, &l.Nonce, &l.CreatedBy, &created,
		&expires, &returned, &l.Outcome, &updated, &l.StateNonce, &l.Token, &l.PayerSaid, &l.CreatedByKey, &l.EmailedTo, &l.EmailedBy, &emailed}, more...)...)
	if err != nil {
		return err
	}
	l.EmailedAt = nullMS(emailed)
	l.ActionID = action.Int64
	l.CreatedAt = fromMS(created)
	l.ExpiresAt = fromMS(expires)
	l.ReturnedAt = nullMS(returned)
	l.UpdatedAt = fromMS(updated)
	return nil
}

// CreatePayerLink records a new active link for a payment, in one transaction marking any
// live (active or abandoned) link of the payment superseded, with timeline entries. The
// link's state nonce is l.StateNonce (l.Nonce when empty); its short-address token is
// l.Token, or a new random one when empty.
func (db *DB) CreatePayerLink(ctx context.Context, l PayerLink) (PayerLink, error) {
	l.URL = strings.TrimSpace(l.URL)
	l.Nonce = strings.TrimSpace(l.Nonce)
	l.StateNonce = strings.TrimSpace(l.StateNonce)
	if l.StateNonce == "" {
		l.StateNonce = l.Nonce
	}
	if l.Token == "" {
		l.Token = NewPayerLinkToken()
	}
	l.CreatedBy = strings.TrimSpace(l.CreatedBy)
	now := db.Now()
	switch {
	case !ValidPayerLinkToken(l.Token):
		return l, fmt.Errorf("storage: payer link: invalid token")
	case l.PaymentID <= 0:
		return l, fmt.Errorf("storage: payer link: missing payment")
	case l.Kind != "webview" && l.Kind != "validate_uri":
		return l, fmt.Errorf("storage: payer link: unknown kind %q", l.Kind)
	case l.Nonce == "":
		return l, fmt.Errorf("storage: payer link: missing nonce")
	case l.CreatedBy == "":
		return l, fmt.Errorf("storage: payer link: missing creator")
	case !now.Before(l.ExpiresAt):
		return l, fmt.Errorf("storage: payer link: already expired at %s", l.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return l, fmt.Errorf("storage: payer link: %q is not an http(s) URL", l.URL)
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if l.ActionID != 0 {
			var paymentID int64
			err := tx.QueryRowContext(ctx, "SELECT payment_id FROM actions WHERE id = ?", l.ActionID).Scan(&paymentID)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("action %d: %w", l.ActionID, ErrNotFound)
			}
			if err != nil {
				return err
			}
			if paymentID != l.PaymentID {
				return fmt.Errorf("action %d belongs to payment %d", l.ActionID, paymentID)
			}
		}
		live, err := queryPayerLinks(ctx, tx, `SELECT `+payerLinkColumns+` FROM payer_links
			WHERE payment_id = ? AND state IN ('active', 'abandoned')`, l.PaymentID)
		if err != nil {
			return err
		}
		for _, old := range live {
			if _, err := tx.ExecContext(ctx, `UPDATE payer_links SET state = 'superseded', updated_at = ? WHERE id = ?`, ms(now), old.ID); err != nil {
				return err
			}
			if _, err := db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: l.CreatedBy, Kind: "link_superseded",
				Message: fmt.Sprintf("Payer link %d superseded by a new link", old.ID)}); err != nil {
				return err
			}
		}
		var action any
		if l.ActionID != 0 {
			action = l.ActionID
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO payer_links (payment_id, action_id, state, kind, url, nonce,
			created_by, created_at, expires_at, updated_at, state_nonce, token, created_by_key)
			VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			l.PaymentID, action, l.Kind, l.URL, l.Nonce, l.CreatedBy, ms(now), ms(l.ExpiresAt), ms(now), l.StateNonce, l.Token,
			strings.TrimSpace(l.CreatedByKey)).Scan(&l.ID)
		if err != nil {
			if isUniqueConstraint(err) {
				return fmt.Errorf("nonce or token already used: %w", ErrConflict)
			}
			return err
		}
		_, err = db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: l.CreatedBy, Kind: "link_created",
			Message: fmt.Sprintf("Payer link made by %s, valid until %s", l.CreatedBy, l.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("storage: payer link for payment %d: %w", l.PaymentID, err)
	}
	l.State = "active"
	l.CreatedAt, l.UpdatedAt = fromMS(ms(now)), fromMS(ms(now))
	l.ExpiresAt = fromMS(ms(l.ExpiresAt))
	l.ReturnedAt, l.Outcome, l.PayerSaid = time.Time{}, "", ""
	return l, nil
}

// PayerLinkByNonce returns the link carrying nonce, or ErrNotFound.
func (db *DB) PayerLinkByNonce(ctx context.Context, nonce string) (PayerLink, error) {
	l, err := scanPayerLink(db.db.QueryRowContext(ctx, `SELECT `+payerLinkColumns+` FROM payer_links WHERE nonce = ?`, nonce))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("storage: payer link by nonce: %w", ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("storage: payer link by nonce: %w", err)
	}
	return l, nil
}

// PayerLinksOfPayment returns a payment's links, oldest first.
func (db *DB) PayerLinksOfPayment(ctx context.Context, paymentID int64) ([]PayerLink, error) {
	out, err := queryPayerLinks(ctx, db.db, `SELECT `+payerLinkColumns+` FROM payer_links WHERE payment_id = ?
		ORDER BY created_at, id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("storage: payer links of payment %d: %w", paymentID, err)
	}
	return out, nil
}

// LivePayerLink returns the payment's active or abandoned link, or ErrNotFound.
func (db *DB) LivePayerLink(ctx context.Context, paymentID int64) (PayerLink, error) {
	l, err := scanPayerLink(db.db.QueryRowContext(ctx, `SELECT `+payerLinkColumns+` FROM payer_links
		WHERE payment_id = ? AND state IN ('active', 'abandoned')`, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("storage: live payer link of payment %d: %w", paymentID, ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("storage: live payer link of payment %d: %w", paymentID, err)
	}
	return l, nil
}

// payerLinkEvents describes each state a link moves to, for the timeline: event kind,
// actor and message.
var payerLinkEvents = map[string][3]string{
	"confirmed":  {"link_returned", "payer", "The payer confirmed through payer link %d"},
	"abandoned":  {"link_returned", "payer", "The payer came back from payer link %d without confirming"},
	"active":     {"link_reopened", "payer", "Payer link %d opened again"},
	"superseded": {"link_superseded", "system", "Payer link %d superseded"},
	"expired":    {"link_expired", "system", "Payer link %d expired"},
}

// SetPayerLinkState moves a link to state with an outcome in plain words, following
// docs/states.md: active → confirmed | abandoned | superseded | expired, abandoned → active |
// confirmed | superseded | expired. Any other move is ErrConflict. The payer's return
// (confirmed, abandoned) sets ReturnedAt. Each of then runs inside the transaction once the
// move is recorded (the link's maker hears that the payer confirmed).
func (db *DB) SetPayerLinkState(ctx context.Context, id int64, state, outcome string, then ...LinkHook) (PayerLink, error) {
	if !payerLinkStates[state] {
		return PayerLink{}, fmt.Errorf("storage: payer link %d: unknown state %q", id, state)
	}
	var l PayerLink
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		l, err = payerLinkByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !payerLinkMoves[l.State][state] {
			return fmt.Errorf("cannot go from %s to %s: %w", l.State, state, ErrConflict)
		}
		now := db.Now()
		returned := sql.NullInt64{Int64: ms(l.ReturnedAt), Valid: !l.ReturnedAt.IsZero()}
		if state == "confirmed" || state == "abandoned" {
			returned = sql.NullInt64{Int64: ms(now), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payer_links SET state = ?, outcome = ?, returned_at = ?, updated_at = ? WHERE id = ?`,
			state, outcome, returned, ms(now), id); err != nil {
			if isUniqueConstraint(err) {
				return fmt.Errorf("the payment has another live link: %w", ErrConflict)
			}
			return err
		}
		ev := payerLinkEvents[state]
		msg := fmt.Sprintf(ev[2], id)
		if outcome != "" {
			msg += ": " + outcome
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: ev[1], Kind: ev[0], Message: msg}); err != nil {
			return err
		}
		if err := tx.Notify(ctx, payerLinkNotice(l, state, outcome, now)); err != nil {
			return err
		}
		l.State, l.Outcome, l.ReturnedAt, l.UpdatedAt = state, outcome, nullMS(returned), fromMS(ms(now))
		for _, h := range then {
			if h == nil {
				continue
			}
			if err := h(ctx, tx, l, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("storage: payer link %d: %w", id, err)
	}
	return l, nil
}

// ExpirePayerLinks marks expired every active or abandoned link whose expiry is at or
// before now, with a timeline entry each, and returns how many.
func (db *DB) ExpirePayerLinks(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *Tx) error {
		due, err := queryPayerLinks(ctx, tx, `SELECT `+payerLinkColumns+` FROM payer_links
			WHERE state IN ('active', 'abandoned') AND expires_at <= ? ORDER BY id`, ms(now))
		if err != nil {
			return err
		}
		for _, l := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE payer_links SET state = 'expired', updated_at = ? WHERE id = ?`, ms(now), l.ID); err != nil {
				return err
			}
			if _, err := db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: "system", Kind: "link_expired",
				Message: fmt.Sprintf("Payer link %d expired before the payer confirmed", l.ID)}); err != nil {
				return err
			}
			if err := tx.Notify(ctx, payerLinkNotice(l, "expired", "", now)); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: expire payer links: %w", err)
	}
	return n, nil
}

// PayerLinksByState returns up to limit links in any of states, newest first (the
// dashboard's links awaiting the payer). A limit <= 0 means 50.
func (db *DB) PayerLinksByState(ctx context.Context, states []string, limit int) ([]PayerLink, error) {
	if len(states) == 0 {
		return nil, fmt.Errorf("storage: payer links by state: no state given")
	}
	args := make([]any, 0, len(states)+1)
	for _, s := range states {
		if !payerLinkStates[s] {
			return nil, fmt.Errorf("storage: payer links by state: unknown state %q", s)
		}
		args = append(args, s)
	}
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit)
	out, err := queryPayerLinks(ctx, db.db, `SELECT `+payerLinkColumns+` FROM payer_links WHERE state IN (`+questionMarks(len(states))+`)
		ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: payer links by state: %w", err)
	}
	return out, nil
}

// queryPayerLinks runs a query selecting payerLinkColumns and scans every row.
func queryPayerLinks(ctx context.Context, x execer, query string, args ...any) ([]PayerLink, error) {
	rows, err := x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PayerLink
	for rows.Next() {
		l, err := scanPayerLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// PayerLinkByID returns one payer link.
func (db *DB) PayerLinkByID(ctx context.Context, id int64) (PayerLink, error) {
	l, err := payerLinkByID(ctx, db.db, id)
	if err != nil {
		return l, fmt.Errorf("storage: payer link %d: %w", id, err)
	}
	return l, nil
}

// payerLinkByID reads one payer link, inside a transaction or not; a missing one is
// ErrNotFound.
func payerLinkByID(ctx context.Context, q execer, id int64) (PayerLink, error) {
	l, err := scanPayerLink(q.QueryRowContext(ctx, `SELECT `+payerLinkColumns+` FROM payer_links WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	return l, err
}

// payerLinkNotice tells who made link l how the payer answered when it moves to state:
// confirmed, or ended without a confirmation (expired, abandoned). Other moves tell
// nobody (the zero Notification records nothing).
func payerLinkNotice(l PayerLink, state, outcome string, now time.Time) Notification {
	n := Notification{RecipientKey: l.CreatedByKey, RecipientName: l.CreatedBy, PaymentID: l.PaymentID, LinkID: l.ID, CreatedAt: now}
	switch state {
	case "confirmed":
		n.Kind, n.Text = NotifyPayerConfirmed, fmt.Sprintf("The payer confirmed the cancellation through your payer link %d.", l.ID)
	case "expired":
		n.Kind, n.Text = NotifyPayerLinkEnded, fmt.Sprintf("Your payer link %d ended without the payer confirming the cancellation.", l.ID)
	case "abandoned":
		n.Kind, n.Text = NotifyPayerLinkEnded, fmt.Sprintf("The payer came back from your payer link %d without confirming the cancellation.", l.ID)
	default:
		return Notification{}
	}
	if outcome != "" {
		n.Text += " " + outcome
	}
	return n
}

// EmailPayerLink records that by e-mailed live link id to the address to, in one
// transaction with the link's record, a timeline entry ("Payer link e-mailed to … by …")
// and the messages (the payer's, and a copy for the sender when they want one) in the
// outbox. A link that is no longer live gives ErrConflict and changes nothing.
func (db *DB) EmailPayerLink(ctx context.Context, id int64, to, by string, mails ...Mail) (PayerLink, error) {
	var l PayerLink
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		if l, err = payerLinkByID(ctx, tx, id); err != nil {
			return err
		}
		if l.State != "active" && l.State != "abandoned" {
			return fmt.Errorf("the link is %s, no longer live: %w", l.State, ErrConflict)
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE payer_links SET emailed_to = ?, emailed_by = ?, emailed_at = ?, updated_at = ? WHERE id = ?`,
			to, by, ms(now), ms(now), id); err != nil {
			return err
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: by, Kind: "link_emailed",
			Message: fmt.Sprintf("Payer link %d e-mailed to %s by %s", id, to, by)}); err != nil {
			return err
		}
		for _, m := range mails {
			m.CreatedAt = now
			if _, err := tx.EnqueueMail(ctx, m); err != nil {
				return err
			}
		}
		l, err = payerLinkByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return l, fmt.Errorf("storage: e-mail payer link %d: %w", id, err)
	}
	return l, nil
}
