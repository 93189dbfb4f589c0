package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
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
