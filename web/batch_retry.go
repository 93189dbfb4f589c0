package web

import (
	"net/http"

	"paydesk/ops"
	"paydesk/storage"
	"paydesk/views"
)

// Retrying what did not run (docs/batches.md): an ended batch's failed or skipped items
// become a new draft, which then goes through request, approval and undo like any batch.

// batchRetry makes a new draft of the batch's failed and skipped items and shows it; a
// batch with nothing to retry goes back to its page with the reason, nothing saved.
func (s *Server) batchRetry(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	id := r.PathValue("id")
	b, err := s.desk.RetryBatch(r.Context(), s.person(r), id)
	if err != nil {
		s.refused(w, r, err, batchPath(id))
		return
	}
	http.Redirect(w, r, batchPath(b.PublicID), http.StatusSeeOther)
}

// batchRetryModel fills the batch page's retry block: what it retries, where it was
// retried, and the button when the viewer may retry it now.
func (s *Server) batchRetryModel(r *http.Request, b storage.Batch, items []storage.BatchItem, v *views.BatchPage) error {
	v.RetryOf = b.RetryOfPublicID
	retries, err := s.db.BatchRetries(r.Context(), b.ID)
	if err != nil {
		return err
	}
	for _, rb := range retries {
		v.Retries = append(v.Retries, views.BatchRetryLink{PublicID: rb.PublicID, StateLabel: ops.BatchStateLabel(rb.State)})
	}
	if !ops.BatchEnded(b) {
		return nil
	}
	v.RetryItems, v.RetryUnsettled = ops.RetryCounts(items)
	_, retried := ops.LiveRetry(retries)
	v.CanRetry = v.RetryItems > 0 && !retried && ops.MayRetryBatch(s.person(r), b)
	return nil
}
