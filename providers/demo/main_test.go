package demo_test

import (
	"os"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// TestMain registers the three providers, as cmd/paydesk does at start-up: the generator
// takes turns over the registered providers.
func TestMain(m *testing.M) {
	providers.Register(powens.Descriptor(), bpc.Descriptor(), tranzzo.Descriptor())
	os.Exit(m.Run())
}
