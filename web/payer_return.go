package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// payerReturn is the public page the payer lands on after confirming (or not) at the
// provider. It trusts only its own signed state: the outcome comes from re-reading the
// payment at the provider, never from the query parameters. The payer sees nothing private.
func (s *Server) payerReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	nonce, ok := s.verifyLinkState(q.Get("state"))
	if !ok {
		s.payerPage(w, r, http.StatusBadRequest, "This link is not valid", "We could not recognise this confirmation link. If you were asked to confirm something, contact the merchant who sent you the link.")
		return
	}
	ctx := r.Context()
	link, err := s.db.PayerLinkByNonce(ctx, nonce)
	if errors.Is(err, storage.ErrNotFound) {
		s.payerPage(w, r, http.StatusNotFound, "This link is not valid", "We could not find this confirmation. Contact the merchant who sent you the link.")
		return
	}
	if err != nil {
		s.log.Error("payer return", "err", err)
		s.payerPage(w, r, http.StatusInternalServerError, "Please try again", "We could not record your answer just now. Please open the link again in a few minutes.")
		return
	}
	p, err := s.db.PaymentByID(ctx, link.PaymentID)
	if err != nil {
		s.log.Error("payer return payment", "err", err)
		s.payerPage(w, r, http.StatusInternalServerError, "Please try again", "We could not record your answer just now. Please open the link again in a few minutes.")
		return
	}
	said := fmt.Sprintf("error=%q error_code=%q payment_state=%q", q.Get("error"), q.Get("error_code"), q.Get("payment_state"))
	s.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "payer", Kind: "link_returned",
		Message: fmt.Sprintf("The payer came back from %s (link %d; the return said %s — not trusted, the payment is re-read).", p.Provider.Label(), link.ID, said)})

	readCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var snap providers.Snapshot
	if prov := s.provider(p.Provider); prov != nil {
		snap, err = prov.Fetch(readCtx, providers.RefOf(p.Snapshot))
	} else {
		err = errors.New("web: provider not configured")
	}
	if err != nil {
		s.log.Warn("payer return: read payment", "payment", p.PublicID, "err", err)
		s.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "system", Kind: "link_returned",
			Message: "The payment could not be re-read after the payer came back: " + providers.SafeMessage(err) + " The link is unchanged; refresh the payment later."})
		s.payerPage(w, r, http.StatusOK, "Thank you", "We have received your answer and are checking it with your bank.")
		return
	}
	if _, _, err := s.db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "provider", Kind: "refreshed"}); err != nil {
		s.log.Error("payer return: store payment", "payment", p.PublicID, "err", err)
	}
	status := providers.Normalise(snap)
	outcome := s.settlePayerLinks(ctx, p.ID, snap, "payer return")
	if status == providers.StatusCancelling && q.Get("error") == "cancelled" && (link.State == "active" || link.State == "abandoned") {
		if _, err := s.db.SetPayerLinkState(ctx, link.ID, "abandoned", "The payer stopped before confirming; the cancellation is still pending. The same link may be used again until it expires, or make a new one."); err != nil && !errors.Is(err, storage.ErrConflict) {
			s.log.Error("payer link abandoned", "err", err)
		}
		outcome = "abandoned"
	}
	s.auditAs(ctx, r, authUserNamed("payer"), "payer_link", p.ID, fmt.Sprintf("payer returned on link %d for %s: %s (payment now %s)", link.ID, p.PublicID, outcomeOr(outcome, "no change"), status), nil)
	switch outcome {
	case "confirmed":
		s.payerPage(w, r, http.StatusOK, "Cancellation confirmed", "Thank you: the cancellation is confirmed. You do not need to do anything else.")
	case "abandoned":
		s.payerPage(w, r, http.StatusOK, "Cancellation not confirmed", "The cancellation was not confirmed. If you want to confirm it, open the link you were sent again.")
	default:
		s.payerPage(w, r, http.StatusOK, "Thank you", "We have received your answer. You can close this page.")
	}
}

func outcomeOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// settlePayerLinks ends the live payer link of a payment once the provider says how the
// cancellation ended, and settles the journal row that waited for the payer. It returns
// "confirmed", "ended" or "" (still waiting).
func (s *Server) settlePayerLinks(ctx context.Context, paymentID int64, snap providers.Snapshot, how string) string {
	link, err := s.db.LivePayerLink(ctx, paymentID)
	if err != nil {
		return ""
	}
	status := providers.Normalise(snap)
	switch status {
	case providers.StatusCancelling, providers.StatusUnknown:
		return ""
	case providers.StatusCancelled:
		if _, err := s.db.SetPayerLinkState(ctx, link.ID, "confirmed", "The payer confirmed; "+snap.Provider.Label()+" reports the payment cancelled ("+how+")."); err != nil {
			s.log.Error("payer link confirmed", "err", err)
		}
		if link.ActionID != 0 {
			if err := s.db.SettlePayerAction(ctx, link.ActionID, "succeeded", snap.Provider.Label()+" cancelled the payment after the payer confirmed."); err != nil {
				s.log.Error("settle action", "err", err)
			}
		}
		return "confirmed"
	default:
		msg := fmt.Sprintf("The payment went on to %s (%s), so the cancellation did not happen.", status.Label(), snap.RawStatus)
		if _, err := s.db.SetPayerLinkState(ctx, link.ID, "expired", msg); err != nil {
			s.log.Error("payer link ended", "err", err)
		}
		if link.ActionID != 0 {
			if err := s.db.SettlePayerAction(ctx, link.ActionID, "failed", msg); err != nil {
				s.log.Error("settle action", "err", err)
			}
		}
		return "ended"
	}
}

// payerPage renders the payer's neutral page.
func (s *Server) payerPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	views.PublicLayout(title, s.assets.URL("app.css"), views.PayerReturnView(views.PayerReturn{Title: title, Message: msg})).Render(r.Context(), w)
}
