package web

import (
	"errors"
	"fmt"
	"net/http"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/views"
)

// paymentExpireForm is the confirmation step of expiring an open hosted session,
// restating what will happen; after a step-up it keeps the key.
func (s *Server) paymentExpireForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	path := "/payments/" + p.PublicID + "/expire"
	// After signing in again, the saved key is checked first: a form already sent is
	// answered with its outcome, never offered again.
	saved, back := s.auth.SavedForm(w, r, path)
	key := savedKey(saved.Get("idempotency_key"))
	d, err := s.desk.Check(r.Context(), s.person(r), p, providers.ActionExpire, key)
	if err != nil {
		s.refused(w, r, err, "/payments/"+p.PublicID)
		return
	}
	if key == "" {
		key = newID(16)
	}
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: "expire",
		PostURL: path, IdempotencyKey: key, Irreversible: true,
		Title: "Expire this session?", Button: "Expire session",
		Consequence: []string{
			fmt.Sprintf("Payment %s of %s, %s, through %s.", p.PublicID, providers.FormatMoney(p.Amount, p.Currency), p.CustomerName, p.Provider.Label()),
			d.Reason,
		},
	}
	v.SignInNotice = s.signInNotice(r)
	if back {
		v.StepUp = signedInAgain(v.Button, "what will happen")
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// paymentExpire expires the session through the Desk and says how it ended.
func (s *Server) paymentExpire(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	res, err := s.desk.Expire(r.Context(), s.person(r), p, r.PostForm.Get("idempotency_key"))
	switch {
	case errors.Is(err, ops.ErrStepUp):
		s.stepUp(w, r, back+"/expire")
	case errors.Is(err, ops.ErrInvalid): // the form lost its key: confirm again
		s.refused(w, r, err, back+"/expire")
	case err != nil:
		s.refused(w, r, err, back)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}
