package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-playground/validator/v10"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// refundForm is what the refund form posts.
type refundForm struct {
	Amount         string `validate:"required,max=32"`
	Reason         string `validate:"required"`
	Note           string `validate:"max=500,required_if=Reason other"`
	IdempotencyKey string `validate:"required,len=32,hexadecimal"`
}

var validate = validator.New(validator.WithRequiredStructEnabled())

// paymentRefundForm shows the refund form: amount (default: all that is left), reason, note.
func (s *Server) paymentRefundForm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	d, ok := s.allowed(w, r, p, providers.ActionRefund)
	if !ok {
		return
	}
	path := "/payments/" + p.PublicID + "/refund"
	f := refundForm{Amount: providers.FormatMajor(d.MaxRefund, p.Currency), IdempotencyKey: newID(16)}
	if saved, ok := s.auth.SavedForm(w, r, path); ok {
		f = refundFormFrom(saved)
		if !validKey(f.IdempotencyKey) {
			f.IdempotencyKey = newID(16)
		}
	}
	s.renderRefundForm(w, r, p, d, f, nil)
}

func refundFormFrom(v url.Values) refundForm {
	return refundForm{
		Amount:         strings.TrimSpace(v.Get("amount")),
		Reason:         v.Get("reason"),
		Note:           strings.TrimSpace(v.Get("note")),
		IdempotencyKey: v.Get("idempotency_key"),
	}
}

func (s *Server) renderRefundForm(w http.ResponseWriter, r *http.Request, p storage.Payment, d providers.Decision, f refundForm, errs map[string]string) {
	v := views.Confirm{
		PaymentURL: "/payments/" + p.PublicID, PaymentID: p.PublicID, Provider: p.Provider.Label(), Action: "refund",
		Title: "Refund this payment", PostURL: "/payments/" + p.PublicID + "/refund", IdempotencyKey: f.IdempotencyKey,
		Button: "Refund", Irreversible: true, Refund: true,
		Amount: f.Amount, MaxAmount: providers.FormatMoney(d.MaxRefund, p.Currency), Currency: p.Currency,
		Reason: f.Reason, Note: f.Note, Errors: errs,
		Consequence: []string{
			fmt.Sprintf("%s sends the money back to %s's card for payment %s (%s captured).", p.Provider.Label(), p.CustomerName, p.PublicID, providers.FormatMoney(p.Captured, p.Currency)),
			"Partial refunds are allowed; several refunds may follow, up to what is left.",
		},
	}
	for _, rr := range storage.RefundReasons {
		if rr.Code == "provider" {
			continue
		}
		v.Reasons = append(v.Reasons, views.Option{Value: rr.Code, Label: rr.Label, Selected: rr.Code == f.Reason})
	}
	if t, ok := s.cfg.Approval.Threshold(p.Currency); ok {
		v.NeedsApproval = fmt.Sprintf("Refunds from %s need a manager's approval: they wait in the managers' queue and reserve their amount until decided.", providers.FormatMoney(t, p.Currency))
	} else if s.cfg.Approval.AlwaysByDefault {
		v.NeedsApproval = fmt.Sprintf("Every refund in %s needs a manager's approval.", p.Currency)
	}
	if errs != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	s.render(w, r, s.page(w, r, v.Title, "payments"), views.ConfirmView(v))
}

