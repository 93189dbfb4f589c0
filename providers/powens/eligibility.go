package powens

import (
	"fmt"

	"paydesk/providers"
)

// words is how Powens' facts read for people: open-banking transfers, cancellation
// only, its states and codes in words.
var words = providers.Words{Means: "open-banking transfer", Actions: []providers.Action{providers.ActionCancel}, Explain: explain}

// stateWords are Powens' states in plain words (docs/providers.md).
var stateWords = map[string]string{
	"created":    "not yet validated by the payer",
	"validating": "being validated by the payer",
	"pending":    "validated, waiting to be executed",
	"accepted":   "initiated; the bank sends no further update",
	"done":       "executed by the payer's bank",
	"rejected":   "rejected",
	"expired":    "expired",
}

// detailWords and codeWords are Powens' state details and error codes in plain words.
var (
	detailWords = map[string]string{
		"cancelling_webauth": "a cancellation waits for the payer to confirm it on Powens' page",
		"cancelling":         "a cancellation waits for the payer to confirm it at their bank",
	}
	codeWords = map[string]string{
		"cancelledByUser":   "cancelled by the payer",
		"insufficientFunds": "insufficient funds",
	}
)

func explain(field, value string) string {
	switch field {
	case "status":
		return stateWords[value]
	case "state_detail":
		return detailWords[value]
	case "error_code":
		return codeWords[value]
	}
	return ""
}

// Eligible is Powens' rules (docs/providers.md): it cancels created or pending payments,
// possibly after the payer confirms, never a pending instant transfer; it has no expire
// action and no refunds. providers.Eligible calls it once the status is known.
func Eligible(s providers.Snapshot) providers.Eligibility {
	return providers.Eligibility{
		Cancel: cancelDecision(s),
		Expire: providers.Refuse(providers.ActionExpire, "Powens has no expire action: Powens sets the expired state itself."),
		Refund: providers.Refuse(providers.ActionRefund, "Powens has no refunds: an open-banking transfer cannot be reversed through its API. To give the money back, pay the customer by a new transfer outside Paydesk."),
	}
}

func cancelDecision(s providers.Snapshot) providers.Decision {
	switch s.RawStatus {
	case "created":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment, or ask the payer to confirm through a link."}
	case "pending":
		if s.StateDetail == "cancelling_webauth" || s.StateDetail == "cancelling" {
			return providers.Refuse(providers.ActionCancel, "A cancellation is already waiting for the payer to confirm it through a payer link: see “Payer confirmation links” below.")
		}
		if s.Instant {
			return providers.Refuse(providers.ActionCancel, "Powens cannot cancel a pending payment with an instant instruction: the payer's bank executes it at once.")
		}
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment if the payer's bank allows it, possibly after the payer confirms through a link."}
	}
	st := s.RawStatus
	if w, ok := stateWords[st]; ok {
		st = fmt.Sprintf("%s (%s)", w, st)
	}
	return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Powens cancels only payments not executed yet (created or pending); this one is %s.", st))
}
