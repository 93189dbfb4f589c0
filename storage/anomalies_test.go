package storage

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
)

// paidBPC is a captured 1,000.00 EUR BPC payment with the given succeeded refunds.
func paidBPC(id string, refunds ...int64) providers.Snapshot {
	s := providers.Snapshot{Provider: bpc.Name, PaymentID: id, Amount: 100000, Captured: 100000, Currency: "EUR",
		RawStatus: "succeeded", CustomerName: "Ada Lovelace"}
	for i, a := range refunds {
		s.Refunds = append(s.Refunds, providers.RefundSnapshot{ID: id + "_re" + string(rune('a'+i)), Amount: a, Status: "succeeded", Succeeded: true})
		s.Refunded += a
	}
	return s
}

// auditOf returns the audit entries of a payment of a kind.
func auditOf(t *testing.T, db *DB, paymentID int64, kind string) []AuditEntry {
	t.Helper()
	list, err := db.ListAudit(context.Background(), AuditFilter{PaymentID: paymentID, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// timelineOf is a payment's timeline as one string.
func timelineOf(t *testing.T, db *DB, paymentID int64) string {
	t.Helper()
	var b strings.Builder
	for _, e := range eventsOf(t, db, paymentID) {
		b.WriteString(e.Kind + " " + e.Actor + ": " + e.Message + "\n")
	}
	return b.String()
}

func TestAnomalyOf(t *testing.T) {
	pay := func(amount, captured, refunded int64) Payment {
		return Payment{Snapshot: providers.Snapshot{Provider: bpc.Name, Amount: amount, Captured: captured, Refunded: refunded, Currency: "EUR"}}
	}
	ok := func(a int64) providers.RefundSnapshot { return providers.RefundSnapshot{Amount: a, Succeeded: true} }
	tests := []struct {
		name    string
		p       Payment
		refunds []providers.RefundSnapshot
		want    string // a part of the words; "" for none
	}{
		{"nothing refunded", pay(100000, 100000, 0), nil, ""},
		{"all refunded", pay(100000, 100000, 100000), []providers.RefundSnapshot{ok(100000)}, ""},
		{"partly captured, within it", pay(100000, 60000, 60000), []providers.RefundSnapshot{ok(60000)}, ""},
		{"not captured, nothing refunded", pay(100000, 0, 0), nil, ""},
		{"a failed refund above the rest does not count", pay(100000, 100000, 0), []providers.RefundSnapshot{{Amount: 500000, Failed: true}}, ""},
		{"one minor unit too many", pay(100000, 100000, 100001), nil, "BPC says 1,000.01 EUR was refunded, more than the 1,000.00 EUR captured."},
		{"refunded, never captured", pay(100000, 0, 500), nil, "BPC says 5.00 EUR was refunded, more than the 0.00 EUR captured."},
		{"refunds above, total not", pay(100000, 100000, 50000), []providers.RefundSnapshot{ok(70000), ok(40000)}, "BPC's succeeded refunds add up to 1,100.00 EUR, more than the 1,000.00 EUR captured."},
		{"more captured than asked", pay(100000, 100001, 0), nil, "BPC says 1,000.01 EUR was captured, more than the 1,000.00 EUR the payer was asked for."},
	}
	for _, tt := range tests {
		got := anomalyOf(tt.p, tt.refunds)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s: anomalyOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestUpsertRaisesAndClearsAnomalies: an answer refunding more than captured is stored as
// the provider's word and raised once (anomaly row, timeline, audit); the same answer again
// changes nothing; a consistent answer clears it, saying so; a normal refund raises nothing.
func TestUpsertRaisesAndClearsAnomalies(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	p, _ := upsertForTest(t, db, paidBPC("p_over"), UpsertOptions{Actor: "import"})
	if _, had, _ := db.PaymentAnomaly(ctx, p.ID); had {
		t.Fatal("a consistent payment has an anomaly")
	}

	// A normal partial refund: no anomaly.
	upsertForTest(t, db, paidBPC("p_over", 40000), UpsertOptions{Actor: "webhook", Kind: "webhook"})
	if _, had, _ := db.PaymentAnomaly(ctx, p.ID); had || len(auditOf(t, db, p.ID, "anomaly")) != 0 {
		t.Fatal("a normal refund raised an anomaly")
	}

	// A second refund taking the total above the captured amount: applied, and raised.
	over := paidBPC("p_over", 40000, 70000)
	got, ch := upsertForTest(t, db, over, UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	if !ch.Changed || got.Refunded != 110000 || got.Status != providers.StatusRefunded {
		t.Fatalf("the provider's word is not stored: changed %v, refunded %d, status %s", ch.Changed, got.Refunded, got.Status)
	}
	a, had, err := db.PaymentAnomaly(ctx, p.ID)
	if err != nil || !had {
		t.Fatalf("no anomaly after an over-refund (%v)", err)
	}
	const words = "BPC says 1,100.00 EUR was refunded, more than the 1,000.00 EUR captured."
	if a.Message != words || a.Actor != "webhook" || !a.Since.Equal(testEpoch) {
		t.Errorf("anomaly = %+v", a)
	}
	if tl := timelineOf(t, db, p.ID); !strings.Contains(tl, "anomaly webhook: Anomaly: "+words) {
		t.Errorf("the timeline does not say it:\n%s", tl)
	}
	if list := auditOf(t, db, p.ID, "anomaly"); len(list) != 1 || list[0].Actor != "webhook" || !strings.Contains(list[0].Message, words) {
		t.Errorf("audit = %+v, want one anomaly entry by webhook", list)
	}
	if n, _ := db.CountAnomalies(ctx); n != 1 {
		t.Errorf("CountAnomalies = %d, want 1", n)
	}
	rows, err := db.ListAnomalies(ctx, 10)
	if err != nil || len(rows) != 1 || rows[0].PaymentPublicID != p.PublicID || rows[0].CustomerName != "Ada Lovelace" {
		t.Errorf("ListAnomalies = %+v, %v", rows, err)
	}
	for _, f := range []PaymentFilter{{NeedsAttention: true}, {Anomaly: true}} {
		page, err := db.ListPayments(ctx, f)
		if err != nil || len(page.Payments) != 1 || page.Payments[0].ID != p.ID || page.Count != 1 {
			t.Errorf("ListPayments(%+v) = %+v, %v; want the anomalous payment", f, page, err)
		}
	}

	// The same answer again: nothing new, not audited twice.
	events := len(eventsOf(t, db, p.ID))
	upsertForTest(t, db, over, UpsertOptions{Actor: "reconciler"})
	if len(eventsOf(t, db, p.ID)) != events || len(auditOf(t, db, p.ID, "anomaly")) != 1 {
		t.Error("the same answer wrote again")
	}

	// The provider corrects itself: cleared, on the timeline and in the audit log.
	upsertForTest(t, db, paidBPC("p_over", 40000), UpsertOptions{Actor: "reconciler"})
	if _, had, _ := db.PaymentAnomaly(ctx, p.ID); had {
		t.Fatal("the anomaly is still there after a consistent answer")
	}
	if tl := timelineOf(t, db, p.ID); !strings.Contains(tl, "anomaly_cleared reconciler: Anomaly cleared: BPC's answer is consistent again (it was: "+words+")") {
		t.Errorf("the timeline does not say it cleared:\n%s", tl)
	}
	if list := auditOf(t, db, p.ID, "anomaly_cleared"); len(list) != 1 {
		t.Errorf("%d anomaly_cleared audit entries, want 1", len(list))
	}
	if page, _ := db.ListPayments(ctx, PaymentFilter{Anomaly: true}); len(page.Payments) != 0 {
		t.Error("the anomaly filter still lists the payment")
	}
	if v, err := db.VerifyAudit(ctx); err != nil || !v.OK {
		t.Errorf("audit chain: %+v, %v", v, err)
	}
}

// TestUpsertAnomalyNewPayment: a payment first seen over-refunded (an import line) is
// stored and raised at once; one seen with more captured than asked too.
func TestUpsertAnomalyNewPayment(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	p, _ := upsertForTest(t, db, paidBPC("p_new", 100000, 500), UpsertOptions{Actor: "import", Kind: "imported"})
	a, had, _ := db.PaymentAnomaly(ctx, p.ID)
	if !had || !strings.Contains(a.Message, "1,005.00 EUR was refunded") || len(auditOf(t, db, p.ID, "anomaly")) != 1 {
		t.Errorf("an over-refunded import: anomaly %+v (%v)", a, had)
	}
	over := paidBPC("p_cap")
	over.Captured = 100100
	q, _ := upsertForTest(t, db, over, UpsertOptions{Actor: "import", Kind: "imported"})
	if a, had, _ := db.PaymentAnomaly(ctx, q.ID); !had || !strings.Contains(a.Message, "1,001.00 EUR was captured, more than the 1,000.00 EUR") {
		t.Errorf("an over-captured import: anomaly %+v (%v)", a, had)
	}
}

// TestBulkLoadRecordsAnomalies: the bulk loader records an anomaly as UpsertPayment does.
func TestBulkLoadRecordsAnomalies(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	l, err := db.NewBulkLoader(ctx, BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, err := l.Add(BulkPayment{Snapshot: paidBPC("p_bulk_ok", 100)})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := l.Add(BulkPayment{Snapshot: paidBPC("p_bulk_over", 100000, 100)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, had, _ := db.PaymentAnomaly(ctx, good); had {
		t.Error("a consistent bulk payment has an anomaly")
	}
	if _, had, _ := db.PaymentAnomaly(ctx, bad); !had || len(auditOf(t, db, bad, "anomaly")) != 1 {
		t.Error("an over-refunded bulk payment has no anomaly, or no audit entry")
	}
	if page, _ := db.ListPayments(ctx, PaymentFilter{NeedsAttention: true}); len(page.Payments) != 1 || page.Payments[0].ID != bad {
		t.Errorf("needs attention = %d payments, want the anomalous one", len(page.Payments))
	}
}

// TestAnomalyMigrationBackfills: payments stored before 0011 that are already over-refunded
// or over-captured get their anomaly (and a timeline line) when the migration runs.
func TestAnomalyMigrationBackfills(t *testing.T) {
	if onPostgres() {
		t.Skip("SQLite's migration history: PostgreSQL's schema starts at 0018, with the anomalies table")
	}
	ctx := context.Background()
	db := newTestDB(t)
	over, _ := upsertForTest(t, db, paidBPC("p_old_over", 100000, 100), UpsertOptions{})
	fine, _ := upsertForTest(t, db, paidBPC("p_old_fine", 100), UpsertOptions{})
	// As before 0011: no anomalies table.
	for _, q := range []string{`DROP TABLE payment_anomalies`, `DELETE FROM schema_migrations WHERE version = 11`} {
		if _, err := db.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if a, had, _ := db.PaymentAnomaly(ctx, over.ID); !had || !strings.Contains(a.Message, "more was refunded than captured") {
		t.Errorf("the old over-refunded payment: %+v, %v", a, had)
	}
	if _, had, _ := db.PaymentAnomaly(ctx, fine.ID); had {
		t.Error("a consistent old payment got an anomaly")
	}
	// The next answer words it with the amounts.
	upsertForTest(t, db, paidBPC("p_old_over", 100000, 100), UpsertOptions{Actor: "reconciler"})
	if a, _, _ := db.PaymentAnomaly(ctx, over.ID); !strings.Contains(a.Message, "1,001.00 EUR was refunded") {
		t.Errorf("after a refresh: %q", a.Message)
	}
}
