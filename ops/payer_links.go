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
// previous link is marked superseded. The new link belongs to the same cancellation and
// carries the same signed state as the cancel request and every earlier link of it (only
// the provider's address, a new scoped token, is new), so a payer coming back from any of
// them lands on this one. A payment that waits for no payer is refused with
// ErrNotAllowed, a provider that makes no link with ErrProvider, a link that cannot be
// saved with ErrUnavailable.
func (d *Desk) NewPayerLink(ctx context.Context, who Person, p storage.Payment) (storage.PayerLink, error) {
	if !who.mayAct() {
		return storage.PayerLink{}, refuse(ErrNotAllowed, "Your role cannot make payer links; support staff and managers can.")
	}
	linker, ok := d.ProviderOf(p).(providers.PayerLinker)
	stale := false
	if ok && p.Status != providers.StatusCancelling {
		journal, err := d.db.ActionsOfPayment(ctx, p.ID)
		stale = err == nil && waitsByJournal(journal)
	}
	if !ok || (p.Status != providers.StatusCancelling && !stale) {
		return storage.PayerLink{}, refuse(ErrNotAllowed, "This payment is not waiting for the payer, so no link is needed.")
	}
	c, err := d.db.PaymentCancellation(ctx, p.ID)
	if err != nil {
		return storage.PayerLink{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "No new link was made: Paydesk could not read the cancellation. Try again."}
	}
	if c.StateNonce == "" {
		// A cancellation Paydesk holds no state for (started before states were kept, or
		// outside Paydesk): this link starts one, kept on the journal row for the next links.
		c.StateNonce = newNonce()
		if c.ActionID != 0 {
			if err := d.db.SetActionPayerNonce(ctx, c.ActionID, c.StateNonce); err != nil {
				d.log.Warn("payer link: keep the state on the action", "err", err)
			}
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerCallTimeout)
	defer cancel()
	link, err := linker.PayerLink(cctx, providers.RefOf(p.Snapshot), providers.CancelRequest{ReturnURL: d.payerReturnURL(), State: d.linkState(c.StateNonce)})
	if err != nil {
		d.log.Warn("payer link", who.logAttrs("payment", p.PublicID, "err", err)...)
		return storage.PayerLink{}, &Refusal{Reason: ErrProvider, Cause: err, Message: "No new link was made: " + providers.SafeMessage(err)}
	}
	l, err := d.db.CreatePayerLink(ctx, storage.PayerLink{
		PaymentID: p.ID, ActionID: c.ActionID, State: "active", Kind: link.Kind, URL: link.URL,
		Nonce: newNonce(), StateNonce: c.StateNonce, CreatedBy: who.Email, CreatedByKey: who.Key, ExpiresAt: link.ExpiresAt,
	})
	if err != nil {
		return l, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "The new link could not be saved. Try again."}
	}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("new payer link %d for %s (expires %s)", l.ID, p.PublicID, l.ExpiresAt.UTC().Format(time.RFC3339)), nil)
	if stale {
		// The provider just confirmed the cancellation waits for the payer: the stored
		// status catches up.
		d.storeSnapshot(ctx, p, providers.Outcome{Kind: providers.NeedsPayer})
	}
	return l, nil
}

// WaitsForPayer reports whether a cancellation of p waits for the payer: by its stored
// status, or by its journal (as storage lists it, oldest first) when the status lags
// (waitsByJournal). The payment page offers "Make a new link" then.
func (d *Desk) WaitsForPayer(p storage.Payment, journal []storage.Action) bool {
	if _, ok := d.ProviderOf(p).(providers.PayerLinker); !ok {
		return false
	}
	return p.Status == providers.StatusCancelling || waitsByJournal(journal)
}

// waitsByJournal reports whether the journal says a cancellation waits for the payer
// while the stored status may not: the provider answered "the payer must confirm" but
// the payment could not be read back afterwards (docs/states.md, payer links). The
// provider's PayerLink reads the payment itself and refuses if it no longer waits.
func waitsByJournal(journal []storage.Action) bool {
	for i := len(journal) - 1; i >= 0; i-- {
		if journal[i].Kind == "cancel" || journal[i].Kind == "void" {
			return journal[i].State == "needs_payer"
		}
	}
	return false
}

