package storage

import (
	"context"
	"strings"
	"testing"
)

// Migration 0013 takes the provider names out of the payments table's CHECK: the table's
// CREATE statement names no provider any more, the rest of it is unchanged, the database
// is intact, and a payment of a provider registered later can be stored.
func TestPaymentsTableNamesNoProvider(t *testing.T) {
	if onPostgres() {
		t.Skip("SQLite's migration 0013: PostgreSQL's schema never named providers (cmd/paydesk's layering test reads it)")
	}
	db := newTestDB(t)
	ctx := context.Background()
	var sql string
	if err := db.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'payments'`).Scan(&sql); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sql, "CHECK (provider IN") || strings.Contains(sql, "'bpc'") {
		t.Errorf("payments still lists the providers:\n%s", sql)
	}
	for _, want := range []string{"provider            TEXT    NOT NULL,", "provider_payment_id TEXT", "CHECK (length(currency) = 3)", "CHECK (amount >= 0)"} {
		if !strings.Contains(sql, want) {
			t.Errorf("payments lost %q:\n%s", want, sql)
		}
	}
	var ok string
	if err := db.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
	// Every connection of the pool reads the new schema: held at once, four connections
	// each store a payment the old CHECK refused.
	for i := range 4 {
		conn, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = conn.ExecContext(ctx, `INSERT INTO payments (public_id, provider, amount, currency, status, raw_status, created_at, updated_at)
			VALUES (?, 'acme', 100, 'EUR', 'paid', 'done', 0, 0)`, "pd_acme"+strings.Repeat("x", i))
		if err != nil {
			t.Fatalf("connection %d: a payment of another provider: %v", i, err)
		}
	}
}
