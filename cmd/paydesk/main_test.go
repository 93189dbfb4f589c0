package main

import (
	"os"
	"testing"

	"paydesk/storage/pgtest"
)

// TestMain registers the providers as main does, before any test runs, and stops the
// PostgreSQL server a test may have started (storage/pgtest) and removes the binary the
// process tests built.
func TestMain(m *testing.M) {
	registerProviders()
	code := m.Run()
	pgtest.Stop()
	removeBinary()
	os.Exit(code)
}
