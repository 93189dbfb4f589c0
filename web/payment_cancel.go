package web

import (
	"errors"
	"fmt"
	"net/http"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/views"
)

// paymentCancelForm is the confirmation step of a cancellation (or, for a held
// authorisation, a void), restating what will happen; after a step-up it keeps the key.
func (s *Server) paymentCancelForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	path := "/payments/" + p.PublicID + "/cancel"
	// After signing in again, the saved key is checked first: a form already sent is
	// answered with its outcome, never offered again.
	saved, back := s.auth.SavedForm(w, r, path)
	key := savedKey(saved.Get("idempotency_key"))
	d, err := s.desk.Check(r.Context(), s.person(r), p, providers.ActionCancel, key)
	if err != nil {
		s.refused(w, r, err, "/payments/"+p.PublicID)
		return
	}
	if key == "" {
		key = newID(16)
	}
	amount := providers.FormatMoney(p.Amount, p.Currency)
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: "cancel",
		PostURL: path, IdempotencyKey: key, Irreversible: true,
		Title: "Cancel this payment?", Button: "Cancel payment",
		Consequence: []string{fmt.Sprintf("Payment %s of %s, %s, through %s.", p.PublicID, amount, p.CustomerName, p.Provider.Label()), d.Reason},
	}
	switch {
	case d.Op == providers.OpVoid:
		v.Title, v.Button = "Void this authorisation?", "Void authorisation"
		v.Consequence = append(v.Consequence, fmt.Sprintf("The customer gets the full held amount (%s) back.", amount))
	case d.MayNeedPayer:
		v.Consequence = append(v.Consequence, "If the payer's bank asks for it, Paydesk gives you a link for the payer to confirm; the payment stays pending until they do.")
	}
	v.SignInNotice = s.signInNotice(r)
	if back {
		v.StepUp = signedInAgain(v.Button, "what will happen")
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// paymentCancel cancels or voids the payment through the Desk and says how it ended;
// when the payer must confirm, the payment page shows the link to send them.
func (s *Server) paymentCancel(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	back := "/payments/" + p.PublicID
	res, err := s.desk.Cancel(r.Context(), s.person(r), p, r.PostForm.Get("idempotency_key"))
	switch {
	case errors.Is(err, ops.ErrStepUp):
		s.stepUp(w, r, back+"/cancel")
	case errors.Is(err, ops.ErrInvalid): // the form lost its key: confirm again
		s.refused(w, r, err, back+"/cancel")
	case err != nil:
		s.refused(w, r, err, back)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}
