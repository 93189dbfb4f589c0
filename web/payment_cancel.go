package web

import (
	"context"
	"fmt"
	"net/http"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentCancelForm is the confirmation step of a cancellation.
func (s *Server) paymentCancelForm(w http.ResponseWriter, r *http.Request) {
	s.simpleActionForm(w, r, providers.ActionCancel)
}

// paymentCancel cancels (or, for a held Tranzzo authorisation, voids) a payment.
func (s *Server) paymentCancel(w http.ResponseWriter, r *http.Request) {
	s.simpleAction(w, r, providers.ActionCancel)
}

// simpleActionForm renders the confirmation of cancel or expire, restating what will happen.
func (s *Server) simpleActionForm(w http.ResponseWriter, r *http.Request, action providers.Action) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	d, ok := s.allowed(w, r, p, action)
	if !ok {
		return
	}
	path := "/payments/" + p.PublicID + "/" + string(action)
	key := newID(16)
	if saved, ok := s.auth.SavedForm(w, r, path); ok && validKey(saved.Get("idempotency_key")) {
		key = saved.Get("idempotency_key")
	}
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: string(action),
		PostURL: path, IdempotencyKey: key, Irreversible: true,
		Consequence: []string{
			fmt.Sprintf("Payment %s of %s, %s, through %s.", p.PublicID, providers.FormatMoney(p.Amount, p.Currency), p.CustomerName, p.Provider.Label()),
			d.Reason,
		},
	}
	switch {
	case action == providers.ActionExpire:
		v.Title, v.Button = "Expire this session?", "Expire session"
	case d.Op == providers.OpVoid:
		v.Title, v.Button = "Void this authorisation?", "Void authorisation"
		v.Consequence = append(v.Consequence, fmt.Sprintf("The customer gets the full held amount (%s) back.", providers.FormatMoney(p.Amount, p.Currency)))
	default:
		v.Title, v.Button = "Cancel this payment?", "Cancel payment"
		if d.MayNeedPayer {
			v.Consequence = append(v.Consequence, "If the payer's bank asks for it, Paydesk gives you a link for the payer to confirm; the payment stays pending until they do.")
		}
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// allowed re-checks, on the server, that the action applies now; when it does not it
// tells the user why and sends them back to the payment.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, p storage.Payment, action providers.Action) (providers.Decision, bool) {
	st, err := s.paymentState(r, p)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payment unavailable", "This payment could not be loaded. Try again in a moment.", err)
		return providers.Decision{}, false
	}
	for _, d := range s.decisions(userFrom(r.Context()), st) {
		if d.Action != action {
			continue
		}
		if !d.Allowed {
			s.flash(w, r, "error", fmt.Sprintf("%s is not available: %s", actionLabels[action], d.Reason))
			http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
			return d, false
		}
		return d, true
	}
	s.notFound(w, r)
	return providers.Decision{}, false
}

// simpleAction runs cancel or expire: check, step-up, record, call, record, redirect.
func (s *Server) simpleAction(w http.ResponseWriter, r *http.Request, action providers.Action) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	key := r.PostForm.Get("idempotency_key")
	if !validKey(key) {
		s.flash(w, r, "error", "The form was incomplete, so nothing was sent. Please confirm again.")
		http.Redirect(w, r, "/payments/"+p.PublicID+"/"+string(action), http.StatusSeeOther)
		return
	}
	// A repeated submission is answered before anything else: it must never run twice.
	if _, err := s.db.ActionByKey(r.Context(), key); err == nil {
		s.startError(w, r, p, storage.ErrDuplicate)
		return
	}
	d, ok := s.allowed(w, r, p, action)
	if !ok {
		return
	}
	u := userFrom(r.Context())
	if s.needFresh(w, r, u, "/payments/"+p.PublicID+"/"+string(action)) {
		return
	}
	a, err := s.db.StartAction(r.Context(), storage.Action{
		PaymentID: p.ID, Kind: string(d.Op), Amount: p.Amount, Currency: p.Currency, IdempotencyKey: key, Actor: u.Email,
	})
	if err != nil {
		s.startError(w, r, p, err)
		return
	}
	prov := s.provider(p.Provider)
	nonce := newID(16)
	ref := providers.RefOf(p.Snapshot)
	out := s.runAction(r, p, a, nonce, func(ctx context.Context) providers.Outcome {
		switch {
		case action == providers.ActionExpire:
			if e, ok := prov.(providers.Expirer); ok {
				return e.Expire(ctx, ref)
			}
		default:
			if c, ok := prov.(providers.Canceller); ok {
				return c.Cancel(ctx, ref, providers.CancelRequest{ReturnURL: s.payerReturnURL(), State: s.linkState(nonce), Comment: "Cancelled by " + u.Email + " in Paydesk"})
			}
		}
		return providers.Outcome{Kind: providers.Refused, Message: fmt.Sprintf("%s has no %s in Paydesk.", p.Provider.Label(), action)}
	})
	what := map[providers.Operation]string{providers.OpCancel: "Cancellation", providers.OpVoid: "Void", providers.OpExpire: "Expiry"}[d.Op]
	kind, msg := outcomeFlash(p.Provider, what, out)
	s.flash(w, r, kind, msg)
	http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
}