// PayerReturn is what the payer's browser brought back from the provider: Paydesk's own
// signed state, and what the provider's redirect said (recorded, never trusted).
type PayerReturn struct {
	State                           string
	Error, ErrorCode, PaymentStatus string
	// IDPayment and BankMessage are the provider's id_payment and bank_message, when given.
	IDPayment, BankMessage string
}

// PayerOutcome is how a payer's return ended, for the neutral page they see.
type PayerOutcome string

// The payer's return outcomes.
const (
	// PayerInvalid: the state is not one Paydesk signed.
	PayerInvalid PayerOutcome = "invalid"
	// PayerUnknownLink: Paydesk signed it but holds no link of that cancellation.
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
	// PayerReceived: the payment still waits for the payer's bank; the link still works.
	PayerReceived PayerOutcome = "received"
	// PayerNotCancelled: the payment went on otherwise, so the cancellation did not happen.
	PayerNotCancelled PayerOutcome = "not_cancelled"
	// PayerLinkOver: the cancellation's link is no longer in use (superseded or expired)
	// and nothing says how it ended.
	PayerLinkOver PayerOutcome = "link_over"
)

// PayerAnswer is what the payer's return page needs: the outcome, and where the payer
// may go on confirming (the short address of the cancellation's live link, "" when there
// is none or the outcome needs nothing more).
type PayerAnswer struct {
	Outcome  PayerOutcome
	Continue string
}

// SettlePayerReturn is ReturnPayer's outcome alone.
func (d *Desk) SettlePayerReturn(ctx context.Context, who Person, ret PayerReturn) PayerOutcome {
	return d.ReturnPayer(ctx, who, ret).Outcome
}

