package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"paydesk/ops"
)

// approvalReject reads a manager's rejection and asks the Desk to reject the refund; a
// reason is required (the requester sees it). A reason that needs fixing re-shows the
// queue with it; rejecting moves no money, so it needs no fresh sign-in.
func (s *Server) approvalReject(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("decision_reason"))
	res, err := s.desk.Reject(r.Context(), s.person(r), id, reason)
	switch {
	case errors.Is(err, ops.ErrInvalid):
		in := &rejectInput{refundID: strconv.FormatInt(id, 10), reason: reason, err: ops.Message(err, "")}
		s.renderApprovals(w, r, http.StatusUnprocessableEntity, nil, in)
	case err != nil:
		s.refused(w, r, err, approvalsPath)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, approvalsPath, http.StatusSeeOther)
	}
}
