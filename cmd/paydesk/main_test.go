package main

import (
	"os"
	"testing"

	"paydesk/storage/pgtest"
)

// TestMain registers the providers as main does, before any test runs, and stops the
// PostgreSQL server a test may have started (storage/pgtest).
func TestMain(m *testing.M) {
	registerProviders()
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
