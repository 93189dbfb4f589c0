package storage

import (
	"context"
	"fmt"
	"strings"
)

// TwoPaymentsError is UpsertPayment's error when a provider's answer links two payments
// Paydesk holds as separate rows (a session stored on its own and its payment stored on
// its own, then an answer naming both): its ids match both rows. Paydesk never merges
// rows by itself (both may carry money and history), so nothing is written. It wraps
// ErrConflict; callers test for it with errors.As and may record it on both payments
// with RecordLinkedPayments.
type TwoPaymentsError struct {
	// First and Second are the two stored payments, as found.
	First, Second Payment
	// PaymentID and SessionID are the provider's ids the answer named ("" when absent).
	PaymentID, SessionID string
}

func (e *TwoPaymentsError) Error() string {
	return fmt.Sprintf("storage: %s payment %s: its ids match two stored payments (%s and %s): %v",
		e.First.Provider, e.IDs(), e.First.PublicID, e.Second.PublicID, ErrConflict)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *TwoPaymentsError) Unwrap() error { return ErrConflict }

// IDs names the provider's ids the answer linked, for people ("session … and payment …").
func (e *TwoPaymentsError) IDs() string {
	var parts []string
	if e.SessionID != "" {
		parts = append(parts, "session "+e.SessionID)
	}
	if e.PaymentID != "" {
		parts = append(parts, "payment "+e.PaymentID)
	}
	return strings.Join(parts, " and ")
}

// linkedLead starts the part of an anomaly's words that says a provider linked two
// payments; no money anomaly (anomalyOf) contains it, so an upsert can keep that part.
const linkedLead = "Linked payments: "

// linkedWords are the anomaly's words on p, linked by the provider with other.
func linkedWords(p, other Payment, e *TwoPaymentsError) string {
	who := p.Provider.Label()
	return fmt.Sprintf("%s%s says this payment and %s are one payment (%s), but Paydesk holds them as two separate payments. "+
		"Paydesk does not merge them by itself: the money and the history stay on both. Check both with %s before acting on either.",
		linkedLead, who, other.PublicID, e.IDs(), who)
}

// linkedPart returns the linked-payments part of an anomaly's words ("" when none).
func linkedPart(msg string) string {
	if i := strings.Index(msg, linkedLead); i >= 0 {
		return msg[i:]
	}
	return ""
}

// moneyPart returns an anomaly's words without their linked-payments part.
func moneyPart(msg string) string {
	if i := strings.Index(msg, linkedLead); i >= 0 {
		return strings.TrimSpace(msg[:i])
	}
	return msg
}

// joinAnomaly joins the money part and the linked part of an anomaly's words.
func joinAnomaly(money, linked string) string {
	switch {
	case money == "":
		return linked
	case linked == "":
		return money
	}
	return money + " " + linked
}

// RecordLinkedPayments records, in one transaction, the anomaly of a provider's answer
// linking two payments Paydesk holds separately (e, from UpsertPayment): on both payments
// the words name the other one and say what to do, with a timeline line and an audit
// entry each. Any money anomaly stays as it is; recording the same link again writes
// nothing. The link stays recorded until a person has dealt with it: later answers about
// either payment keep it (upsert).
func (db *DB) RecordLinkedPayments(ctx context.Context, e *TwoPaymentsError, actor string) error {
	if actor == "" {
		actor = "system"
	}
	return db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		for _, pair := range [][2]Payment{{e.First, e.Second}, {e.Second, e.First}} {
			p, other := pair[0], pair[1]
			a, had, err := storedAnomaly(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			words := linkedWords(p, other, e)
			if strings.Contains(a.Message, words) {
				continue
			}
			msg := joinAnomaly(moneyPart(a.Message), words)
			if had {
				_, err = tx.ExecContext(ctx, `UPDATE payment_anomalies SET message = ? WHERE payment_id = ?`, msg, p.ID)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO payment_anomalies (payment_id, message, since, actor) VALUES (?, ?, ?, ?)`,
					p.ID, msg, ms(now), actor)
			}
			if err != nil {
				return fmt.Errorf("storage: linked payments %s and %s: %w", p.PublicID, other.PublicID, err)
			}
			line := "Anomaly: " + words + " Nothing was changed on either payment."
			if _, err := db.addEvent(ctx, tx, Event{PaymentID: p.ID, At: now, Actor: actor, Kind: "anomaly", Message: line}); err != nil {
				return err
			}
			if _, err := db.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Kind: "anomaly", PaymentID: p.ID,
				Message: "Payment " + p.PublicID + ": " + words}); err != nil {
				return fmt.Errorf("storage: linked payments %s and %s: %w", p.PublicID, other.PublicID, err)
			}
		}
		return nil
	})
}

// SplitAnomaly splits an anomaly's words into what is wrong with the amounts and what the
// provider linked (either "" when absent), so a page can show each under its own heading.
func SplitAnomaly(msg string) (money, linked string) {
	return moneyPart(msg), linkedPart(msg)
}
