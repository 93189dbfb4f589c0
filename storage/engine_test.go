package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"paydesk/storage/pgtest"
	"sync"
	"testing"
)

func TestDollarPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"WHERE p = ?1 AND a = ?3 AND id = ?2", "WHERE p = $1 AND a = $3 AND id = $2"},
		{"WHERE s = '?' AND n = \"a?b\" AND x = ?", "WHERE s = '?' AND n = \"a?b\" AND x = $1"},
		{"WHERE s = 'it''s ?' AND x = ?", "WHERE s = 'it''s ?' AND x = $1"},
		{"-- is it ?\nSELECT ?", "-- is it ?\nSELECT $1"},
		{"SELECT '?", "SELECT '?"},
	} {
		if got := dollarPlaceholders(c.in); got != c.want {
			t.Errorf("dollarPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEngineOf(t *testing.T) {
	for dsn, want := range map[string]Engine{
		"paydesk.db":                  SQLite,
		"/var/lib/paydesk/paydesk.db": SQLite,
		"postgres://u@db/paydesk":     Postgres,
		"postgresql://u@db/paydesk":   Postgres,
	} {
		if got := EngineOf(dsn); got != want {
			t.Errorf("EngineOf(%q) = %s, want %s", dsn, got, want)
		}
	}
}

func TestPostgresPoolSize(t *testing.T) {
	dsn, n, err := poolSize("postgres://u@db/paydesk?sslmode=disable&pool_max_conns=40")
	if err != nil || n != 40 || dsn != "postgres://u@db/paydesk?sslmode=disable" {
		t.Fatalf("poolSize = %q, %d, %v", dsn, n, err)
	}
	if _, n, _ := poolSize("postgres://u@db/paydesk"); n != 16 {
		t.Fatalf("default pool = %d, want 16", n)
	}
	if _, _, err := poolSize("postgres://u@db/paydesk?pool_max_conns=many"); err == nil {
		t.Fatal("pool_max_conns=many accepted")
	}
}

// A write that fails inside a RETURNING row leaves nothing behind and says why; one
// that works is committed (both engines: on PostgreSQL the row runs in its own
// transaction under the writers' lock).
func TestReturningRowCommitsOrRollsBack(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var id int64
	err := db.db.QueryRowContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) RETURNING 1`, "engine-test", []byte("one")).Scan(&id)
	if err != nil || id != 1 {
		t.Fatalf("insert returning: %d, %v", id, err)
	}
	err = db.db.QueryRowContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) RETURNING 1`, "engine-test", []byte("two")).Scan(&id)
	if !isUniqueConstraint(err) {
		t.Fatalf("second insert of one key: %v, want a unique constraint error", err)
	}
	var v string
	if err := db.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, "engine-test").Scan(&v); err != nil || v != "one" {
		t.Fatalf("value = %q, %v; want one", v, err)
	}
	if err := db.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, "none").Scan(&v); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("missing key: %v", err)
	}
}

// Two instances starting at once on an empty database: both open it, each migration is
// applied once (the migrations lock on PostgreSQL, the write lock on SQLite).
func TestMigrateTwoInstancesAtOnce(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "paydesk.db")
	if onPostgres() {
		dsn = pgtest.NewDatabase(t) // empty: no template, every migration to run
	}
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(ctx, dsn)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		defer dbs[i].Close()
	}
	var applied, distinct int
	if err := dbs[0].db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	files, err := dbs[0].migrationFiles()
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || distinct != len(files) {
		t.Errorf("schema_migrations has %d rows (%d versions); want %d, each once", applied, distinct, len(files))
	}
	for i, db := range dbs {
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 18 {
			t.Errorf("instance %d: schema version %d, %v", i, v, err)
		}
	}
}

// A forged webhook's text with a NUL character and bytes that are not UTF-8 is recorded
// on both engines (PostgreSQL's text holds neither: they are kept as U+FFFD there).
func TestTextPostgresCannotHoldIsStored(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	odd := "evt\x00key\xff"
	body := []byte("{\"id\":\"a\x00b\xfe\"}")
	if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", EventKey: odd, EventType: odd, Verdict: "malformed",
		Detail: odd, Body: body}); err != nil {
		t.Fatalf("record: %v", err)
	}
	list, err := db.ListWebhooks(ctx, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	want := odd
	if onPostgres() {
		want = "evt\uFFFDkey\uFFFD"
	}
	if got := list[0].Detail; got != want {
		t.Errorf("detail = %q, want %q", got, want)
	}
	if list[0].BodySize != int64(len(body)) {
		t.Errorf("body size = %d, want %d", list[0].BodySize, len(body))
	}
}
