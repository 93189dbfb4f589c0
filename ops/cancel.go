package ops

import (
	"context"
	"fmt"

	"paydesk/providers"
	"paydesk/storage"
)

// Cancel cancels p (or, for a held authorisation, voids it). When the payer's bank must
// confirm, the outcome is needs_payer and a payer link is recorded for staff to send.
// Its refusals are Refund's, but for the amount.
func (d *Desk) Cancel(ctx context.Context, who Person, p storage.Payment, key string) (Result, error) {
	return d.simpleAction(ctx, who, p, providers.ActionCancel, key)
}

// Expire expires p's open hosted session.
func (d *Desk) Expire(ctx context.Context, who Person, p storage.Payment, key string) (Result, error) {
	return d.simpleAction(ctx, who, p, providers.ActionExpire, key)
}

// simpleAction runs cancel or expire: check, record, call, record.
func (d *Desk) simpleAction(ctx context.Context, who Person, p storage.Payment, action providers.Action, key string) (Result, error) {
	if !ValidKey(key) {
		return Result{}, refuse(ErrInvalid, "The form was incomplete, so nothing was sent. Please confirm again.")
	}
	dec, err := d.Check(ctx, who, p, action, key)
	if err != nil {
		return Result{}, err
	}
	if err := stale(who); err != nil {
		return Result{}, err
	}
	a, err := d.db.StartAction(ctx, storage.Action{
		PaymentID: p.ID, Kind: string(dec.Op), Amount: p.Amount, Currency: p.Currency, IdempotencyKey: key, Actor: who.Email,
	})
	if err != nil {
		return Result{}, d.startRefusal(who, err)
	}
	prov := d.ProviderOf(p)
	// The signed state sent with a cancel request belongs to the cancellation: it is kept
	// on the journal row, and every payer link made for it carries it (docs/states.md).
	nonce := newNonce()
	if action != providers.ActionExpire {
		if err := d.db.SetActionPayerNonce(ctx, a.ID, nonce); err != nil {
			d.log.Error("cancel: keep the state", who.logAttrs("action_id", a.ID, "err", err)...)
		}
	}
	ref := providers.RefOf(p.Snapshot)
	out := d.runAction(ctx, who, p, a, nonce, func(ctx context.Context) providers.Outcome {
		switch {
		case action == providers.ActionExpire:
			if e, ok := prov.(providers.Expirer); ok {
				return e.Expire(ctx, ref)
			}
		default:
			if c, ok := prov.(providers.Canceller); ok {
				return c.Cancel(ctx, ref, providers.CancelRequest{ReturnURL: d.payerReturnURL(), State: d.linkState(nonce), Comment: "Cancelled by " + who.Email + " in Paydesk", Op: dec.Op})
			}
		}
		return providers.Outcome{Kind: providers.Refused, Message: fmt.Sprintf("%s has no %s in Paydesk.", p.Provider.Label(), action)}
	})
	what := map[providers.Operation]string{providers.OpCancel: "Cancellation", providers.OpVoid: "Void", providers.OpExpire: "Expiry"}[dec.Op]
	return outcomeResult(p.Provider, what, out), nil
}
