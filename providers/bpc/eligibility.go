package bpc

import (
	"fmt"

	"paydesk/providers"
)

// words is how BPC's facts read for people: cards, every action, its statuses in words.
var words = providers.Words{Means: "card", Explain: explain}

// statusWords are BPC's payment statuses in plain words (docs/providers.md).
var statusWords = map[string]string{
	"requiresPaymentMethod": "waiting for the payer's card",
	"requiresConfirmation":  "waiting for confirmation",
	"requiresAction":        "waiting for the payer to authenticate",
	"requiresCapture":       "authorised, not captured",
	"processing":            "processing",
	"succeeded":             "captured",
	"canceled":              "cancelled",
	"failed":                "failed",
}

// sessionWords are BPC's hosted-session statuses in plain words (docs/providers.md): an
// open session can still be paid (and expired), an expired one cannot, a completed one
// led to a payment.
var sessionWords = map[string]string{
	"open":      "open: the payer can still pay on it",
	"expired":   "expired: no payment is possible on it",
	"completed": "completed: it led to a payment",
}

func explain(field, value string) string {
	switch field {
	case "status":
		if w, ok := statusWords[value]; ok {
			return w
		}
		// Until its payment is read, a payment's raw status is its session's.
		return sessionWords[value]
	case "session_status":
		return sessionWords[value]
	}
	return ""
}

// is names a raw status for a reason: its words with the raw value beside them.
func is(raw string) string {
	if w, ok := statusWords[raw]; ok {
		return fmt.Sprintf("%s (%s)", w, raw)
	}
	return raw
}

// Eligible is BPC's rules (docs/providers.md): it cancels payments before capture,
// expires open hosted sessions and refunds captured payments up to what is left.
// providers.Eligible calls it once the status is known.
func Eligible(s providers.Snapshot) providers.Eligibility {
	return providers.Eligibility{Cancel: cancelDecision(s), Expire: expireDecision(s), Refund: refundDecision(s)}
}

func cancelDecision(s providers.Snapshot) providers.Decision {
	if s.PaymentID == "" {
		return providers.Refuse(providers.ActionCancel, fmt.Sprintf("BPC cancels payments, and this session (%s) has none; expire the session instead.", s.SessionStatus))
	}
	if !paymentRead(s) {
		return providers.Refuse(providers.ActionCancel, unreadPayment(s))
	}
	switch s.RawStatus {
	case "requiresPaymentMethod", "requiresAction":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, Reason: "BPC will cancel the payment before any capture."}
	case "requiresCapture":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, Reason: "BPC will cancel the payment and release the held amount to the customer."}
	}
	return providers.Refuse(providers.ActionCancel, fmt.Sprintf("BPC cancels only before capture (while waiting for the card, the payer's authentication or the capture); this payment is %s.", is(s.RawStatus)))
}

func expireDecision(s providers.Snapshot) providers.Decision {
	if s.SessionID == "" {
		return providers.Refuse(providers.ActionExpire, "BPC expires hosted-page sessions, and this payment has none.")
	}
	if s.SessionStatus == "open" {
		return providers.Decision{Action: providers.ActionExpire, Allowed: true, Op: providers.OpExpire, Reason: "BPC will expire the session; no further payment is possible on it."}
	}
	return providers.Refuse(providers.ActionExpire, fmt.Sprintf("BPC expires only open sessions; this one is %s.", s.SessionStatus))
}

func refundDecision(s providers.Snapshot) providers.Decision {
	if s.PaymentID != "" && !paymentRead(s) {
		return providers.Refuse(providers.ActionRefund, unreadPayment(s))
	}
	if s.PaymentID == "" || s.RawStatus != "succeeded" {
		st := is(s.RawStatus)
		if s.PaymentID == "" {
			st = "a session with no payment"
		}
		return providers.Refuse(providers.ActionRefund, fmt.Sprintf("BPC refunds only captured payments; this one is %s.", st))
	}
	return providers.RefundLeft(s, "BPC")
}

// unreadPayment is the reason no payment action is offered for a session that names its
// payment when the payment itself has not been read yet.
func unreadPayment(s providers.Snapshot) string {
	return fmt.Sprintf("This session (%s) names payment %s, which Paydesk has not read yet; refresh to read it.", s.SessionStatus, s.PaymentID)
}
