package providers

// Status is Paydesk's normalised payment status (design.md), used by filters, the
// dashboard and totals. The provider's raw status is always kept and shown next to it.
type Status string

// The normalised statuses.
const (
	StatusAwaitingPayment   Status = "awaiting_payment"
	StatusProcessing        Status = "processing"
	StatusCancelling        Status = "cancelling"
	StatusAuthorized        Status = "authorized"
	StatusInitiated         Status = "initiated"
	StatusPaid              Status = "paid"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusCancelled         Status = "cancelled"
	StatusExpired           Status = "expired"
	StatusFailed            Status = "failed"
	StatusUnknown           Status = "unknown"
)

// Statuses lists every normalised status in the order filters show them.
var Statuses = []Status{
	StatusAwaitingPayment, StatusProcessing, StatusCancelling, StatusAuthorized,
	StatusInitiated, StatusPaid, StatusPartiallyRefunded, StatusRefunded,
	StatusCancelled, StatusExpired, StatusFailed, StatusUnknown,
}

// Valid reports whether s is a known normalised status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// Label is the status for people ("partially refunded").
func (s Status) Label() string {
	switch s {
	case StatusAwaitingPayment:
		return "awaiting payment"
	case StatusPartiallyRefunded:
		return "partially refunded"
	}
	return string(s)
}

// Rank orders statuses along a payment's life so that an out-of-order webhook never moves
// a payment back: a snapshot whose status ranks lower than the stored one is stale.
// Terminal statuses share the highest ranks; refunds only ever go up.
func (s Status) Rank() int {
	switch s {
	case StatusAwaitingPayment:
		return 1
	case StatusProcessing:
		return 2
	case StatusCancelling:
		return 3
	case StatusAuthorized:
		return 3
	case StatusInitiated:
		return 4
	case StatusPaid:
		return 5
	case StatusPartiallyRefunded:
		return 6
	case StatusRefunded:
		return 7
	case StatusCancelled, StatusExpired, StatusFailed:
		return 8
	}
	return 0
}

// Normalise maps a provider's raw status to Paydesk's (design.md's table). Anything not in
// the table is StatusUnknown, which makes no action eligible.
func Normalise(s Snapshot) Status {
	switch s.Provider {
	case Powens:
		return normalisePowens(s)
	case BPC:
		return withRefunds(normaliseBPC(s), s)
	case Tranzzo:
		return withRefunds(normaliseTranzzo(s), s)
	}
	return StatusUnknown
}

func normalisePowens(s Snapshot) Status {
	switch s.RawStatus {
	case "created", "validating":
		return StatusAwaitingPayment
	case "pending":
		if s.StateDetail == "cancelling_webauth" || s.StateDetail == "cancelling" {
			return StatusCancelling
		}
		return StatusProcessing
	case "accepted":
		return StatusInitiated
	case "done":
		return StatusPaid
	case "rejected":
		if s.ErrorCode == "cancelledByUser" {
			return StatusCancelled
		}
		return StatusFailed
	case "expired":
		return StatusExpired
	}
	return StatusUnknown
}

func normaliseBPC(s Snapshot) Status {
	if s.PaymentID == "" {
		switch s.SessionStatus {
		case "open":
			return StatusAwaitingPayment
		case "expired":
			return StatusExpired
		case "completed":
			return StatusProcessing
		}
		return StatusUnknown
	}
	switch s.RawStatus {
	case "requiresPaymentMethod", "requiresConfirmation", "requiresAction":
		return StatusAwaitingPayment
	case "processing":
		return StatusProcessing
	case "requiresCapture":
		return StatusAuthorized
	case "succeeded":
		return StatusPaid
	case "canceled":
		return StatusCancelled
	case "failed":
		return StatusFailed
	}
	return StatusUnknown
}

func normaliseTranzzo(s Snapshot) Status {
	if s.Voided {
		return StatusCancelled
	}
	switch s.RawStatus {
	case "init":
		return StatusAwaitingPayment
	case "pending":
		return StatusProcessing
	case "success":
		switch s.Method {
		case "auth":
			return StatusAuthorized
		case "purchase", "capture":
			return StatusPaid
		}
		return StatusUnknown
	case "failure":
		if s.ErrorCode == "6007" {
			return StatusCancelled
		}
		return StatusFailed
	}
	return StatusUnknown
}

// withRefunds derives partially_refunded / refunded from the refunded total of a paid
// card payment.
func withRefunds(st Status, s Snapshot) Status {
	if st != StatusPaid || s.Refunded <= 0 {
		return st
	}
	if s.Refunded >= s.Captured {
		return StatusRefunded
	}
	return StatusPartiallyRefunded
}
