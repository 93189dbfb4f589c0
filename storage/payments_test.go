package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// upsertForTest stores snap and fails the test on error.
func upsertForTest(t *testing.T, db *DB, snap providers.Snapshot, opt UpsertOptions) (Payment, Change) {
	t.Helper()
	p, ch, err := db.UpsertPayment(context.Background(), snap, opt)
	if err != nil {
		t.Fatalf("upsert %s %s: %v", snap.Provider, snapshotKey(snap), err)
	}
	return p, ch
}

// rowCount counts the rows of a table.
func rowCount(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// eventsOf returns a payment's timeline.
func eventsOf(t *testing.T, db *DB, paymentID int64) []Event {
	t.Helper()
	evs, err := db.Events(context.Background(), paymentID)
	if err != nil {
		t.Fatalf("events of %d: %v", paymentID, err)
	}
	return evs
}

// storedRefund is a refunds row as the tests look at it.
type storedRefund struct {
	ProviderID  string
	Amount      int64
	Currency    string
	Status      string
	Reason      string
	RequestedBy string
	RequestedAt time.Time
	HasKey      bool
}

// refundsOf returns a payment's refunds in id order.
func refundsOf(t *testing.T, db *DB, paymentID int64) []storedRefund {
	t.Helper()
	rows, err := db.db.Query(`SELECT provider_refund_id, amount, currency, status, reason, requested_by, requested_at,
		idempotency_key IS NOT NULL FROM refunds WHERE payment_id = ? ORDER BY id`, paymentID)
	if err != nil {
		t.Fatalf("refunds of %d: %v", paymentID, err)
	}
	defer rows.Close()
	var out []storedRefund
	for rows.Next() {
		var r storedRefund
		var at int64
		if err := rows.Scan(&r.ProviderID, &r.Amount, &r.Currency, &r.Status, &r.Reason, &r.RequestedBy, &at, &r.HasKey); err != nil {
			t.Fatalf("refunds of %d: %v", paymentID, err)
		}
		r.RequestedAt = fromMS(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("refunds of %d: %v", paymentID, err)
	}
	return out
}

// setClock makes db's clock return at.
func setClock(db *DB, at time.Time) { db.Now = func() time.Time { return at } }

func TestPublicIDFor(t *testing.T) {
	a := PublicIDFor(bpc.Name, "ps_1")
	if !regexp.MustCompile(`^pd_[a-z2-7]{12}$`).MatchString(a) {
		t.Errorf("PublicIDFor: got %q, want pd_ and 12 lower-case base32 characters", a)
	}
	if b := PublicIDFor(bpc.Name, "ps_1"); b != a {
		t.Errorf("PublicIDFor is not deterministic: got %q then %q", a, b)
	}
	for _, other := range []string{PublicIDFor(tranzzo.Name, "ps_1"), PublicIDFor(bpc.Name, "ps_2")} {
		if other == a {
			t.Errorf("PublicIDFor: %q collides with a different provider or key", other)
		}
	}
}

func TestUpsertPaymentCreate(t *testing.T) {
	created := time.Date(2025, 2, 10, 9, 30, 0, 123_000_000, time.UTC)
	tests := []struct {
		name       string
		snap       providers.Snapshot
		wantKey    string
		wantStatus providers.Status
		wantMsg    string
	}{
		{
			name: "powens done",
			snap: providers.Snapshot{Provider: powens.Name, PaymentID: "4821", MerchantReference: "INV-1001",
				Amount: 5090, Captured: 5090, Currency: "EUR", RawStatus: "done", CustomerName: "Jean Dupont",
				CustomerEmail: "jean@example.com", CreatedAt: created,
				Raw: []byte(`{ "provider": "powens", "payment": {"id": 4821, "state": "done"} }`)},
			wantKey: "4821", wantStatus: providers.StatusPaid,
			wantMsg: "Imported from Powens: paid, 50.90 EUR",
		},
		{
			name: "bpc open session",
			snap: providers.Snapshot{Provider: bpc.Name, SessionID: "ps_1", Amount: 123456, Currency: "EUR",
				RawStatus: "open", SessionStatus: "open", CreatedAt: created},
			wantKey: "ps_1", wantStatus: providers.StatusAwaitingPayment,
			wantMsg: "Imported from BPC: awaiting payment, 1,234.56 EUR",
		},
		{
			name: "tranzzo held auth",
			snap: providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_1", OrderID: "order-1", Amount: 150000,
				Captured: 0, Currency: "UAH", RawStatus: "success", Method: "auth", Mode: "hosted", CardLast4: "4242", CreatedAt: created},
			wantKey: "tz_1", wantStatus: providers.StatusAuthorized,
			wantMsg: "Imported from Tranzzo: authorised, 1,500.00 UAH",
		},
		{
			name: "zero-decimal currency",
			snap: providers.Snapshot{Provider: bpc.Name, PaymentID: "p_jpy", Amount: 1500, Captured: 1500, Currency: "JPY",
				RawStatus: "succeeded", CreatedAt: created},
			wantKey: "p_jpy", wantStatus: providers.StatusPaid,
			wantMsg: "Imported from BPC: paid, 1,500 JPY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			p, ch := upsertForTest(t, db, tt.snap, UpsertOptions{Actor: "import", Kind: "imported"})
			if !ch.Created || !ch.Changed || ch.Stale || len(ch.Fields) != 0 {
				t.Errorf("change: got %+v, want created and changed", ch)
			}
			if want := PublicIDFor(tt.snap.Provider, tt.wantKey); p.PublicID != want {
				t.Errorf("public id: got %q, want %q", p.PublicID, want)
			}
			if p.Status != tt.wantStatus {
				t.Errorf("status: got %q, want %q", p.Status, tt.wantStatus)
			}
			if !p.CreatedAt.Equal(created) {
				t.Errorf("created at: got %v, want %v", p.CreatedAt, created)
			}
			if !p.UpdatedAt.Equal(testEpoch) {
				t.Errorf("updated at: got %v, want the clock's %v", p.UpdatedAt, testEpoch)
			}
			// The stored row reads back as the snapshot.
			want := tt.snap
			want.CreatedAt, want.UpdatedAt = created, testEpoch
			want.Account = providers.DefaultAccount // a snapshot naming no account is the default account's
			if len(want.Raw) == 0 {
				want.Raw = []byte("{}")
			} else {
				want.Raw = []byte(`{"provider":"powens","payment":{"id":4821,"state":"done"}}`)
			}
			if !reflect.DeepEqual(p.Snapshot, want) {
				t.Errorf("stored snapshot:\n got %+v\nwant %+v", p.Snapshot, want)
			}
			again, err := db.PaymentByID(context.Background(), p.ID)
			if err != nil || !reflect.DeepEqual(again, p) {
				t.Errorf("PaymentByID: got %+v (%v), want %+v", again, err, p)
			}
			evs := eventsOf(t, db, p.ID)
			if len(evs) != 1 {
				t.Fatalf("events: got %d, want 1", len(evs))
			}
			if e := evs[0]; e.Actor != "import" || e.Kind != "imported" || e.Message != tt.wantMsg || !e.At.Equal(testEpoch) {
				t.Errorf("event: got %s %s %q at %v, want import imported %q at %v", e.Actor, e.Kind, e.Message, e.At, tt.wantMsg, testEpoch)
			}
		})
	}
}

