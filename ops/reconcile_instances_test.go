package ops

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// TestReconcilerLeavesOtherInstancesCallsAlone: a pending action started before this
// process, still within the grace, is abandoned on SQLite (one process serves: whoever
// started it is gone) but left alone on PostgreSQL, where another instance may be waiting
// for the provider's answer right now.
func TestReconcilerLeavesOtherInstancesCallsAlone(t *testing.T) {
	for _, c := range []struct {
		engine  string
		dsn     func() string
		skipped int
	}{
		{"sqlite", func() string { return filepath.Join(t.TempDir(), "paydesk.db") }, 0},
		{"postgres", func() string { return pgtest.NewDatabase(t) }, 1},
	} {
		t.Run(c.engine, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			db, err := storage.Open(ctx, c.dsn())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			db.Now = func() time.Time { return now }
			raw, err := (bpc.Demo{}).Envelope(providers.DemoSpec{Seq: 1, Name: "Ada Lovelace", Email: "ada@example.com", Amount: 100000,
				Currency: "EUR", CreatedAt: now.Add(-time.Hour), Variant: 2, Reference: "REF-00001"})
			if err != nil {
				t.Fatal(err)
			}
			snap, err := bpc.ParseEnvelope(raw)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
			if err != nil {
				t.Fatal(err)
			}
			// Another instance records a refund and calls the provider...
			if _, _, err := db.RequestRefund(ctx, storage.RefundRequest{PaymentID: p.ID, Amount: 1000, Reason: "goodwill",
				RequestedBy: "sam@example.com", IdempotencyKey: strings.Repeat("a", 32)}); err != nil {
				t.Fatal(err)
			}
			// ...while this one starts a second later and runs the reconciler.
			later := func() time.Time { return now.Add(time.Second) }
			d, err := New(Config{BaseURL: "http://paydesk.test/", LinkSecret: []byte(strings.Repeat("k", 32)), Now: later},
				db, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			res, _ := d.Reconcile(ctx)
			if res.Skipped != c.skipped || res.Checked != 1-c.skipped {
				t.Errorf("reconcile: %+v, want %d skipped", res, c.skipped)
			}
		})
	}
}
