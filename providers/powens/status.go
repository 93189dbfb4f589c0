package powens

import "paydesk/providers"

// Normalise maps a Powens payment's state to Paydesk's status (docs/states.md): a pending
// payment whose cancellation waits for the payer is cancelling, a rejection the payer
// asked for is cancelled. Powens has no refunds, so a done payment stays paid.
func Normalise(s providers.Snapshot) providers.Status {
	switch s.RawStatus {
	case "created", "validating":
		return providers.StatusAwaitingPayment
	case "pending":
		if s.StateDetail == "cancelling_webauth" || s.StateDetail == "cancelling" {
			return providers.StatusCancelling
		}
		return providers.StatusProcessing
	case "accepted":
		return providers.StatusInitiated
	case "done":
		return providers.StatusPaid
	case "rejected":
		if s.ErrorCode == "cancelledByUser" {
			return providers.StatusCancelled
		}
		return providers.StatusFailed
	case "expired":
		return providers.StatusExpired
	}
	return providers.StatusUnknown
}