func TestUpsertPaymentDefaults(t *testing.T) {
	db := newTestDB(t)
	p, _ := upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 100, Currency: "EUR",
		RawStatus: "processing"}, UpsertOptions{})
	if !p.CreatedAt.Equal(testEpoch) {
		t.Errorf("created at of a snapshot without one: got %v, want now %v", p.CreatedAt, testEpoch)
	}
	if e := eventsOf(t, db, p.ID)[0]; e.Actor != "system" || e.Kind != "imported" {
		t.Errorf("event: got actor %q kind %q, want system imported", e.Actor, e.Kind)
	}
	setClock(db, testEpoch.Add(time.Minute))
	upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 100, Captured: 100,
		Currency: "EUR", RawStatus: "succeeded"}, UpsertOptions{})
	evs := eventsOf(t, db, p.ID)
	if e := evs[len(evs)-1]; e.Kind != "refreshed" {
		t.Errorf("update event kind: got %q, want refreshed", e.Kind)
	}
	again, _ := db.PaymentByID(context.Background(), p.ID)
	if !again.CreatedAt.Equal(testEpoch) {
		t.Errorf("created at after an update without one: got %v, want it kept at %v", again.CreatedAt, testEpoch)
	}
}

func TestUpsertPaymentIdempotent(t *testing.T) {
	db := newTestDB(t)
	snap := providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_9", OrderID: "order-9", Amount: 2500, Captured: 2500,
		Currency: "XTS", RawStatus: "success", Method: "purchase", CreatedAt: testEpoch.Add(-time.Hour),
		Refunds: []providers.RefundSnapshot{{ID: "tz_r1", Amount: 500, Status: "success", Succeeded: true, CreatedAt: testEpoch}},
		Raw:     []byte(`{"provider":"tranzzo","transactions":[{"payment_id":"tz_9"}]}`)}
	first, _ := upsertForTest(t, db, snap, UpsertOptions{Actor: "import", Kind: "imported"})

	setClock(db, testEpoch.Add(time.Hour))
	snap.Raw = []byte("{\n  \"provider\": \"tranzzo\",\n  \"transactions\": [ {\"payment_id\": \"tz_9\"} ]\n}")
	second, ch := upsertForTest(t, db, snap, UpsertOptions{Actor: "import", Kind: "imported"})
	if !reflect.DeepEqual(ch, Change{}) {
		t.Errorf("change of a repeated import: got %+v, want none", ch)
	}
	if !reflect.DeepEqual(second, first) {
		t.Errorf("payment after a repeated import:\n got %+v\nwant %+v", second, first)
	}
	if n := len(eventsOf(t, db, first.ID)); n != 1 {
		t.Errorf("events after a repeated import: got %d, want 1", n)
	}
	if n := rowCount(t, db, "refunds"); n != 1 {
		t.Errorf("refunds after a repeated import: got %d, want 1", n)
	}
}

