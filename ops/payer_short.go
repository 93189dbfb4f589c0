package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// payerRenewEvery is how often a payer going back to confirm may get a fresh scoped token
// for one link: more often, they are sent to the current one.
const payerRenewEvery = time.Minute

// PayerLinkAddress is the address staff share with the payer for a link: Paydesk's short
// one (/p/{token}, which leads to the provider's current page), or the provider's own
// for links made before short addresses.
func (d *Desk) PayerLinkAddress(l storage.PayerLink) string {
	if l.Token == "" {
		return l.URL
	}
	return d.cfg.BaseURL + "/p/" + l.Token
}

// PayerShortLink is where a short payer address leads.
type PayerShortLink struct {
	// Go is the provider's page to send the payer to; "" when the link is not live.
	Go string
	// State is the link's state (active, abandoned, superseded, confirmed, expired), a
	// live link past its expiry counting as expired; "" when no link has the token.
	State string
	// NotCancelled: the link ended because the payment went on otherwise.
	NotCancelled bool
}

// OpenPayerLink says where a short payer address leads, reading nothing at the provider
// (a GET: messengers open links to preview them).
func (d *Desk) OpenPayerLink(ctx context.Context, token string) (PayerShortLink, error) {
	l, err := d.db.PayerLinkByToken(ctx, token)
	if errors.Is(err, storage.ErrNotFound) {
		return PayerShortLink{}, nil
	}
	if err != nil {
		return PayerShortLink{}, fmt.Errorf("ops: payer link: %w", err)
	}
	return d.shortLink(l), nil
}

// shortLink is where link l leads now.
func (d *Desk) shortLink(l storage.PayerLink) PayerShortLink {
	live := l.State == "active" || l.State == "abandoned"
	if live && !d.cfg.Now().Before(l.ExpiresAt) {
		return PayerShortLink{State: "expired"}
	}
	if !live {
		return PayerShortLink{State: l.State, NotCancelled: l.State == "expired" && l.Outcome != ""}
	}
	return PayerShortLink{Go: l.URL, State: l.State}
}

// ContinuePayerLink sends a payer who came back unconfirmed on to confirm again: when the
// payment still waits for them on the provider's confirmation page (a webview link), the
// provider is asked for a fresh scoped token first — the document's "from the scoped
// token onwards" — at most once a minute per link; the link keeps its state, its short
// address and its place, only its provider address and expiry change. Any failure sends
// the payer to the current page. who names the payer.
func (d *Desk) ContinuePayerLink(ctx context.Context, who Person, token string) (PayerShortLink, error) {
	l, err := d.db.PayerLinkByToken(ctx, token)
	if errors.Is(err, storage.ErrNotFound) {
		return PayerShortLink{}, nil
	}
	if err != nil {
		return PayerShortLink{}, fmt.Errorf("ops: payer link: %w", err)
	}
	to := d.shortLink(l)
	if to.Go == "" || l.Kind != "webview" {
		return to, nil
	}
	now := d.cfg.Now()
	memo := d.returns.lock(l.ID, now)
	defer memo.mu.Unlock()
	if !memo.renewedAt.IsZero() && now.Sub(memo.renewedAt) < payerRenewEvery && !now.Before(memo.renewedAt) {
		if fresh, err := d.db.PayerLinkByID(ctx, l.ID); err == nil {
			return d.shortLink(fresh), nil
		}
		return to, nil
	}
	memo.renewedAt = now
	p, err := d.db.PaymentByID(ctx, l.PaymentID)
	if err != nil || p.Status != providers.StatusCancelling {
		return to, nil
	}
	linker, ok := d.ProviderOf(p).(providers.PayerLinker)
	if !ok {
		return to, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerCallTimeout)
	defer cancel()
	fresh, err := linker.PayerLink(cctx, providers.RefOf(p.Snapshot), providers.CancelRequest{ReturnURL: d.payerReturnURL(), State: d.linkState(l.StateNonce)})
	if err != nil || fresh.Kind != "webview" {
		d.log.Warn("payer continues: fresh link", "payment", p.PublicID, "err", err)
		return to, nil
	}
	renewed, err := d.db.RenewPayerLink(ctx, l.ID, fresh.URL, fresh.ExpiresAt, "the payer came back before the payment was cancelled and went on to confirm")
	if err != nil {
		d.log.Warn("payer continues: renew", "payment", p.PublicID, "err", err)
		return to, nil
	}
	// The payer's next return is a new attempt: it reads the payment again rather than
	// reusing the read that found them unconfirmed (renewals are once a minute, so reads stay bounded).
	memo.readAt = time.Time{}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("payer went back to confirm on link %d for %s: fresh confirmation page (expires %s)", l.ID, p.PublicID, renewed.ExpiresAt.UTC().Format(time.RFC3339)), nil)
	return d.shortLink(renewed), nil
}
