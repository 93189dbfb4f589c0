package storage

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

func TestUpsertPaymentRefundSync(t *testing.T) {
	db := newTestDB(t)
	t1 := testEpoch.Add(-50 * time.Minute)
	t2 := testEpoch.Add(-40 * time.Minute)
	snap := providers.Snapshot{Provider: bpc.Name, PaymentID: "p_9", Amount: 10000, Captured: 10000, Refunded: 2000,
		Currency: "EUR", RawStatus: "succeeded", CreatedAt: testEpoch.Add(-time.Hour),
		Refunds: []providers.RefundSnapshot{
			{ID: "re_1", Amount: 2000, Currency: "EUR", Status: "succeeded", Succeeded: true, CreatedAt: t1},
			{ID: "re_2", Amount: 1000, Status: "pending", CreatedAt: t2},
		}}
	p, _ := upsertForTest(t, db, snap, UpsertOptions{Actor: "import", Kind: "imported"})
	if e := eventsOf(t, db, p.ID)[0]; e.Message != "Imported from BPC: partially refunded, 100.00 EUR; refund re_1 of 20.00 EUR succeeded; refund re_2 of 10.00 EUR pending" {
		t.Errorf("import event: got %q", e.Message)
	}
	want := []storedRefund{
		{"re_1", 2000, "EUR", "succeeded", "provider", "provider", t1, false},
		{"re_2", 1000, "EUR", "pending", "provider", "provider", t2, false},
	}
	if got := refundsOf(t, db, p.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("refunds after import:\n got %+v\nwant %+v", got, want)
	}

	// A refund Paydesk sent whose outcome was unknown, already matched to re_4.
	if _, err := db.db.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at,
		provider_refund_id, idempotency_key, updated_at) VALUES (?, 1500, 'EUR', 'unknown', 'duplicate', 'ann@example.com', ?, 're_4', 'key-4', ?)`,
		p.ID, ms(testEpoch), ms(testEpoch)); err != nil {
		t.Fatal(err)
	}

	// Later: re_1 is reported failed (a settled refund never moves), re_2 succeeded,
	// re_3 is new and failed, re_4 succeeded.
	setClock(db, testEpoch.Add(time.Hour))
	snap.Refunded = 4500
	snap.Refunds = []providers.RefundSnapshot{
		{ID: "re_1", Amount: 2000, Status: "failed", Failed: true, CreatedAt: t1},
		{ID: "re_2", Amount: 1000, Status: "succeeded", Succeeded: true, CreatedAt: t2},
		{ID: "re_3", Amount: 500, Status: "failed", Failed: true},
		{ID: "re_4", Amount: 1500, Status: "succeeded", Succeeded: true},
	}
	_, ch := upsertForTest(t, db, snap, UpsertOptions{Actor: "reconciler", Kind: "refreshed"})
	if !ch.Changed {
		t.Errorf("change: got %+v, want changed", ch)
	}
	evs := eventsOf(t, db, p.ID)
	wantMsg := "Refreshed from provider: refunded 20.00 EUR → 45.00 EUR; refund re_2 of 10.00 EUR pending → succeeded; " +
		"refund re_3 of 5.00 EUR failed; refund re_4 of 15.00 EUR unknown → succeeded"
	if e := evs[len(evs)-1]; e.Message != wantMsg {
		t.Errorf("refresh event:\n got %q\nwant %q", e.Message, wantMsg)
	}
	want = []storedRefund{
		{"re_1", 2000, "EUR", "succeeded", "provider", "provider", t1, false},
		{"re_2", 1000, "EUR", "succeeded", "provider", "provider", t2, false},
		{"re_4", 1500, "EUR", "succeeded", "duplicate", "ann@example.com", testEpoch, true},
		{"re_3", 500, "EUR", "failed", "provider", "provider", testEpoch.Add(time.Hour), false},
	}
	if got := refundsOf(t, db, p.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("refunds after refresh:\n got %+v\nwant %+v", got, want)
	}

	// Nothing new: nothing written.
	setClock(db, testEpoch.Add(2*time.Hour))
	if _, ch := upsertForTest(t, db, snap, UpsertOptions{Actor: "reconciler"}); ch.Changed {
		t.Errorf("repeated refresh: got %+v, want no change", ch)
	}
	if n := len(eventsOf(t, db, p.ID)); n != len(evs) {
		t.Errorf("events after repeated refresh: got %d, want %d", n, len(evs))
	}
}

func TestUpsertPaymentAdoptsUnmatchedRefund(t *testing.T) {
	tests := []struct {
		name      string
		inFlight  []int64 // amounts of Paydesk refunds in flight without a provider id
		wantRows  int
		wantAdopt bool
	}{
		{"one match is adopted", []int64{2500}, 1, true},
		{"another amount is not", []int64{2400}, 2, false},
		{"two matches are ambiguous", []int64{2500, 2500}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			snap := providers.Snapshot{Provider: tranzzo.Name, OrderID: "order-7", PaymentID: "tz_7", Amount: 9000,
				Captured: 9000, Currency: "UAH", RawStatus: "success", Method: "purchase", CreatedAt: testEpoch.Add(-time.Hour)}
			p, _ := upsertForTest(t, db, snap, UpsertOptions{Actor: "import"})
			for i, amount := range tt.inFlight {
				if _, err := db.db.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at,
					idempotency_key, updated_at) VALUES (?, ?, 'UAH', 'unknown', 'customer_request', 'ann@example.com', ?, ?, ?)`,
					p.ID, amount, ms(testEpoch), fmt.Sprintf("key-%d", i), ms(testEpoch)); err != nil {
					t.Fatal(err)
				}
			}
			snap.Refunded = 2500
			snap.Refunds = []providers.RefundSnapshot{{ID: "tz_r7", Amount: 2500, Status: "success", Succeeded: true}}
			upsertForTest(t, db, snap, UpsertOptions{Actor: "reconciler"})
			got := refundsOf(t, db, p.ID)
			if len(got) != tt.wantRows {
				t.Fatalf("refunds: got %d rows %+v, want %d", len(got), got, tt.wantRows)
			}
			var withID []storedRefund
			for _, r := range got {
				if r.ProviderID == "tz_r7" {
					withID = append(withID, r)
				}
			}
			if len(withID) != 1 || withID[0].Status != "succeeded" || withID[0].HasKey != tt.wantAdopt {
				t.Errorf("refund tz_r7: got %+v, want one succeeded row, Paydesk's own=%v", withID, tt.wantAdopt)
			}
		})
	}
}
