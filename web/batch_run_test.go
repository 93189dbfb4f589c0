package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// batchDigest reads the digest a batch page's request or approve form carries.
func batchDigest(t *testing.T, r response) string {
	t.Helper()
	d := regexpFind(r.body, `name="digest" value="([0-9a-f]{64})"`)
	if d == "" {
		t.Fatalf("no digest on %s: %.600s", r.url, text(r.body))
	}
	return d
}

// uploadBatch makes a draft batch from a CSV file as sam and returns its page's path.
func uploadBatch(t *testing.T, b *browser, csvText string) string {
	t.Helper()
	r := b.upload("refund", "refunds.csv", csvText)
	if !strings.HasPrefix(r.url.Path, "/batches/bt_") {
		t.Fatalf("upload landed on %s: %.600s", r.url, text(r.body))
	}
	return r.url.Path
}

// TestBatchRunJourney: sam previews and requests a batch that needs another manager;
// sam cannot approve it, max sees it on the approvals queue and the batches page,
// approves the exact items, and after the undo window the worker runs it: the page shows
// each item's outcome, the CSV has them, the refunds exist. A batch that needs no
// approval is cancelled by mia inside its undo window and never runs.
func TestBatchRunJourney(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a1 := h.add(bpc.Name, spec{variant: 2}) // 1,000.00 EUR
	a2 := h.add(bpc.Name, spec{variant: 2})
	c1 := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	fran := h.signedIn("fran")
	max := h.signedIn("max")
	mia := h.signedIn("mia")

	if r := sam.get("/"); !strings.Contains(r.body, `data-testid="nav-batches"`) {
		t.Error("no Batches link in sam's navigation")
	}
	if r := fran.get("/"); !strings.Contains(r.body, `data-testid="nav-batches"`) {
		t.Error("no Batches link in fran's navigation")
	}

	// A batch over the per-refund threshold (500.00 EUR) waits for another manager.
	path := uploadBatch(t, sam, "payment,amount,reason,note\n"+a1.PublicID+",600.00,goodwill,\n"+a2.PublicID+",10.00,duplicate,\npd_nosuchpayment0,1,duplicate,\n")
	page := sam.get(path)
	mustBeCleanPage(t, page)
	mustContain(t, page, "Draft batch", "What happens now", "Once you request it, it waits for another manager's approval",
		"1 item meets the rule", "starts 10 minutes later unless you or a manager cancel it", "Request this batch")
	digest := batchDigest(t, page)
	mustContain(t, fran.get(path), "This is a draft of sam@")
	if strings.Contains(max.get(path).body, "batch-request-form") {
		t.Error("max is offered to request sam's draft")
	}
	// No digest: nothing done.
	mustContain(t, sam.post(path+"/request", url.Values{}), "The form did not say which items it was for: nothing was done.")
	if b := h.batchState(path); b != storage.BatchDraft {
		t.Fatalf("state %s after a request without a digest", b)
	}
	// A digest of other items: nothing done.
	mustContain(t, sam.post(path+"/request", url.Values{"digest": {strings.Repeat("0", 64)}}), "changed since this page was shown", "nothing was done")
	r := sam.post(path+"/request", url.Values{"digest": {digest}})
	mustContain(t, r, "The batch waits for another manager's approval.", "You requested it: it waits for another manager.")
	mustBeCleanPage(t, r)
	if h.batchState(path) != storage.BatchAwaitingApproval {
		t.Fatalf("state %s after the request", h.batchState(path))
	}

	// sam cannot approve (the route is for managers), nor fran.
	if r := sam.post(path+"/approve", url.Values{"digest": {digest}}); r.status != http.StatusForbidden {
		t.Errorf("sam approving: %d", r.status)
	}
	if r := fran.post(path+"/cancel", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("fran cancelling: %d", r.status)
	}
	mustContain(t, fran.get(path), "It waits for a manager other than sam@")

	// max finds it from the approvals queue and the batches page.
	mustContain(t, max.get("/approvals"), "1 batch awaits approval")
	list := max.get("/batches")
	mustContain(t, list, "Awaiting a manager's approval (1)")
	if !strings.Contains(list.body, `data-testid="batch-awaiting-row"`) {
		t.Error("the batch is not in max's awaiting list")
	}
	page = max.get(path)
	mustContain(t, page, "It waits for a manager's approval: 1 item meets the rule", "Approve this batch", "Reject this batch", "600.00 EUR")
	mustBeCleanPage(t, page)
	// An empty reason rejects nothing.
	mustContain(t, max.post(path+"/reject", url.Values{"reason": {"  "}}), "Say why the batch is rejected")
	if h.batchState(path) != storage.BatchAwaitingApproval {
		t.Fatal("an empty reason changed the batch")
	}
	mustContain(t, max.post(path+"/approve", url.Values{}), "The form did not say which items it was for")
	r = max.post(path+"/approve", url.Values{"digest": {batchDigest(t, page)}})
	mustContain(t, r, "Approved. The batch starts in 10 minutes", "scheduled", "unless cancelled", "in 10 minutes", "Approved", "by max@")
	mustContain(t, max.get(path), "(in 10 minutes) unless cancelled")
	if frag := fran.get(path + "/progress"); !strings.Contains(frag.body, `data-poll="`+path+`/progress"`) || strings.Contains(frag.body, "<html") {
		t.Errorf("the scheduled batch's progress fragment: %.300s", frag.body)
	}
	if !strings.Contains(r.body, `data-poll="`+path+`/progress"`) || !strings.Contains(r.body, `data-poll-every="2000"`) {
		t.Error("a scheduled batch's page does not follow its progress")
	}
	mustContain(t, max.get("/approvals"), "No refund is waiting")
	mustNotContain(t, max.get("/approvals"), "batch awaits approval")

	// A batch under every threshold needs no approval; mia cancels it in its undo window.
	other := uploadBatch(t, sam, "payment,amount,reason,note\n"+c1.PublicID+",5.00,duplicate,\n")
	page = sam.get(other)
	mustContain(t, page, "It needs no manager's approval: once you request it, it starts 10 minutes later")
	mustContain(t, sam.post(other+"/request", url.Values{"digest": {batchDigest(t, page)}}), "The batch starts in 10 minutes unless you or a manager cancel it.", "Cancel this batch")
	r = mia.post(other+"/cancel", url.Values{"reason": {"wrong customer list"}})
	mustContain(t, r, "Cancelled: nothing of this batch was run.", "It was cancelled", "Cancelled", "by mia@", "wrong customer list", "skipped")
	mustNotContain(t, r, "Cancel this batch")
	mustContain(t, sam.post(other+"/cancel", url.Values{}), "This batch is cancelled already")

	// After the undo window the worker runs the approved batch.
	h.clock.Advance(11 * time.Minute)
	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if h.batchState(path) != storage.BatchDone {
		t.Fatalf("state %s after the round", h.batchState(path))
	}
	if h.batchState(other) != storage.BatchCancelled {
		t.Errorf("the cancelled batch is %s", h.batchState(other))
	}
	page = sam.get(path)
	mustBeCleanPage(t, page)
	mustContain(t, page, "done", "Every item ran.", "2 of 2 items finished", "succeeded: 2", "Not run: set aside by the dry run", "No payment has this id.")
	if strings.Contains(page.body, "data-poll=") {
		t.Error("a finished batch's page still asks for its progress")
	}
	frag := sam.get(path + "/progress")
	if strings.Contains(frag.body, "data-poll=") || !strings.Contains(frag.body, "data-poll-key") {
		t.Errorf("the finished batch's fragment: %.300s", frag.body)
	}
	if got := h.payment(a1).Refunded; got != 60000 {
		t.Errorf("a1 refunded %d, want 60000", got)
	}
	if got := h.payment(a2).Refunded; got != 1000 {
		t.Errorf("a2 refunded %d, want 1000", got)
	}
	if got := h.payment(c1).Refunded; got != 0 {
		t.Errorf("the cancelled batch refunded %d", got)
	}
	mustContain(t, sam.get("/payments/"+a1.PublicID), "600.00 EUR")

	// The results as CSV, from the page's link.
	if !strings.Contains(page.body, `href="`+path+`/results.csv"`) {
		t.Error("no link to the results CSV")
	}
	res := fran.get(path + "/results.csv")
	if !strings.HasPrefix(res.body, "\ufeff") {
		t.Fatal("the results CSV has no BOM")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "line,payment,input,amount,currency,reason,verdict,why,run_state,outcome,finished_at" || len(rows) != 4 {
		t.Fatalf("results: %q", rows)
	}
	if r := rows[1]; r[0] != "2" || r[1] != a1.PublicID || r[3] != "600.00" || r[4] != "EUR" || r[5] != "goodwill" || r[6] != "ready" || r[8] != "succeeded" || r[9] == "" {
		t.Errorf("row 1: %q", r)
	}
	if _, err := time.Parse(time.RFC3339, rows[1][10]); err != nil || !strings.HasSuffix(rows[1][10], "Z") {
		t.Errorf("finished_at %q is not RFC 3339 UTC", rows[1][10])
	}
	if r := rows[3]; r[6] != "set_aside" || r[7] != "No payment has this id." || r[8] != "" || r[10] != "" {
		t.Errorf("set-aside row: %q", r)
	}

	list = sam.get("/batches")
	mustContain(t, list, "done", "cancelled")
	mustBeCleanPage(t, list)
	if r := sam.get("/batches/bt_000000000000"); r.status != http.StatusNotFound {
		t.Errorf("unknown batch: %d", r.status)
	}
	if r := max.post("/batches/bt_000000000000/approve", url.Values{"digest": {digest}}); r.status != http.StatusNotFound {
		t.Errorf("approving an unknown batch: %d", r.status)
	}
}

// TestBatchRejectAndStepUp: a request with a sign-in too old signs in again and comes
// back to the page, nothing done; a manager's rejection shows its reason and nothing runs.
func TestBatchRejectAndStepUp(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	path := uploadBatch(t, sam, "payment,amount,reason,note\n"+p.PublicID+",700.00,goodwill,\n")
	digest := batchDigest(t, sam.get(path))
	h.clock.Advance(20 * time.Minute)
	r := sam.post(path+"/request", url.Values{"form": {"request"}, "digest": {digest}})
	if !strings.Contains(r.body, `data-testid="login-form"`) {
		t.Fatalf("an old sign-in requested a batch without signing in again: %s %.300s", r.url, text(r.body))
	}
	if h.batchState(path) != storage.BatchDraft {
		t.Fatal("the batch changed before the step-up")
	}
	back := sam.submitLogin(r, "sam")
	if back.url.Path != path {
		t.Fatalf("after signing in again sam is at %s", back.url)
	}
	mustContain(t, back, "You signed in again. Nothing was done yet: check the batch below and press “Request this batch” again.")
	mustContain(t, sam.post(path+"/request", url.Values{"digest": {batchDigest(t, back)}}), "waits for another manager's approval")

	mia := h.signedIn("mia")
	r = mia.post(path+"/reject", url.Values{"reason": {"Not agreed with finance"}})
	mustContain(t, r, "Rejected: nothing of this batch will run.", "rejected", "A manager rejected it", "by mia@", "Not agreed with finance")
	mustBeCleanPage(t, r)
	h.clock.Advance(11 * time.Minute)
	if err := h.desk.BatchRound(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.payment(p).Refunded; got != 0 {
		t.Errorf("a rejected batch refunded %d", got)
	}
	mustContain(t, sam.get(path), "skipped")
}

// batchState reads a batch's state from the database by its page's path.
func (h *harness) batchState(path string) string {
	h.t.Helper()
	b, err := h.db.BatchByPublicID(context.Background(), strings.TrimPrefix(path, "/batches/"))
	if err != nil {
		h.t.Fatal(err)
	}
	return b.State
}

// TestBatchNavigation: "Batches" is in the navigation of those who see batches (support,
// finance, managers, two roles) and not of someone with no role.
func TestBatchNavigation(t *testing.T) {
	h := newHarness(t)
	for user, want := range map[string]bool{"sam": true, "fran": true, "max": true, "tess": true, "nora": false} {
		page := h.signedIn(user).get("/")
		if got := strings.Contains(page.body, `<a href="/batches"`) && strings.Contains(page.body, `data-testid="nav-batches"`); got != want {
			t.Errorf("%s: Batches in the navigation %v, want %v", user, got, want)
		}
	}
}

// TestBatchResultsFormulaGuard: a payment id a spreadsheet would run as a formula is
// written as text in the results file.
func TestBatchResultsFormulaGuard(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	// A bare quote in an unquoted field is a line's problem (it was a crash).
	if r := sam.upload("refund", "f.csv", "payment,amount,reason,note\n=HYPERLINK(\"x\"),1,duplicate,\n"); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bare quote: %d %.300s", r.status, text(r.body))
	} else {
		mustContain(t, r, "Line 2:")
	}
	path := uploadBatch(t, sam, "payment,amount,reason,note\n=1+2,1,duplicate,\n")
	res := sam.get(path + "/results.csv")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("results: %v %q", err, rows)
	}
	if got := rows[1][2]; got != "'=1+2" {
		t.Errorf("input cell %q, want it neutralised", got)
	}
	if rows[1][6] != "set_aside" || rows[1][8] != "" {
		t.Errorf("row %q", rows[1])
	}
}

