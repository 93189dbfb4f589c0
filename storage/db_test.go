package storage

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	var highest int
	for _, f := range files {
		var n int
		fmt.Sscanf(strings.TrimPrefix(f, "migrations/"), "%d_", &n)
		highest = max(highest, n)
	}

	for _, table := range []string{"settings", "payments", "payments_fts", "events", "refunds", "refund_approvals",
		"actions", "payer_links", "audit_log", "webhook_events", "schema_migrations"} {
		var n int
		if err := db.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: got %d (%v), want 1", table, n, err)
		}
	}
	for _, trigger := range []string{"payments_fts_insert", "payments_fts_update", "payments_fts_delete"} {
		var n int
		if err := db.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?", trigger).Scan(&n); err != nil || n != 1 {
			t.Errorf("trigger %s: got %d (%v), want 1", trigger, n, err)
		}
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != highest {
		t.Errorf("schema version: got %d (%v), want %d", v, err, highest)
	}
	if got := rowCount(t, db, "schema_migrations"); got != len(files) {
		t.Errorf("schema_migrations rows: got %d, want %d", got, len(files))
	}
	var appliedAt int64
	db.db.QueryRow("SELECT applied_at FROM schema_migrations WHERE version = 1").Scan(&appliedAt)

	// Migrating again, in place or by re-opening the file, applies nothing twice.
	setClock(db, testEpoch.Add(time.Hour))
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer db.Close()
	if got := rowCount(t, db, "schema_migrations"); got != len(files) {
		t.Errorf("schema_migrations rows after re-open: got %d, want %d", got, len(files))
	}
	var again int64
	db.db.QueryRow("SELECT applied_at FROM schema_migrations WHERE version = 1").Scan(&again)
	if again != appliedAt {
		t.Errorf("migration 1 applied_at: got %d, want %d (unchanged)", again, appliedAt)
	}
}
