package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// payerLinkCreate asks the Desk for a fresh payer link for a cancellation waiting for the
// payer; the previous link stops working.
func (s *Server) payerLinkCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	_, err := s.desk.NewPayerLink(r.Context(), s.person(r), p)
	if errors.Is(err, ops.ErrUnavailable) {
		s.fail(w, r, http.StatusInternalServerError, "Link not saved", ops.Message(err, ""), err)
		return
	}
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
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
	// The short address, not the provider's ~400 characters: a QR code a phone reads at a glance.
	code, err := qr.Encode(s.desk.PayerLinkAddress(l), qr.M)
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

// payerLinksFragment is the payment page's payer links alone (a PayerLinksPanel), which
// the page asks for every few seconds while a link is live: the payer's answer shows
// without a reload. It reads the database only.
func (s *Server) payerLinksFragment(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	v := views.Payment{PublicID: p.PublicID, ProviderLabel: p.Provider.Label(), Status: string(p.Status),
		StatusLabel: p.Status.Label(), CanAct: Act.Allows(userFrom(r.Context()))}
	// The journal matters only when the status may lag a cancellation (WaitsForPayer).
	var journal []storage.Action
	if v.CanAct && p.Status != providers.StatusCancelling {
		var err error
		if journal, err = s.db.ActionsOfPayment(r.Context(), p.ID); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Payer links unavailable", "The payer links could not be read.", err)
			return
		}
	}
	if err := s.payerLinksView(r.Context(), p, journal, &v); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payer links unavailable", "The payer links could not be read.", err)
		return
	}
	s.renderFragment(w, r, views.PayerLinksPanel(v), "payer links")
}

// payerLinksView fills v's payer links, and while one is live where the page asks how
// they stand (LinksPoll); LinksKey sums up the links and the payment's status. The live
// link's address, QR code and message are for those who may act. journal is the payment's
// actions (the page has them already): with it, "Make a new link" is offered while the
// stored status lags a cancellation waiting for the payer.
func (s *Server) payerLinksView(ctx context.Context, p storage.Payment, journal []storage.Action, v *views.Payment) error {
	links, err := s.db.PayerLinksOfPayment(ctx, p.ID)
	if err != nil {
		return err
	}
	key := []string{string(p.Status)}
	anyLive := false
	for _, l := range links {
		live := l.State == "active" || l.State == "abandoned"
		anyLive = anyLive || live
		key = append(key, fmt.Sprintf("%d:%s", l.ID, l.State))
		lv := views.PayerLinkView{
			ID: fmt.Sprint(l.ID), State: l.State, StateLabel: payerLinkStateWords(l.State), Kind: l.Kind, CreatedBy: l.CreatedBy, Outcome: l.Outcome, PayerSaid: l.PayerSaid,
			CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Live: live && v.CanAct,
		}
		if lv.Live {
			lv.URL = s.desk.PayerLinkAddress(l)
			lv.ProviderURL = l.URL
			lv.QR = fmt.Sprintf("/payer-links/%d/qr.png", l.ID)
			lv.MailText = payerMessage(p, lv.URL, l.ExpiresAt)
			lv.MailOn, lv.MailTo = s.desk.MailEnabled(), p.CustomerEmail
		}
		lv.EmailedTo, lv.EmailedBy, lv.EmailedAt = l.EmailedTo, l.EmailedBy, l.EmailedAt
		v.Links = append(v.Links, lv)
	}
	v.LinksKey = strings.Join(key, " ")
	v.PayerWaits = v.CanAct && s.desk.WaitsForPayer(p, journal)
	if p.Status == providers.StatusCancelling && v.CanAct {
		v.Attention = append(v.Attention, cancellingNextStep(links))
	}
	if anyLive {
		v.LinksPoll = "/payments/" + p.PublicID + "/payer-links"
	}
	return nil
}

// payerMessage is a ready text staff can send the payer, with the short address.
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
