package ops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// preview makes a refund batch from the CSV text as who and returns it with its items.
func (f *fixture) preview(who Person, kind, csv string) (storage.Batch, []storage.BatchItem, error) {
	f.t.Helper()
	items, bad := ParseBatchCSV(strings.NewReader(csv), kind, f.desk.cfg.BatchMaxItems)
	if len(bad) > 0 {
		f.t.Fatalf("CSV refused: %+v", bad)
	}
	b, err := f.desk.PreviewBatch(context.Background(), who, kind, items, BatchOrigin{Source: "csv"})
	if err != nil {
		return b, nil, err
	}
	_, got, err := f.desk.Batch(context.Background(), who, b.PublicID)
	if err != nil {
		f.t.Fatal(err)
	}
	return b, got, nil
}

// verdict fails unless item i has the verdict and its why holds want.
func verdict(t *testing.T, items []storage.BatchItem, line int, verdict, want string) storage.BatchItem {
	t.Helper()
	for _, it := range items {
		if it.Line == line {
			if it.Verdict != verdict || !strings.Contains(it.Why, want) {
				t.Errorf("line %d: %s %q, want %s with %q", line, it.Verdict, it.Why, verdict, want)
			}
			return it
		}
	}
	t.Fatalf("no item on line %d in %+v", line, items)
	return storage.BatchItem{}
}

// TestPreviewBatchVerdicts: each reason an item is set aside, and the items that would
// run with their amounts, approval rule and totals per currency.
func TestPreviewBatchVerdicts(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.BatchCaps = map[string]int64{"GBP": 1500}
	ok := f.add(bpc.Name, 2, 100000)    // 1,000.00 EUR succeeded
	twice := f.add(bpc.Name, 2, 10000)  // 100.00 EUR: two items
	open := f.add(bpc.Name, 0, 10000)   // a session still open: no refund
	busy := f.add(bpc.Name, 2, 10000)   // an action in flight
	big := f.add(bpc.Name, 2, 100000)   // needs approval (EUR 500.00 threshold)
	capped1 := f.add(bpc.Name, 2, 1000) // 10.00 EUR
	if _, err := f.db.StartAction(context.Background(), storage.Action{PaymentID: busy.ID, Kind: "cancel", Amount: busy.Amount, Currency: busy.Currency, IdempotencyKey: key(), Actor: "x@paydesk.test"}); err != nil {
		t.Fatal(err)
	}
	csv := "\ufeffpayment,amount,reason,note\n" +
		ok.PublicID + ",12.50,duplicate,\n" + // 2
		"pd_nosuchpayment00,1,duplicate,\n" + // 3
		open.PublicID + ",1,duplicate,\n" + // 4
		twice.PublicID + ",60,goodwill,\n" + // 5
		twice.PublicID + ",60,goodwill,\n" + // 6: over what line 5 leaves
		twice.PublicID + ",rest,goodwill,\n" + // 7: the 40.00 left
		busy.PublicID + ",1,duplicate,\n" + // 8
		big.PublicID + ",rest,fraudulent,\n" + // 9: 1,000.00 → approval
		ok.PaymentID + ",1 000,duplicate,\n" + // 10: by the provider's id, over the balance
		capped1.PublicID + ",5,duplicate,\n" // 11
	b, items, err := f.preview(sam, BatchRefund, csv)
	if err != nil {
		t.Fatal(err)
	}
	verdict(t, items, 2, storage.BatchReady, "")
	verdict(t, items, 3, storage.BatchSetAside, "No payment has this id.")
	verdict(t, items, 4, storage.BatchSetAside, "")
	verdict(t, items, 5, storage.BatchReady, "")
	verdict(t, items, 6, storage.BatchSetAside, "At most 40.00 EUR can be refunded once the batch's earlier items on this payment (from line 5) are counted.")
	if it := verdict(t, items, 7, storage.BatchReady, ""); it.Amount != 4000 {
		t.Errorf("rest = %d, want 4000", it.Amount)
	}
	verdict(t, items, 8, storage.BatchSetAside, "is in progress")
	if it := verdict(t, items, 9, storage.BatchReady, "manager's approval"); it.ApprovalRule != RulePerRefund || it.Amount != 100000 {
		t.Errorf("line 9: rule %q amount %d", it.ApprovalRule, it.Amount)
	}
	verdict(t, items, 10, storage.BatchSetAside, "At most")
	verdict(t, items, 11, storage.BatchReady, "")
	if b.Items != 10 || b.Ready != 5 || b.SetAside != 5 || b.Totals["EUR"] != 1250+6000+4000+100000+500 {
		t.Errorf("batch %+v", b)
	}
	rows, _ := f.db.ListAuditRows(context.Background(), storage.AuditFilter{Kind: "batch_previewed", Limit: 5})
	if len(rows) != 1 || !strings.Contains(rows[0].Message, b.PublicID) || !strings.Contains(rows[0].Message, "5 would run, 5 set aside") {
		t.Fatalf("audit = %+v", rows)
	}
	if !strings.Contains(string(rows[0].Data), `"line":6`) || !strings.Contains(string(rows[0].Data), `"verdict":"set_aside"`) {
		t.Errorf("audit detail lacks the items: %s", rows[0].Data)
	}
}

