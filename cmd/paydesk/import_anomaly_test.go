package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paydesk/storage"
)

// TestImportOverRefundIsAnAnomaly: an import line whose refunds add up to more than the
// captured amount is imported as the provider's word and raised (anomaly, timeline, one
// audit entry by "import"); a normal line raises nothing; importing the line again writes
// nothing more.
func TestImportOverRefundIsAnAnomaly(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "over.jsonl")
	pay := func(id string) string {
		return `"payment":{"id":"` + id + `","amount":10000,"amountReceived":10000,"created":"2026-01-02T03:04:05Z","currency":"EUR","status":"succeeded","customerDetails":{"name":"Ada Lovelace"}}`
	}
	lines := `{"provider":"bpc",` + pay("p_over") + `,"refunds":[{"id":"re_1","amount":6000,"currency":"EUR","paymentId":"p_over","status":"succeeded","created":"2026-01-03T00:00:00Z"},{"id":"re_2","amount":6000,"currency":"EUR","paymentId":"p_over","status":"succeeded","created":"2026-01-04T00:00:00Z"}]}
{"provider":"bpc",` + pay("p_fine") + `,"refunds":[{"id":"re_3","amount":6000,"currency":"EUR","paymentId":"p_fine","status":"succeeded","created":"2026-01-03T00:00:00Z"}]}
`
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "paydesk.db")
	for range 2 {
		if r := runImport(t, dbPath, file); r.err != nil {
			t.Fatalf("import: %v\n%s", r.err, r.stderr)
		}
	}
	db := openDB(t, dbPath)
	ctx := context.Background()
	over, err := db.PaymentByProviderID(ctx, "bpc", "p_over")
	if err != nil {
		t.Fatal(err)
	}
	if over.Refunded != 12000 {
		t.Errorf("the provider's word is not stored: refunded %d", over.Refunded)
	}
	words := "BPC says 120.00 EUR was refunded, more than the 100.00 EUR captured."
	if a, had, _ := db.PaymentAnomaly(ctx, over.ID); !had || a.Message != words || a.Actor != "import" {
		t.Errorf("anomaly = %+v (%v), want %q by import", a, had, words)
	}
	list, err := db.ListAudit(ctx, storage.AuditFilter{PaymentID: over.ID, Kind: "anomaly"})
	if err != nil || len(list) != 1 || list[0].Actor != "import" {
		t.Errorf("audit = %+v (%v), want one entry by import", list, err)
	}
	evs, _ := db.Events(ctx, over.ID)
	var tl strings.Builder
	for _, e := range evs {
		tl.WriteString(e.Message + "\n")
	}
	if strings.Count(tl.String(), "Anomaly: "+words) != 1 {
		t.Errorf("the timeline should say it once:\n%s", tl.String())
	}
	fine, err := db.PaymentByProviderID(ctx, "bpc", "p_fine")
	if err != nil {
		t.Fatal(err)
	}
	if _, had, _ := db.PaymentAnomaly(ctx, fine.ID); had {
		t.Error("a normal refund raised an anomaly")
	}
	if n, _ := db.CountAnomalies(ctx); n != 1 {
		t.Errorf("%d anomalies, want 1", n)
	}
}
