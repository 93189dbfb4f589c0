package web

import (
	"errors"
	"net/http"

	"paydesk/ops"
)

// paymentRefresh asks the Desk to re-read the payment from its provider and says what
// changed.
func (s *Server) paymentRefresh(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	res, err := s.desk.Refresh(r.Context(), s.person(r), p)
	if errors.Is(err, ops.ErrUnavailable) {
		s.fail(w, r, http.StatusInternalServerError, "Refresh failed", ops.Message(err, ""), err)
		return
	}
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	s.flash(w, r, res.Tone, res.Message)
	http.Redirect(w, r, back, http.StatusSeeOther)
}
