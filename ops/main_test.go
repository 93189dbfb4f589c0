package ops_test

import (
	"os"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage/pgtest"
)

// TestMain registers the providers, as cmd/paydesk does at start-up, before any test
// runs: routes, labels, statuses and rules all come from the registry.
func TestMain(m *testing.M) {
	providers.Register(powens.Descriptor(), bpc.Descriptor(), tranzzo.Descriptor())
	code := m.Run()
	pgtest.Stop() // the PostgreSQL server of tests that asked for one
	os.Exit(code)
}
