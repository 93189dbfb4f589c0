package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// payerLinkTokenBytes is how much randomness a short payer address carries: 128 bits,
// so guessing one is hopeless even without a rate limit.
const payerLinkTokenBytes = 16

// NewPayerLinkToken returns a fresh random token for a short payer address (/p/{token}):
// 22 URL-safe characters.
func NewPayerLinkToken() string {
	b := make([]byte, payerLinkTokenBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidPayerLinkToken reports whether s has the shape of a token NewPayerLinkToken makes,
// so a malformed address is refused before any query.
func ValidPayerLinkToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(payerLinkTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// PayerLinkByToken returns the link whose short address carries token, or ErrNotFound.
func (db *DB) PayerLinkByToken(ctx context.Context, token string) (PayerLink, error) {
	if !ValidPayerLinkToken(token) {
		return PayerLink{}, fmt.Errorf("storage: payer link by token: %w", ErrNotFound)
	}
	l, err := scanPayerLink(db.db.QueryRowContext(ctx, `SELECT `+payerLinkColumns+` FROM payer_links WHERE token = ?`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("storage: payer link by token: %w", ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("storage: payer link by token: %w", err)
	}
	return l, nil
}

// CancellationLink returns the current link of the cancellation whose signed state
// carries nonce: its live link if it has one, else its newest. Every link of a
// cancellation carries the same state nonce; links made before that (each with a nonce
// of its own) belong to their journal row, so a payer coming back on an older one of
// them also lands on the payment's live link for the same row. ErrNotFound when no link
// carries the nonce.
func (db *DB) CancellationLink(ctx context.Context, nonce string) (PayerLink, error) {
	if nonce == "" {
		return PayerLink{}, fmt.Errorf("storage: cancellation link: %w", ErrNotFound)
	}
	l, err := scanPayerLink(db.db.QueryRowContext(ctx, `SELECT `+payerLinkColumns+` FROM payer_links
		WHERE state_nonce = ? ORDER BY state IN ('active', 'abandoned') DESC, id DESC LIMIT 1`, nonce))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("storage: cancellation link: %w", ErrNotFound)
	}
	if err != nil {
		return l, fmt.Errorf("storage: cancellation link: %w", err)
	}
	if l.State == "active" || l.State == "abandoned" || l.ActionID == 0 {
		return l, nil
	}
	live, err := db.LivePayerLink(ctx, l.PaymentID)
	if err == nil && live.ActionID == l.ActionID {
		return live, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return l, fmt.Errorf("storage: cancellation link: %w", err)
	}
	return l, nil
}

// Cancellation is the cancellation a payment's payer links belong to: the journal row
// waiting for the payer (0 for none known) and the nonce of the state sent with it (""
// when none is known yet).
type Cancellation struct {
	ActionID   int64
	StateNonce string
}

// PaymentCancellation returns the cancellation a new payer link of the payment belongs
// to: the one of its live link; else the newest cancel or void still waiting for the
// payer (needs_payer, or unknown); else the one of its newest link. A payment with none
// of these gives the zero Cancellation.
func (db *DB) PaymentCancellation(ctx context.Context, paymentID int64) (Cancellation, error) {
	if live, err := db.LivePayerLink(ctx, paymentID); err == nil {
		return Cancellation{ActionID: live.ActionID, StateNonce: live.StateNonce}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Cancellation{}, err
	}
	var c Cancellation
	err := db.db.QueryRowContext(ctx, `SELECT a.id, CASE WHEN a.payer_nonce <> '' THEN a.payer_nonce
			ELSE coalesce((SELECT l.state_nonce FROM payer_links l WHERE l.action_id = a.id ORDER BY l.id LIMIT 1), '') END
		FROM actions a WHERE a.payment_id = ? AND a.kind IN ('cancel', 'void') AND a.state IN ('needs_payer', 'unknown')
		ORDER BY a.started_at DESC, a.id DESC LIMIT 1`, paymentID).Scan(&c.ActionID, &c.StateNonce)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Cancellation{}, fmt.Errorf("storage: cancellation of payment %d: %w", paymentID, err)
	}
	links, err := db.PayerLinksOfPayment(ctx, paymentID)
	if err != nil || len(links) == 0 {
		return Cancellation{}, err
	}
	last := links[len(links)-1]
	return Cancellation{ActionID: last.ActionID, StateNonce: last.StateNonce}, nil
}

// SetActionPayerNonce records on a cancel or void the nonce of the state sent with it, so
// every payer link made for it later carries the same state.
func (db *DB) SetActionPayerNonce(ctx context.Context, actionID int64, nonce string) error {
	if strings.TrimSpace(nonce) == "" {
		return fmt.Errorf("storage: action %d: empty payer nonce", actionID)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE actions SET payer_nonce = ? WHERE id = ? AND kind IN ('cancel', 'void')`, nonce, actionID)
	if err != nil {
		return fmt.Errorf("storage: action %d payer nonce: %w", actionID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("storage: action %d payer nonce: %w", actionID, ErrNotFound)
	}
	return nil
}

// RenewPayerLink gives a live link a fresh provider address and expiry (a new scoped
// token for the same cancellation and state), keeping its id and short address, with a
// timeline entry saying why. A link no longer live is ErrConflict.
func (db *DB) RenewPayerLink(ctx context.Context, id int64, rawURL string, expires time.Time, why string) (PayerLink, error) {
	rawURL = strings.TrimSpace(rawURL)
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return PayerLink{}, fmt.Errorf("storage: renew payer link %d: %q is not an http(s) URL", id, rawURL)
	}
	now := db.Now()
	if !now.Before(expires) {
		return PayerLink{}, fmt.Errorf("storage: renew payer link %d: already expired", id)
	}
	var l PayerLink
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		l, err = payerLinkByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if l.State != "active" && l.State != "abandoned" {
			return fmt.Errorf("the link is %s: %w", l.State, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payer_links SET url = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
			rawURL, ms(expires), ms(now), id); err != nil {
			return err
		}
		msg := fmt.Sprintf("Payer link %d renewed with a fresh confirmation page, valid until %s", id, expires.UTC().Format("2006-01-02 15:04 MST"))
		if why != "" {
			msg += ": " + why
		}
		_, err = db.addEvent(ctx, tx, Event{PaymentID: l.PaymentID, At: now, Actor: "system", Kind: "link_renewed", Message: msg})
		return err
	})
	if err != nil {
		return l, fmt.Errorf("storage: renew payer link %d: %w", id, err)
	}
	l.URL, l.ExpiresAt, l.UpdatedAt = rawURL, fromMS(ms(expires)), fromMS(ms(now))
	return l, nil
}

// SetPayerLinkSaid records what the payer's browser last brought back on a link (shown to
// staff, never trusted), cut to 500 characters.
func (db *DB) SetPayerLinkSaid(ctx context.Context, id int64, said string) error {
	if r := []rune(said); len(r) > 500 {
		said = string(r[:500])
	}
	if _, err := db.db.ExecContext(ctx, `UPDATE payer_links SET payer_said = ? WHERE id = ?`, said, id); err != nil {
		return fmt.Errorf("storage: payer link %d: %w", id, err)
	}
	return nil
}
