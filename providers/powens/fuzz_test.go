package powens

import (
	"testing"

	"paydesk/ops/opstest"
	"paydesk/providers/providertest"
)

// FuzzParseEnvelope feeds Powens's envelope parser (the same decoding the client applies to
// Powens's answers) with mutations of real examples: every demo variant and the seeds'
// documented answers. It never panics; what it accepts is a payment storage can keep (a
// known currency, no negative amount, an id, a status that normalises) whose Raw is valid
// JSON and parses back to the same payment (providertest.FuzzParseEnvelope).
func FuzzParseEnvelope(f *testing.F) {
	providertest.SeedDemo(f, Demo{})
	opstest.SeedFiles(f, nil, "envelope_seed_payment.json", "envelope_cancelling_validate_uri.json", "envelope_gbp_two_instructions.json")
	opstest.SeedFiles(f, providertest.InEnvelope(Name, "payment"),
		"fixed_cancel_answer_done.json", "fixed_cancel_answer_webauth.json", "fixed_payment_created_answer.json")
	providertest.FuzzParseEnvelope(f, Name, ParseEnvelope)
}
