package web

import (
	"errors"
	"net/http"
	"path/filepath"
	"sort"
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// maxBatchUpload caps a batch's CSV upload (the middleware lets this route's body grow to
// it): 10,000 lines of a payment id, an amount, a reason and a short note fit in it.
const maxBatchUpload = 2 << 20

// batchUploadPath is the upload's route, whose body may be larger than others'.
const batchUploadPath = "/batches/preview"

// batchesPage lists the newest batches; for managers, those awaiting approval first.
func (s *Server) batchesPage(w http.ResponseWriter, r *http.Request) {
	who := s.person(r)
	list, err := s.desk.Batches(r.Context(), who, 200)
	if err != nil {
		s.refused(w, r, err, "/")
		return
	}
	v := views.BatchesPage{CanCreate: ops.MayCreateBatches(who)}
	if who.Has(ops.RoleManager) {
		waiting, n, err := s.db.BatchesAwaitingApproval(r.Context(), 200)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Batches unavailable", "The batches could not be read. Try again in a moment.", err)
			return
		}
		v.Waiting = n
		for _, b := range waiting {
			row := batchRow(b)
			row.Own = b.IsRequester(who.Email, who.Key)
			v.Awaiting = append(v.Awaiting, row)
		}
	}
	for _, b := range list {
		v.Rows = append(v.Rows, batchRow(b))
	}
	s.render(w, r, s.page(w, r, "Batches", "batches"), views.BatchesView(v))
}

// batchRow is a batch as its pages show it.
func batchRow(b storage.Batch) views.BatchRow {
	row := views.BatchRow{URL: "/batches/" + b.PublicID, PublicID: b.PublicID, Kind: "Refunds", Source: "CSV file",
		State: b.State, StateLabel: strings.TrimPrefix(ops.BatchStateLabel(b.State), "a "),
		CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt, Items: b.Items, Ready: b.Ready, SetAside: b.SetAside}
	if b.Kind == ops.BatchCancel {
		row.Kind = "Cancellations"
	}
	switch b.Source {
	case "list":
		row.Source = "payments list"
	case "retry":
		row.Source = "retry of " + b.RetryOfPublicID
		row.RetryOf = b.RetryOfPublicID
	}
	currencies := make([]string, 0, len(b.Totals))
	for c := range b.Totals {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	for _, c := range currencies {
		row.Totals = append(row.Totals, providers.FormatMoney(b.Totals[c], c))
	}
	return row
}

// batchNewPage is the upload form (its model with the limits and reasons).
func (s *Server) batchNewModel() views.BatchNewPage {
	v := views.BatchNewPage{MaxItems: s.desk.BatchMaxItems(), MaxKB: maxBatchUpload >> 10}
	for _, rr := range storage.RefundReasons {
		v.Reasons = append(v.Reasons, views.Option{Value: rr.Code, Label: rr.Label})
	}
	return v
}

func (s *Server) batchNew(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, s.page(w, r, "New batch", "batches"), views.BatchNewView(s.batchNewModel()))
}

// batchPreview reads an uploaded CSV file and makes its dry run; a file with bad lines
// is shown again with each line's problem, and nothing is saved.
func (s *Server) batchPreview(w http.ResponseWriter, r *http.Request) {
	v := s.batchNewModel()
	again := func(status int) {
		w.WriteHeader(status)
		s.render(w, r, s.page(w, r, "New batch", "batches"), views.BatchNewView(v))
	}
	if err := r.ParseMultipartForm(maxBatchUpload); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			v.Error = "It is larger than " + groupThousands(maxBatchUpload>>10) + " KB: split it into smaller files."
			again(http.StatusRequestEntityTooLarge)
			return
		}
		v.Error = "The form could not be read: choose the file again."
		again(http.StatusBadRequest)
		return
	}
	defer r.MultipartForm.RemoveAll()
	v.Kind = r.FormValue("kind")
	if v.Kind != ops.BatchCancel {
		v.Kind = ops.BatchRefund
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		v.Error = "Choose a CSV file to upload."
		again(http.StatusBadRequest)
		return
	}
	defer file.Close()
	v.FileName = filepath.Base(header.Filename)
	items, bad := ops.ParseBatchCSV(file, v.Kind, s.desk.BatchMaxItems())
	if len(bad) > 0 {
		for _, b := range bad {
			v.LineErrors = append(v.LineErrors, views.BatchLineError{Line: b.Line, Problem: b.Problem})
		}
		again(http.StatusUnprocessableEntity)
		return
	}
	b, err := s.desk.PreviewBatch(r.Context(), s.person(r), v.Kind, items, ops.BatchOrigin{Source: "csv"})
	if err != nil {
		var rf *ops.Refusal
		if errors.As(err, &rf) && (errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrNotAllowed)) {
			v.Error = rf.Message
			again(http.StatusUnprocessableEntity)
			return
		}
		s.refused(w, r, err, "/batches/new")
		return
	}
	http.Redirect(w, r, "/batches/"+b.PublicID, http.StatusSeeOther)
}

