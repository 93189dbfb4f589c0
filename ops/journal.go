package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// providerCallTimeout bounds one action, whatever the client does.
const providerCallTimeout = 30 * time.Second

// Result says what an operation did, in plain words.
type Result struct {
	// Tone is how it went, for the message's colour: "success", "info" or "error".
	Tone string
	// Message says what happened, ready to show.
	Message string
	// Outcome is the provider's answer when a provider was called ("" otherwise).
	Outcome providers.OutcomeKind
	// Payment is the public id of the payment concerned; Approve sets it even with a
	// duplicate refusal, whose outcome that payment's page shows.
	Payment string
}

// journalState maps an outcome to the journal's states (docs/states.md).
func journalState(k providers.OutcomeKind) string {
	switch k {
	case providers.Done:
		return "succeeded"
	case providers.NeedsPayer:
		return "needs_payer"
	case providers.NotSupported, providers.Refused:
		return "failed"
	}
	return "unknown"
}

// runAction calls the provider for an action already recorded as pending, then records
// the outcome: the journal row, the payment as the provider now sees it, a payer link
// when the payer must confirm, the audit entry. It never retries: an unknown outcome
// stays unknown until the provider is read.
func (d *Desk) runAction(ctx context.Context, who Person, p storage.Payment, a storage.Action, nonce string, call func(ctx context.Context) providers.Outcome) providers.Outcome {
	// The caller leaving (a browser closed) must not cut a money-moving call short: that
	// would only turn a clear answer into an unknown one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerCallTimeout)
	defer cancel()
	d.hook("before_call")
	out := call(ctx)
	d.hook("before_store")
	d.metrics.Action(a.Kind, out.Kind)
	if out.Message == "" {
		out.Message = defaultOutcomeMessage(p.Provider, out.Kind)
	}
	d.log.Info("provider action", who.logAttrs("payment", p.PublicID, "action", a.Kind, "outcome", out.Kind, "detail", out.Detail)...)

	if a.RefundID != 0 && out.RefundID != "" {
		if err := d.db.SetProviderRefundID(ctx, a.RefundID, out.RefundID); err != nil {
			d.log.Error("refund provider id", "err", err)
		}
	}
	if _, err := d.db.FinishAction(ctx, a.ID, journalState(out.Kind), string(out.Kind), out.Message, string(out.Raw)); err != nil {
		d.log.Error("finish action", who.logAttrs("action_id", a.ID, "err", err)...)
	}
	d.storeSnapshot(ctx, p, out)
	if out.Kind == providers.NeedsPayer {
		var err error
		if out.Link == nil {
			err = fmt.Errorf("ops: %s asked for the payer but gave no link", p.Provider)
		} else {
			_, err = d.db.CreatePayerLink(ctx, storage.PayerLink{
				PaymentID: p.ID, ActionID: a.ID, State: "active", Kind: out.Link.Kind, URL: out.Link.URL,
				Nonce: nonce, CreatedBy: who.Email, CreatedByKey: who.Key, ExpiresAt: out.Link.ExpiresAt,
			})
		}
		if err != nil {
			d.log.Error("payer link", who.logAttrs("err", err)...)
			out.Message += " No payer link could be made yet: use \"Make a new link\" on the payment."
		}
	}
	d.Audit(ctx, who, "action", p.ID, fmt.Sprintf("%s %s on %s: %s — %s", a.Kind, moneyOrEmpty(a.Amount, a.Currency), p.PublicID, out.Kind.Words(), out.Message),
		map[string]any{"action_id": a.ID, "outcome": out.Kind, "provider": p.Provider, "detail": out.Detail})
	return out
}

// storeSnapshot records the payment as the provider returned it after an action, or
// reads it back after a success that returned nothing usable.
func (d *Desk) storeSnapshot(ctx context.Context, p storage.Payment, out providers.Outcome) {
	snap := out.Snapshot
	if snap == nil && (out.Kind == providers.Done || out.Kind == providers.NeedsPayer) {
		if prov := d.ProviderOf(p); prov != nil {
			fetched, err := prov.Fetch(ctx, providers.RefOf(p.Snapshot))
			if err != nil {
				d.log.Warn("read back after action", "payment", p.PublicID, "err", err)
				return
			}
			snap = &fetched
		}
	}
	if snap == nil {
		return
	}
	if _, _, err := d.db.UpsertPayment(ctx, d.stamp(p, *snap), storage.UpsertOptions{Actor: "provider", Kind: "refreshed"}); err != nil {
		d.log.Error("store snapshot", "payment", p.PublicID, "err", err)
	}
}

func moneyOrEmpty(v int64, cur string) string {
	if v == 0 {
		return ""
	}
	return providers.FormatMoney(v, cur)
}

func defaultOutcomeMessage(n providers.Name, k providers.OutcomeKind) string {
	switch k {
	case providers.Done:
		return n.Label() + " confirmed it."
	case providers.NeedsPayer:
		return n.Label() + " needs the payer to confirm."
	case providers.NotSupported:
		return n.Label() + " does not support this for this payment."
	case providers.Refused:
		return n.Label() + " refused."
	}
	return n.Label() + " gave no definitive answer."
}

// outcomeResult says in plain words what happened to an action called what.
func outcomeResult(n providers.Name, what string, out providers.Outcome) Result {
	res := Result{Outcome: out.Kind, Tone: "error"}
	switch out.Kind {
	case providers.Done:
		res.Tone, res.Message = "success", fmt.Sprintf("%s: done. %s", what, out.Message)
	case providers.NeedsPayer:
		res.Tone, res.Message = "info", fmt.Sprintf("%s: %s needs the payer to confirm. Send them the link below; Paydesk follows it to the end.", what, n.Label())
	case providers.NotSupported:
		res.Message = fmt.Sprintf("%s: not possible for this payment. %s said: %s", what, n.Label(), out.Message)
	case providers.Refused:
		res.Message = fmt.Sprintf("%s: refused. %s said: %s", what, n.Label(), out.Message)
	default:
		res.Message = fmt.Sprintf("%s: the outcome is unknown — %s did not give a definitive answer (%s). Paydesk will not retry; it will settle this by reading %s. Do not repeat the action elsewhere.", what, n.Label(), out.Message, n.Label())
	}
	return res
}

// startRefusal turns a journal entry storage refused into the words people read.
func (d *Desk) startRefusal(who Person, err error) error {
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		return refuse(ErrDuplicate, "This was already submitted once; its outcome is shown below. Nothing was sent twice.")
	case errors.Is(err, storage.ErrConflict):
		return refuse(ErrConflict, "Another action on this payment is still waiting for its outcome, so nothing was sent. "+cleanErr(err))
	case errors.Is(err, storage.ErrInsufficientBalance):
		return refuse(ErrInsufficientBalance, "Nothing was sent: "+cleanErr(err))
	}
	d.log.Error("start action", who.logAttrs("err", err)...)
	return &Refusal{Reason: ErrUnavailable, Message: "Paydesk could not record the action, so nothing was sent to the provider. Try again.", Cause: err}
}

// newNonce returns 16 random bytes as hex: a payer link's nonce.
func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
