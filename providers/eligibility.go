package providers

import "fmt"

// Action is something staff can ask of a provider.
type Action string

// The three actions of the eligibility panel.
const (
	ActionCancel Action = "cancel"
	ActionExpire Action = "expire"
	ActionRefund Action = "refund"
)

// Operation is the provider call an eligible action maps to. Tranzzo's "cancel" is either
// the cancellation of an unpaid hosted payment or the void of a held authorisation.
type Operation string

// The provider operations.
const (
	OpCancel Operation = "cancel"
	OpVoid   Operation = "void"
	OpExpire Operation = "expire"
	OpRefund Operation = "refund"
)

// Decision says whether one action applies to a payment, and why not when it does not.
type Decision struct {
	Action  Action
	Allowed bool
	// Op is the provider call that runs when Allowed.
	Op Operation
	// Reason names the rule, for people: "BPC expires only open sessions; this one is
	// completed." Set when !Allowed; a short description of what will happen otherwise.
	Reason string
	// MayNeedPayer is true when the provider may ask the payer to confirm (Powens cancel).
	MayNeedPayer bool
	// MaxRefund is the most the provider would still refund, minor units (refund only).
	MaxRefund int64
}

// Eligibility holds the three decisions for one payment.
type Eligibility struct {
	Cancel Decision
	Expire Decision
	Refund Decision
}

// Decisions returns the three decisions in display order.
func (e Eligibility) Decisions() []Decision { return []Decision{e.Cancel, e.Expire, e.Refund} }

// Any reports whether at least one action applies.
func (e Eligibility) Any() bool { return e.Cancel.Allowed || e.Expire.Allowed || e.Refund.Allowed }

// Eligible decides, from the stored facts alone, which actions the provider would accept.
// It knows nothing of roles, approvals or money already reserved by Paydesk: the web layer
// adds those reasons on top. An unknown status makes nothing eligible.
func Eligible(s Snapshot) Eligibility {
	if !s.Provider.Valid() {
		why := fmt.Sprintf("Provider %q is unknown to Paydesk.", s.Provider)
		return Eligibility{Cancel: no(ActionCancel, why), Expire: no(ActionExpire, why), Refund: no(ActionRefund, why)}
	}
	if Normalise(s) == StatusUnknown {
		why := fmt.Sprintf("%s status %q is unknown to Paydesk, so no action is offered.", s.Provider.Label(), s.RawStatus)
		if s.RawStatus == "" {
			why = fmt.Sprintf("%s gave no status for this payment, so no action is offered.", s.Provider.Label())
		}
		return Eligibility{
			Cancel: no(ActionCancel, why),
			Expire: no(ActionExpire, why),
			Refund: no(ActionRefund, why),
		}
	}
	switch s.Provider {
	case Powens:
		return Eligibility{
			Cancel: powensCancel(s),
			Expire: no(ActionExpire, "Powens has no expire action: Powens sets the expired state itself."),
			Refund: no(ActionRefund, "Powens has no refunds: an open-banking transfer cannot be reversed through its API."),
		}
	case BPC:
		return Eligibility{Cancel: bpcCancel(s), Expire: bpcExpire(s), Refund: bpcRefund(s)}
	default: // Tranzzo: the provider is valid, checked above.
		return Eligibility{
			Cancel: tranzzoCancel(s),
			Expire: no(ActionExpire, "Tranzzo has no expire action; an unpaid hosted payment is cancelled instead."),
			Refund: tranzzoRefund(s),
		}
	}
}

func no(a Action, reason string) Decision { return Decision{Action: a, Reason: reason} }

