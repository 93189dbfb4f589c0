package main

import (
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// registerProviders registers every provider Paydesk speaks to, in display order. It is
// the one place that names them: each provider package hands over everything else
// through its descriptor, so adding a provider is its own package and one entry here
// (docs/architecture.md). main calls it before anything else, tests from TestMain.
func registerProviders() {
	providers.Register(
		powens.Descriptor(),
		bpc.Descriptor(),
		tranzzo.Descriptor(),
	)
}

// demoAccountNames are the demo's accounts of the providers it runs several of: BPC, one
// account per legal entity (the first is the default account). Every other provider has
// one account, named "default" (demo_accounts.go).
var demoAccountNames = map[providers.Name][]string{bpc.Name: {"bpc-fr", "bpc-de"}}
