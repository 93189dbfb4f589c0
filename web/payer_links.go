package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"rsc.io/qr"

	"paydesk/providers"
	"paydesk/storage"
)

// payerLinkCreate makes a fresh payer link for a cancellation waiting for the payer; the
// previous link is marked superseded.
func (s *Server) payerLinkCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	linker, ok := s.provider(p.Provider).(providers.PayerLinker)
	if !ok || p.Status != providers.StatusCancelling {
		s.flash(w, r, "error", "This payment is not waiting for the payer, so no link is needed.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	u := userFrom(r.Context())
	nonce := newID(16)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), providerCallTimeout)
	defer cancel()
	link, err := linker.PayerLink(ctx, providers.RefOf(p.Snapshot), providers.CancelRequest{ReturnURL: s.payerReturnURL(), State: s.linkState(nonce)})
	if err != nil {
		s.log.Warn("payer link", append(logAttrs(r), "payment", p.PublicID, "err", err)...)
		s.flash(w, r, "error", "No new link was made: "+providers.SafeMessage(err))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	var actionID int64
	if live, err := s.db.LivePayerLink(r.Context(), p.ID); err == nil {
		actionID = live.ActionID
	}
	l, err := s.db.CreatePayerLink(r.Context(), storage.PayerLink{
		PaymentID: p.ID, ActionID: actionID, State: "active", Kind: link.Kind, URL: link.URL, Nonce: nonce, CreatedBy: u.Email, ExpiresAt: link.ExpiresAt,
	})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Link not saved", "The new link could not be saved. Try again.", err)
		return
	}
	s.audit(r, "payer_link", p.ID, fmt.Sprintf("new payer link %d for %s (expires %s)", l.ID, p.PublicID, l.ExpiresAt.UTC().Format(time.RFC3339)), nil)
	s.flash(w, r, "success", "A new payer link is ready; the previous one no longer works.")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// payerLinkQR draws a live payer link as a QR code (PNG), for a payer on the phone.
func (s *Server) payerLinkQR(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	l, err := s.db.PayerLinkByID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && l.State != "active" && l.State != "abandoned") {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "QR code unavailable", "The link could not be read.", err)
		return
	}
	code, err := qr.Encode(l.URL, qr.M)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "QR code unavailable", "This link is too long for a QR code; copy it instead.", err)
		return
	}
	// qr's own PNG encoder draws every module at Scale pixels (its image.Image does not).
	code.Scale = 4
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(code.PNG())
}

// payerMessage is a ready text staff can send the payer.
func payerMessage(p storage.Payment, link string, expires time.Time) string {
	name := p.CustomerName
	if name == "" {
		name = "there"
	}
	return fmt.Sprintf(`Hello %s,

As requested, we have started cancelling your payment of %s. Your bank asks you to confirm the cancellation: please open this link and follow the steps.

%s

The link works until %s. If you did not ask for this cancellation, ignore this message and contact us.`,
		name, providers.FormatMoney(p.Amount, p.Currency), link, expires.UTC().Format("2 January 2006, 15:04 UTC"))
}
