package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-playground/validator/v10"

	"paydesk/providers"
	"paydesk/storage"
)

// RefundArgs is a refund request as staff fill it in.
type RefundArgs struct {
	// Amount in minor units of the payment's currency: always explicit, never "all".
	Amount int64
	// Reason is one of storage.RefundReasons' codes (not "provider").
	Reason string `validate:"required"`
	// Note is required when the reason is "other" (500 characters at most).
	Note string `validate:"max=500,required_if=Reason other"`
	// Key is the form's idempotency key (32 lower-case hex characters).
	Key string `validate:"required,len=32,hexadecimal"`
}

// validate checks the tagged fields of a request (the shape; the rules that need the
// payment — reason list, balance — are checked next to it).
var validate = validator.New(validator.WithRequiredStructEnabled())

// RefundInput is a refund request as staff type it: the amount in major units as text.
type RefundInput struct{ Amount, Reason, Note, Key string }

// ParseRefund checks a typed refund request against the most that may be refunded (max,
// minor units). It returns the request, or what is wrong with it in words, keyed by
// "amount", "reason", "note", and "form" for the submission as a whole.
//
// The amount is read as the person's locale writes it (ParseRefundAmount).
func ParseRefund(in RefundInput, currency string, max int64) (RefundArgs, map[string]string) {
	amount, err := ParseRefundAmount(in.Amount, currency, max)
	args := RefundArgs{Amount: amount, Reason: in.Reason, Note: in.Note, Key: in.Key}
	errs := args.problems(currency, max)
	if err != nil {
		errs["amount"] = AmountMessage(err, currency)
	}
	if len(errs) > 0 {
		return args, errs
	}
	return args, nil
}

// ParseRefundAmount reads a refund form's amount: as the person typed it
// (ParseTypedAmount), or exactly as Paydesk wrote it in the form — all that is left, max,
// in plain major units (Paydesk writes dot-decimal, so "1.234" it wrote is 1.234 BHD).
//
// An amount two conventions read differently ("100.499": 100.499 or 100499) is read the
// small way only when the large reading could not be refunded anyway (more than max) and
// the small one is an amount of the currency that could: the one reading left is never
// the larger. Otherwise it is refused, asking for an unambiguous form.
func ParseRefundAmount(typed, currency string, max int64) (int64, error) {
	s := strings.TrimSpace(typed)
	if s != "" && s == providers.FormatMajor(max, currency) {
		return max, nil
	}
	v, err := ParseTypedAmount(typed, currency)
	var ae *AmountError
	if !errors.As(err, &ae) || ae.readings == nil {
		return v, err
	}
	large, errLarge := providers.ParseMajor(ae.readings[1], currency)
	small, errSmall := providers.ParseMajor(ae.readings[0], currency)
	if errLarge == nil && large > max && errSmall == nil && small > 0 && small <= max {
		if ae.negative {
			return -small, nil
		}
		return small, nil
	}
	return v, err
}

// problems says what is wrong with a refund request, keyed as ParseRefund's.
func (a RefundArgs) problems(currency string, max int64) map[string]string {
	errs := map[string]string{}
	var fields validator.ValidationErrors
	if err := validate.Struct(a); errors.As(err, &fields) {
		for _, fe := range fields {
			switch fe.Field() {
			case "Reason":
				errs["reason"] = "Choose a reason."
			case "Note":
				if fe.Tag() == "max" {
					errs["note"] = "The note is too long (500 characters at most)."
				} else {
					errs["note"] = "Explain the reason in a note when you choose \"other\"."
				}
			}
		}
	}
	if _, ok := errs["reason"]; !ok && !storage.ValidRefundReason(a.Reason) {
		errs["reason"] = "Choose one of the listed reasons."
	}
	if !ValidKey(a.Key) {
		errs["form"] = "The form was incomplete; nothing was sent. Check the values and submit again."
	}
	switch {
	case a.Amount <= 0:
		errs["amount"] = "The amount must be more than zero."
	case a.Amount > max:
		errs["amount"] = fmt.Sprintf("At most %s can be refunded.", providers.FormatMoney(max, currency))
	}
	return errs
}

