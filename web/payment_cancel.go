package web

import (
	"fmt"
	"net/http"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentCancelForm is the confirmation step of a cancellation (or, for a held
// authorisation, a void), restating what will happen; after a step-up it keeps the key.
func (s *Server) paymentCancelForm(w http.ResponseWriter, r *http.Request) {
	s.actionForm(w, r, providers.ActionCancel, "cancel", func(p storage.Payment, d providers.Decision, v *views.Confirm) {
		v.Title, v.Button = "Cancel this payment?", "Cancel payment"
		switch {
		case d.Op == providers.OpVoid:
			v.Title, v.Button = "Void this authorisation?", "Void authorisation"
			v.Consequence = append(v.Consequence, fmt.Sprintf("The customer gets the full held amount (%s) back.", providers.FormatMoney(p.Amount, p.Currency)))
		case d.MayNeedPayer:
			v.Consequence = append(v.Consequence, "If the payer's bank asks for it, Paydesk gives you a link for the payer to confirm; the payment stays pending until they do.")
		}
	})
}

// paymentCancel cancels or voids the payment through the Desk and says how it ended;
// when the payer must confirm, the payment page shows the link to send them.
func (s *Server) paymentCancel(w http.ResponseWriter, r *http.Request) {
	s.actionPost(w, r, "cancel", s.desk.Cancel)
}
