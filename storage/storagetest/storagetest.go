// Package storagetest gives tests of every package a fresh, migrated Paydesk database on
// the engine the run is for: a SQLite file by default, a PostgreSQL database when
// PAYDESK_TEST_ENGINE=postgres (storage/pgtest starts the server; docs/testing.md).
package storagetest

import (
	"context"
	"path/filepath"
	"testing"

	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// template is the migrated PostgreSQL database each test's database is cloned from:
// running every migration costs far more than a clone.
const template = "paydesk_migrated"

// DSN returns a PAYDESK_DB value naming a fresh, migrated, empty database that is removed
// when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	if pgtest.Engine() != "postgres" {
		return filepath.Join(t.TempDir(), "paydesk.db")
	}
	name, err := pgtest.Template(template, func(url string) error {
		db, err := storage.Open(context.Background(), url)
		if err != nil {
			return err
		}
		return db.Close()
	})
	if err != nil {
		t.Fatalf("storagetest: migrated template: %v", err)
	}
	return pgtest.NewDatabaseFrom(t, name)
}

// Postgres tells whether this run's tests use PostgreSQL.
func Postgres() bool { return pgtest.Engine() == "postgres" }