// TestPreviewBatchCurrencyCap: items beyond a currency's cap are set aside, the others
// still run.
func TestPreviewBatchCurrencyCap(t *testing.T) {
	f := newFixture(t)
	f.desk.cfg.BatchCaps = map[string]int64{"EUR": 1500}
	a := f.add(bpc.Name, 2, 1000)
	c := f.add(bpc.Name, 2, 1000)
	d := f.add(bpc.Name, 2, 1000)
	b, items, err := f.preview(sam, BatchRefund, "payment,amount,reason\n"+a.PublicID+",rest,duplicate\n"+c.PublicID+",rest,duplicate\n"+d.PublicID+",5.00,duplicate\n")
	if err != nil {
		t.Fatal(err)
	}
	verdict(t, items, 2, storage.BatchReady, "")
	verdict(t, items, 3, storage.BatchSetAside, "over its cap of 15.00 EUR in EUR (10.00 EUR already in it)")
	verdict(t, items, 4, storage.BatchReady, "")
	if b.Totals["EUR"] != 1500 {
		t.Errorf("totals %v", b.Totals)
	}
}

// TestPreviewBatchBlockingRuleAndCancel: a blocking rule sets a refund aside naming the
// rule; a cancel batch sets aside a payment given twice and one that cannot be cancelled.
func TestPreviewBatchBlockingRuleAndCancel(t *testing.T) {
	f := newFixture(t)
	f.withRules(ApprovalRule{Kind: RuleReason, Reasons: []string{"goodwill"}, Effect: EffectBlock})
	p := f.add(bpc.Name, 2, 10000)
	_, items, err := f.preview(sam, BatchRefund, "payment,amount,reason\n"+p.PublicID+",1,goodwill\n")
	if err != nil {
		t.Fatal(err)
	}
	if it := verdict(t, items, 2, storage.BatchSetAside, "Refused by the approval rule"); it.ApprovalRule != RuleReason {
		t.Errorf("rule %q", it.ApprovalRule)
	}
	held := f.add(bpc.Name, 8, 10000) // authorised, manual capture: may be cancelled
	_, items, err = f.preview(mara, BatchCancel, "payment\n"+held.PublicID+"\n"+held.PublicID+"\n"+p.PublicID+"\n")
	if err != nil {
		t.Fatal(err)
	}
	verdict(t, items, 2, storage.BatchReady, "")
	verdict(t, items, 3, storage.BatchSetAside, "already in the batch on line 2")
	verdict(t, items, 4, storage.BatchSetAside, "")
}

// TestPreviewBatchRefusals: finance cannot make batches; a batch over the size limit is
// refused whole; nothing is saved either way.
func TestPreviewBatchRefusals(t *testing.T) {
	f := newFixture(t)
	p := f.add(bpc.Name, 2, 10000)
	in := []BatchInput{{Line: 2, Payment: p.PublicID, Amount: "1", Reason: "duplicate"}, {Line: 3, Payment: p.PublicID, Amount: "1", Reason: "duplicate"}}
	_, err := f.desk.PreviewBatch(context.Background(), fin, BatchRefund, in, BatchOrigin{Source: "csv"})
	if !errors.Is(err, ErrNotAllowed) {
		t.Errorf("finance: %v", err)
	}
	f.desk.cfg.BatchMaxItems = 1
	_, err = f.desk.PreviewBatch(context.Background(), sam, BatchRefund, in, BatchOrigin{Source: "csv"})
	refusedWith(t, err, ErrInvalid, "at most 1 items and this one has 2")
	if bs, _ := f.db.ListBatches(context.Background(), 10); len(bs) != 0 {
		t.Errorf("saved %d batches", len(bs))
	}
}

// TestParseBatchCSV: bad lines are reported by number with the reason; labels and
// aliases are accepted.
func TestParseBatchCSV(t *testing.T) {
	items, bad := ParseBatchCSV(strings.NewReader("\ufeffPayment_ID,Amount,Reason,Note\npd_a,12.50,Duplicate payment,\npd_b,,duplicate,\n,1,duplicate,\npd_c,1,whim,\npd_d,1,other,\npd_e,ten,duplicate,\npd_f,\"1,5\",goodwill,\"a, b\"\n"), BatchRefund, 100)
	want := map[int]string{3: "No amount is given", 4: "No payment is given", 5: `The reason "whim" is not one of`, 6: "explain it in the note", 7: `The amount "ten" is not a number`}
	if len(bad) != len(want) {
		t.Fatalf("bad = %+v", bad)
	}
	for _, b := range bad {
		if !strings.Contains(b.Problem, want[b.Line]) {
			t.Errorf("line %d: %q, want %q", b.Line, b.Problem, want[b.Line])
		}
	}
	if len(items) != 2 || items[0].Reason != "duplicate" || items[1].Line != 8 || items[1].Amount != "1,5" || items[1].Note != "a, b" {
		t.Errorf("items = %+v", items)
	}
	if _, bad := ParseBatchCSV(strings.NewReader("id,amount\npd_a,1\n"), BatchRefund, 100); len(bad) != 1 || !strings.Contains(bad[0].Problem, "no reason column") {
		t.Errorf("header without reason: %+v", bad)
	}
	// A bare quote in an unquoted field is a line's problem, not a crash (it panicked).
	if _, bad := ParseBatchCSV(strings.NewReader("payment,amount,reason\npd_a,1,duplicate\n=HYPERLINK(\"x\"),1,duplicate\n"), BatchRefund, 100); len(bad) != 1 || bad[0].Line != 3 {
		t.Errorf("bare quote: %+v", bad)
	}
	if _, bad := ParseBatchCSV(strings.NewReader("payment\npd_a\npd_b\npd_c\n"), BatchCancel, 2); len(bad) != 1 || !strings.Contains(bad[0].Problem, "at most 2 items") {
		t.Errorf("too many: %+v", bad)
	}
}
