package main

import (
	"os"
	"testing"
)

// TestMain registers the providers as main does, before any test runs.
func TestMain(m *testing.M) {
	registerProviders()
	os.Exit(m.Run())
}
