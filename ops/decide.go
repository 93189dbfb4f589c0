package ops

import (
	"context"
	"errors"
	"fmt"

	"paydesk/providers"
	"paydesk/storage"
)

// PaymentState is what Paydesk decides on for one payment: the provider's rules, the
// money already refunded or reserved, the journal, and the three decisions with
// Paydesk's own rules on top.
type PaymentState struct {
	Payment storage.Payment
	// Eligibility is what the provider would accept, from the stored facts alone.
	Eligibility providers.Eligibility
	// Balance is what is refunded, in flight, reserved and still refundable.
	Balance storage.RefundBalance
	// Journal is the payment's actions, as storage lists them.
	Journal []storage.Action
	// InFlight is a money-moving action pending or unknown (nil when none).
	InFlight *storage.Action
	// Decisions are cancel, expire and refund for this person, in display order.
	Decisions []providers.Decision
}

// Decision returns the decision about one action.
func (st PaymentState) Decision(a providers.Action) (providers.Decision, bool) {
	for _, d := range st.Decisions {
		if d.Action == a {
			return d, true
		}
	}
	return providers.Decision{}, false
}

// Refundable is what may still be refunded: what the provider would refund, less what
// Paydesk already refunded, sent or reserved.
func (st PaymentState) Refundable() int64 {
	if !st.Eligibility.Refund.Allowed {
		return 0
	}
	return max(0, min(st.Eligibility.Refund.MaxRefund, st.Balance.Refundable))
}

var actionLabels = map[providers.Action]string{
	providers.ActionCancel: "Cancel payment",
	providers.ActionExpire: "Expire session",
	providers.ActionRefund: "Refund",
}

// ActionLabel names an action on its button ("Cancel payment").
func ActionLabel(a providers.Action) string { return actionLabels[a] }

// Decide gathers a payment's state and decides, for who, which actions apply now: the
// provider's eligibility, then the person's role, an action already in flight, money
// reserved by other refunds and the approval threshold.
func (d *Desk) Decide(ctx context.Context, who Person, p storage.Payment) (PaymentState, error) {
	st := PaymentState{Payment: p, Eligibility: providers.Eligible(p.Snapshot)}
	var err error
	if st.Balance, err = d.db.Balance(ctx, p.ID); err != nil {
		return st, fmt.Errorf("ops: balance of %s: %w", p.PublicID, err)
	}
	if st.Journal, err = d.db.ActionsOfPayment(ctx, p.ID); err != nil {
		return st, fmt.Errorf("ops: journal of %s: %w", p.PublicID, err)
	}
	for i := range st.Journal {
		a := st.Journal[i]
		if inFlight(a) {
			st.InFlight = &a
		}
	}
	st.Decisions = d.decisions(who, st)
	return st, nil
}

// inFlight says whether a is a money-moving action whose outcome is not known yet:
// nothing else starts on its payment meanwhile.
func inFlight(a storage.Action) bool {
	return (a.State == "pending" || a.State == "unknown") && a.Kind != "refresh" && a.Kind != "payer_link"
}

// decisions applies Paydesk's own rules on top of the provider's.
func (d *Desk) decisions(who Person, st PaymentState) []providers.Decision {
	p := st.Payment
	out := st.Eligibility.Decisions()
	for i := range out {
		dec := &out[i]
		if !dec.Allowed {
			continue
		}
		if !who.mayAct() {
			dec.Allowed = false
			dec.Reason = fmt.Sprintf("Your role cannot %s payments; support staff and managers can.", dec.Action)
			continue
		}
		if st.InFlight != nil {
			dec.Allowed = false
			dec.Reason = inFlightReason(*st.InFlight)
			continue
		}
		if dec.Action == providers.ActionRefund {
			left := min(dec.MaxRefund, st.Balance.Refundable)
			if left <= 0 {
				dec.Allowed = false
				dec.Reason = "Nothing is left to refund: the rest is already refunded, in flight or awaiting approval."
				continue
			}
			dec.MaxRefund = left
			dec.Reason = fmt.Sprintf("Up to %s can be refunded.", providers.FormatMoney(left, p.Currency))
			if t, ok := d.cfg.Approval.Threshold(p.Currency); ok {
				dec.Reason += fmt.Sprintf(" Refunds from %s need a manager's approval.", providers.FormatMoney(t, p.Currency))
			}
		}
	}
	return out
}

// Check says whether who may start action on p now, before a form is shown or read. With
// the form's idempotency key (empty for none) a submission already handled is refused
// first, with ErrDuplicate: it must never run twice. Otherwise a refusal says why the
// action is not available (ErrNotAllowed).
func (d *Desk) Check(ctx context.Context, who Person, p storage.Payment, action providers.Action, key string) (providers.Decision, error) {
	if key != "" {
		if err := d.seen(ctx, action, key); err != nil {
			return providers.Decision{}, err
		}
	}
	st, err := d.Decide(ctx, who, p)
	if err != nil {
		return providers.Decision{}, err
	}
	dec, ok := st.Decision(action)
	if !ok {
		return dec, refuse(ErrNotFound, fmt.Sprintf("There is no %q action.", action))
	}
	if !dec.Allowed {
		return dec, refuse(ErrNotAllowed, fmt.Sprintf("%s is not available: %s", ActionLabel(action), dec.Reason))
	}
	return dec, nil
}

// seen refuses an idempotency key already used by an action (or, for a refund, a refund
// request: one awaiting approval has no action yet).
func (d *Desk) seen(ctx context.Context, action providers.Action, key string) error {
	dup := refuse(ErrDuplicate, "This was already submitted once; its outcome is shown below. Nothing was sent twice.")
	if _, err := d.db.ActionByKey(ctx, key); err == nil {
		return dup
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("ops: action by key: %w", err)
	}
	if action == providers.ActionRefund {
		if _, err := d.db.RefundByKey(ctx, key); err == nil {
			return dup
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("ops: refund by key: %w", err)
		}
	}
	return nil
}

// stale refuses a person whose sign-in is too old to move money.
func stale(who Person) error {
	if who.FreshSignIn {
		return nil
	}
	return refuse(ErrStepUp, "Sign in again to confirm it is you: nothing was sent.")
}

// inFlightReason says why nothing else starts while an action is open, in words, with
// what to do meanwhile.
func inFlightReason(a storage.Action) string {
	if a.State == "unknown" {
		return fmt.Sprintf("A %s on this payment has an unknown outcome: Paydesk starts nothing else until its outcome is known, which it learns by reading the provider every minute. Do not repeat it at the provider meanwhile.", a.Kind)
	}
	return fmt.Sprintf("A %s on this payment is in progress: Paydesk starts nothing else until its outcome is known.", a.Kind)
}
