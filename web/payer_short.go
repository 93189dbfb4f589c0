package web

import (
	"net/http"

	"paydesk/ops"
	"paydesk/views"
)

// payerShortOpen is a short payer address (/p/{token}): a live link sends the payer on to
// the provider's current confirmation page; any other gets a plain page saying why not.
// Opening it reads nothing at the provider (messengers open links to preview them).
func (s *Server) payerShortOpen(w http.ResponseWriter, r *http.Request) {
	to, err := s.desk.OpenPayerLink(r.Context(), r.PathValue("token"))
	s.payerShortAnswer(w, r, to, err)
}

// payerShortContinue is the payer going back to confirm from the return page (a POST to
// the short address): the provider is asked for a fresh confirmation page first when the
// payment still waits for them.
func (s *Server) payerShortContinue(w http.ResponseWriter, r *http.Request) {
	payer := ops.Person{Email: "payer", Remote: clientIP(r), RequestID: requestID(r.Context())}
	to, err := s.desk.ContinuePayerLink(r.Context(), payer, r.PathValue("token"))
	s.payerShortAnswer(w, r, to, err)
}

// payerShortAnswer sends the payer where a short address leads, or says why it leads nowhere.
func (s *Server) payerShortAnswer(w http.ResponseWriter, r *http.Request, to ops.PayerShortLink, err error) {
	if err != nil {
		s.log.Error("payer short link", append(logAttrs(r), "err", err)...)
		s.payerPage(w, r, http.StatusInternalServerError, views.PayerReturn{Title: "Please try again",
			Message: "This link cannot be opened just now. Please try again in a few minutes."})
		return
	}
	if to.Go != "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, to.Go, http.StatusSeeOther)
		return
	}
	switch {
	case to.State == "":
		s.payerPage(w, r, http.StatusNotFound, views.PayerReturn{Title: "This link is not valid",
			Message: "We could not find this confirmation link. Check that it was copied whole, or contact the merchant who sent it."})
	case to.State == "confirmed":
		s.payerPage(w, r, http.StatusOK, views.PayerReturn{Title: "Cancellation confirmed",
			Message: "Your cancellation is confirmed: the payment is cancelled. You do not need to do anything else.", CanClose: true})
	case to.NotCancelled:
		s.payerPage(w, r, http.StatusGone, views.PayerReturn{Title: "Payment not cancelled",
			Message: "Not cancelled: the payment went ahead before the cancellation was confirmed. Contact the merchant who sent you the link if you have a question.", CanClose: true})
	case to.State == "superseded":
		s.payerPage(w, r, http.StatusGone, views.PayerReturn{Title: "This link was replaced",
			Message: "This confirmation link was replaced by a newer one. Use the latest link the merchant sent you.", CanClose: true})
	default:
		s.payerPage(w, r, http.StatusGone, views.PayerReturn{Title: "This link has expired",
			Message: "This confirmation link has expired. If you still want to cancel the payment, ask the merchant for a new link.", CanClose: true})
	}
}
