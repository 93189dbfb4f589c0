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
)

// testEpoch is the fixed instant the test clock starts at.
var testEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestDB opens a fresh, migrated database in a file under t.TempDir() and closes it
// when the test ends. Its clock is fixed at testEpoch; tests may replace db.Now.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "paydesk.db"))
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
	os.Exit(code)
}