// startedBatch uploads csv as b, requests it as previewed, lets the undo window pass and
// starts it as the worker would (its items not yet run): a running batch's page path.
func startedBatch(t *testing.T, h *harness, b *browser, csv string) string {
	t.Helper()
	ctx := context.Background()
	path := uploadBatch(t, b, csv)
	mustContain(t, b.post(path+"/request", url.Values{"digest": {batchDigest(t, b.get(path))}}), "The batch starts in 10 minutes")
	h.clock.Advance(11 * time.Minute)
	bt, err := h.db.BatchByPublicID(ctx, strings.TrimPrefix(path, "/batches/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := h.db.StartBatch(ctx, bt.ID, storage.BatchChange{By: "batch worker"}); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	return path
}

// TestBatchRunningStop: a running batch's page shows its progress, follows it, and
// offers Stop to its maker; stopping skips the items not yet started and the page says so.
func TestBatchRunningStop(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p1 := h.add(bpc.Name, spec{variant: 2})
	p2 := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	path := startedBatch(t, h, sam, "payment,amount,reason,note\n"+p1.PublicID+",5.00,duplicate,\n"+p2.PublicID+",6.00,duplicate,\n")
	page := sam.get(path)
	mustBeCleanPage(t, page)
	mustContain(t, page, "running", "It is running", "0 of 2 items finished", "queued: 2", "This page follows the batch", "Stop this batch")
	if !strings.Contains(page.body, `<progress max="2" value="0"`) || !strings.Contains(page.body, `data-poll="`+path+`/progress"`) {
		t.Error("a running batch's page has no progress bar or does not follow it")
	}
	r := sam.post(path+"/cancel", url.Values{"reason": {"wrong file"}})
	mustContain(t, r, "Stopped: items not yet started are skipped", "cancelled", "2 of 2 items finished", "skipped: 2", "wrong file")
	if strings.Contains(r.body, "data-poll=") {
		t.Error("a stopped batch's page still follows it")
	}
	if err := h.desk.BatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.payment(p1).Refunded + h.payment(p2).Refunded; got != 0 {
		t.Errorf("a stopped batch refunded %d", got)
	}
}
