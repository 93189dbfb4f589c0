package tranzzo

import (
	"testing"

	"paydesk/ops/opstest"
	"paydesk/providers/providertest"
)

// FuzzParseEnvelope feeds Tranzzo's envelope parser (the same decoding the client applies to
// Tranzzo's answers) with mutations of real examples: every demo variant and the seeds'
// documented answers. It never panics; what it accepts is a payment storage can keep (a
// known currency, no negative amount, an id, a status that normalises) whose Raw is valid
// JSON and parses back to the same payment (providertest.FuzzParseEnvelope).
func FuzzParseEnvelope(f *testing.F) {
	providertest.SeedDemo(f, Demo{})
	opstest.SeedFiles(f, providertest.InEnvelope(Name, "transactions"), "seed_cancel_response.json", "seed_cancel_response_fixed.json")
	providertest.FuzzParseEnvelope(f, Name, ParseEnvelope)
}
