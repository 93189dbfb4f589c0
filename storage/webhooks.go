package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/apicall"
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
	// Body is the raw body of an accepted webhook. A refused one (WebhookRefused) is read
	// back without it: only BodySHA256, BodySize and Excerpt are kept.
	Body []byte
	// BodySHA256 is the hex SHA-256 of the body as received, BodySize its length in bytes
	// (both set by RecordWebhook from Body; read back for every webhook).
	BodySHA256 string
	BodySize   int64
	// Excerpt is the start of a refused webhook's body (WebhookExcerptBytes at most, cut
	// on a character boundary, invalid UTF-8 replaced); "" for an accepted one, whose body
	// is whole.
	Excerpt string
}

// WebhookVerdicts lists how a received webhook can have been handled.
var WebhookVerdicts = []string{"applied", "duplicate", "stale", "bad_signature", "unknown_payment", "malformed", "conflict"}

// WebhookRefused reports whether a verdict refuses the webhook (a bad signature, not
// configured, malformed): such a webhook is stored as its hash, size, kept headers and
// an excerpt, never whole, so a flood of forged posts cannot fill the database.
func WebhookRefused(verdict string) bool { return verdict == "bad_signature" || verdict == "malformed" }

// WebhookExcerptBytes is how much of a refused webhook's body is kept, in bytes.
const WebhookExcerptBytes = 256

// webhookExcerpt is the start of body kept with a refused webhook.
func webhookExcerpt(body []byte) string {
	head := body
	if len(head) > 4*WebhookExcerptBytes {
		head = head[:4*WebhookExcerptBytes]
	}
	return apicall.Cut(strings.ToValidUTF8(string(head), "\uFFFD"), WebhookExcerptBytes)
}

// RecordWebhook stores a received webhook: whole when accepted, as its hash, size and
// excerpt when refused (WebhookRefused). A zero ReceivedAt means now.
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
	sum := sha256.Sum256(e.Body)
	e.BodySHA256, e.BodySize, e.Excerpt = hex.EncodeToString(sum[:]), int64(len(e.Body)), ""
	if WebhookRefused(e.Verdict) {
		e.Excerpt, e.Body = webhookExcerpt(e.Body), []byte{}
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = db.Now()
	}
	var payment any
	if e.PaymentID != 0 {
		payment = e.PaymentID
	}
	err := db.db.QueryRowContext(ctx, `INSERT INTO webhook_events (provider, received_at, event_key, event_type,
		payment_id, verdict, detail, headers, body, body_sha256, body_size, excerpt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Provider, ms(e.ReceivedAt), e.EventKey, e.EventType, payment, e.Verdict, e.Detail, headers, e.Body,
		e.BodySHA256, e.BodySize, e.Excerpt).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("storage: record %s webhook: %w", e.Provider, err)
	}
	e.ReceivedAt = fromMS(ms(e.ReceivedAt))
	e.Headers = json.RawMessage(headers)
	return e, nil
}

// WebhookSeen reports whether a webhook from provider with that dedupe key was already
// applied, or recorded as linking two payments Paydesk holds separately (verdict
// "conflict": it will never apply). An empty key is never seen.
func (db *DB) WebhookSeen(ctx context.Context, provider, key string) (bool, error) {
	if strings.TrimSpace(key) == "" {
		return false, nil
	}
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events
		WHERE provider = ? AND event_key = ? AND verdict IN ('applied', 'conflict')`, provider, key).Scan(&n)
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
		verdict, detail, headers, body, body_sha256, body_size, excerpt
		FROM webhook_events ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
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
			&e.Verdict, &e.Detail, &headers, &e.Body, &e.BodySHA256, &e.BodySize, &e.Excerpt); err != nil {
			return nil, fmt.Errorf("storage: list webhooks: %w", err)
		}
		if e.BodySize < 0 { // recorded before hashes were kept (0010): the body is whole
			sum := sha256.Sum256(e.Body)
			e.BodySHA256, e.BodySize = hex.EncodeToString(sum[:]), int64(len(e.Body))
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

// webhookSweepBatch is how many webhook records one DELETE removes: each batch is its own
// short write, so a large sweep never holds the write lock for long.
const webhookSweepBatch = 500

// SweepWebhooks deletes the webhook records older than their retention: refused ones
// (WebhookRefused) received before refusedBefore, every other one received before
// acceptedBefore. It deletes in batches of a few hundred rows, each its own transaction,
// and stops after maxRows (all of them when maxRows <= 0), so the next round goes on. It
// returns how many it deleted.
func (db *DB) SweepWebhooks(ctx context.Context, acceptedBefore, refusedBefore time.Time, maxRows int) (int, error) {
	total := 0
	sweep := func(query string, before time.Time) error {
		for maxRows <= 0 || total < maxRows {
			n := webhookSweepBatch
			if maxRows > 0 && maxRows-total < n {
				n = maxRows - total
			}
			res, err := db.db.ExecContext(ctx, query, ms(before), n)
			if err != nil {
				return fmt.Errorf("storage: sweep webhooks: %w", err)
			}
			done, _ := res.RowsAffected()
			total += int(done)
			if done < int64(n) {
				return nil
			}
		}
		return nil
	}
	// The refused records first: the partial index webhook_events_refused finds them.
	if err := sweep(`DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
		WHERE verdict IN ('bad_signature', 'malformed') AND received_at < ? ORDER BY received_at LIMIT ?)`, refusedBefore); err != nil {
		return total, err
	}
	if err := sweep(`DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
		WHERE received_at < ? ORDER BY received_at LIMIT ?)`, acceptedBefore); err != nil {
		return total, err
	}
	return total, nil
}

// DatabaseBytes is the size of the database's content (page count × page size; on
// PostgreSQL pg_database_size), what a flood of requests would grow.
func (db *DB) DatabaseBytes(ctx context.Context) (int64, error) {
	if db.db.engine == Postgres {
		var n int64
		if err := db.db.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
			return 0, fmt.Errorf("storage: database size: %w", err)
		}
		return n, nil
	}
	var pages, size int64
	if err := db.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("storage: page count: %w", err)
	}
	if err := db.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, fmt.Errorf("storage: page size: %w", err)
	}
	return pages * size, nil
}
