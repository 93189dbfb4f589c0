package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// ReconcileResult says what one reconciler run did.
type ReconcileResult struct {
	// Checked is how many open actions were looked at.
	Checked int
	// Succeeded and Failed were settled as done and as not done by reading the provider.
	Succeeded, Failed int
	// NeedsPayer were found waiting for the payer (a cancellation the payer must confirm).
	NeedsPayer int
	// StillUnknown could not be settled yet: the provider could not be read, or it still
	// reports the refund pending.
	StillUnknown int
	// MarkedUnknown were pending actions left by a process that stopped before storing
	// their answer, now shown to staff as unknown until they can be settled.
	MarkedUnknown int
	// Skipped are pending actions still within their grace period (a call in flight).
	Skipped int
	// Errors could not be looked at (payment or provider missing, database error).
	Errors int
}

// reconcilerActor is who the reconciler's timeline and audit entries name.
const reconcilerActor = "reconciler"

// RunReconciler reconciles at once (what an earlier process left behind), then every
// period until ctx ends. Runs never overlap.
func (d *Desk) RunReconciler(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := d.Reconcile(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("reconciler", "err", err)
		case res.Checked > 0:
			d.log.Info("reconciler", "checked", res.Checked, "succeeded", res.Succeeded, "failed", res.Failed,
				"needs_payer", res.NeedsPayer, "still_unknown", res.StillUnknown, "marked_unknown", res.MarkedUnknown, "errors", res.Errors)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile settles the journal's open actions by reading each payment from its
// provider: every unknown action, and every pending one that no call in flight can still
// finish (started by an earlier process — on SQLite, where one process serves — or older
// than Config.ReconcileGrace). Two rounds at once (on two instances, while a job moves)
// settle each action once: FinishAction refuses a second answer (ErrConflict), and only
// the round whose answer was stored writes the timeline and audit entries. It never
// calls anything that moves money. What the provider says is stored like a refresh; a
// refund the provider has becomes succeeded with its provider id, one it does not have
// becomes failed (only on a definitive answer: a provider that cannot be read settles
// nothing); a cancellation or expiry is settled by the payment's status.
func (d *Desk) Reconcile(ctx context.Context) (ReconcileResult, error) {
	d.reconcile.Lock()
	defer d.reconcile.Unlock()
	var res ReconcileResult
	open, err := d.db.OpenActions(ctx)
	if err != nil {
		d.metrics.Reconciled(res, err)
		return res, fmt.Errorf("ops: reconcile: %w", err)
	}
	now := d.cfg.Now()
	// Journal times are stored to the millisecond: an action of this process is never
	// before its start, truncated the same way.
	started := d.started.Truncate(time.Millisecond)
	if d.db.Engine() == storage.Postgres {
		// Several instances: a pending action older than this process may be another
		// instance's call still in flight, so only the grace says it was abandoned.
		started = time.Time{}
	}
	for _, a := range open {
		if ctx.Err() != nil {
			break
		}
		if a.State == "pending" && !a.StartedAt.Before(started) && now.Sub(a.StartedAt) < d.cfg.ReconcileGrace {
			res.Skipped++
			continue
		}
		res.Checked++
		p, err := d.db.PaymentByID(ctx, a.PaymentID)
		if err != nil {
			d.log.Error("reconcile: payment", "action_id", a.ID, "err", err)
			res.Errors++
			continue
		}
		prov := d.ProviderOf(p)
		if prov == nil {
			d.log.Error("reconcile: provider not configured", "action_id", a.ID, "provider", p.Provider)
			res.Errors++
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, providerCallTimeout)
		snap, err := prov.Fetch(fctx, providers.RefOf(p.Snapshot))
		cancel()
		if err != nil {
			d.log.Warn("reconcile: read provider", "action_id", a.ID, "payment", p.PublicID, "err", err)
			d.unsettled(ctx, a, p, &res, fmt.Sprintf("%s could not be read yet (%s); Paydesk will try again.", p.Provider.Label(), providers.SafeMessage(err)))
			continue
		}
		after, _, err := d.db.UpsertPayment(ctx, d.stamp(p, snap), storage.UpsertOptions{Actor: reconcilerActor, Kind: "refreshed"})
		if two, rerr := d.linkedPayments(ctx, err, reconcilerActor); two != nil && rerr == nil {
			// The answer can never be stored as it is: the action stays unknown, with the
			// reason in words, for a person to settle after checking both payments.
			d.unsettled(ctx, a, p, &res, linkedMessage(p, two))
			continue
		}
		if err != nil {
			d.log.Error("reconcile: store payment", "action_id", a.ID, "payment", p.PublicID, "err", err)
			res.Errors++
			continue
		}
		d.SettlePayerLinks(ctx, p.ID, snap, "reconciler")
		d.settleAction(ctx, a, after, snap, &res)
	}
	d.metrics.Reconciled(res, nil)
	return res, nil
}

// SettleUnknownActions settles a payment's unknown actions from a snapshot just stored
// (a webhook): no need to wait for the next run. Pending actions are left alone: their
// call may still be in flight and will finish them.
func (d *Desk) SettleUnknownActions(ctx context.Context, p storage.Payment, snap providers.Snapshot) {
	acts, err := d.db.ActionsOfPayment(ctx, p.ID)
	if err != nil {
		d.log.Error("settle unknown actions", "payment", p.PublicID, "err", err)
		return
	}
	var res ReconcileResult
	for _, a := range acts {
		if a.State == "unknown" {
			res.Checked++
			d.settleAction(ctx, a, p, snap, &res)
		}
	}
	if res.Checked > 0 {
		d.metrics.Reconciled(res, nil)
	}
}

// settleAction decides, from the provider's snapshot already stored, whether an open
// action happened, and records it: journal, timeline, audit.
func (d *Desk) settleAction(ctx context.Context, a storage.Action, p storage.Payment, snap providers.Snapshot, res *ReconcileResult) {
	state, outcome, msg, err := d.actionVerdict(ctx, a, p, snap)
	if err != nil {
		d.log.Error("reconcile: verdict", "action_id", a.ID, "payment", p.PublicID, "err", err)
		res.Errors++
		return
	}
	if state == "" {
		d.unsettled(ctx, a, p, res, msg)
		return
	}
	if _, err := d.db.FinishAction(ctx, a.ID, state, outcome, msg, ""); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return // finished meanwhile by its own call: the provider's answer stands
		}
		d.log.Error("reconcile: finish action", "action_id", a.ID, "err", err)
		res.Errors++
		return
	}
	switch state {
	case "succeeded":
		res.Succeeded++
	case "failed":
		res.Failed++
	case "needs_payer":
		res.NeedsPayer++
	}
	d.reconciled(ctx, a, p, "Settled by reading "+p.Provider.Label()+": "+msg, state)
}

