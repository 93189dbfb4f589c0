package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// Running a batch from its page (docs/batches.md, "Pages"): request, approve, reject,
// cancel; the live progress fragment; the results as CSV.

// batchPath is a batch's page.
func batchPath(publicID string) string { return "/batches/" + publicID }

// batchPollEvery is how often a scheduled or running batch's page asks how it stands.
const batchPollEvery = 2 * time.Second

// batchRequest asks for a draft batch to run, for the items its page showed (digest).
func (s *Server) batchRequest(w http.ResponseWriter, r *http.Request) {
	s.batchChange(w, r, "request", func(who ops.Person, id string, f formValues) (storage.Batch, ops.Result, error) {
		return s.desk.RequestBatch(r.Context(), who, id, f.digest)
	})
}

// batchApprove records a manager's approval of the items the page showed (digest).
func (s *Server) batchApprove(w http.ResponseWriter, r *http.Request) {
	s.batchChange(w, r, "approve", func(who ops.Person, id string, f formValues) (storage.Batch, ops.Result, error) {
		return s.desk.ApproveBatch(r.Context(), who, id, f.digest)
	})
}

// batchReject records a manager's rejection, with its reason.
func (s *Server) batchReject(w http.ResponseWriter, r *http.Request) {
	s.batchChange(w, r, "reject", func(who ops.Person, id string, f formValues) (storage.Batch, ops.Result, error) {
		return s.desk.RejectBatch(r.Context(), who, id, f.reason)
	})
}

// batchCancel discards a draft, cancels a batch before it starts or stops a running one.
func (s *Server) batchCancel(w http.ResponseWriter, r *http.Request) {
	s.batchChange(w, r, "cancel", func(who ops.Person, id string, f formValues) (storage.Batch, ops.Result, error) {
		return s.desk.CancelBatch(r.Context(), who, id, f.reason)
	})
}

// formValues is what a batch's forms send.
type formValues struct{ digest, reason string }

