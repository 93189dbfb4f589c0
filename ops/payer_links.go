package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// NewPayerLink makes a fresh payer link for a cancellation waiting for the payer; the
// previous link is marked superseded. A payment that waits for no payer is refused with
// ErrNotAllowed, a provider that makes no link with ErrProvider, a link that cannot be
// saved with ErrUnavailable.
func (d *Desk) NewPayerLink(ctx context.Context, who Person, p storage.Payment) (storage.PayerLink, error) {
	if !who.mayAct() {
		return storage.PayerLink{}, refuse(ErrNotAllowed, "Your role cannot make payer links; support staff and managers can.")
	}
	linker, ok := d.ProviderOf(p).(providers.PayerLinker)
	if !ok || p.Status != providers.StatusCancelling {
		return storage.PayerLink{}, refuse(ErrNotAllowed, "This payment is not waiting for the payer, so no link is needed.")
	}
	nonce := newNonce()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerCallTimeout)
	defer cancel()
	link, err := linker.PayerLink(cctx, providers.RefOf(p.Snapshot), providers.CancelRequest{ReturnURL: d.payerReturnURL(), State: d.linkState(nonce)})
	if err != nil {
		d.log.Warn("payer link", who.logAttrs("payment", p.PublicID, "err", err)...)
		return storage.PayerLink{}, &Refusal{Reason: ErrProvider, Cause: err, Message: "No new link was made: " + providers.SafeMessage(err)}
	}
	var actionID int64
	if live, err := d.db.LivePayerLink(ctx, p.ID); err == nil {
		actionID = live.ActionID
	}
	l, err := d.db.CreatePayerLink(ctx, storage.PayerLink{
		PaymentID: p.ID, ActionID: actionID, State: "active", Kind: link.Kind, URL: link.URL, Nonce: nonce, CreatedBy: who.Email, ExpiresAt: link.ExpiresAt,
	})
	if err != nil {
		return l, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "The new link could not be saved. Try again."}
	}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("new payer link %d for %s (expires %s)", l.ID, p.PublicID, l.ExpiresAt.UTC().Format(time.RFC3339)), nil)
	return l, nil
}

// PayerReturn is what the payer's browser brought back from the provider: Paydesk's own
// signed state, and what the provider's redirect said (recorded, never trusted).
type PayerReturn struct {
	State                           string
	Error, ErrorCode, PaymentStatus string
}

// PayerOutcome is how a payer's return ended, for the neutral page they see.
type PayerOutcome string

// The payer's return outcomes.
const (
	// PayerInvalid: the state is not one Paydesk signed.
	PayerInvalid PayerOutcome = "invalid"
	// PayerUnknownLink: Paydesk signed it but holds no such link.
	PayerUnknownLink PayerOutcome = "unknown_link"
	// PayerRetry: Paydesk could not read its own records; the payer should come back.
	PayerRetry PayerOutcome = "retry"
	// PayerChecking: the provider could not be read; the link is unchanged.
	PayerChecking PayerOutcome = "checking"
	// PayerConfirmed: the provider reports the payment cancelled.
	PayerConfirmed PayerOutcome = "confirmed"
	// PayerAbandoned: the payer's browser said they stopped before confirming, and the
	// payment still waits; the link is unchanged and still works.
	PayerAbandoned PayerOutcome = "abandoned"
	// PayerReceived: the answer is recorded, nothing more to say.
	PayerReceived PayerOutcome = "received"
)

