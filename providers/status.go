package providers

// Status is Paydesk's normalised payment status (docs/states.md), used by filters, the
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
	case StatusAuthorized:
		return "authorised" // the code keeps its US spelling; people read British English
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

// Normalise maps a provider's raw status to Paydesk's (docs/states.md), through the
// provider's own table. Anything not in the table, or of a provider that is not
// registered, is StatusUnknown, which makes no action eligible.
func Normalise(s Snapshot) Status {
	d, ok := registry[s.Provider]
	if !ok {
		return StatusUnknown
	}
	return d.Normalise(s)
}

// WithRefunds derives partially_refunded / refunded from the refunded total of a paid
// card payment: providers that refund call it on their own status.
func WithRefunds(st Status, s Snapshot) Status {
	if st != StatusPaid || s.Refunded <= 0 {
		return st
	}
	if s.Refunded >= s.Captured {
		return StatusRefunded
	}
	return StatusPartiallyRefunded
}
