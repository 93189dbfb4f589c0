package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRecordWebhook(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 1000)
	body := []byte(`{"type":"payment.succeeded","data":{"id":"p_1"}}`)
	e, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", EventKey: "req-1", EventType: "payment.succeeded",
		PaymentID: pid, Verdict: "applied", Detail: "status paid", Headers: json.RawMessage(`{"Api-Request-Id":"req-1"}`), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || !e.ReceivedAt.Equal(testEpoch) {
		t.Errorf("recorded = %+v, want an id and received now", e)
	}
	// One without payment, key or body.
	if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "tranzzo", ReceivedAt: testEpoch.Add(time.Second), Verdict: "malformed"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListWebhooks(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Provider != "tranzzo" || list[0].PaymentID != 0 || len(list[0].Body) != 0 || string(list[0].Headers) != "{}" {
		t.Fatalf("ListWebhooks = %+v, want the malformed Tranzzo one first", list)
	}
	got := list[1]
	if got.ID != e.ID || got.PaymentID != pid || got.EventKey != "req-1" || got.EventType != "payment.succeeded" ||
		got.Verdict != "applied" || got.Detail != "status paid" || !bytes.Equal(got.Body, body) ||
		string(got.Headers) != `{"Api-Request-Id":"req-1"}` || !got.ReceivedAt.Equal(testEpoch) {
		t.Errorf("read back = %+v, want %+v", got, e)
	}
	if one, _ := db.ListWebhooks(ctx, 1); len(one) != 1 {
		t.Errorf("ListWebhooks(1) = %d rows, want 1", len(one))
	}
}

func TestRecordWebhookValidation(t *testing.T) {
	db := newTestDB(t)
	tests := []struct {
		name  string
		event WebhookEvent
		want  string
	}{
		{"unknown provider", WebhookEvent{Provider: "stripe", Verdict: "applied"}, "provider"},
		{"unknown verdict", WebhookEvent{Provider: "bpc", Verdict: "ok"}, "verdict"},
		{"headers not JSON", WebhookEvent{Provider: "bpc", Verdict: "applied", Headers: json.RawMessage(`{`)}, "headers"},
		{"negative payment", WebhookEvent{Provider: "bpc", Verdict: "applied", PaymentID: -2}, "payment"},
	}
	for _, tt := range tests {
		_, err := db.RecordWebhook(context.Background(), tt.event)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "storage: ") {
			t.Errorf("%s: err = %v, want a storage: error mentioning %q", tt.name, err, tt.want)
		}
	}
	if n := countRows(t, db, "webhook_events"); n != 0 {
		t.Errorf("webhook rows = %d, want 0", n)
	}
}

func TestWebhookSeen(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	record := func(provider, key, verdict string) {
		t.Helper()
		if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: provider, EventKey: key, Verdict: verdict, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	record("bpc", "k-applied", "applied")
	record("bpc", "k-applied", "duplicate")
	record("bpc", "k-stale", "stale")
	record("bpc", "k-bad", "bad_signature")
	record("tranzzo", "k-tranzzo", "applied")
	record("bpc", "", "applied")

	tests := []struct {
		provider, key string
		want          bool
	}{
		{"bpc", "k-applied", true},
		{"bpc", "k-stale", false},
		{"bpc", "k-bad", false}, // a forged request must not block the genuine one
		{"bpc", "k-never", false},
		{"bpc", "k-tranzzo", false},
		{"tranzzo", "k-tranzzo", true},
		{"tranzzo", "k-applied", false},
		{"bpc", "", false},
	}
	for _, tt := range tests {
		got, err := db.WebhookSeen(ctx, tt.provider, tt.key)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("WebhookSeen(%s, %q) = %v, want %v", tt.provider, tt.key, got, tt.want)
		}
	}
}

