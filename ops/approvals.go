package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
)

// MaxDecisionReason bounds a rejection's reason, in characters (storage's limit).
const MaxDecisionReason = 1000

// Decidable reads a refund for a manager's decision (what says which: "approve" or
// "reject") and its payment. It refuses an unknown refund (ErrNotFound), a person who is
// not a manager, and — audited — a decision on one's own request (ErrNotAllowed).
func (d *Desk) Decidable(ctx context.Context, who Person, refundID int64, what string) (storage.Refund, storage.Payment, error) {
	if refundID <= 0 {
		return storage.Refund{}, storage.Payment{}, refuse(ErrNotFound, "There is no such refund.")
	}
	rf, err := d.db.RefundByID(ctx, refundID)
	if errors.Is(err, storage.ErrNotFound) {
		return rf, storage.Payment{}, refuse(ErrNotFound, "There is no such refund.")
	}
	if err != nil {
		return rf, storage.Payment{}, fmt.Errorf("ops: refund %d: %w", refundID, err)
	}
	p, err := d.db.PaymentByID(ctx, rf.PaymentID)
	if err != nil {
		return rf, p, fmt.Errorf("ops: payment of refund %d: %w", refundID, err)
	}
	if !who.mayApprove() {
		return rf, p, refuse(ErrNotAllowed, "Your role cannot decide on refunds; managers can.")
	}
	if who.isRequester(rf.RequestedBy, rf.RequestedByKey) {
		return rf, p, d.ownRequest(ctx, who, rf, p, what)
	}
	return rf, p, nil
}

// ownRequest refuses (and audits) a decision on one's own request.
func (d *Desk) ownRequest(ctx context.Context, who Person, rf storage.Refund, p storage.Payment, what string) error {
	d.Audit(ctx, who, "refused", p.ID, fmt.Sprintf("%s refund #%d on %s refused: the requester may not decide on their own request", what, rf.ID, p.PublicID),
		map[string]any{"refund_id": rf.ID})
	return refuse(ErrNotAllowed, fmt.Sprintf("You asked for this refund of %s, so you cannot %s it: another manager must decide.",
		providers.FormatMoney(rf.Amount, rf.Currency), what))
}

// ApproveArgs is a manager's approval, bound to what they saw on the queue.
type ApproveArgs struct {
	// RefundID is the refund approved.
	RefundID int64
	// Key is the approval form's idempotency key.
	Key string
	// PaymentPublicID, Amount (minor units), Currency and Reason are what the queue
	// showed: the approval is refused if the request no longer says so.
	PaymentPublicID  string
	Amount           int64
	Currency, Reason string
}

// Approve approves a refund awaiting approval and runs it through the provider, as an
// immediate refund would. The balance is checked again in the same transaction; of two
// managers approving at once exactly one refund runs. Besides Decidable's refusals: a
// repeated key (ErrDuplicate: the refund's state is in the message), a balance that
// shrank or a request decided meanwhile (ErrInsufficientBalance, ErrConflict — audited),
// a stale sign-in (ErrStepUp).
func (d *Desk) Approve(ctx context.Context, who Person, args ApproveArgs) (Result, error) {
	rf, p, err := d.Decidable(ctx, who, args.RefundID, "approve")
	if err != nil {
		return Result{}, err
	}
	if !ValidKey(args.Key) {
		return Result{}, refuse(ErrInvalid, "The approval form was incomplete, so nothing was approved or sent. Approve again from the queue.")
	}
	if err := stale(who); err != nil {
		return Result{}, err
	}
	expect := storage.Expectation{Amount: args.Amount, Currency: args.Currency, Reason: args.Reason, DeciderKey: who.Key}
	if args.PaymentPublicID == p.PublicID {
		expect.PaymentID = p.ID
	}
	money := providers.FormatMoney(rf.Amount, rf.Currency)
	approved, act, err := d.db.ApproveRefund(ctx, rf.ID, who.Email, args.Key, expect, d.decisionMail(p, who, "approved", ""))
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		return Result{Payment: p.PublicID}, refuse(ErrDuplicate, fmt.Sprintf("This approval was already sent once; the refund of %s is %s. Nothing was sent twice.", money, strings.ReplaceAll(approved.Status, "_", " ")))
	case errors.Is(err, storage.ErrSelfApproval):
		return Result{}, d.ownRequest(ctx, who, rf, p, "approve")
	case errors.Is(err, storage.ErrInsufficientBalance), errors.Is(err, storage.ErrConflict):
		why := decisionError(err, fmt.Sprintf("storage: approve refund %d: ", rf.ID))
		d.Audit(ctx, who, "approval", p.ID, fmt.Sprintf("approval of refund #%d (%s) on %s refused: %s", rf.ID, money, p.PublicID, why),
			map[string]any{"refund_id": rf.ID, "decision": "approve_refused"})
		reason := ErrConflict
		if errors.Is(err, storage.ErrInsufficientBalance) {
			reason = ErrInsufficientBalance
		}
		return Result{}, refuse(reason, fmt.Sprintf("The refund of %s on %s was not approved and nothing was sent: %s.", money, p.PublicID, why))
	case err != nil:
		d.log.Error("approve refund", who.logAttrs("refund_id", rf.ID, "err", err)...)
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "Paydesk could not record the approval, so nothing was sent to the provider. Try again."}
	}
	d.Audit(ctx, who, "approval", p.ID, fmt.Sprintf("refund #%d (%s) on %s requested by %s approved", rf.ID, money, p.PublicID, approved.RequestedBy),
		map[string]any{"refund_id": rf.ID, "decision": "approved", "action_id": act.ID})
	out := d.runRefund(ctx, who, p, act, approved.Amount)
	return outcomeResult(p.Provider, fmt.Sprintf("Approved refund of %s on %s", money, p.PublicID), out), nil
}

