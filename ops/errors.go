package ops

import (
	"errors"
	"strings"
)

// The reasons an operation is refused. Each is wrapped in a *Refusal carrying the words
// for people; test with errors.Is.
var (
	// ErrNotFound: the payment or refund does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: this submission (its idempotency key) was already handled; nothing
	// was sent twice.
	ErrDuplicate = errors.New("already submitted")
	// ErrConflict: another action on the payment is still open, or the refund was
	// decided or expired meanwhile.
	ErrConflict = errors.New("conflict")
	// ErrInsufficientBalance: not that much is left to refund.
	ErrInsufficientBalance = errors.New("insufficient balance")
	// ErrNotAllowed: the rules (provider's eligibility, role, own request…) forbid it.
	ErrNotAllowed = errors.New("not allowed")
	// ErrInvalid: an argument is missing or wrong (amount, reason, key).
	ErrInvalid = errors.New("invalid")
	// ErrStepUp: the person must sign in again before moving money.
	ErrStepUp = errors.New("sign-in too old")
	// ErrProvider: the provider could not be read; nothing was changed.
	ErrProvider = errors.New("provider unavailable")
	// ErrUnavailable: Paydesk could not record the operation; nothing was sent.
	ErrUnavailable = errors.New("could not be recorded")
)

// Refusal is an operation that did not happen, and why, in the words people read.
type Refusal struct {
	// Reason is one of the Err… sentinels.
	Reason error
	// Message says what happened, ready to show ("Nothing was sent: …").
	Message string
	// Cause is the underlying error, for the log (nil when none).
	Cause error
}

func (r *Refusal) Error() string {
	if r.Cause != nil {
		return "ops: " + r.Message + ": " + r.Cause.Error()
	}
	return "ops: " + r.Message
}

// Unwrap gives errors.Is the reason and the cause.
func (r *Refusal) Unwrap() []error {
	if r.Cause != nil {
		return []error{r.Reason, r.Cause}
	}
	return []error{r.Reason}
}

// refuse builds a refusal.
func refuse(reason error, msg string) *Refusal { return &Refusal{Reason: reason, Message: msg} }

// Message returns the words for people of a refusal, or fallback for any other error.
func Message(err error, fallback string) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Message
	}
	return fallback
}

// cleanErr strips package prefixes from a storage error for people.
func cleanErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