func TestUpsertPaymentUpdate(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	base := providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 5000, Currency: "EUR",
		RawStatus: "processing", CustomerName: "Olena Shevchenko", CreatedAt: testEpoch.Add(-time.Hour)}
	p, _ := upsertForTest(t, db, base, UpsertOptions{Actor: "import", Kind: "imported"})

	steps := []struct {
		name       string
		at         time.Time
		snap       func(s providers.Snapshot) providers.Snapshot
		opt        UpsertOptions
		wantStatus providers.Status
		wantFields []FieldChange
		wantMsg    string
	}{
		{
			name: "captured",
			at:   testEpoch.Add(time.Minute),
			snap: func(s providers.Snapshot) providers.Snapshot {
				s.RawStatus, s.Captured = "succeeded", 5000
				return s
			},
			opt:        UpsertOptions{Actor: "provider", Kind: "refreshed"},
			wantStatus: providers.StatusPaid,
			wantFields: []FieldChange{
				{"status", "processing", "paid"},
				{"provider status", "processing", "succeeded"},
				{"captured", "0.00 EUR", "50.00 EUR"},
			},
			wantMsg: "Refreshed from provider: status processing → paid; provider status processing → succeeded; captured 0.00 EUR → 50.00 EUR",
		},
		{
			name: "partly refunded by webhook",
			at:   testEpoch.Add(2 * time.Minute),
			snap: func(s providers.Snapshot) providers.Snapshot {
				s.RawStatus, s.Captured, s.Refunded = "succeeded", 5000, 500
				s.Refunds = []providers.RefundSnapshot{{ID: "re_1", Amount: 500, Currency: "EUR", Status: "succeeded", Succeeded: true}}
				return s
			},
			opt:        UpsertOptions{Actor: "webhook", Kind: "webhook"},
			wantStatus: providers.StatusPartiallyRefunded,
			wantFields: []FieldChange{
				{"status", "paid", "partially refunded"},
				{"refunded", "0.00 EUR", "5.00 EUR"},
			},
			wantMsg: "Updated by webhook: status paid → partially refunded; refunded 0.00 EUR → 5.00 EUR; refund re_1 of 5.00 EUR succeeded",
		},
		{
			name: "only the raw JSON changed",
			at:   testEpoch.Add(3 * time.Minute),
			snap: func(s providers.Snapshot) providers.Snapshot {
				s.RawStatus, s.Captured, s.Refunded = "succeeded", 5000, 500
				s.Raw = []byte(`{"provider":"bpc","payment":{"id":"p_1","metadata":{"k":"v"}}}`)
				return s
			},
			opt:        UpsertOptions{Actor: "reconciler", Kind: "refreshed"},
			wantStatus: providers.StatusPartiallyRefunded,
			wantMsg:    "Refreshed from provider: the provider's data changed",
		},
	}
	for i, st := range steps {
		setClock(db, st.at)
		got, ch := upsertForTest(t, db, st.snap(base), st.opt)
		if ch.Created || !ch.Changed || ch.Stale || !reflect.DeepEqual(ch.Fields, st.wantFields) {
			t.Errorf("%s: change: got %+v, want changed with fields %+v", st.name, ch, st.wantFields)
		}
		if got.ID != p.ID || got.PublicID != p.PublicID {
			t.Errorf("%s: got payment %d %s, want the same row %d %s", st.name, got.ID, got.PublicID, p.ID, p.PublicID)
		}
		if got.Status != st.wantStatus {
			t.Errorf("%s: status: got %q, want %q", st.name, got.Status, st.wantStatus)
		}
		if !got.UpdatedAt.Equal(st.at) {
			t.Errorf("%s: updated at: got %v, want %v", st.name, got.UpdatedAt, st.at)
		}
		evs := eventsOf(t, db, p.ID)
		if len(evs) != i+2 {
			t.Fatalf("%s: events: got %d, want %d", st.name, len(evs), i+2)
		}
		if e := evs[len(evs)-1]; e.Message != st.wantMsg || e.Actor != st.opt.Actor || e.Kind != st.opt.Kind {
			t.Errorf("%s: event: got %s %s %q, want %s %s %q", st.name, e.Actor, e.Kind, e.Message, st.opt.Actor, st.opt.Kind, st.wantMsg)
		}
	}
	got, err := db.PaymentByPublicID(ctx, p.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Raw) != `{"provider":"bpc","payment":{"id":"p_1","metadata":{"k":"v"}}}` {
		t.Errorf("raw: got %s", got.Raw)
	}
	if got.Captured != 5000 || got.Refunded != 500 {
		t.Errorf("amounts: got captured %d refunded %d, want 5000 and 500", got.Captured, got.Refunded)
	}
}

