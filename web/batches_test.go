package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/providers/bpc"
)

// upload posts a batch's CSV file as the upload form does.
func (b *browser) upload(kind, name, csv string) response {
	b.h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("kind", kind)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(csv))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.abs("/batches/preview"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// batchCount is how many batches are saved.
func (h *harness) batchCount() int {
	h.t.Helper()
	list, err := h.db.ListBatches(context.Background(), 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(list)
}

// TestBatchUploadBadLines: a file with bad lines is shown again with each line's number
// and problem, and nothing is saved.
func TestBatchUploadBadLines(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	mustContain(t, sam.get("/batches/new"), "New batch", "payment,amount,reason,note", "a draft batch is not run")
	r := sam.upload("refund", "refunds.csv", "payment,amount,reason,note\n"+p.PublicID+",12.50,duplicate,\n"+p.PublicID+",,duplicate,\n"+p.PublicID+",1,whim,\n")
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("status %d", r.status)
	}
	mustContain(t, r, "The file “refunds.csv” was not used and nothing was saved.", "Line 3: No amount is given", `Line 4: The reason "whim" is not one of`)
	mustNotContain(t, r, "Line 2:")
	if n := h.batchCount(); n != 0 {
		t.Errorf("%d batches saved", n)
	}
}

// TestBatchUploadPreview: a good file becomes a draft batch whose page shows each
// item's verdict and why, the approval rule, the totals per currency; finance may read
// it but not make one.
func TestBatchUploadPreview(t *testing.T) {
	h := newHarness(t)
	a := h.add(bpc.Name, spec{variant: 2})                                // 1,000.00 EUR
	g := h.add(bpc.Name, spec{variant: 2, currency: "GBP", amount: 2000}) // 20.00 GBP
	open := h.add(bpc.Name, spec{variant: 0})                             // a session still open
	sam := h.signedIn("sam")
	r := sam.upload("refund", "refunds.csv", "\ufeffpayment,amount,reason,note\n"+
		a.PublicID+",12,50,duplicate,\n"+ // too many fields
		"x\n")
	mustContain(t, r, "Line 2: The line has 5 fields")
	r = sam.upload("refund", "refunds.csv", "\ufeffpayment,amount,reason,note\n"+
		a.PublicID+",\"12,50\",duplicate,\n"+
		a.PublicID+",rest,fraudulent,\"see ticket 12\"\n"+
		g.PaymentID+",rest,goodwill,\n"+
		open.PublicID+",1,duplicate,\n"+
		"pd_nosuchpayment0,1,duplicate,\n")
	if !strings.HasPrefix(r.url.Path, "/batches/bt_") {
		t.Fatalf("landed on %s: %.800s", r.url, text(r.body))
	}
	mustContain(t, r, "Draft batch", "a draft batch is not run", "Nothing was sent to a provider",
		"Would run 3", "Set aside 2", "1,000.00 EUR", "20.00 GBP",
		"12.50 EUR", "987.50 EUR", "Approval rule: per refund", "Would wait for a manager's approval",
		"No payment has this id.", "see ticket 12", "Fraudulent payment")
	if h.batchCount() != 1 {
		t.Fatal("no batch saved")
	}
	path := r.url.Path
	fran := h.signedIn("fran")
	mustContain(t, fran.get(path), "Would run 3")
	mustContain(t, fran.get("/batches"), "Refunds", "from the CSV file", "sam")
	if r := fran.upload("refund", "x.csv", "payment,amount,reason\n"+a.PublicID+",1,duplicate\n"); r.status != http.StatusForbidden {
		t.Errorf("finance upload: %d", r.status)
	}
	if h.batchCount() != 1 {
		t.Error("finance made a batch")
	}
}

// TestBatchFromList: the payments list offers a tick per row and the batch form to
// those who may act; ticked rows and all matching become draft batches of refunds of
// what is left.
func TestBatchFromList(t *testing.T) {
	h := newHarness(t)
	e1 := h.add(bpc.Name, spec{variant: 2, amount: 1000})
	e2 := h.add(bpc.Name, spec{variant: 2, amount: 2000})
	g1 := h.add(bpc.Name, spec{variant: 2, currency: "GBP", amount: 3000})
	g2 := h.add(bpc.Name, spec{variant: 2, currency: "GBP", amount: 4000})
	sam := h.signedIn("sam")
	list := sam.get("/payments")
	if !strings.Contains(list.body, `value="`+e1.PublicID+`" form="batch-form"`) {
		t.Errorf("no tick for %s", e1.PublicID)
	}
	mustContain(t, list, "Preview the ticked payments", "Preview all matching (4 payments)")
	fran := h.signedIn("fran")
	if strings.Contains(fran.get("/payments").body, "batch-form") {
		t.Error("finance is offered the batch form")
	}
	r := sam.post("/batches/from-list", url.Values{"query": {""}, "kind": {"refund"}, "reason": {"duplicate"}, "scope": {"selected"}, "payment": {e1.PublicID, e2.PublicID}})
	mustContain(t, r, "Refunds from the payments list", "Would run 2", "30.00 EUR", "Duplicate payment")
	r = sam.post("/batches/from-list", url.Values{"query": {"currency=GBP"}, "kind": {"refund"}, "reason": {"goodwill"}, "scope": {"all"}})
	mustContain(t, r, "Would run 2", "70.00 GBP", "Its payments: GBP")
	mustNotContain(t, r, "EUR")
	_ = g1
	_ = g2
	r = sam.post("/batches/from-list", url.Values{"query": {""}, "kind": {"refund"}, "reason": {"duplicate"}, "scope": {"selected"}})
	mustContain(t, r, "No batch was made: tick the payments first")
	if h.batchCount() != 2 {
		t.Errorf("%d batches", h.batchCount())
	}
}
