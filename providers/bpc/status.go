package bpc

import "paydesk/providers"

// Normalise maps a BPC payment's status (or, with no payment yet, its session's) to
// Paydesk's status (docs/states.md); a paid payment's refunds make it partially refunded
// or refunded.
func Normalise(s providers.Snapshot) providers.Status {
	return providers.WithRefunds(normalise(s), s)
}

func normalise(s providers.Snapshot) providers.Status {
	if !paymentRead(s) {
		switch s.SessionStatus {
		case "open":
			return providers.StatusAwaitingPayment
		case "expired":
			return providers.StatusExpired
		case "completed":
			return providers.StatusProcessing
		}
		return providers.StatusUnknown
	}
	switch s.RawStatus {
	case "requiresPaymentMethod", "requiresConfirmation", "requiresAction":
		return providers.StatusAwaitingPayment
	case "processing":
		return providers.StatusProcessing
	case "requiresCapture":
		return providers.StatusAuthorized
	case "succeeded":
		return providers.StatusPaid
	case "canceled":
		return providers.StatusCancelled
	case "failed":
		return providers.StatusFailed
	}
	return providers.StatusUnknown
}

// paymentRead reports whether s carries a payment's own status. A session alone has none,
// even when it names its payment: then RawStatus is the session's status (BPC's session
// and payment statuses share no word), and the session's status is what Paydesk shows
// until the payment is read (a refresh or the payment's webhook).
func paymentRead(s providers.Snapshot) bool {
	return s.PaymentID != "" && !(s.SessionStatus != "" && s.RawStatus == s.SessionStatus)
}
