package bpc

import (
	"os"
	"testing"

	"paydesk/providers"
)

// TestMain registers the provider, as cmd/paydesk does at start-up: the generic
// providers.Normalise and providers.Eligible reach its rules through the registry.
func TestMain(m *testing.M) {
	providers.Register(Descriptor())
	os.Exit(m.Run())
}
