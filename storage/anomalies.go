package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// Anomaly is a provider's answer that cannot be right (docs/reliability.md, "Provider
// answers that cannot be right"): Paydesk stores the provider's word as it is, and keeps
// what is wrong with it until an answer is consistent again.
type Anomaly struct {
	PaymentID int64
	// Message says what cannot be right, in plain words with the amounts.
	Message string
	// Since is when Paydesk first saw it; Actor who brought that answer (webhook, import,
	// reconciler, a person refreshing).
	Since time.Time
	Actor string
}

// AnomalyRow is an anomaly with its payment's public id and customer, for the dashboard.
type AnomalyRow struct {
	Anomaly
	PaymentPublicID string
	CustomerName    string
}

// anomalyOf says what a payment as the provider describes it cannot be, in plain words,
// "" when nothing. Only facts no provider Paydesk speaks to can report truthfully are
// flagged (docs/providers.md): more refunded than captured (the providers refund only up to
// the captured amount), succeeded refunds adding up to more than the captured amount, and
// more captured than the payer was asked for (none of them over-captures). A refund in
// another currency than its payment never gets here: validateSnapshot refuses it.
func anomalyOf(p Payment, refunds []providers.RefundSnapshot) string {
	money := func(v int64) string { return providers.FormatMoney(v, p.Currency) }
	who := p.Provider.Label()
	var facts []string
	if p.Refunded > p.Captured {
		facts = append(facts, fmt.Sprintf("%s says %s was refunded, more than the %s captured", who, money(p.Refunded), money(p.Captured)))
	}
	var succeeded int64
	for _, r := range refunds {
		if r.Succeeded {
			succeeded += r.Amount
		}
	}
	if succeeded > p.Captured && succeeded != p.Refunded {
		facts = append(facts, fmt.Sprintf("%s's succeeded refunds add up to %s, more than the %s captured", who, money(succeeded), money(p.Captured)))
	}
	if p.Captured > p.Amount {
		facts = append(facts, fmt.Sprintf("%s says %s was captured, more than the %s the payer was asked for", who, money(p.Captured), money(p.Amount)))
	}
	if len(facts) == 0 {
		return ""
	}
	return strings.Join(facts, "; ") + "."
}

// storedAnomaly returns a payment's anomaly ("" and false when it has none) using x.
func storedAnomaly(ctx context.Context, x execer, paymentID int64) (Anomaly, bool, error) {
	a := Anomaly{PaymentID: paymentID}
	var since int64
	err := x.QueryRowContext(ctx, `SELECT message, since, actor FROM payment_anomalies WHERE payment_id = ?`, paymentID).
		Scan(&a.Message, &since, &a.Actor)
	if errors.Is(err, sql.ErrNoRows) {
		return Anomaly{}, false, nil
	}
	if err != nil {
		return Anomaly{}, false, fmt.Errorf("storage: anomaly of payment %d: %w", paymentID, err)
	}
	a.Since = fromMS(since)
	return a, true, nil
}

// PaymentAnomaly returns a payment's anomaly, and false when its provider's last answer is
// consistent.
func (db *DB) PaymentAnomaly(ctx context.Context, paymentID int64) (Anomaly, bool, error) {
	return storedAnomaly(ctx, db.db, paymentID)
}

// CountAnomalies returns how many payments have an anomaly.
func (db *DB) CountAnomalies(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM payment_anomalies`).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count anomalies: %w", err)
	}
	return n, nil
}

// ListAnomalies returns up to limit anomalies, the newest first.
func (db *DB) ListAnomalies(ctx context.Context, limit int) ([]AnomalyRow, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT a.payment_id, a.message, a.since, a.actor, p.public_id, p.customer_name
		FROM payment_anomalies a JOIN payments p ON p.id = a.payment_id
		ORDER BY a.since DESC, a.payment_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: anomalies: %w", err)
	}
	defer rows.Close()
	var out []AnomalyRow
	for rows.Next() {
		var r AnomalyRow
		var since int64
		if err := rows.Scan(&r.PaymentID, &r.Message, &since, &r.Actor, &r.PaymentPublicID, &r.CustomerName); err != nil {
			return nil, fmt.Errorf("storage: anomalies: %w", err)
		}
		r.Since = fromMS(since)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: anomalies: %w", err)
	}
	return out, nil
}

// anomalyChange is what an upsert does to a payment's anomaly.
type anomalyChange struct {
	old, now string // the stored words and the new ones ("" when none)
	had      bool   // a row is stored
}

// changed reports whether the anomaly must be written.
func (c anomalyChange) changed() bool { return c.had != (c.now != "") || (c.had && c.old != c.now) }

// applyAnomaly records, clears or rewords a payment's anomaly in tx, with a line on its
// timeline and, when the payment becomes anomalous or stops being so, an audit entry: the
// provider's word is stored, never silently.
func (db *DB) applyAnomaly(ctx context.Context, tx *Tx, p Payment, c anomalyChange, actor string, now time.Time) error {
	if !c.changed() {
		return nil
	}
	who := p.Provider.Label()
	var kind, line, audit string
	var err error
	switch {
	case c.now != "" && !c.had:
		_, err = tx.ExecContext(ctx, `INSERT INTO payment_anomalies (payment_id, message, since, actor) VALUES (?, ?, ?, ?)`,
			p.ID, c.now, ms(now), actor)
		kind = "anomaly"
		line = "Anomaly: " + c.now + " Paydesk stored " + who + "'s answer as it is; check the payment with " + who + " before acting on it."
		audit = "Payment " + p.PublicID + ": " + c.now
	case c.now != "":
		_, err = tx.ExecContext(ctx, `UPDATE payment_anomalies SET message = ? WHERE payment_id = ?`, c.now, p.ID)
		kind = "anomaly"
		line = "Anomaly still there, now: " + c.now + " (before: " + c.old + ")"
	default:
		_, err = tx.ExecContext(ctx, `DELETE FROM payment_anomalies WHERE payment_id = ?`, p.ID)
		kind = "anomaly_cleared"
		line = "Anomaly cleared: " + who + "'s answer is consistent again (it was: " + c.old + ")"
		audit = "Payment " + p.PublicID + ": " + who + "'s answer is consistent again (it was: " + c.old + ")"
	}
	if err != nil {
		return fmt.Errorf("storage: anomaly of payment %s: %w", p.PublicID, err)
	}
	if _, err := db.addEvent(ctx, tx, Event{PaymentID: p.ID, At: now, Actor: actor, Kind: kind, Message: line}); err != nil {
		return err
	}
	if audit == "" {
		return nil
	}
	if _, err := db.audit(ctx, tx, AuditEntry{At: now, Actor: actor, Kind: kind, PaymentID: p.ID, Message: audit}); err != nil {
		return fmt.Errorf("storage: anomaly of payment %s: %w", p.PublicID, err)
	}
	return nil
}
