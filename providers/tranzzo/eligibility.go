package tranzzo

import (
	"fmt"

	"paydesk/providers"
)

// Eligible is Tranzzo's rules (docs/providers.md): "cancel" cancels an unpaid hosted
// payment or voids a held authorisation; there is no expire action; successful purchases
// and captures are refunded up to what is left. providers.Eligible calls it once the
// status is known.
func Eligible(s providers.Snapshot) providers.Eligibility {
	return providers.Eligibility{
		Cancel: cancelDecision(s),
		Expire: providers.Refuse(providers.ActionExpire, "Tranzzo has no expire action; an unpaid hosted payment is cancelled instead."),
		Refund: refundDecision(s),
	}
}

func cancelDecision(s providers.Snapshot) providers.Decision {
	if s.Voided {
		return providers.Refuse(providers.ActionCancel, "This authorisation is already voided.")
	}
	switch {
	case s.RawStatus == "init" && s.Mode == "hosted" && (s.Method == "purchase" || s.Method == "auth"):
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, Reason: "Tranzzo will cancel the unpaid hosted payment."}
	case s.RawStatus == "success" && s.Method == "auth":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpVoid, Reason: "Tranzzo will void the authorisation; the full held amount goes back to the customer."}
	case s.RawStatus == "init" && s.Mode != "hosted":
		return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid hosted payments; this one is %s.", s.Mode))
	}
	return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid hosted payments (init) or voids held authorisations (auth, success); this one is %s %s.", s.Method, s.RawStatus))
}

func refundDecision(s providers.Snapshot) providers.Decision {
	if s.Voided {
		// Normalise calls a voided payment cancelled whatever its method says.
		return providers.Refuse(providers.ActionRefund, "Tranzzo refunds only successful purchases or captures; this one is voided.")
	}
	if s.RawStatus != "success" || (s.Method != "purchase" && s.Method != "capture") {
		return providers.Refuse(providers.ActionRefund, fmt.Sprintf("Tranzzo refunds only successful purchases or captures; this one is %s %s.", s.Method, s.RawStatus))
	}
	return providers.RefundLeft(s, "Tranzzo")
}
