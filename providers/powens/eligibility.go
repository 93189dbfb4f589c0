package powens

import (
	"fmt"

	"paydesk/providers"
)

// Eligible is Powens' rules (docs/providers.md): it cancels created or pending payments,
// possibly after the payer confirms, never a pending instant transfer; it has no expire
// action and no refunds. providers.Eligible calls it once the status is known.
func Eligible(s providers.Snapshot) providers.Eligibility {
	return providers.Eligibility{
		Cancel: cancelDecision(s),
		Expire: providers.Refuse(providers.ActionExpire, "Powens has no expire action: Powens sets the expired state itself."),
		Refund: providers.Refuse(providers.ActionRefund, "Powens has no refunds: an open-banking transfer cannot be reversed through its API."),
	}
}

func cancelDecision(s providers.Snapshot) providers.Decision {
	switch s.RawStatus {
	case "created":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment, or ask the payer to confirm through a link."}
	case "pending":
		if s.StateDetail == "cancelling_webauth" || s.StateDetail == "cancelling" {
			return providers.Refuse(providers.ActionCancel, "A cancellation is already waiting for the payer to confirm; send them the payer link (or make a new one).")
		}
		if s.Instant {
			return providers.Refuse(providers.ActionCancel, "Powens cannot cancel a pending payment with an instant instruction.")
		}
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment if the payer's bank allows it, possibly after the payer confirms through a link."}
	}
	return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Powens cancels only created or pending payments; this one is %s.", s.RawStatus))
}