// TestRefusedWebhookKeepsNoBody: a refused webhook is read back with its hash, size,
// headers and excerpt (cut on a character boundary), never its body; an accepted one
// keeps its body whole.
func TestRefusedWebhookKeepsNoBody(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	// 7 ASCII bytes, then "é" (two bytes each): byte 256 is the second byte of one.
	body := []byte(`{"x": "` + strings.Repeat("é", 400) + `"}`)
	sum := sha256.Sum256(body)
	headers := json.RawMessage(`{"Content-Type":"application/json","X-Signature":"forged"}`)
	for _, verdict := range []string{"bad_signature", "malformed"} {
		if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", Verdict: verdict, Detail: "refused", Headers: headers, Body: body}); err != nil {
			t.Fatal(err)
		}
		got := mustLastWebhook(t, db)
		if len(got.Body) != 0 || got.BodySize != int64(len(body)) || got.BodySHA256 != hex.EncodeToString(sum[:]) ||
			string(got.Headers) != string(headers) || got.Verdict != verdict {
			t.Errorf("%s: read back body %d bytes, size %d, hash %s, headers %s; want no body, size %d, the hash, the headers",
				verdict, len(got.Body), got.BodySize, got.BodySHA256, got.Headers, len(body))
		}
		want := string(body[:255]) + "…" // cut before the "é" byte 256 would split
		if got.Excerpt != want || !utf8.ValidString(got.Excerpt) {
			t.Errorf("%s: excerpt %q (%d bytes), want %q", verdict, got.Excerpt, len(got.Excerpt), want)
		}
	}
	for _, verdict := range []string{"applied", "duplicate", "stale", "unknown_payment"} {
		if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", Verdict: verdict, Body: body}); err != nil {
			t.Fatal(err)
		}
		got := mustLastWebhook(t, db)
		if !bytes.Equal(got.Body, body) || got.BodySize != int64(len(body)) || got.BodySHA256 != hex.EncodeToString(sum[:]) || got.Excerpt != "" {
			t.Errorf("%s: read back %d bytes (size %d, excerpt %q), want the body whole", verdict, len(got.Body), got.BodySize, got.Excerpt)
		}
	}
	// Invalid UTF-8 is replaced, never stored as is.
	if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", Verdict: "bad_signature", Body: []byte("a\xffb")}); err != nil {
		t.Fatal(err)
	}
	if got := mustLastWebhook(t, db); got.Excerpt != "a\uFFFDb" || got.BodySize != 3 {
		t.Errorf("excerpt of invalid UTF-8 = %q (size %d), want a\uFFFDb", got.Excerpt, got.BodySize)
	}
}

// TestRefusedWebhookFloodGrowth: 300 refused webhooks of 64 KiB each grow the database by
// less than 1 MB (they once grew it by 19 MB).
func TestRefusedWebhookFloodGrowth(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	before, err := db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("A"), 64<<10)
	headers := json.RawMessage(`{"Content-Type":"application/json","User-Agent":"flood","X-Signature":"` + strings.Repeat("f", 128) + `"}`)
	for i := range 300 {
		body[0] = byte('a' + i%26)
		if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", Verdict: "bad_signature",
			Detail: "bad signature: X-Signature does not match the body", Headers: headers, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("300 refused webhooks of 64 KiB grew the database by %d bytes", after-before)
	if after-before >= 1<<20 {
		t.Errorf("300 refused webhooks grew the database by %d bytes, want under 1 MB", after-before)
	}
}

// TestSweepWebhooks: refused records older than their retention go, accepted ones older
// than theirs go, recent ones stay; a capped sweep stops at its cap and the next goes on.
func TestSweepWebhooks(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	day := 24 * time.Hour
	record := func(verdict string, age time.Duration, n int) {
		t.Helper()
		for range n {
			if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", Verdict: verdict, ReceivedAt: testEpoch.Add(-age), Body: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	record("bad_signature", 8*day, 700) // past the refused retention: more than one batch
	record("malformed", 8*day, 3)
	record("bad_signature", 6*day, 2) // recent: kept
	record("applied", 8*day, 4)       // accepted, within its retention: kept
	record("applied", 91*day, 600)    // past the accepted retention
	record("duplicate", 91*day, 1)
	record("applied", 89*day, 5) // kept

	accepted, refused := testEpoch.Add(-90*day), testEpoch.Add(-7*day)
	n, err := db.SweepWebhooks(ctx, accepted, refused, 1000)
	if err != nil || n != 1000 {
		t.Fatalf("capped sweep = %d, %v; want 1000", n, err)
	}
	n, err = db.SweepWebhooks(ctx, accepted, refused, 0)
	if err != nil || n != 304 {
		t.Fatalf("second sweep = %d, %v; want the 304 left", n, err)
	}
	count := func(verdict string) int {
		var c int
		if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM webhook_events WHERE verdict = ?", verdict).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if b, m, a, d := count("bad_signature"), count("malformed"), count("applied"), count("duplicate"); b != 2 || m != 0 || a != 9 || d != 0 {
		t.Errorf("left: %d bad_signature, %d malformed, %d applied, %d duplicate; want 2, 0, 9, 0", b, m, a, d)
	}
	if n, _ := db.SweepWebhooks(ctx, accepted, refused, 0); n != 0 {
		t.Errorf("a third sweep deleted %d, want 0", n)
	}
}

// TestWebhookRowsBeforeMigration: a row written before 0010 (its body whole, no hash or
// size) is still read, its hash and size worked out from the body.
func TestWebhookRowsBeforeMigration(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	body := []byte(`{"old":true}`)
	if _, err := db.db.ExecContext(ctx, `INSERT INTO webhook_events (provider, received_at, verdict, body)
		VALUES ('bpc', ?, 'bad_signature', ?)`, ms(testEpoch), body); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	got := mustLastWebhook(t, db)
	if !bytes.Equal(got.Body, body) || got.BodySize != int64(len(body)) || got.BodySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("old row read back as %+v", got)
	}
}

// mustLastWebhook is the newest webhook recorded.
func mustLastWebhook(t *testing.T, db *DB) WebhookEvent {
	t.Helper()
	list, err := db.ListWebhooks(context.Background(), 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListWebhooks = %v, %v", list, err)
	}
	return list[0]
}
