package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// refreshTimeout bounds reading a payment for staff or for the payer's return.
const refreshTimeout = 20 * time.Second

// Refresh re-reads p from its provider and records what changed (a refresh moves no
// money: anyone who may see payments may ask for it). A provider that cannot be read
// is refused with ErrProvider (or ErrNotAllowed when it is not configured); an answer
// linking p with another payment Paydesk holds separately with ErrConflict (nothing is
// merged; the anomaly is recorded on both); an answer that cannot be stored with
// ErrUnavailable.
func (d *Desk) Refresh(ctx context.Context, who Person, p storage.Payment) (Result, error) {
	if !who.mayView() {
		return Result{}, refuse(ErrNotAllowed, "Your role cannot see payments.")
	}
	prov := d.ProviderOf(p)
	if prov == nil {
		return Result{}, refuse(ErrNotAllowed, p.Provider.Label()+" is not configured in this Paydesk, so the payment cannot be refreshed.")
	}
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	snap, err := prov.Fetch(rctx, providers.RefOf(p.Snapshot))
	if err != nil {
		d.log.Warn("refresh", who.logAttrs("payment", p.PublicID, "err", err)...)
		return Result{}, &Refusal{Reason: ErrProvider, Cause: err,
			Message: fmt.Sprintf("%s could not be read: %s Nothing was changed.", p.Provider.Label(), providers.SafeMessage(err))}
	}
	_, change, err := d.db.UpsertPayment(ctx, d.stamp(p, snap), storage.UpsertOptions{Actor: who.Email, Kind: "refreshed"})
	if two, rerr := d.linkedPayments(ctx, err, who.Email); two != nil && rerr == nil {
		d.log.Warn("refresh: provider links two payments", who.logAttrs("payment", p.PublicID, "err", err)...)
		return Result{}, &Refusal{Reason: ErrConflict, Cause: err, Message: linkedMessage(p, two)}
	} else if rerr != nil {
		err = rerr
	}
	if err != nil {
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "The provider's answer could not be stored; nothing was changed."}
	}
	d.SettlePayerLinks(ctx, p.ID, snap, "staff refresh")
	if !change.Changed && !change.Created {
		return Result{Tone: "success", Message: "Refreshed from " + p.Provider.Label() + ": nothing changed."}, nil
	}
	var parts []string
	for _, f := range change.Fields {
		parts = append(parts, fmt.Sprintf("%s %s → %s", f.Field, f.Old, f.New))
	}
	return Result{Tone: "success", Message: "Refreshed from " + p.Provider.Label() + ": " + strings.Join(parts, "; ") + "."}, nil
}
