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

// Operation is the provider call an eligible action maps to. One action may map to
// several calls: a provider's "cancel" may be the cancellation of an unpaid payment or the
// void of a held authorisation.
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
	// Reason names the rule, for people: "<provider> expires only open sessions; this one
	// is completed." Set when !Allowed; a short description of what will happen otherwise.
	Reason string
	// MayNeedPayer is true when the provider may ask the payer to confirm (a cancellation the payer confirms).
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
// It knows nothing of roles, approvals or money already reserved by Paydesk: the layers
// above add those reasons on top. An unknown provider or status makes nothing eligible;
// otherwise the provider's own rules decide (its Descriptor.Eligible).
func Eligible(s Snapshot) Eligibility {
	if !s.Provider.Valid() {
		why := fmt.Sprintf("Provider %q is unknown to Paydesk.", s.Provider)
		return Eligibility{Cancel: Refuse(ActionCancel, why), Expire: Refuse(ActionExpire, why), Refund: Refuse(ActionRefund, why)}
	}
	if Normalise(s) == StatusUnknown {
		why := fmt.Sprintf("%s status %q is unknown to Paydesk, so no action is offered.", s.Provider.Label(), s.RawStatus)
		if s.RawStatus == "" {
			why = fmt.Sprintf("%s gave no status for this payment, so no action is offered.", s.Provider.Label())
		}
		why += fmt.Sprintf(" Refresh it from %[1]s; if it stays unknown, look the payment up in %[1]s's own dashboard.", s.Provider.Label())
		return Eligibility{
			Cancel: Refuse(ActionCancel, why),
			Expire: Refuse(ActionExpire, why),
			Refund: Refuse(ActionRefund, why),
		}
	}
	return registry[s.Provider].Eligible(s)
}

// Refuse is a decision that action a does not apply, and why.
func Refuse(a Action, reason string) Decision { return Decision{Action: a, Reason: reason} }

// RefundLeft is the refund decision for a payment whose provider would refund it: allowed
// up to what was captured and not refunded yet, in the words of who (the provider's label).
func RefundLeft(s Snapshot, who string) Decision {
	// A negative total is bad data from the provider; subtracting it would offer more
	// than was captured (or overflow), so nothing is offered.
	if s.Captured < 0 || s.Refunded < 0 {
		return Refuse(ActionRefund, fmt.Sprintf("%s reported a negative captured or refunded amount, so no refund is offered.", who))
	}
	left := s.Captured - s.Refunded
	if left <= 0 {
		return Refuse(ActionRefund, fmt.Sprintf("Everything captured (%s) has been refunded already.", FormatMoney(s.Captured, s.Currency)))
	}
	return Decision{Action: ActionRefund, Allowed: true, Op: OpRefund, MaxRefund: left,
		Reason: fmt.Sprintf("%s will refund up to %s, in one or several refunds.", who, FormatMoney(left, s.Currency))}
}
