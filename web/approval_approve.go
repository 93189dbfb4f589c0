package web

import (
	"errors"
	"net/http"
	"strconv"

	"paydesk/ops"
)

// approvalApprove reads a manager's approval and asks the Desk to approve the refund and
// run it through the provider. The approval is bound to what the manager saw on the queue
// (payment, amount, currency, reason: the form's hidden fields); the Desk refuses a
// decision on one's own request, a balance that shrank, a refund decided meanwhile.
func (s *Server) approvalApprove(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	f := r.PostForm
	amount, _ := strconv.ParseInt(f.Get("amount_minor"), 10, 64)
	res, err := s.desk.Approve(r.Context(), s.person(r), ops.ApproveArgs{
		RefundID: id, Key: f.Get("idempotency_key"),
		PaymentPublicID: f.Get("payment"), Amount: amount, Currency: f.Get("currency"), Reason: f.Get("reason"),
	})
	switch {
	case errors.Is(err, ops.ErrStepUp): // sign in again, then the queue offers this approval again
		s.stepUp(w, r, approvalsPath)
	case errors.Is(err, ops.ErrDuplicate): // already sent: its payment shows how it ended
		s.refused(w, r, err, "/payments/"+res.Payment)
	case err != nil:
		s.refused(w, r, err, approvalsPath)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
	}
}
