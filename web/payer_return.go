package web

import (
	"net/http"

	"paydesk/ops"
	"paydesk/views"
)

// payerReturn is the public page the payer lands on after confirming (or not) at the
// provider. The Desk settles the return, trusting only its own signed state and
// re-reading the payment; the payer reads the outcome in plain words and nothing private.
func (s *Server) payerReturn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	payer := ops.Person{Email: "payer", Remote: clientIP(r), RequestID: requestID(r.Context())}
	ans := s.desk.ReturnPayer(r.Context(), payer, ops.PayerReturn{
		State: q.Get("state"), Error: q.Get("error"), ErrorCode: q.Get("error_code"), PaymentStatus: q.Get("payment_state"),
		IDPayment: q.Get("id_payment"), BankMessage: q.Get("bank_message"),
	})
	status, v := payerOutcomePage(ans)
	s.payerPage(w, r, status, v)
}

// payerOutcomePage is what the payer reads for an answer: one sentence each, never the
// same twice on a page.
func payerOutcomePage(ans ops.PayerAnswer) (int, views.PayerReturn) {
	switch ans.Outcome {
	case ops.PayerInvalid:
		return http.StatusBadRequest, views.PayerReturn{Title: "This link is not valid",
			Message: "We could not recognise this confirmation link. If you were asked to confirm something, contact the merchant who sent you the link."}
	case ops.PayerUnknownLink:
		return http.StatusNotFound, views.PayerReturn{Title: "This link is not valid",
			Message: "We could not find this confirmation. Contact the merchant who sent you the link."}
	case ops.PayerRetry:
		return http.StatusInternalServerError, views.PayerReturn{Title: "Please try again",
			Message: "We could not record your answer just now. Please open the link again in a few minutes."}
	case ops.PayerChecking:
		return http.StatusOK, views.PayerReturn{Title: "Checking with your bank",
			Message: "Your answer is recorded, but your bank has not told us the outcome yet. Open the link again in a few minutes to see it."}
	case ops.PayerConfirmed:
		return http.StatusOK, views.PayerReturn{Title: "Cancellation confirmed",
			Message: "Your cancellation is confirmed: the payment is cancelled. You do not need to do anything else.", CanClose: true}
	case ops.PayerAbandoned:
		return http.StatusOK, views.PayerReturn{Title: "Cancellation not confirmed",
			Message: "Not cancelled yet: you stopped before confirming with your bank, so the payment still stands. To cancel it, continue to your bank.", Continue: ans.Continue}
	case ops.PayerNotCancelled:
		return http.StatusOK, views.PayerReturn{Title: "Payment not cancelled",
			Message: "Not cancelled: the payment went ahead before the cancellation was confirmed. Contact the merchant who sent you the link if you have a question.", CanClose: true}
	case ops.PayerLinkOver:
		return http.StatusOK, views.PayerReturn{Title: "This link is no longer in use",
			Message: "This confirmation link has been replaced or has expired. If you still need to confirm a cancellation, use the latest link the merchant sent you, or ask them for a new one.", CanClose: true}
	}
	v := views.PayerReturn{Title: "Waiting for your bank",
		Message: "Your cancellation is still waiting for your bank: it is not confirmed yet.", Continue: ans.Continue}
	if v.Continue == "" {
		v.Message += " If you have not confirmed it yet, open the link you were sent again."
	}
	return http.StatusOK, v
}

// payerPage renders a page for the payer, who has no Paydesk account.
func (s *Server) payerPage(w http.ResponseWriter, r *http.Request, status int, v views.PayerReturn) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	views.PublicLayout(v.Title, s.assets.URL("app.css"), views.PayerReturnView(v)).Render(r.Context(), w)
}
