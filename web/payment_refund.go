package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// refundForm reads what the refund form posts.
func refundForm(v url.Values) ops.RefundInput {
	return ops.RefundInput{Amount: strings.TrimSpace(v.Get("amount")), Reason: v.Get("reason"),
		Note: strings.TrimSpace(v.Get("note")), Key: v.Get("idempotency_key")}
}

// paymentRefundForm shows the refund form: amount (default: all that is left), reason, note;
// after a step-up, what the person had typed.
func (s *Server) paymentRefundForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	saved, back := s.auth.SavedForm(w, r, "/payments/"+p.PublicID+"/refund")
	var f ops.RefundInput
	if back {
		f = refundForm(saved)
	}
	// After signing in again, the saved key is checked first: a form already sent (from
	// another tab, say) is answered with its outcome, never offered again.
	d, err := s.desk.Check(r.Context(), s.person(r), p, providers.ActionRefund, savedKey(f.Key))
	if err != nil {
		s.refused(w, r, err, "/payments/"+p.PublicID)
		return
	}
	if !back {
		f = ops.RefundInput{Amount: providers.FormatMajor(d.MaxRefund, p.Currency)}
	}
	if !ops.ValidKey(f.Key) {
		f.Key = newID(16)
	}
	s.renderRefundForm(w, r, p, d, f, nil, back)
}

// savedKey is the idempotency key a saved form carried, when it is a valid one.
func savedKey(key string) string {
	if ops.ValidKey(key) {
		return key
	}
	return ""
}

// paymentRefund reads the form and asks the Desk for the refund: run at once, or left
// awaiting a manager's approval (the Desk decides and says which).
func (s *Server) paymentRefund(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	back, who, f := "/payments/"+p.PublicID, s.person(r), refundForm(r.PostForm)
	// A repeated submission is answered first: it must never run twice.
	d, err := s.desk.Check(r.Context(), who, p, providers.ActionRefund, f.Key)
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	args, errs := ops.ParseRefund(f, p.Currency, d.MaxRefund)
	if errs != nil {
		if !ops.ValidKey(f.Key) {
			f.Key = newID(16)
		}
		s.renderRefundForm(w, r, p, d, f, errs, false)
		return
	}
	res, err := s.desk.Refund(r.Context(), who, p, args)
	switch {
	case errors.Is(err, ops.ErrStepUp): // sign in again, then the form comes back filled in
		s.stepUp(w, r, back+"/refund")
	case err != nil:
		s.refused(w, r, err, back)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// renderRefundForm writes the refund form with what f holds, errs the problems found in
// it; back says the person has just signed in again to send it.
func (s *Server) renderRefundForm(w http.ResponseWriter, r *http.Request, p storage.Payment, d providers.Decision, f ops.RefundInput, errs map[string]string, back bool) {
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: "refund",
		Title: "Refund this payment", PostURL: "/payments/" + p.PublicID + "/refund", IdempotencyKey: f.Key,
		Button: "Refund", ButtonVerb: "Refund", Irreversible: true, Refund: true, Focus: refundFocus(errs),
		SignInNotice: s.signInNotice(r),
		Amount:       f.Amount, MaxAmount: providers.FormatMoney(d.MaxRefund, p.Currency), Currency: p.Currency,
		Reason: f.Reason, Note: f.Note, Errors: errs,
		Consequence: []string{
			fmt.Sprintf("%s sends the money back to %s card for payment %s (%s captured).", p.Provider.Label(), whose(p.CustomerName), p.PublicID, providers.FormatMoney(p.Captured, p.Currency)),
			"Partial refunds are allowed; several refunds may follow, up to what is left.",
		},
	}
	for _, rr := range storage.RefundReasons {
		if rr.Code != "provider" {
			v.Reasons = append(v.Reasons, views.Option{Value: rr.Code, Label: rr.Label, Selected: rr.Code == f.Reason})
		}
	}
	v.NeedsApproval = s.desk.Approval().Note(p.Currency)
	// The approval rules for the amount shown (the whole refundable amount at first); the
	// form's script asks again when the amount or reason changes.
	v.RulesURL = "/payments/" + p.PublicID + "/refund/rules"
	amount, err := ops.ParseRefundAmount(f.Amount, p.Currency, d.MaxRefund)
	if err == nil && amount > 0 {
		// The button says how much it sends.
		v.Button = "Refund " + providers.FormatMoney(amount, p.Currency)
	}
	if back {
		what := "the refund"
		if err == nil && amount > 0 {
			what = "the refund of " + providers.FormatMoney(amount, p.Currency)
		}
		v.StepUp = signedInAgain(v.Button, what)
	}
	if err == nil && amount > 0 && amount <= d.MaxRefund {
		reason := f.Reason
		if !storage.ValidRefundReason(reason) {
			reason = ""
		}
		if rule, err := s.refundRule(r, s.person(r), p, amount, reason); err == nil {
			v.Rule = rule
		} else {
			s.log.Warn("refund rules preview", append(logAttrs(r), "err", err)...)
		}
	}
	if errs != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// refundFocus is the field the refund form's cursor starts in: the first one with a
// problem, else the amount.
func refundFocus(errs map[string]string) string {
	for _, f := range []string{"amount", "reason", "note"} {
		if _, ok := errs[f]; ok {
			return f
		}
	}
	return "amount"
}

// whose names the customer as an owner ("Ada Lovelace's", or "the customer's" when the
// provider gave no name).
func whose(name string) string {
	if name == "" {
		return "the customer's"
	}
	return name + "'s"
}