// Reject rejects a refund awaiting approval with a reason the requester sees; it moves
// no money, so it needs no fresh sign-in. A missing or too long reason is refused with
// ErrInvalid while the request still waits, with ErrConflict once it no longer does.
func (d *Desk) Reject(ctx context.Context, who Person, refundID int64, reason string) (Result, error) {
	rf, p, err := d.Decidable(ctx, who, refundID, "reject")
	if err != nil {
		return Result{}, err
	}
	reason = strings.TrimSpace(reason)
	invalid := ""
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		invalid = "Say why the refund is rejected: the requester sees this reason."
	case n > MaxDecisionReason:
		invalid = fmt.Sprintf("The reason is too long (%d characters at most).", MaxDecisionReason)
	}
	money := providers.FormatMoney(rf.Amount, rf.Currency)
	if invalid != "" {
		if rf.Status == "awaiting_approval" && d.cfg.Now().Before(rf.ApprovalExpiresAt) {
			return Result{}, refuse(ErrInvalid, invalid)
		}
		state := strings.ReplaceAll(rf.Status, "_", " ")
		if rf.Status == "awaiting_approval" {
			state = "expired"
		}
		return Result{}, refuse(ErrConflict, fmt.Sprintf("The refund of %s on %s is no longer awaiting approval: it is %s.", money, p.PublicID, state))
	}
	_, err = d.db.RejectRefund(ctx, rf.ID, who.Email, who.Key, reason, d.decisionMail(p, who, "rejected", reason))
	switch {
	case errors.Is(err, storage.ErrSelfApproval):
		return Result{}, d.ownRequest(ctx, who, rf, p, "reject")
	case errors.Is(err, storage.ErrConflict):
		return Result{}, refuse(ErrConflict, fmt.Sprintf("The refund of %s on %s was not rejected: %s.", money, p.PublicID,
			decisionError(err, fmt.Sprintf("storage: reject refund %d: ", rf.ID))))
	case err != nil:
		d.log.Error("reject refund", who.logAttrs("refund_id", rf.ID, "err", err)...)
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "Paydesk could not record the rejection. Try again."}
	}
	d.Audit(ctx, who, "approval", p.ID, fmt.Sprintf("refund #%d (%s) on %s requested by %s rejected: %s", rf.ID, money, p.PublicID, rf.RequestedBy, reason),
		map[string]any{"refund_id": rf.ID, "decision": "rejected"})
	return Result{Tone: "success", Message: fmt.Sprintf("The refund of %s on %s was rejected; its amount is released and %s sees your reason.", money, p.PublicID, rf.RequestedBy)}, nil
}

// decisionError turns a storage refusal into the words people read: without the package
// prefix nor the sentinel's name ("the balance shrank since the request: …").
func decisionError(err error, prefix string) string {
	msg := strings.TrimPrefix(err.Error(), prefix)
	for _, sentinel := range []error{storage.ErrConflict, storage.ErrInsufficientBalance, storage.ErrSelfApproval} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return msg
}
