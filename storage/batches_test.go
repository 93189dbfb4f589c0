package storage

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
)

// TestBatchBulkReads: payments found by Paydesk and provider ids in bulk, their
// balances (as Balance computes them) and their open actions, for many at once.
func TestBatchBulkReads(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	a := insertTestPayment(t, db, "bpc", "EUR", 10000)
	b := insertTestPayment(t, db, "bpc", "GBP", 5000)
	pa, _ := db.PaymentByID(ctx, a)
	pb, _ := db.PaymentByID(ctx, b)
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: a, Amount: 2500, Reason: "duplicate", RequestedBy: "ann@x", IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	found, err := db.PaymentsByRefs(ctx, []string{pa.PublicID, pb.PaymentID, "pd_none", "nothing", pa.PublicID},
		[]AccountRef{{Provider: "bpc", Account: providers.DefaultAccount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[pa.PublicID][0].ID != a || found[pb.PaymentID][0].ID != b {
		t.Fatalf("found %+v", found)
	}
	facts, err := db.PaymentFactsOf(ctx, []int64{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := facts[a].Balance, mustBalance(t, db, a); got != want || got.InFlight != 2500 {
		t.Errorf("balance %+v, want %+v", got, want)
	}
	if facts[a].OpenKind != "refund" || facts[a].OpenState != "pending" || facts[b].OpenKind != "" || facts[b].Balance.Refundable != 5000 {
		t.Errorf("facts %+v", facts)
	}
	ids, err := db.MatchingPaymentIDs(ctx, PaymentFilter{Currency: "GBP"}, 10)
	if err != nil || len(ids) != 1 || ids[0] != pb.PublicID {
		t.Errorf("matching %v %v", ids, err)
	}
}

// TestCreateBatch: a draft batch, its items and its audit entry are written together;
// counts and totals come from the items, per currency.
func TestCreateBatch(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	a := insertTestPayment(t, db, "bpc", "EUR", 10000)
	items := []BatchItem{
		{Line: 2, Input: "x", PaymentID: a, Amount: 1000, Currency: "EUR", Reason: "duplicate", Verdict: BatchReady},
		{Line: 3, Input: "pd_none", Verdict: BatchSetAside, Why: "No payment has this id."},
		{Line: 4, Input: "y", PaymentID: a, Amount: 700, Currency: "GBP", Reason: "duplicate", Verdict: BatchReady, ApprovalRule: "per_refund"},
	}
	b, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "csv", CreatedBy: "sam@x", CreatedByKey: "k"}, items,
		AuditEntry{Actor: "sam@x", Kind: "batch_previewed", Message: "draft batch {batch}", Data: []byte(`{"items":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.BatchByPublicID(ctx, b.PublicID)
	if err != nil || got.Items != 3 || got.Ready != 2 || got.SetAside != 1 || got.Totals["EUR"] != 1000 || got.Totals["GBP"] != 700 || got.State != "draft" {
		t.Fatalf("batch %+v %v", got, err)
	}
	list, err := db.BatchItems(ctx, got.ID)
	if err != nil || len(list) != 3 || list[1].PaymentID != 0 || list[2].ApprovalRule != "per_refund" || list[0].PublicID == "" {
		t.Fatalf("items %+v %v", list, err)
	}
	rows, _ := db.ListAuditRows(ctx, AuditFilter{Kind: "batch_previewed", Limit: 5})
	if len(rows) != 1 || rows[0].Message != "draft batch "+b.PublicID || !strings.Contains(string(rows[0].Data), `"batch":"`+b.PublicID+`"`) {
		t.Errorf("audit %+v", rows)
	}
	if bs, _ := db.ListBatches(ctx, 10); len(bs) != 1 {
		t.Errorf("list %+v", bs)
	}
	// An item that cannot be written (a second line 2) leaves nothing behind.
	if _, err := db.CreateBatch(ctx, Batch{Kind: "refund", Source: "csv", CreatedBy: "sam@x"}, append(items, items[0]), AuditEntry{Actor: "sam@x", Kind: "batch_previewed", Message: "m"}); err == nil {
		t.Fatal("duplicate line accepted")
	}
	if bs, _ := db.ListBatches(ctx, 10); len(bs) != 1 {
		t.Errorf("a failed batch left %d batches", len(bs))
	}
}