func TestUpsertPaymentKeepsWhatASnapshotOmits(t *testing.T) {
	db := newTestDB(t)
	full := providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_1", OrderID: "order-1", MerchantReference: "order-1",
		Amount: 1000, Currency: "UAH", RawStatus: "init", Method: "purchase", Mode: "hosted", CustomerName: "Anna Kowalska",
		CustomerEmail: "anna@example.com", CardLast4: "1111", Description: "Tickets", CreatedAt: testEpoch.Add(-time.Hour),
		Raw: []byte(`{"provider":"tranzzo","transactions":[]}`)}
	p, _ := upsertForTest(t, db, full, UpsertOptions{Actor: "import"})
	// A webhook's snapshot knows the order and the new status only.
	thin := providers.Snapshot{Provider: tranzzo.Name, OrderID: "order-1", Amount: 1000, Captured: 1000, Currency: "UAH",
		RawStatus: "success", Method: "purchase", Mode: "hosted"}
	got, ch := upsertForTest(t, db, thin, UpsertOptions{Actor: "webhook", Kind: "webhook"})
	if got.ID != p.ID || !ch.Changed {
		t.Fatalf("got payment %d changed=%v, want %d updated", got.ID, ch.Changed, p.ID)
	}
	want := full
	want.RawStatus, want.Captured = "success", 1000
	want.UpdatedAt = testEpoch
	want.Raw = []byte(`{"provider":"tranzzo","transactions":[]}`)
	want.Account = providers.DefaultAccount
	if !reflect.DeepEqual(got.Snapshot, want) {
		t.Errorf("after a thin snapshot:\n got %+v\nwant %+v", got.Snapshot, want)
	}
	if got.Status != providers.StatusPaid {
		t.Errorf("status: got %q, want paid", got.Status)
	}
}

