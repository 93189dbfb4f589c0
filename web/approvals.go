package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
	"paydesk/web/auth"
)

// approvalsPath is the managers' queue; a manager who must sign in again to approve comes
// back here.
const approvalsPath = "/approvals"

// maxDecisionReason bounds a rejection's reason, in characters (storage's limit).
const maxDecisionReason = 1000

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
	u := userFrom(r.Context())
	v := views.Approvals{TTL: humanDuration(s.cfg.ApprovalTTL)}
	for _, it := range queue {
		id := strconv.FormatInt(it.ID, 10)
		money := func(m int64) string { return providers.FormatMoney(m, it.Currency) }
		item := views.ApprovalView{
			ID: id, PaymentURL: "/payments/" + it.PaymentPublicID, PaymentID: it.PaymentPublicID,
			Provider: it.Provider.Label(), Customer: it.CustomerName,
			Amount: money(it.Amount), AmountMinor: strconv.FormatInt(it.Amount, 10), Currency: it.Currency,
			Reason: it.Reason, ReasonLabel: storage.RefundReasonLabel(it.Reason), Note: it.Note,
			RequestedBy: it.RequestedBy, RequestedAt: it.RequestedAt, ExpiresAt: it.ApprovalExpiresAt,
			RefundableBefore: money(max(it.Refundable+it.Amount, 0)), RefundableAfter: money(it.Refundable),
			Over:       it.Refundable < 0,
			Own:        sameActor(it.RequestedBy, u.Email),
			ApproveURL: approvalsPath + "/" + id + "/approve", RejectURL: approvalsPath + "/" + id + "/reject",
			ApproveKey: newID(16),
		}
		if back != nil && back.refundID == id {
			item.Highlight = true
			if validKey(back.key) {
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

// sameActor reports whether two e-mails name the same person (as storage compares them).
func sameActor(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// loadDecidable reads the refund named in the path for a decision, answering itself (404,
// or a flash back to the queue) when there is nothing to decide.
func (s *Server) loadDecidable(w http.ResponseWriter, r *http.Request) (storage.Refund, storage.Payment, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return storage.Refund{}, storage.Payment{}, false
	}
	rf, err := s.db.RefundByID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		s.notFound(w, r)
		return rf, storage.Payment{}, false
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refund unavailable", "This refund could not be loaded. Try again in a moment.", err)
		return rf, storage.Payment{}, false
	}
	p, err := s.db.PaymentByID(r.Context(), rf.PaymentID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refund unavailable", "The payment of this refund could not be loaded. Try again in a moment.", err)
		return rf, p, false
	}
	return rf, p, true
}

// decisionForm reads an approve or reject form and the refund it names, refusing (and
// auditing) a decision on one's own request.
func (s *Server) decisionForm(w http.ResponseWriter, r *http.Request, what string) (storage.Refund, storage.Payment, auth.User, bool) {
	u := userFrom(r.Context())
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return storage.Refund{}, storage.Payment{}, u, false
	}
	rf, p, ok := s.loadDecidable(w, r)
	if !ok {
		return rf, p, u, false
	}
	if sameActor(rf.RequestedBy, u.Email) {
		s.refuseOwnRequest(w, r, rf, p, what)
		return rf, p, u, false
	}
	return rf, p, u, true
}

// refuseOwnRequest refuses (and audits) a decision on one's own request.
func (s *Server) refuseOwnRequest(w http.ResponseWriter, r *http.Request, rf storage.Refund, p storage.Payment, what string) {
	s.audit(r, "refused", p.ID, fmt.Sprintf("%s refund #%d on %s refused: the requester may not decide on their own request", what, rf.ID, p.PublicID),
		map[string]any{"refund_id": rf.ID})
	s.flash(w, r, "error", fmt.Sprintf("You asked for this refund of %s, so you cannot %s it: another manager must decide.",
		providers.FormatMoney(rf.Amount, rf.Currency), what))
	http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
}

// approvalApprove approves a refund awaiting approval and runs it through the provider, as
// an immediate refund would. The approval is bound to what the manager saw (payment,
// amount, currency, reason: the form's hidden fields); the balance is checked again in
// the same transaction; of two managers approving at once exactly one refund runs.
func (s *Server) approvalApprove(w http.ResponseWriter, r *http.Request) {
	rf, p, u, ok := s.decisionForm(w, r, "approve")
	if !ok {
		return
	}
	key := r.PostForm.Get("idempotency_key")
	if !validKey(key) {
		s.flash(w, r, "error", "The approval form was incomplete, so nothing was approved or sent. Approve again from the queue.")
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	}
	if s.needFresh(w, r, u, approvalsPath) {
		return
	}
	amount, _ := strconv.ParseInt(r.PostForm.Get("amount_minor"), 10, 64)
	expect := storage.Expectation{Amount: amount, Currency: r.PostForm.Get("currency"), Reason: r.PostForm.Get("reason")}
	if r.PostForm.Get("payment") == p.PublicID {
		expect.PaymentID = p.ID
	}
	money := providers.FormatMoney(rf.Amount, rf.Currency)
	approved, act, err := s.db.ApproveRefund(r.Context(), rf.ID, u.Email, key, expect)
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		s.flash(w, r, "info", fmt.Sprintf("This approval was already sent once; the refund of %s is %s. Nothing was sent twice.", money, strings.ReplaceAll(approved.Status, "_", " ")))
		http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
		return
	case errors.Is(err, storage.ErrSelfApproval):
		s.refuseOwnRequest(w, r, rf, p, "approve")
		return
	case errors.Is(err, storage.ErrInsufficientBalance), errors.Is(err, storage.ErrConflict):
		why := decisionError(err, fmt.Sprintf("storage: approve refund %d: ", rf.ID))
		s.audit(r, "approval", p.ID, fmt.Sprintf("approval of refund #%d (%s) on %s refused: %s", rf.ID, money, p.PublicID, why),
			map[string]any{"refund_id": rf.ID, "decision": "approve_refused"})
		s.flash(w, r, "error", fmt.Sprintf("The refund of %s on %s was not approved and nothing was sent: %s.", money, p.PublicID, why))
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	case err != nil:
		s.log.Error("approve refund", append(logAttrs(r), "refund_id", rf.ID, "err", err)...)
		s.flash(w, r, "error", "Paydesk could not record the approval, so nothing was sent to the provider. Try again.")
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	}
	s.audit(r, "approval", p.ID, fmt.Sprintf("refund #%d (%s) on %s requested by %s approved", rf.ID, money, p.PublicID, approved.RequestedBy),
		map[string]any{"refund_id": rf.ID, "decision": "approved", "action_id": act.ID})
	out := s.runRefund(r, p, act, approved.Amount)
	kind, msg := outcomeFlash(p.Provider, fmt.Sprintf("Approved refund of %s on %s", money, p.PublicID), out)
	s.flash(w, r, kind, msg)
	http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
}

