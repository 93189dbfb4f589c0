package web

import (
	"net/http"

	"paydesk/ops"
	"paydesk/views"
)

// payerReturn is the public page the payer lands on after confirming (or not) at the
// provider. The Desk settles the return, trusting only its own signed state and
// re-reading the payment; the payer sees nothing private.
func (s *Server) payerReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	payer := ops.Person{Email: "payer", Remote: clientIP(r), RequestID: requestID(r.Context())}
	switch s.desk.SettlePayerReturn(r.Context(), payer, ops.PayerReturn{
		State: q.Get("state"), Error: q.Get("error"), ErrorCode: q.Get("error_code"), PaymentStatus: q.Get("payment_state"),
	}) {
	case ops.PayerInvalid:
		s.payerPage(w, r, http.StatusBadRequest, "This link is not valid", "We could not recognise this confirmation link. If you were asked to confirm something, contact the merchant who sent you the link.")
	case ops.PayerUnknownLink:
		s.payerPage(w, r, http.StatusNotFound, "This link is not valid", "We could not find this confirmation. Contact the merchant who sent you the link.")
	case ops.PayerRetry:
		s.payerPage(w, r, http.StatusInternalServerError, "Please try again", "We could not record your answer just now. Please open the link again in a few minutes.")
	case ops.PayerChecking:
		s.payerPage(w, r, http.StatusOK, "Thank you", "We have received your answer and are checking it with your bank.")
	case ops.PayerConfirmed:
		s.payerPage(w, r, http.StatusOK, "Cancellation confirmed", "Thank you: the cancellation is confirmed. You do not need to do anything else.")
	case ops.PayerAbandoned:
		s.payerPage(w, r, http.StatusOK, "Cancellation not confirmed", "The cancellation was not confirmed. If you want to confirm it, open the link you were sent again.")
	default:
		s.payerPage(w, r, http.StatusOK, "Thank you", "We have received your answer. You can close this page.")
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