func TestUpsertPaymentStale(t *testing.T) {
	paid := providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 700, Captured: 700, Currency: "EUR",
		RawStatus: "succeeded", CreatedAt: testEpoch.Add(-time.Hour)}
	processing := paid
	processing.RawStatus, processing.Captured = "processing", 0
	refunded := paid
	refunded.Refunded = 700
	tests := []struct {
		name        string
		next        providers.Snapshot
		rejectStale bool
		wantStale   bool
		wantStatus  providers.Status
	}{
		{"older status refused", processing, true, true, providers.StatusPaid},
		{"older status applied when not rejecting", processing, false, false, providers.StatusProcessing},
		{"newer status applied", refunded, true, false, providers.StatusRefunded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			before, _ := upsertForTest(t, db, paid, UpsertOptions{Actor: "import"})
			setClock(db, testEpoch.Add(time.Minute))
			got, ch := upsertForTest(t, db, tt.next, UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: tt.rejectStale})
			if ch.Stale != tt.wantStale || ch.Changed == tt.wantStale {
				t.Errorf("change: got %+v, want stale=%v changed=%v", ch, tt.wantStale, !tt.wantStale)
			}
			stored, _ := db.PaymentByID(context.Background(), before.ID)
			if got.Status != tt.wantStatus || stored.Status != tt.wantStatus {
				t.Errorf("status: got returned %q stored %q, want %q", got.Status, stored.Status, tt.wantStatus)
			}
			wantEvents := 2
			if tt.wantStale {
				wantEvents = 1
				if !reflect.DeepEqual(stored, before) {
					t.Errorf("a stale snapshot changed the row:\n got %+v\nwant %+v", stored, before)
				}
			}
			if n := len(eventsOf(t, db, before.ID)); n != wantEvents {
				t.Errorf("events: got %d, want %d", n, wantEvents)
			}
		})
	}
}

func TestUpsertPaymentBPCSessionThenPayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	session := providers.Snapshot{Provider: bpc.Name, SessionID: "ps_1", MerchantReference: "ORD-1", Amount: 4200,
		Currency: "EUR", RawStatus: "open", SessionStatus: "open", CreatedAt: testEpoch.Add(-time.Hour)}
	first, _ := upsertForTest(t, db, session, UpsertOptions{Actor: "import", Kind: "imported"})

	setClock(db, testEpoch.Add(time.Minute))
	paid := session
	paid.PaymentID, paid.RawStatus, paid.SessionStatus, paid.Captured = "p_1", "succeeded", "completed", 4200
	got, ch := upsertForTest(t, db, paid, UpsertOptions{Actor: "webhook", Kind: "webhook"})
	if ch.Created || !ch.Changed {
		t.Errorf("change: got %+v, want an update", ch)
	}
	if got.ID != first.ID || got.PublicID != first.PublicID || got.PublicID != PublicIDFor(bpc.Name, "ps_1") {
		t.Errorf("got payment %d %s, want the session's row %d %s", got.ID, got.PublicID, first.ID, first.PublicID)
	}
	if got.Status != providers.StatusPaid || got.PaymentID != "p_1" || got.SessionID != "ps_1" {
		t.Errorf("merged row: got status %q payment %q session %q", got.Status, got.PaymentID, got.SessionID)
	}
	if n := rowCount(t, db, "payments"); n != 1 {
		t.Errorf("payments: got %d, want 1", n)
	}
	for _, id := range []string{"p_1", "ps_1"} {
		p, err := db.PaymentByProviderID(ctx, bpc.Name, id)
		if err != nil || p.ID != first.ID {
			t.Errorf("PaymentByProviderID(bpc, %s): got %d (%v), want %d", id, p.ID, err, first.ID)
		}
	}
	// The payment alone (as a webhook sends it) still finds the row.
	alone := paid
	alone.SessionID, alone.SessionStatus, alone.Refunded = "", "", 4200
	if got, _ := upsertForTest(t, db, alone, UpsertOptions{Actor: "webhook"}); got.ID != first.ID || got.SessionID != "ps_1" || got.Status != providers.StatusRefunded {
		t.Errorf("payment without its session: got %d session %q status %q, want %d ps_1 refunded", got.ID, got.SessionID, got.Status, first.ID)
	}
	evs := eventsOf(t, db, first.ID)
	if len(evs) != 3 {
		t.Fatalf("events: got %d, want 3", len(evs))
	}
	wantMsg := "Updated by webhook: status awaiting payment → paid; provider status open → succeeded; session status open → completed; " +
		"captured 0.00 EUR → 42.00 EUR; payment id (none) → p_1"
	if evs[1].Message != wantMsg {
		t.Errorf("merge event:\n got %q\nwant %q", evs[1].Message, wantMsg)
	}
}

