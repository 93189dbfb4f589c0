package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one line of a payment's timeline.
type Event struct {
	ID        int64
	PaymentID int64
	At        time.Time
	// Actor is a person's e-mail, or provider / webhook / reconciler / import / payer / system.
	Actor string
	// Kind is a short machine word: imported, refreshed, action_started, action_finished,
	// webhook, link_created, link_returned, refund_requested, refund_approved, …
	Kind    string
	Message string
	// Data is optional JSON detail (never rendered as HTML).
	Data json.RawMessage
}

// AddEvent appends an event to a payment's timeline. A zero At means now.
func (db *DB) AddEvent(ctx context.Context, e Event) (Event, error) {
	return db.addEvent(ctx, db.db, e)
}

// addEvent appends an event using x (the DB or a transaction).
func (db *DB) addEvent(ctx context.Context, x execer, e Event) (Event, error) {
	if e.At.IsZero() {
		e.At = db.Now()
	}
	data := string(e.Data)
	if data == "" {
		data = "{}"
	}
	err := x.QueryRowContext(ctx, `INSERT INTO events (payment_id, at, actor, kind, message, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		e.PaymentID, ms(e.At), e.Actor, e.Kind, e.Message, data).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("storage: event for payment %d: %w", e.PaymentID, err)
	}
	e.At = fromMS(ms(e.At))
	return e, nil
}

// Events returns a payment's timeline, oldest first.
func (db *DB) Events(ctx context.Context, paymentID int64) ([]Event, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, payment_id, at, actor, kind, message, data
		FROM events WHERE payment_id = ? ORDER BY at, id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("storage: events of payment %d: %w", paymentID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &e.PaymentID, &at, &e.Actor, &e.Kind, &e.Message, &data); err != nil {
			return nil, fmt.Errorf("storage: events of payment %d: %w", paymentID, err)
		}
		e.At = fromMS(at)
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: events of payment %d: %w", paymentID, err)
	}
	return out, nil
}
