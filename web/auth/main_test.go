package auth

import (
	"os"
	"testing"

	"paydesk/storage/pgtest"
)

// TestMain stops the PostgreSQL server the run started, if any (PAYDESK_TEST_ENGINE=postgres).
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