func TestUpsertPaymentIDsOfTwoPayments(t *testing.T) {
	db := newTestDB(t)
	upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, SessionID: "ps_2", Amount: 100, Currency: "EUR",
		SessionStatus: "open"}, UpsertOptions{})
	upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: "p_2", Amount: 100, Currency: "EUR",
		RawStatus: "processing"}, UpsertOptions{})
	_, _, err := db.UpsertPayment(context.Background(), providers.Snapshot{Provider: bpc.Name, PaymentID: "p_2",
		SessionID: "ps_2", Amount: 100, Captured: 100, Currency: "EUR", RawStatus: "succeeded"}, UpsertOptions{})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	if n := rowCount(t, db, "events"); n != 2 {
		t.Errorf("events: got %d, want 2 (nothing written)", n)
	}
	p, _ := db.PaymentByProviderID(context.Background(), bpc.Name, "p_2")
	if p.Status != providers.StatusProcessing {
		t.Errorf("p_2 status: got %q, want processing (unchanged)", p.Status)
	}
}

func TestUpsertPaymentInvalid(t *testing.T) {
	valid := providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", Amount: 1000, Captured: 1000, Currency: "EUR",
		RawStatus: "succeeded", CreatedAt: testEpoch.Add(-time.Hour)}
	tests := []struct {
		name   string
		change func(s *providers.Snapshot)
		want   string
	}{
		{"unknown provider", func(s *providers.Snapshot) { s.Provider = "stripe" }, `unknown provider "stripe"`},
		{"no provider", func(s *providers.Snapshot) { s.Provider = "" }, `unknown provider ""`},
		{"no id", func(s *providers.Snapshot) { s.PaymentID = "" }, "no payment, session or order id"},
		{"lower-case currency", func(s *providers.Snapshot) { s.Currency = "eur" }, `currency "eur"`},
		{"long currency", func(s *providers.Snapshot) { s.Currency = "EURO" }, `currency "EURO"`},
		{"no currency", func(s *providers.Snapshot) { s.Currency = "" }, `currency ""`},
		{"negative amount", func(s *providers.Snapshot) { s.Amount = -1 }, "amount -1 is negative"},
		{"negative captured", func(s *providers.Snapshot) { s.Captured = -5 }, "captured -5 is negative"},
		{"negative refunded", func(s *providers.Snapshot) { s.Refunded = -5 }, "refunded -5 is negative"},
		{"malformed raw JSON", func(s *providers.Snapshot) { s.Raw = []byte(`{"provider":`) }, "raw JSON"},
		{"refund without id", func(s *providers.Snapshot) {
			s.Refunds = []providers.RefundSnapshot{{Amount: 100, Succeeded: true}}
		}, "refund 1 has no id"},
		{"refund of zero", func(s *providers.Snapshot) {
			s.Refunds = []providers.RefundSnapshot{{ID: "re_1", Amount: 0, Succeeded: true}}
		}, "refund re_1 amount 0 is not positive"},
		{"refund in another currency", func(s *providers.Snapshot) {
			s.Refunds = []providers.RefundSnapshot{{ID: "re_1", Amount: 100, Currency: "GBP", Succeeded: true}}
		}, "refund re_1 is in GBP, the payment in EUR"},
		{"refund listed twice", func(s *providers.Snapshot) {
			s.Refunds = []providers.RefundSnapshot{{ID: "re_1", Amount: 100}, {ID: "re_1", Amount: 100}}
		}, "refund re_1 is listed twice"},
		{"refund both succeeded and failed", func(s *providers.Snapshot) {
			s.Refunds = []providers.RefundSnapshot{{ID: "re_1", Amount: 100, Succeeded: true, Failed: true}}
		}, "both succeeded and failed"},
	}
	for _, tt := range tests {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing=%v", tt.name, existing), func(t *testing.T) {
				db := newTestDB(t)
				var before Payment
				if existing {
					before, _ = upsertForTest(t, db, valid, UpsertOptions{})
				}
				snap := valid
				snap.RawStatus = "canceled"
				tt.change(&snap)
				_, ch, err := db.UpsertPayment(context.Background(), snap, UpsertOptions{Actor: "import"})
				if !errors.Is(err, ErrInvalidSnapshot) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "storage: ") {
					t.Errorf("error: got %v, want storage: … ErrInvalidSnapshot … %q", err, tt.want)
				}
				if !reflect.DeepEqual(ch, Change{}) {
					t.Errorf("change: got %+v, want none", ch)
				}
				wantRows := 0
				if existing {
					wantRows = 1
					after, _ := db.PaymentByID(context.Background(), before.ID)
					if !reflect.DeepEqual(after, before) {
						t.Errorf("stored payment changed:\n got %+v\nwant %+v", after, before)
					}
				}
				for _, table := range []string{"payments", "events"} {
					if n := rowCount(t, db, table); n != wantRows {
						t.Errorf("%s: got %d rows, want %d", table, n, wantRows)
					}
				}
				if n := rowCount(t, db, "refunds"); n != 0 {
					t.Errorf("refunds: got %d rows, want 0", n)
				}
			})
		}
	}
}