// Refund asks for a refund of p: when no approval rule holds it back it runs at once
// through the provider; when one requires approval it waits for a manager, reserving its
// amount; when one blocks it, it is refused (ErrNotAllowed, audited). It refuses a
// repeated key (ErrDuplicate), an action that is not available (ErrNotAllowed), a wrong
// amount, reason or note (ErrInvalid), a stale sign-in (ErrStepUp), and what storage
// refuses in the same transaction (ErrInsufficientBalance, ErrConflict).
func (d *Desk) Refund(ctx context.Context, who Person, p storage.Payment, args RefundArgs) (Result, error) {
	if !ValidKey(args.Key) {
		return Result{}, refuse(ErrInvalid, "The form was incomplete; nothing was sent. Check the values and submit again.")
	}
	dec, err := d.Check(ctx, who, p, providers.ActionRefund, args.Key)
	if err != nil {
		return Result{}, err
	}
	if errs := args.problems(p.Currency, dec.MaxRefund); len(errs) > 0 {
		for _, field := range []string{"form", "amount", "reason", "note"} {
			if msg, ok := errs[field]; ok {
				return Result{}, refuse(ErrInvalid, msg)
			}
		}
	}
	if err := stale(who); err != nil {
		return Result{}, err
	}
	// The approval rules decide inside the transaction that records the request, on the
	// sums it reads there (storage.RequestRefund): two requests at once cannot both slip
	// under a cumulative limit.
	var decision storage.RefundDecision
	refund, action, err := d.db.RequestRefund(ctx, storage.RefundRequest{
		PaymentID: p.ID, Amount: args.Amount, Reason: args.Reason, Note: args.Note, RequestedBy: who.Email, RequestedByKey: who.Key,
		IdempotencyKey: args.Key, ApprovalTTL: d.cfg.ApprovalTTL, Then: d.approvalRequestMail(p),
		Decide: func(f storage.RefundFacts) storage.RefundDecision {
			decision = d.cfg.Approval.Decide(f)
			return decision
		},
	})
	money := providers.FormatMoney(args.Amount, p.Currency)
	if errors.Is(err, storage.ErrBlocked) {
		d.Audit(ctx, who, "refused", p.ID, fmt.Sprintf("refund of %s on %s refused by the approval rule %q: %s", money, p.PublicID, RuleName(decision.Rule), decision.Why),
			map[string]any{"rule": decision.Rule, "amount": args.Amount, "currency": p.Currency, "reason": args.Reason})
		return Result{}, refuse(ErrNotAllowed, fmt.Sprintf("The refund of %s was refused and nothing was sent or recorded. %s", money, DecisionSentence(decision)))
	}
	if err != nil {
		return Result{}, d.startRefusal(who, err)
	}
	if refund.Status == "awaiting_approval" {
		d.Audit(ctx, who, "refund_requested", p.ID, fmt.Sprintf("refund of %s on %s awaits approval (%s; rule %q: %s)", money, p.PublicID, args.Reason, RuleName(refund.ApprovalRule), refund.ApprovalWhy),
			map[string]any{"refund_id": refund.ID, "rule": refund.ApprovalRule})
		msg := fmt.Sprintf("The refund of %s is awaiting a manager's approval. Its amount is reserved until then.", money)
		if refund.ApprovalRule != RulePerRefund {
			msg += " " + DecisionSentence(decision)
		}
		return Result{Tone: "info", Message: msg}, nil
	}
	out := d.runRefund(ctx, who, p, *action, args.Amount)
	return outcomeResult(p.Provider, "Refund of "+money, out), nil
}

// runRefund calls the provider for a refund whose journal row is pending (a request below
// the threshold, or one a manager just approved).
func (d *Desk) runRefund(ctx context.Context, who Person, p storage.Payment, a storage.Action, amount int64) providers.Outcome {
	return d.runAction(ctx, who, p, a, "", func(ctx context.Context) providers.Outcome {
		rf, ok := d.ProviderOf(p).(providers.Refunder)
		if !ok {
			return providers.Outcome{Kind: providers.Refused, Message: p.Provider.Label() + " has no refunds."}
		}
		return rf.Refund(ctx, providers.RefOf(p.Snapshot), providers.RefundRequest{
			// Always an explicit amount: "full" would mean whatever the provider has left.
			Amount: amount, Comment: "Refund " + a.IdempotencyKey[:8] + " via Paydesk",
		})
	})
}

// ValidKey accepts the idempotency keys Paydesk's forms carry (32 hex characters).
func ValidKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for _, r := range k {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// RefundPreview is what the approval rules would decide for a refund of amount (minor
// units) with reason on p, asked by who now: the refund form shows it before the person
// submits. It reads the facts outside any transaction; the request itself is decided
// again, in the transaction that records it.
func (d *Desk) RefundPreview(ctx context.Context, who Person, p storage.Payment, amount int64, reason string) (storage.RefundDecision, error) {
	f, err := d.db.RefundFacts(ctx, p.ID, amount, reason, storage.Requester{Key: who.Key, Email: who.Email})
	if err != nil {
		return storage.RefundDecision{}, fmt.Errorf("ops: refund preview: %w", err)
	}
	return d.cfg.Approval.Decide(f), nil
}
