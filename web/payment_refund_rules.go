package web

import (
	"net/http"
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentRefundRules answers the refund form's script with a RefundRuleView fragment:
// which approval rule applies to the amount and reason typed, and why. It reads and
// records nothing (the rules decide again when the form is sent); a refund that is not
// available, or an amount that is not one, gets an empty fragment.
func (s *Server) paymentRefundRules(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	who := s.person(r)
	d, err := s.desk.Check(r.Context(), who, p, providers.ActionRefund, "")
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		return
	}
	q := r.URL.Query()
	typed := strings.TrimSpace(q.Get("amount"))
	amount, parseErr := ops.ParseRefundAmount(typed, p.Currency, d.MaxRefund)
	reason := q.Get("reason")
	if !storage.ValidRefundReason(reason) {
		reason = ""
	}
	var v views.RefundRule
	if parseErr == nil && amount > 0 && amount <= d.MaxRefund {
		if v, err = s.refundRule(r, who, p, amount, reason); err != nil {
			s.log.Warn("refund rules preview", append(logAttrs(r), "err", err)...)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}
	// The button says the amount read; a problem with it is said when the form is sent.
	if parseErr == nil && amount > 0 {
		v.Amount = providers.FormatMoney(amount, p.Currency)
	}
	s.renderFragment(w, r, views.RefundRuleView(v), "refund rules preview")
}

// refundRule previews the approval rules for a refund of amount on p, in the words of
// the refund form.
func (s *Server) refundRule(r *http.Request, who ops.Person, p storage.Payment, amount int64, reason string) (views.RefundRule, error) {
	dec, err := s.desk.RefundPreview(r.Context(), who, p, amount, reason)
	if err != nil {
		return views.RefundRule{}, err
	}
	v := views.RefundRule{Effect: dec.Effect, Sentence: ops.DecisionSentence(dec)}
	if dec.Effect == "" {
		v.Sentence = "A refund of " + providers.FormatMoney(amount, p.Currency) + " is sent to the provider at once: no approval rule holds it back."
	}
	return v, nil
}