// validateRefund checks the form and returns the amount in minor units, or per-field messages.
func validateRefund(f refundForm, currency string, max int64) (int64, map[string]string) {
	errs := map[string]string{}
	if err := validate.Struct(f); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) {
			for _, fe := range ve {
				switch fe.Field() {
				case "Amount":
					errs["amount"] = "Enter an amount."
				case "Reason":
					errs["reason"] = "Choose a reason."
				case "Note":
					if fe.Tag() == "max" {
						errs["note"] = "The note is too long (500 characters at most)."
					} else {
						errs["note"] = "Explain the reason in a note when you choose \"other\"."
					}
				case "IdempotencyKey":
					errs["form"] = "The form was incomplete; nothing was sent. Check the values and submit again."
				}
			}
		}
	}
	if _, ok := errs["reason"]; !ok && !storage.ValidRefundReason(f.Reason) {
		errs["reason"] = "Choose one of the listed reasons."
	}
	var amount int64
	if _, ok := errs["amount"]; !ok {
		v, err := providers.ParseMajor(f.Amount, currency)
		switch {
		case err != nil:
			errs["amount"] = fmt.Sprintf("%q is not an amount in %s (for example %s).", f.Amount, currency, providers.FormatMajor(max, currency))
		case v <= 0:
			errs["amount"] = "The amount must be more than zero."
		case v > max:
			errs["amount"] = fmt.Sprintf("At most %s can be refunded.", providers.FormatMoney(max, currency))
		default:
			amount = v
		}
	}
	if len(errs) > 0 {
		return 0, errs
	}
	return amount, nil
}

// paymentRefund requests a refund: below the approval threshold it runs at once through
// the provider; at or above it waits for a manager, reserving its amount.
func (s *Server) paymentRefund(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	f := refundFormFrom(r.PostForm)
	if validKey(f.IdempotencyKey) {
		if _, err := s.db.ActionByKey(r.Context(), f.IdempotencyKey); err == nil {
			s.startError(w, r, p, storage.ErrDuplicate)
			return
		}
		if _, err := s.db.RefundByKey(r.Context(), f.IdempotencyKey); err == nil {
			s.startError(w, r, p, storage.ErrDuplicate)
			return
		}
	}
	d, ok := s.allowed(w, r, p, providers.ActionRefund)
	if !ok {
		return
	}
	amount, errs := validateRefund(f, p.Currency, d.MaxRefund)
	if errs != nil {
		if !validKey(f.IdempotencyKey) {
			f.IdempotencyKey = newID(16)
		}
		s.renderRefundForm(w, r, p, d, f, errs)
		return
	}
	u := userFrom(r.Context())
	if s.needFresh(w, r, u, "/payments/"+p.PublicID+"/refund") {
		return
	}
	needsApproval := s.cfg.Approval.Needs(p.Currency, amount)
	refund, action, err := s.db.RequestRefund(r.Context(), storage.RefundRequest{
		PaymentID: p.ID, Amount: amount, Reason: f.Reason, Note: f.Note, RequestedBy: u.Email,
		IdempotencyKey: f.IdempotencyKey, NeedsApproval: needsApproval, ApprovalTTL: s.cfg.ApprovalTTL,
	})
	if err != nil {
		s.startError(w, r, p, err)
		return
	}
	money := providers.FormatMoney(amount, p.Currency)
	if needsApproval {
		s.audit(r, "refund_requested", p.ID, fmt.Sprintf("refund of %s on %s awaits approval (%s)", money, p.PublicID, f.Reason), map[string]any{"refund_id": refund.ID})
		s.flash(w, r, "info", fmt.Sprintf("The refund of %s is awaiting a manager's approval. Its amount is reserved until then.", money))
		http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
		return
	}
	out := s.runRefund(r, p, *action, amount)
	kind, msg := outcomeFlash(p.Provider, "Refund of "+money, out)
	s.flash(w, r, kind, msg)
	http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
}

// runRefund calls the provider for a refund whose journal row is pending (a request below
// the threshold, or one a manager just approved).
func (s *Server) runRefund(r *http.Request, p storage.Payment, a storage.Action, amount int64) providers.Outcome {
	return s.runAction(r, p, a, "", func(ctx context.Context) providers.Outcome {
		rf, ok := s.provider(p.Provider).(providers.Refunder)
		if !ok {
			return providers.Outcome{Kind: providers.Refused, Message: p.Provider.Label() + " has no refunds."}
		}
		return rf.Refund(ctx, providers.RefOf(p.Snapshot), providers.RefundRequest{
			// Always an explicit amount: "full" would mean whatever the provider has left.
			Amount: amount, Comment: "Refund " + a.IdempotencyKey[:8] + " via Paydesk",
		})
	})
}

// reasonLabel is a refund reason for people.
func reasonLabel(code string) string { return storage.RefundReasonLabel(code) }