// approvalReject rejects a refund awaiting approval; a reason is required and is shown to
// the requester. Rejecting moves no money, so it needs no fresh sign-in.
func (s *Server) approvalReject(w http.ResponseWriter, r *http.Request) {
	rf, p, u, ok := s.decisionForm(w, r, "reject")
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("decision_reason"))
	in := &rejectInput{refundID: strconv.FormatInt(rf.ID, 10), reason: reason}
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		in.err = "Say why the refund is rejected: the requester sees this reason."
	case n > maxDecisionReason:
		in.err = fmt.Sprintf("The reason is too long (%d characters at most).", maxDecisionReason)
	}
	if in.err != "" {
		if rf.Status == "awaiting_approval" && s.cfg.Now().Before(rf.ApprovalExpiresAt) {
			s.renderApprovals(w, r, http.StatusUnprocessableEntity, nil, in)
			return
		}
		state := strings.ReplaceAll(rf.Status, "_", " ")
		if rf.Status == "awaiting_approval" {
			state = "expired"
		}
		s.flash(w, r, "error", fmt.Sprintf("The refund of %s on %s is no longer awaiting approval: it is %s.",
			providers.FormatMoney(rf.Amount, rf.Currency), p.PublicID, state))
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	}
	money := providers.FormatMoney(rf.Amount, rf.Currency)
	_, err := s.db.RejectRefund(r.Context(), rf.ID, u.Email, reason)
	switch {
	case errors.Is(err, storage.ErrSelfApproval):
		s.refuseOwnRequest(w, r, rf, p, "reject")
		return
	case errors.Is(err, storage.ErrConflict):
		s.flash(w, r, "error", fmt.Sprintf("The refund of %s on %s was not rejected: %s.", money, p.PublicID,
			decisionError(err, fmt.Sprintf("storage: reject refund %d: ", rf.ID))))
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	case err != nil:
		s.log.Error("reject refund", append(logAttrs(r), "refund_id", rf.ID, "err", err)...)
		s.flash(w, r, "error", "Paydesk could not record the rejection. Try again.")
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
		return
	}
	s.audit(r, "approval", p.ID, fmt.Sprintf("refund #%d (%s) on %s requested by %s rejected: %s", rf.ID, money, p.PublicID, rf.RequestedBy, reason),
		map[string]any{"refund_id": rf.ID, "decision": "rejected"})
	s.flash(w, r, "success", fmt.Sprintf("The refund of %s on %s was rejected; its amount is released and %s sees your reason.", money, p.PublicID, rf.RequestedBy))
	http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
}

// decisionError turns a storage refusal into the words people read: without the package
// prefix nor the sentinel's name ("the balance shrank since the request: …").
func decisionError(err error, prefix string) string {
	msg := strings.TrimPrefix(err.Error(), prefix)
	for _, sentinel := range []error{storage.ErrConflict, storage.ErrInsufficientBalance, storage.ErrSelfApproval} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return msg
}

// humanDuration says a configured duration in words ("72 hours", "30 minutes").
func humanDuration(d time.Duration) string {
	unit, n := "hour", int64(d/time.Hour)
	if d%time.Hour != 0 {
		unit, n = "minute", int64(d/time.Minute)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
