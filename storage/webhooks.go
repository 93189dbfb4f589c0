package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// WebhookEvent is one webhook as received, raw, with how it was handled.
type WebhookEvent struct {
	ID         int64
	Provider   string
	ReceivedAt time.Time
	// EventKey is the dedupe key (a request id the provider sends, a body hash, …); "" when none.
	EventKey  string
	EventType string
	// PaymentID is the payment it concerned, 0 when unknown.
	PaymentID int64
	// Verdict is one of WebhookVerdicts.
	Verdict string
	Detail  string
	// Headers is a JSON object of the headers kept (never secrets).
	Headers json.RawMessage
	Body    []byte
}

// WebhookVerdicts lists how a received webhook can have been handled.
var WebhookVerdicts = []string{"applied", "duplicate", "stale", "bad_signature", "unknown_payment", "malformed"}

// RecordWebhook stores a received webhook. A zero ReceivedAt means now.
func (db *DB) RecordWebhook(ctx context.Context, e WebhookEvent) (WebhookEvent, error) {
	known := false
	for _, v := range WebhookVerdicts {
		known = known || v == e.Verdict
	}
	switch {
	case !providers.Name(e.Provider).Valid():
		return e, fmt.Errorf("storage: record webhook: unknown provider %q", e.Provider)
	case !known:
		return e, fmt.Errorf("storage: record webhook: unknown verdict %q", e.Verdict)
	case e.PaymentID < 0:
		return e, fmt.Errorf("storage: record webhook: invalid payment %d", e.PaymentID)
	}
	headers := "{}"
	if len(bytes.TrimSpace(e.Headers)) > 0 {
		if !json.Valid(e.Headers) {
			return e, fmt.Errorf("storage: record webhook: headers are not JSON")
		}
		headers = string(e.Headers)
	}
	if e.Body == nil {
		e.Body = []byte{}
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = db.Now()
	}
	var payment any
	if e.PaymentID != 0 {
		payment = e.PaymentID
	}
	res, err := db.db.ExecContext(ctx, `INSERT INTO webhook_events (provider, received_at, event_key, event_type,
		payment_id, verdict, detail, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Provider, ms(e.ReceivedAt), e.EventKey, e.EventType, payment, e.Verdict, e.Detail, headers, e.Body)
	if err != nil {
		return e, fmt.Errorf("storage: record %s webhook: %w", e.Provider, err)
	}
	e.ID, _ = res.LastInsertId()
	e.ReceivedAt = fromMS(ms(e.ReceivedAt))
	e.Headers = json.RawMessage(headers)
	return e, nil
}

// WebhookSeen reports whether a webhook from provider with that dedupe key was already
// applied. An empty key is never seen.
func (db *DB) WebhookSeen(ctx context.Context, provider, key string) (bool, error) {
	if strings.TrimSpace(key) == "" {
		return false, nil
	}
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events
		WHERE provider = ? AND event_key = ? AND verdict = 'applied'`, provider, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: webhook seen: %w", err)
	}
	return n > 0, nil
}

// ListWebhooks returns the latest webhooks received, newest first. A limit <= 0 means 50.
func (db *DB) ListWebhooks(ctx context.Context, limit int) ([]WebhookEvent, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.db.QueryContext(ctx, `SELECT id, provider, received_at, event_key, event_type, payment_id,
		verdict, detail, headers, body FROM webhook_events ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: list webhooks: %w", err)
	}
	defer rows.Close()
	var out []WebhookEvent
	for rows.Next() {
		var e WebhookEvent
		var received int64
		var payment sql.NullInt64
		var headers string
		if err := rows.Scan(&e.ID, &e.Provider, &received, &e.EventKey, &e.EventType, &payment,
			&e.Verdict, &e.Detail, &headers, &e.Body); err != nil {
			return nil, fmt.Errorf("storage: list webhooks: %w", err)
		}
		e.ReceivedAt = fromMS(received)
		e.PaymentID = payment.Int64
		e.Headers = json.RawMessage(headers)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list webhooks: %w", err)
	}
	return out, nil
}