// ReturnPayer handles the payer coming back from a payer link. It trusts only its own
// signed state, which names the cancellation (every link of one carries the same state):
// the return settles against the cancellation's current link, whichever of its links the
// payer used. Nothing the payer's browser brings changes a link: the link follows what
// the provider answers. A cancellation whose link is no longer live (expired or
// confirmed) reads nothing: the payer gets a plain page, and the payment's timeline a
// note at most once a minute. A live link re-reads the payment at the provider — at most
// once a minute per link: returns within the minute reuse that read and write nothing.
// What the redirect said (error=cancelled, id_payment, bank_message…) is recorded on the
// link, the timeline and the audit log as what the payer's browser said. who names the
// payer ("payer", and where they came from).
func (d *Desk) ReturnPayer(ctx context.Context, who Person, ret PayerReturn) PayerAnswer {
	nonce, ok := d.verifyLinkState(ret.State)
	if !ok {
		return PayerAnswer{Outcome: PayerInvalid}
	}
	link, err := d.db.CancellationLink(ctx, nonce)
	if errors.Is(err, storage.ErrNotFound) {
		return PayerAnswer{Outcome: PayerUnknownLink}
	}
	if err != nil {
		d.log.Error("payer return", "err", err)
		return PayerAnswer{Outcome: PayerRetry}
	}
	now := d.cfg.Now()
	memo := d.returns.lock(link.ID, now)
	defer memo.mu.Unlock()
	said := payerSaid(ret)

	if link.State != "active" && link.State != "abandoned" {
		// Over: a read could change nothing about this link, and a script replaying it
		// must cost neither provider calls nor a line per hit.
		if memo.noteDue(now) {
			d.db.AddEvent(ctx, storage.Event{PaymentID: link.PaymentID, Actor: "payer", Kind: "link_returned",
				Message: fmt.Sprintf("The payer came back on payer link %d, which is %s: nothing was re-read (their browser said %s — recorded, not trusted).", link.ID, link.State, said)})
			d.Audit(ctx, who, "payer_link", link.PaymentID, fmt.Sprintf("payer returned on link %d, which is %s: not re-read (their browser said %s)", link.ID, link.State, said), nil)
			if err := d.db.SetPayerLinkSaid(ctx, link.ID, said); err != nil {
				d.log.Error("payer return: record", "err", err)
			}
		}
		switch {
		case link.State == "confirmed":
			return PayerAnswer{Outcome: PayerConfirmed}
		case link.State == "expired" && link.Outcome != "":
			// Only a read that found the payment gone on ends a link with words
			// (SettlePayerLinks); running out of time leaves none.
			return PayerAnswer{Outcome: PayerNotCancelled}
		}
		return PayerAnswer{Outcome: PayerLinkOver}
	}
	if memo.fresh(now) {
		return d.answer(told(memo.outcome, memo.status, ret), link)
	}

	p, err := d.db.PaymentByID(ctx, link.PaymentID)
	if err != nil {
		d.log.Error("payer return payment", "err", err)
		return PayerAnswer{Outcome: PayerRetry}
	}
	if ret.IDPayment != "" && ret.IDPayment != p.PaymentID {
		said += " (id_payment is not this payment's id)"
	}
	memo.noted = now
	d.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "payer", Kind: "link_returned",
		Message: fmt.Sprintf("The payer came back from %s (link %d; their browser said %s — recorded, not trusted: the payment is re-read).", p.Provider.Label(), link.ID, said)})
	if err := d.db.SetPayerLinkSaid(ctx, link.ID, said); err != nil {
		d.log.Error("payer return: record", "err", err)
	}

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
		return PayerAnswer{Outcome: PayerChecking}
	}
	if _, _, err := d.db.UpsertPayment(ctx, d.stamp(p, snap), storage.UpsertOptions{Actor: "provider", Kind: "refreshed"}); err != nil {
		d.log.Error("payer return: store payment", "payment", p.PublicID, "err", err)
	}
	status := providers.Normalise(snap)
	settled := d.SettlePayerLinks(ctx, p.ID, snap, "payer return")
	memo.status, memo.outcome = status, PayerReceived
	switch settled {
	case "confirmed":
		memo.outcome = PayerConfirmed
	case "ended":
		memo.outcome = PayerNotCancelled
	}
	what := settled
	if what == "" {
		what = "no change"
	}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("payer returned on link %d for %s: %s (payment now %s; their browser said %s)", link.ID, p.PublicID, what, status, said), nil)
	return d.answer(told(memo.outcome, status, ret), link)
}

// answer adds to outcome where the payer may go on confirming: the short address of the
// live link, when the payment still waits for them.
func (d *Desk) answer(outcome PayerOutcome, link storage.PayerLink) PayerAnswer {
	a := PayerAnswer{Outcome: outcome}
	if (outcome == PayerReceived || outcome == PayerAbandoned) && link.Token != "" {
		a.Continue = "/p/" + link.Token
	}
	return a
}

// payerSaid is what the payer's browser said, quoted and cut, for the record: the
// provider's id_payment and bank_message are added when present.
func payerSaid(ret PayerReturn) string {
	said := fmt.Sprintf("error=%q error_code=%q payment_state=%q", truncateRunes(ret.Error, 100), truncateRunes(ret.ErrorCode, 100), truncateRunes(ret.PaymentStatus, 100))
	if ret.IDPayment != "" {
		said += fmt.Sprintf(" id_payment=%q", truncateRunes(ret.IDPayment, 100))
	}
	if ret.BankMessage != "" {
		said += fmt.Sprintf(" bank_message=%q", truncateRunes(ret.BankMessage, 200))
	}
	return said
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
		var hook storage.LinkHook
		if d.MailEnabled() {
			if p, err := d.db.PaymentByID(ctx, paymentID); err == nil {
				hook = d.payerConfirmedMail(p)
			} else {
				d.log.Error("payer link confirmed: read the payment for the e-mail", "err", err)
			}
		}
		if _, err := d.db.SetPayerLinkState(ctx, link.ID, "confirmed", "The payer confirmed; "+snap.Provider.Label()+" reports the payment cancelled ("+how+").", hook); err != nil {
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