// batchChange reads a batch form, checks what the Desk cannot (a digest must be there),
// asks the Desk and goes back to the batch's page with its words. A sign-in too old to
// move money signs in again and comes back to the page, which offers the form again.
func (s *Server) batchChange(w http.ResponseWriter, r *http.Request, what string, change func(ops.Person, string, formValues) (storage.Batch, ops.Result, error)) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	id := r.PathValue("id")
	back := batchPath(id)
	f := formValues{digest: strings.TrimSpace(r.PostForm.Get("digest")), reason: r.PostForm.Get("reason")}
	if (what == "request" || what == "approve") && f.digest == "" {
		if _, err := s.db.BatchByPublicID(r.Context(), id); errors.Is(err, storage.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		s.flash(w, r, "error", "The form did not say which items it was for: nothing was done. Look at the batch below and try again.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	_, res, err := change(s.person(r), id, f)
	switch {
	case errors.Is(err, ops.ErrStepUp): // sign in again, then the page offers the form again
		s.stepUp(w, r, back)
	case err != nil:
		s.refused(w, r, err, back)
	default:
		s.flash(w, r, res.Tone, res.Message)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// batchRun fills the batch page's running part: who may do what now, the progress, what
// happened and when.
func (s *Server) batchRun(w http.ResponseWriter, r *http.Request, b storage.Batch, items []storage.BatchItem, v *views.BatchPage) error {
	who := s.person(r)
	v.StateLabel = strings.TrimPrefix(ops.BatchStateLabel(b.State), "a ")
	v.Requester = b.CreatedBy
	v.Undo = humanDuration(s.desk.BatchUndo())
	v.ApprovalWhy = b.ApprovalWhy
	v.ResultsURL = batchPath(b.PublicID) + "/results.csv"
	own := b.IsRequester(who.Email, who.Key)
	manager := who.Has(ops.RoleManager)
	switch b.State {
	case storage.BatchDraft:
		v.CanRequest = own && ops.MayCreateBatches(who) && b.Ready > 0
		if v.CanRequest {
			v.Digest = storage.BatchDigest(items)
			v.ApprovalWhy = s.desk.BatchApprovalWhy(b, items)
			v.SignInNotice = s.signInNotice(r)
		}
	case storage.BatchAwaitingApproval:
		v.Own = own
		v.CanDecide = manager && !own
		if v.CanDecide {
			v.Digest = b.Digest
			v.SignInNotice = s.signInNotice(r)
		}
	}
	v.CanCancel = ops.MayCancelBatch(who, b)
	// After signing in again, the form the person was sending is offered once more.
	if saved, ok := s.auth.SavedForm(w, r, batchPath(b.PublicID)); ok {
		button := map[string]string{"request": "Request this batch", "approve": "Approve this batch", "reject": "Reject this batch", "cancel": views.BatchCancelButton(b.State)}[saved.Get("form")]
		if button != "" {
			v.StepUp = fmt.Sprintf("You signed in again. Nothing was done yet: check the batch below and press “%s” again.", button)
			if saved.Get("form") == "reject" {
				v.RejectReason = saved.Get("reason")
			} else {
				v.CancelReason = saved.Get("reason")
			}
		}
	}
	p, err := s.batchProgress(r, b)
	if err != nil {
		return err
	}
	v.Progress = p
	v.Events = batchEvents(b)
	return nil
}

// batchProgress is the progress block: counts per run state, the bar, and while the batch
// may still change, where the page asks how it stands.
func (s *Server) batchProgress(r *http.Request, b storage.Batch) (views.BatchProgress, error) {
	p := views.BatchProgress{State: b.State, StateLabel: ops.BatchStateLabel(b.State), Ready: b.Ready, StartAt: b.StartAt}
	if b.State == storage.BatchDraft || b.State == storage.BatchAwaitingApproval || b.State == storage.BatchRejected {
		p.Hidden = b.State != storage.BatchRejected
	}
	if b.State == storage.BatchScheduled {
		p.StartIn = startIn(b.StartAt.Sub(s.desk.Now()))
	}
	counts, err := s.db.BatchProgress(r.Context(), b.ID)
	if err != nil {
		return p, err
	}
	key := sha256.New()
	fmt.Fprintf(key, "%s|", b.State)
	for _, st := range []string{storage.ItemQueued, storage.ItemRunning, storage.ItemSucceeded, storage.ItemPending, storage.ItemNeedsPayer,
		storage.ItemAwaitingApproval, storage.ItemUnknown, storage.ItemFailed, storage.ItemSkipped} {
		n := counts[st]
		fmt.Fprintf(key, "%s=%d|", st, n)
		if n > 0 {
			p.Counts = append(p.Counts, views.BatchCount{State: st, Label: ops.ItemStateLabel(st), N: n})
		}
		if st != storage.ItemQueued && st != storage.ItemRunning {
			p.Finished += n
		}
	}
	p.Key = hex.EncodeToString(key.Sum(nil))[:16]
	if b.State == storage.BatchScheduled || b.State == storage.BatchRunning {
		p.PollURL = batchPath(b.PublicID) + "/progress"
		p.PollEvery = strconv.Itoa(int(batchPollEvery / time.Millisecond))
	}
	return p, nil
}

// startIn says how long until a batch starts, in whole minutes rounded up ("in 10
// minutes" just after a 10-minute undo window began, "in 1 minute" for its last minute).
func startIn(d time.Duration) string {
	switch m := int((d + time.Minute - 1) / time.Minute); {
	case d <= 0:
		return "any moment now"
	case m == 1:
		return "in 1 minute"
	default:
		return fmt.Sprintf("in %d minutes", m)
	}
}

// batchEvents is what happened to a batch, in order, with who and why.
func batchEvents(b storage.Batch) []views.BatchEvent {
	var out []views.BatchEvent
	add := func(at time.Time, what, by, why string) {
		if !at.IsZero() {
			out = append(out, views.BatchEvent{At: at, What: what, By: by, Why: why})
		}
	}
	add(b.CreatedAt, "Previewed", b.CreatedBy, "")
	add(b.RequestedAt, "Requested", b.CreatedBy, "")
	if b.State == storage.BatchRejected {
		add(b.DecidedAt, "Rejected", b.DecidedBy, b.DecisionReason)
	} else {
		add(b.DecidedAt, "Approved", b.DecidedBy, "")
	}
	add(b.StartedAt, "Started", "", "")
	if b.State == storage.BatchCancelled {
		add(b.CancelledAt, "Cancelled", b.CancelledBy, b.DecisionReason)
	} else if b.State == storage.BatchDone {
		add(b.FinishedAt, "Finished", "", "")
	}
	return out
}

// batchProgressFragment is the progress block alone, for the page's poll.
func (s *Server) batchProgressFragment(w http.ResponseWriter, r *http.Request) {
	b, _, err := s.desk.Batch(r.Context(), s.person(r), r.PathValue("id"))
	if err != nil {
		s.refused(w, r, err, "/batches")
		return
	}
	p, err := s.batchProgress(r, b)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Progress unavailable", "The batch's progress could not be read.", err)
		return
	}
	s.renderFragment(w, r, views.BatchProgressBlock(p), "batch progress")
}

// batchResultsHeader is the results file's columns.
var batchResultsHeader = []string{"line", "payment", "input", "amount", "currency", "reason", "verdict", "why", "run_state", "outcome", "finished_at"}

// batchResultsCSV is a batch's items with their verdicts and outcomes, as CSV (the
// house conventions: BOM, RFC 3339 UTC, the formula guard), with an audit entry.
func (s *Server) batchResultsCSV(w http.ResponseWriter, r *http.Request) {
	b, items, err := s.desk.Batch(r.Context(), s.person(r), r.PathValue("id"))
	if err != nil {
		s.refused(w, r, err, "/batches")
		return
	}
	s.audit(r, "export", 0, "exported the results of batch "+b.PublicID+" as CSV", map[string]any{"export": "batch", "batch": b.PublicID})
	out := startCSV(w, "batch-"+b.PublicID, s.desk.Now(), batchResultsHeader)
	for _, it := range items {
		amount := ""
		if it.Currency != "" && (it.Amount != 0 || it.Verdict == storage.BatchReady) {
			amount = providers.FormatMajor(it.Amount, it.Currency)
		}
		var finished time.Time
		if it.RunState != "" {
			finished = it.FinishedAt
		}
		if err := out.row(strconv.Itoa(it.Line), it.PublicID, it.Input, amount, it.Currency, it.Reason, it.Verdict, it.Why,
			it.RunState, it.Outcome, csvTime(finished)); err != nil {
			s.log.Error("batch results", append(logAttrs(r), "err", err)...)
			panic(http.ErrAbortHandler)
		}
	}
	if err := out.flush(); err != nil {
		s.log.Error("batch results", append(logAttrs(r), "err", err)...)
		panic(http.ErrAbortHandler)
	}
}
