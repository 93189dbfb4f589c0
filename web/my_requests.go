package web

import (
	"fmt"
	"net/http"
	"strconv"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// myRefundsPageSize is how many of one's own refund requests a page shows.
const myRefundsPageSize = 50

// myRefunds shows the signed-in person the refunds they asked for and where each stands:
// awaiting approval (until when), approved and sent, refunded, rejected (by whom, why),
// expired.
func (s *Server) myRefunds(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	// Theirs by person key, and by e-mail those recorded before keys; never a filter on an
	// empty name, which would show everyone's.
	f := storage.RefundFilter{Mine: &storage.Requester{Key: u.Key, Email: u.Email}, Limit: myRefundsPageSize + 1}
	if a := r.URL.Query().Get("after"); a != "" {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, http.StatusBadRequest, "Page link damaged", "This page link is damaged: start again from the first page.", fmt.Errorf("web: my refunds: after %q", a))
			return
		}
		f.After = id
	}
	rows, err := s.db.ListRefunds(r.Context(), f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refunds unavailable", "Your refund requests could not be loaded. Try again in a moment.", err)
		return
	}
	v := views.MyRefunds{Email: u.Actor(), First: f.After == 0}
	if len(rows) > myRefundsPageSize {
		rows = rows[:myRefundsPageSize]
		v.NextURL = "/my-refunds?after=" + strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	for _, rf := range rows {
		v.Rows = append(v.Rows, views.MyRefundRow{
			PaymentURL: "/payments/" + rf.PaymentPublicID, PaymentID: rf.PaymentPublicID, Provider: rf.Provider.Label(),
			Customer: rf.CustomerName, CustomerURL: customerNameURL(rf.CustomerName),
			Amount: providers.FormatMoney(rf.Amount, rf.Currency), Status: rf.Status, StatusLabel: refundStatusLabel(rf.Status),
			Reason: storage.RefundReasonLabel(rf.Reason), Note: rf.Note,
			RequestedAt: rf.RequestedAt, ExpiresAt: rf.ApprovalExpiresAt,
			Outcome: refundOutcome(rf.Refund), Rule: ruleWords(rf.ApprovalRule, rf.ApprovalWhy),
		})
	}
	s.render(w, r, s.page(w, r, "My refund requests", "my-refunds"), views.MyRefundsView(v))
}

// refundStatusLabel names a refund's status for people.
func refundStatusLabel(status string) string {
	switch status {
	case "awaiting_approval":
		return "awaiting approval"
	case "approved":
		return "approved"
	case "pending":
		return "sent, pending"
	case "unknown":
		return "outcome unknown"
	}
	return status
}

// refundOutcome says in plain words where a refund request stands.
func refundOutcome(rf storage.Refund) string {
	switch rf.Status {
	case "awaiting_approval":
		return "Waiting for a manager's decision; its amount is reserved on the payment."
	case "approved", "pending":
		if rf.DecidedBy != "" {
			return fmt.Sprintf("Approved by %s; sent to the provider, waiting for its answer.", rf.DecidedBy)
		}
		return "Sent to the provider, waiting for its answer."
	case "succeeded":
		if rf.DecidedBy != "" {
			return fmt.Sprintf("Approved by %s and refunded. %s", rf.DecidedBy, rf.Message)
		}
		return "Refunded. " + rf.Message
	case "failed":
		return "The provider refused: " + rf.Message
	case "unknown":
		return "The provider gave no definitive answer; Paydesk settles it by reading the provider. Do not refund again elsewhere."
	case "rejected":
		return fmt.Sprintf("Rejected by %s: %s", rf.DecidedBy, rf.DecisionReason)
	case "expired":
		return "Expired: no manager decided in time, so its amount was released. Ask again if it is still needed."
	}
	return rf.Message
}
