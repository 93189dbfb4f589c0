package tranzzo

import "paydesk/providers"

// Normalise maps the status of a Tranzzo order's main transaction to Paydesk's status
// (docs/states.md): its method tells an authorisation from a payment, a voided
// authorisation and the payer's own cancellation (6007) are cancelled, and a paid order's
// refunds make it partially refunded or refunded.
func Normalise(s providers.Snapshot) providers.Status {
	return providers.WithRefunds(normalise(s), s)
}

func normalise(s providers.Snapshot) providers.Status {
	if s.Voided {
		return providers.StatusCancelled
	}
	switch s.RawStatus {
	case "init":
		return providers.StatusAwaitingPayment
	case "pending":
		return providers.StatusProcessing
	case "success":
		switch s.Method {
		case "auth":
			return providers.StatusAuthorized
		case "purchase", "capture":
			return providers.StatusPaid
		}
		return providers.StatusUnknown
	case "failure":
		if s.ErrorCode == "6007" {
			return providers.StatusCancelled
		}
		return providers.StatusFailed
	}
	return providers.StatusUnknown
}
