package providers_test

import (
	"os"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// TestMain registers the three providers, as cmd/paydesk does at start-up: the generic
// tests here check Normalise and Eligible across providers through the registry.
func TestMain(m *testing.M) {
	providers.Register(powens.Descriptor(), bpc.Descriptor(), tranzzo.Descriptor())
	os.Exit(m.Run())
}
