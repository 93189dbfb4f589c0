package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// actionForm is the confirmation step of a cancel or an expire at /payments/{id}/{slug}:
// the Desk's check, the key (kept across a step-up: a form already sent is answered with
// its outcome, never offered again), the words of the action (words fills Title, Button
// and the consequences after the first line) and the sign-in notices.
func (s *Server) actionForm(w http.ResponseWriter, r *http.Request, action providers.Action, slug string,
	words func(p storage.Payment, d providers.Decision, v *views.Confirm)) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	path := "/payments/" + p.PublicID + "/" + slug
	saved, back := s.auth.SavedForm(w, r, path)
	key := savedKey(saved.Get("idempotency_key"))
	d, err := s.desk.Check(r.Context(), s.person(r), p, action, key)
	if err != nil {
		s.refused(w, r, err, "/payments/"+p.PublicID)
		return
	}
	if key == "" {
		key = newID(16)
	}
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: slug,
		PostURL: path, IdempotencyKey: key, Irreversible: true,
		Consequence: []string{
			fmt.Sprintf("Payment %s of %s, %s, through %s.", p.PublicID, providers.FormatMoney(p.Amount, p.Currency), p.CustomerName, p.Provider.Label()),
			d.Reason,
		},
	}
	words(p, d, &v)
	v.SignInNotice = s.signInNotice(r)
	if back {
		v.StepUp = signedInAgain(v.Button, "what will happen")
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// actionPost runs a confirmed cancel or expire through the Desk (run) and says how it
// ended: a stale sign-in goes to the step-up and back to the form at slug, a lost key
// back to the form, any other refusal to the payment.
func (s *Server) actionPost(w http.ResponseWriter, r *http.Request, slug string,
	run func(ctx context.Context, who ops.Person, p storage.Payment, key string) (ops.Result, error)) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	res, err := run(r.Context(), s.person(r), p, r.PostForm.Get("idempotency_key"))
	switch {
	case errors.Is(err, ops.ErrStepUp):
		s.stepUp(w, r, back+"/"+slug)
	case errors.Is(err, ops.ErrInvalid): // the form lost its key: confirm again
		s.refused(w, r, err, back+"/"+slug)
	case err != nil:
		s.refused(w, r, err, back)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}