// SettlePayerReturn handles the payer coming back from a payer link. It trusts only its
// own signed state, and nothing the payer's browser brings changes a link: the link
// follows what the provider answers. A link no longer live (superseded, expired or
// confirmed) reads nothing: the payer gets the neutral page (or "confirmed"), and the
// payment's timeline a note at most once a minute. A live link re-reads the payment at
// the provider — at most once a minute per link: returns within the minute reuse that
// read and write nothing. What the redirect said (error=cancelled, …) is recorded with
// the read as what the payer's browser said. who names the payer ("payer", and where they
// came from).
func (d *Desk) SettlePayerReturn(ctx context.Context, who Person, ret PayerReturn) PayerOutcome {
	nonce, ok := d.verifyLinkState(ret.State)
	if !ok {
		return PayerInvalid
	}
	link, err := d.db.PayerLinkByNonce(ctx, nonce)
	if errors.Is(err, storage.ErrNotFound) {
		return PayerUnknownLink
	}
	if err != nil {
		d.log.Error("payer return", "err", err)
		return PayerRetry
	}
	now := d.cfg.Now()
	memo := d.returns.lock(link.ID, now)
	defer memo.mu.Unlock()
	said := fmt.Sprintf("error=%q error_code=%q payment_state=%q", truncateRunes(ret.Error, 100), truncateRunes(ret.ErrorCode, 100), truncateRunes(ret.PaymentStatus, 100))

	if link.State != "active" && link.State != "abandoned" {
		// Over: a read could change nothing about this link, and a script replaying it
		// must cost neither provider calls nor a line per hit.
		if memo.noteDue(now) {
			d.db.AddEvent(ctx, storage.Event{PaymentID: link.PaymentID, Actor: "payer", Kind: "link_returned",
				Message: fmt.Sprintf("The payer came back on payer link %d, which is %s: nothing was re-read (their browser said %s — recorded, not trusted).", link.ID, link.State, said)})
			d.Audit(ctx, who, "payer_link", link.PaymentID, fmt.Sprintf("payer returned on link %d, which is %s: not re-read", link.ID, link.State), nil)
		}
		if link.State == "confirmed" {
			return PayerConfirmed
		}
		return PayerReceived
	}
	if memo.fresh(now) {
		return told(memo.outcome, memo.status, ret)
	}

	p, err := d.db.PaymentByID(ctx, link.PaymentID)
	if err != nil {
		d.log.Error("payer return payment", "err", err)
		return PayerRetry
	}
	memo.noted = now
	d.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "payer", Kind: "link_returned",
		Message: fmt.Sprintf("The payer came back from %s (link %d; their browser said %s — recorded, not trusted: the payment is re-read).", p.Provider.Label(), link.ID, said)})

	readCtx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	var snap providers.Snapshot
	if prov := d.ProviderOf(p); prov != nil {
		snap, err = prov.Fetch(readCtx, providers.RefOf(p.Snapshot))
	} else {
		err = errors.New("ops: provider not configured")
	}
	memo.readAt = now
	if err != nil {
		d.log.Warn("payer return: read payment", "payment", p.PublicID, "err", err)
		d.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "system", Kind: "link_returned",
			Message: "The payment could not be re-read after the payer came back: " + providers.SafeMessage(err) + " The link is unchanged; refresh the payment later."})
		memo.status, memo.outcome = p.Status, PayerChecking
		return PayerChecking
	}
	if _, _, err := d.db.UpsertPayment(ctx, stamp(p, snap), storage.UpsertOptions{Actor: "provider", Kind: "refreshed"}); err != nil {
		d.log.Error("payer return: store payment", "payment", p.PublicID, "err", err)
	}
	status := providers.Normalise(snap)
	settled := d.SettlePayerLinks(ctx, p.ID, snap, "payer return")
	memo.status, memo.outcome = status, PayerReceived
	if settled == "confirmed" {
		memo.outcome = PayerConfirmed
	}
	what := settled
	if what == "" {
		what = "no change"
	}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("payer returned on link %d for %s: %s (payment now %s; their browser said %s)", link.ID, p.PublicID, what, status, said), nil)
	return told(memo.outcome, status, ret)
}

// SettlePayerLinks ends the live payer link of a payment once the provider says how the
// cancellation ended (snap, just stored), and settles the journal row that waited for
// the payer; how says what brought the news ("webhook", "staff refresh"…). It returns
// "confirmed", "ended" or "" (still waiting, or no live link).
func (d *Desk) SettlePayerLinks(ctx context.Context, paymentID int64, snap providers.Snapshot, how string) string {
	link, err := d.db.LivePayerLink(ctx, paymentID)
	if err != nil {
		return ""
	}
	status := providers.Normalise(snap)
	switch status {
	case providers.StatusCancelling, providers.StatusUnknown:
		return ""
	case providers.StatusCancelled:
		if _, err := d.db.SetPayerLinkState(ctx, link.ID, "confirmed", "The payer confirmed; "+snap.Provider.Label()+" reports the payment cancelled ("+how+")."); err != nil {
			d.log.Error("payer link confirmed", "err", err)
		}
		if link.ActionID != 0 {
			if err := d.db.SettlePayerAction(ctx, link.ActionID, "succeeded", snap.Provider.Label()+" cancelled the payment after the payer confirmed."); err != nil {
				d.log.Error("settle action", "err", err)
			}
		}
		return "confirmed"
	default:
		msg := fmt.Sprintf("The payment went on to %s (%s), so the cancellation did not happen.", status.Label(), snap.RawStatus)
		if _, err := d.db.SetPayerLinkState(ctx, link.ID, "expired", msg); err != nil {
			d.log.Error("payer link ended", "err", err)
		}
		if link.ActionID != 0 {
			if err := d.db.SettlePayerAction(ctx, link.ActionID, "failed", msg); err != nil {
				d.log.Error("settle action", "err", err)
			}
		}
		return "ended"
	}
}
