package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// approvalsPath is the managers' queue; a manager who must sign in again to approve comes
// back here.
const approvalsPath = "/approvals"

// approvalsQueue is the managers' queue of refunds awaiting approval.
func (s *Server) approvalsQueue(w http.ResponseWriter, r *http.Request) {
	var back *rejectInput
	// After a step-up the approval the manager was sending is offered again, with its key.
	if saved, ok := s.auth.SavedForm(w, r, approvalsPath); ok {
		back = &rejectInput{refundID: saved.Get("refund_id"), key: saved.Get("idempotency_key")}
	}
	s.renderApprovals(w, r, http.StatusOK, back, nil)
}

// rejectInput is what the page re-shows for one request: a rejection that needs fixing,
// or the approval to confirm after signing in again.
type rejectInput struct {
	refundID    string
	reason, err string
	key         string // the approval's idempotency key, kept across a step-up
}

// renderApprovals writes the queue; back (optional) re-shows what one form was sending.
func (s *Server) renderApprovals(w http.ResponseWriter, r *http.Request, status int, back *rejectInput, reject *rejectInput) {
	queue, err := s.db.ApprovalQueue(r.Context())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Approvals unavailable", "The refunds awaiting approval could not be loaded. Try again in a moment.", err)
		return
	}
	who := s.person(r)
	v := views.Approvals{TTL: humanDuration(s.desk.ApprovalTTL())}
	if _, n, err := s.db.BatchesAwaitingApproval(r.Context(), 0); err == nil {
		v.Batches = n
	} else {
		s.log.Warn("batches awaiting approval", append(logAttrs(r), "err", err)...)
	}
	for _, it := range queue {
		id := strconv.FormatInt(it.ID, 10)
		money := func(m int64) string { return providers.FormatMoney(m, it.Currency) }
		item := views.ApprovalView{
			ID: id, PaymentURL: "/payments/" + it.PaymentPublicID, PaymentID: it.PaymentPublicID,
			Provider: it.Provider.Label(), Customer: it.CustomerName, CustomerURL: customerNameURL(it.CustomerName),
			Amount: money(it.Amount), AmountMinor: strconv.FormatInt(it.Amount, 10), Currency: it.Currency,
			Reason: it.Reason, ReasonLabel: storage.RefundReasonLabel(it.Reason), Note: it.Note,
			RequestedBy: it.RequestedBy, RequestedAt: it.RequestedAt, ExpiresAt: it.ApprovalExpiresAt,
			RefundableBefore: money(max(it.Refundable+it.Amount, 0)), RefundableAfter: money(it.Refundable),
			Over:       it.Refundable < 0,
			Own:        who.Requested(it.RequestedBy, it.RequestedByKey),
			ApproveURL: approvalsPath + "/" + id + "/approve", RejectURL: approvalsPath + "/" + id + "/reject",
			ApproveKey: newID(16),
			Rule:       ruleWords(it.ApprovalRule, it.ApprovalWhy),
		}
		if back != nil && back.refundID == id {
			item.Highlight = true
			if ops.ValidKey(back.key) {
				item.ApproveKey = back.key
			}
			v.StepUp = fmt.Sprintf("You signed in again. Nothing was sent yet: approve the refund of %s on %s below to send it.", item.Amount, it.PaymentPublicID)
		}
		if reject != nil && reject.refundID == id {
			item.Highlight = true
			item.RejectReason, item.RejectError = reject.reason, reject.err
		}
		v.Items = append(v.Items, item)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.render(w, r, s.page(w, r, "Approvals", "approvals"), views.ApprovalsView(v))
}

// humanDuration says a configured duration in words ("72 hours", "30 minutes").
func humanDuration(d time.Duration) string { return ops.DurationWords(d) }

// ruleWords says which approval rule sent a refund to a manager, and why ("" when none
// was recorded: a request made before the rules were).
func ruleWords(rule, why string) string {
	if rule == "" {
		return ""
	}
	return fmt.Sprintf("Rule “%s”: %s.", ops.RuleName(rule), why)
}