func powensCancel(s Snapshot) Decision {
	switch s.RawStatus {
	case "created":
		return Decision{Action: ActionCancel, Allowed: true, Op: OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment, or ask the payer to confirm through a link."}
	case "pending":
		if s.StateDetail == "cancelling_webauth" || s.StateDetail == "cancelling" {
			return no(ActionCancel, "A cancellation is already waiting for the payer to confirm; send them the payer link (or make a new one).")
		}
		if s.Instant {
			return no(ActionCancel, "Powens cannot cancel a pending payment with an instant instruction.")
		}
		return Decision{Action: ActionCancel, Allowed: true, Op: OpCancel, MayNeedPayer: true,
			Reason: "Powens will cancel the payment if the payer's bank allows it, possibly after the payer confirms through a link."}
	}
	return no(ActionCancel, fmt.Sprintf("Powens cancels only created or pending payments; this one is %s.", s.RawStatus))
}

func bpcCancel(s Snapshot) Decision {
	if s.PaymentID == "" {
		return no(ActionCancel, fmt.Sprintf("BPC cancels payments, and this session (%s) has none; expire the session instead.", s.SessionStatus))
	}
	switch s.RawStatus {
	case "requiresPaymentMethod", "requiresAction":
		return Decision{Action: ActionCancel, Allowed: true, Op: OpCancel, Reason: "BPC will cancel the payment before any capture."}
	case "requiresCapture":
		return Decision{Action: ActionCancel, Allowed: true, Op: OpCancel, Reason: "BPC will cancel the payment and release the held amount to the customer."}
	}
	return no(ActionCancel, fmt.Sprintf("BPC cancels only before capture (requiresPaymentMethod, requiresAction, requiresCapture); this payment is %s.", s.RawStatus))
}

func bpcExpire(s Snapshot) Decision {
	if s.SessionID == "" {
		return no(ActionExpire, "BPC expires hosted-page sessions, and this payment has none.")
	}
	if s.SessionStatus == "open" {
		return Decision{Action: ActionExpire, Allowed: true, Op: OpExpire, Reason: "BPC will expire the session; no further payment is possible on it."}
	}
	return no(ActionExpire, fmt.Sprintf("BPC expires only open sessions; this one is %s.", s.SessionStatus))
}

func bpcRefund(s Snapshot) Decision {
	if s.PaymentID == "" || s.RawStatus != "succeeded" {
		st := s.RawStatus
		if s.PaymentID == "" {
			st = "a session with no payment"
		}
		return no(ActionRefund, fmt.Sprintf("BPC refunds only captured payments (succeeded); this one is %s.", st))
	}
	return refundLeft(s, "BPC")
}

func tranzzoCancel(s Snapshot) Decision {
	if s.Voided {
		return no(ActionCancel, "This authorisation is already voided.")
	}
	switch {
	case s.RawStatus == "init" && s.Mode == "hosted" && (s.Method == "purchase" || s.Method == "auth"):
		return Decision{Action: ActionCancel, Allowed: true, Op: OpCancel, Reason: "Tranzzo will cancel the unpaid hosted payment."}
	case s.RawStatus == "success" && s.Method == "auth":
		return Decision{Action: ActionCancel, Allowed: true, Op: OpVoid, Reason: "Tranzzo will void the authorisation; the full held amount goes back to the customer."}
	case s.RawStatus == "init" && s.Mode != "hosted":
		return no(ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid hosted payments; this one is %s.", s.Mode))
	}
	return no(ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid hosted payments (init) or voids held authorisations (auth, success); this one is %s %s.", s.Method, s.RawStatus))
}

func tranzzoRefund(s Snapshot) Decision {
	if s.Voided {
		// Normalise calls a voided payment cancelled whatever its method says.
		return no(ActionRefund, "Tranzzo refunds only successful purchases or captures; this one is voided.")
	}
	if s.RawStatus != "success" || (s.Method != "purchase" && s.Method != "capture") {
		return no(ActionRefund, fmt.Sprintf("Tranzzo refunds only successful purchases or captures; this one is %s %s.", s.Method, s.RawStatus))
	}
	return refundLeft(s, "Tranzzo")
}

func refundLeft(s Snapshot, who string) Decision {
	// A negative total is bad data from the provider; subtracting it would offer more
	// than was captured (or overflow), so nothing is offered.
	if s.Captured < 0 || s.Refunded < 0 {
		return no(ActionRefund, fmt.Sprintf("%s reported a negative captured or refunded amount, so no refund is offered.", who))
	}
	left := s.Captured - s.Refunded
	if left <= 0 {
		return no(ActionRefund, fmt.Sprintf("Everything captured (%s) has been refunded already.", FormatMoney(s.Captured, s.Currency)))
	}
	return Decision{Action: ActionRefund, Allowed: true, Op: OpRefund, MaxRefund: left,
		Reason: fmt.Sprintf("%s will refund up to %s, in one or several refunds.", who, FormatMoney(left, s.Currency))}
}