// unsettled records that an open action could not be settled yet. A pending one is
// moved to unknown so staff see it; an unknown one stays as it is.
func (d *Desk) unsettled(ctx context.Context, a storage.Action, p storage.Payment, res *ReconcileResult, why string) {
	if a.State != "pending" {
		res.StillUnknown++
		return
	}
	msg := "Paydesk stopped before this action's answer was stored. " + why
	if _, err := d.db.FinishAction(ctx, a.ID, "unknown", string(providers.Unknown), msg, ""); err != nil {
		if !errors.Is(err, storage.ErrConflict) {
			d.log.Error("reconcile: mark unknown", "action_id", a.ID, "err", err)
			res.Errors++
		}
		return
	}
	res.MarkedUnknown++
	d.reconciled(ctx, a, p, "Outcome unknown: "+msg, "unknown")
}

// reconciled writes the reconciler's timeline line and audit entry.
func (d *Desk) reconciled(ctx context.Context, a storage.Action, p storage.Payment, msg, state string) {
	if _, err := d.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: reconcilerActor, Kind: "reconciled", Message: msg}); err != nil {
		d.log.Error("reconcile: timeline", "payment", p.PublicID, "err", err)
	}
	d.Audit(ctx, Person{Email: reconcilerActor}, "reconciled", p.ID,
		fmt.Sprintf("%s on %s (action %d): %s", a.Kind, p.PublicID, a.ID, msg),
		map[string]any{"action_id": a.ID, "state": state, "provider": p.Provider})
}

// actionVerdict says how an open action ended according to the provider's snapshot: the
// journal state, the outcome kind and the words for staff; state "" when the provider
// cannot tell yet.
func (d *Desk) actionVerdict(ctx context.Context, a storage.Action, p storage.Payment, snap providers.Snapshot) (state, outcome, msg string, err error) {
	label := p.Provider.Label()
	status := providers.Normalise(snap)
	switch a.Kind {
	case "refund":
		r, err := d.db.RefundByID(ctx, a.RefundID)
		if err != nil {
			return "", "", "", err
		}
		money := providers.FormatMoney(r.Amount, r.Currency)
		switch r.Status {
		case "succeeded":
			return "succeeded", string(providers.Done), fmt.Sprintf("%s has the refund of %s (%s): it went through.", label, money, r.ProviderRefundID), nil
		case "failed":
			return "failed", string(providers.Refused), fmt.Sprintf("%s reports the refund of %s (%s) failed: nothing was refunded.", label, money, r.ProviderRefundID), nil
		}
		if r.ProviderRefundID != "" {
			return "", "", fmt.Sprintf("%s still reports the refund of %s (%s) as pending.", label, money, r.ProviderRefundID), nil
		}
		return "failed", string(providers.Refused), fmt.Sprintf("%s has no refund of %s for this payment: it did not happen, and the amount can be refunded again.", label, money), nil
	case "cancel", "void":
		switch status {
		case providers.StatusCancelled:
			return "succeeded", string(providers.Done), fmt.Sprintf("%s shows the payment cancelled: the %s went through.", label, a.Kind), nil
		case providers.StatusCancelling:
			return "needs_payer", string(providers.NeedsPayer), fmt.Sprintf("%s is waiting for the payer to confirm the cancellation; make a new payer link on this page.", label), nil
		case providers.StatusUnknown:
			return "", "", fmt.Sprintf("%s reports the status %q, which does not say whether the %s happened.", label, snap.RawStatus, a.Kind), nil
		}
		return "failed", string(providers.Refused), fmt.Sprintf("%s shows the payment %s (%s): the %s did not happen.", label, status.Label(), snap.RawStatus, a.Kind), nil
	case "expire":
		switch {
		case status == providers.StatusExpired || snap.SessionStatus == "expired":
			return "succeeded", string(providers.Done), fmt.Sprintf("%s shows the session expired: the expiry went through.", label), nil
		case status == providers.StatusUnknown:
			return "", "", fmt.Sprintf("%s reports the status %q, which does not say whether the expiry happened.", label, snap.RawStatus), nil
		}
		return "failed", string(providers.Refused), fmt.Sprintf("%s shows the payment %s (%s): the expiry did not happen.", label, status.Label(), snap.RawStatus), nil
	}
	// Refreshes and payer links move no money: an interrupted one simply did not finish.
	return "failed", string(providers.Refused), "Paydesk stopped before this finished; nothing needs settling.", nil
}
