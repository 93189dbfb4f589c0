package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage/pgtest"
)

// testEpoch is the fixed instant the test clock starts at.
var testEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testDSN names a fresh database on the run's engine: a file under t.TempDir(), or with
// PAYDESK_TEST_ENGINE=postgres a PostgreSQL database cloned from a migrated template
// (storage/pgtest), dropped when the test ends.
func testDSN(t testing.TB) string {
	t.Helper()
	if pgtest.Engine() != "postgres" {
		return filepath.Join(t.TempDir(), "paydesk.db")
	}
	name, err := pgtest.Template("storage_migrated", func(url string) error {
		db, err := Open(context.Background(), url)
		if err != nil {
			return err
		}
		return db.Close()
	})
	if err != nil {
		t.Fatalf("migrated template: %v", err)
	}
	return pgtest.NewDatabaseFrom(t, name)
}

// onPostgres tells whether this run's tests use PostgreSQL.
func onPostgres() bool { return pgtest.Engine() == "postgres" }

// newTestDB opens a fresh, migrated database (testDSN) and closes it when the test ends.
// Its clock is fixed at testEpoch; tests may replace db.Now.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), testDSN(t))
	if err != nil {
		t.Fatalf("open test db: %v", err)
	}
	db.Now = func() time.Time { return testEpoch }
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMain runs the package's tests and benchmarks, then removes the benchmarks'
// database if one was built.
func TestMain(m *testing.M) {
	providers.Register(powens.Descriptor(), bpc.Descriptor(), tranzzo.Descriptor())
	code := m.Run()
	closeBenchDatabase()
	pgtest.Stop()
	os.Exit(code)
}