func TestPaymentLookups(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	p, _ := upsertForTest(t, db, providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_1", OrderID: "order-1",
		Amount: 100, Currency: "UAH", RawStatus: "init", Method: "purchase"}, UpsertOptions{})
	found := []struct {
		name string
		get  func() (Payment, error)
	}{
		{"by id", func() (Payment, error) { return db.PaymentByID(ctx, p.ID) }},
		{"by public id", func() (Payment, error) { return db.PaymentByPublicID(ctx, p.PublicID) }},
		{"by payment id", func() (Payment, error) { return db.PaymentByProviderID(ctx, tranzzo.Name, "tz_1") }},
		{"by order id", func() (Payment, error) { return db.PaymentByProviderID(ctx, tranzzo.Name, "order-1") }},
	}
	for _, f := range found {
		got, err := f.get()
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%s: got %+v (%v), want %+v", f.name, got, err, p)
		}
	}
	missing := []struct {
		name string
		get  func() (Payment, error)
		want string
	}{
		{"unknown id", func() (Payment, error) { return db.PaymentByID(ctx, p.ID+1) }, fmt.Sprintf("storage: payment %d: not found", p.ID+1)},
		{"unknown public id", func() (Payment, error) { return db.PaymentByPublicID(ctx, "pd_x") }, "storage: payment pd_x: not found"},
		{"unknown provider id", func() (Payment, error) { return db.PaymentByProviderID(ctx, tranzzo.Name, "tz_2") }, "storage: tranzzo payment tz_2: not found"},
		{"another provider's id", func() (Payment, error) { return db.PaymentByProviderID(ctx, bpc.Name, "tz_1") }, "storage: bpc payment tz_1: not found"},
		{"empty id", func() (Payment, error) { return db.PaymentByProviderID(ctx, tranzzo.Name, "") }, "storage: tranzzo payment with no id: not found"},
	}
	for _, m := range missing {
		_, err := m.get()
		if !errors.Is(err, ErrNotFound) || err.Error() != m.want {
			t.Errorf("%s: got %v, want %q wrapping ErrNotFound", m.name, err, m.want)
		}
	}
}

func TestCountAndEachPayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	const n = 2*eachPaymentBatch + 3 // several batches and a partial one
	bulkInsertPayments(t, db, n, func(i int) Payment {
		p := Payment{Status: providers.StatusPaid}
		p.Provider, p.PaymentID, p.Currency, p.RawStatus = bpc.Name, fmt.Sprintf("p_%d", i), "EUR", "succeeded"
		p.PublicID = PublicIDFor(p.Provider, p.PaymentID)
		p.CreatedAt, p.UpdatedAt = testEpoch.Add(-time.Duration(i)*time.Second), testEpoch
		return p
	})
	if got, err := db.CountPayments(ctx); err != nil || got != n {
		t.Errorf("CountPayments: got %d (%v), want %d", got, err, n)
	}
	var ids []int64
	err := db.EachPayment(ctx, func(p Payment) error {
		if len(ids) == 0 {
			// fn may use the database while EachPayment runs.
			if _, err := db.AddEvent(ctx, Event{PaymentID: p.ID, Actor: "system", Kind: "note", Message: "seen"}); err != nil {
				return err
			}
		}
		if want := fmt.Sprintf("p_%d", len(ids)); p.PaymentID != want {
			return fmt.Errorf("payment %d: got %s, want %s", len(ids), p.PaymentID, want)
		}
		ids = append(ids, p.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("EachPayment: %v", err)
	}
	if len(ids) != n {
		t.Errorf("EachPayment visited %d payments, want %d", len(ids), n)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("EachPayment order: id %d after %d", ids[i], ids[i-1])
		}
	}
	stop := errors.New("stop")
	calls := 0
	err = db.EachPayment(ctx, func(Payment) error {
		calls++
		if calls == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 10 {
		t.Errorf("EachPayment with fn failing at 10: got %v after %d calls, want stop after 10", err, calls)
	}

	empty := newTestDB(t)
	if got, err := empty.CountPayments(ctx); err != nil || got != 0 {
		t.Errorf("CountPayments of an empty database: got %d (%v), want 0", got, err)
	}
	if err := empty.EachPayment(ctx, func(Payment) error { return stop }); err != nil {
		t.Errorf("EachPayment of an empty database: got %v, want nil", err)
	}
}

// TestUpsertPaymentKeepsMerchantReference: the merchant's reference is fixed once known.
// A Powens cancellation replaces client_state (where the reference lives) with Paydesk's
// own signed state; the payment must keep the shop's reference, in the row, the search
// and the timeline.
func TestUpsertPaymentKeepsMerchantReference(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		refs       []string // the reference each successive snapshot carries
		want       string
		wantSearch []string // searches that must find the payment
	}{
		{"a different reference later", []string{"ORD-1001", "pd-state.eyJhbGciOi"}, "ORD-1001", []string{"ORD-1001"}},
		{"an empty reference later", []string{"ORD-1001", ""}, "ORD-1001", []string{"ORD-1001"}},
		{"several later references", []string{"ORD-1001", "x", "y"}, "ORD-1001", []string{"ORD-1001"}},
		{"unknown first, known later", []string{"", "ORD-1002"}, "ORD-1002", []string{"ORD-1002"}},
		{"unknown first, known later, changed after", []string{"", "ORD-1003", "other"}, "ORD-1003", []string{"ORD-1003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			var p Payment
			for i, ref := range tt.refs {
				setClock(db, testEpoch.Add(time.Duration(i)*time.Minute))
				state, detail := "pending", ""
				if i > 0 {
					detail = "cancelling_webauth" // something else changes too, as in a real cancellation
				}
				snap := providers.Snapshot{Provider: powens.Name, PaymentID: "480001", MerchantReference: ref,
					Amount: 5090, Currency: "EUR", RawStatus: state, StateDetail: detail, CustomerName: "Jean Dupont",
					CreatedAt: testEpoch.Add(-time.Hour)}
				p, _ = upsertForTest(t, db, snap, UpsertOptions{Actor: "provider", Kind: "refreshed"})
			}
			if p.MerchantReference != tt.want {
				t.Errorf("reference %q, want %q", p.MerchantReference, tt.want)
			}
			stored, err := db.PaymentByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.MerchantReference != tt.want {
				t.Errorf("stored reference %q, want %q", stored.MerchantReference, tt.want)
			}
			for _, q := range tt.wantSearch {
				page, err := db.ListPayments(ctx, PaymentFilter{Query: q})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Payments) != 1 || page.Payments[0].ID != p.ID {
					t.Errorf("search %q finds %d payments, want the one", q, len(page.Payments))
				}
			}
			// The later references are no key of this payment.
			for _, ref := range tt.refs {
				if ref == "" || ref == tt.want {
					continue
				}
				page, err := db.ListPayments(ctx, PaymentFilter{Query: ref})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Payments) != 0 {
					t.Errorf("search %q (a reference that was not kept) finds the payment", ref)
				}
			}
			// No timeline line claims the reference changed once it was known.
			known := tt.refs[0] != ""
			for _, e := range eventsOf(t, db, p.ID) {
				if known && strings.Contains(e.Message, "reference") {
					t.Errorf("event %q: the reference changed after it was known", e.Message)
				}
				if strings.Contains(e.Message, "reference (none) → "+tt.want) {
					known = true
				}
			}
		})
	}
}