// batchFromList makes a refund (of what is left) or cancel batch of the payments ticked
// on the list, or of all the list's matches; back to the list with a message when
// refused.
func (s *Server) batchFromList(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	query, f, err := s.checkViewQuery(r.Context(), r.PostForm.Get("query"))
	back := withQuery("/payments", mustQuery(query))
	if err != nil {
		s.flash(w, r, "error", "No batch was made: "+filterMessage(err))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	kind := r.PostForm.Get("kind")
	reason := r.PostForm.Get("reason")
	if kind == ops.BatchRefund && (!storage.ValidRefundReason(reason) || reason == "other") {
		s.flash(w, r, "error", "No batch was made: choose a refund reason.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	max := s.desk.BatchMaxItems()
	var ids []string
	if r.PostForm.Get("scope") == "all" {
		ids, err = s.db.MatchingPaymentIDs(r.Context(), f, max+1)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Payments unavailable", "The payments could not be read, so no batch was made. Try again in a moment.", err)
			return
		}
		if len(ids) > max {
			n, capped, _ := s.db.CountMatching(r.Context(), f)
			count := groupThousands(int64(n))
			if capped || n <= max {
				count = "more than " + groupThousands(int64(max))
			}
			s.flash(w, r, "error", "No batch was made: "+count+" payments match and a batch holds at most "+groupThousands(int64(max))+". Narrow the filters.")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	} else {
		seen := map[string]bool{}
		for _, id := range r.PostForm["payment"] {
			if id = strings.TrimSpace(id); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			s.flash(w, r, "error", "No batch was made: tick the payments first, or preview all matching.")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	}
	items := make([]ops.BatchInput, len(ids))
	for i, id := range ids {
		items[i] = ops.BatchInput{Line: i + 1, Payment: id, Amount: ops.BatchRest, Reason: reason}
	}
	if kind != ops.BatchRefund {
		for i := range items {
			items[i].Amount, items[i].Reason = "", ""
		}
	}
	b, err := s.desk.PreviewBatch(r.Context(), s.person(r), kind, items, ops.BatchOrigin{Source: "list", Query: query})
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	http.Redirect(w, r, "/batches/"+b.PublicID, http.StatusSeeOther)
}

// batchShow is one batch's preview.
func (s *Server) batchShow(w http.ResponseWriter, r *http.Request) {
	b, items, err := s.desk.Batch(r.Context(), s.person(r), r.PathValue("id"))
	if err != nil {
		s.refused(w, r, err, "/batches")
		return
	}
	v := views.BatchPage{Batch: batchRow(b), State: b.State}
	if err := s.batchRun(w, r, b, items, &v); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Batch unavailable", "The batch's progress could not be read. Try again in a moment.", err)
		return
	}
	if err := s.batchRetryModel(r, b, items, &v); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Batch unavailable", "The batch's retries could not be read. Try again in a moment.", err)
		return
	}
	if b.Source == "list" {
		v.Query, v.QueryURL = filterWords(b.Query), withQuery("/payments", mustQuery(b.Query))
	}
	for _, it := range items {
		row := views.BatchItemRow{Line: it.Line, Input: it.Input, PublicID: it.PublicID, Ready: it.Verdict == storage.BatchReady,
			Note: it.Note, Why: it.Why, RunState: it.RunState, Outcome: it.Outcome, FinishedAt: it.FinishedAt}
		if it.RunState != "" {
			row.RunLabel = ops.ItemStateLabel(it.RunState)
		}
		if it.PublicID != "" {
			row.PaymentURL = "/payments/" + it.PublicID
		}
		if it.Amount != 0 && it.Currency != "" {
			row.Amount = providers.FormatMoney(it.Amount, it.Currency)
		}
		if it.Reason != "" {
			row.Reason = storage.RefundReasonLabel(it.Reason)
		}
		if it.ApprovalRule != "" {
			row.Rule = ops.RuleName(it.ApprovalRule)
		}
		v.Items = append(v.Items, row)
	}
	s.render(w, r, s.page(w, r, "Batch "+b.PublicID, "batches"), views.BatchView(v))
}

// batchReasons are the refund reasons the list's batch form offers.
func batchReasons() []views.Option {
	var out []views.Option
	for _, rr := range storage.RefundReasons {
		out = append(out, views.Option{Value: rr.Code, Label: rr.Label})
	}
	return out
}
