package storage

import (
	"context"
	"errors"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// TestAccountsKeepTheirOwnIDs: two points of sale may use one order id: each account's
// payment is its own (other public ids, found by account), an update stays in its
// account, a snapshot naming no account is the default account's, and the list filters
// by account.
func TestAccountsKeepTheirOwnIDs(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	snap := func(account string) providers.Snapshot {
		return providers.Snapshot{Provider: tranzzo.Name, Account: account, OrderID: "order-7", Amount: 1000, Currency: "UAH",
			RawStatus: "pending", Method: "purchase", Mode: "hosted"}
	}
	kyiv, _ := upsertForTest(t, db, snap("pos-kyiv"), UpsertOptions{})
	lviv, _ := upsertForTest(t, db, snap("pos-lviv"), UpsertOptions{})
	def, _ := upsertForTest(t, db, snap(""), UpsertOptions{})
	if kyiv.ID == lviv.ID || kyiv.PublicID == lviv.PublicID || def.Account != providers.DefaultAccount {
		t.Fatalf("one order id in three accounts: %s/%s, %s/%s, %s/%s", kyiv.PublicID, kyiv.Account, lviv.PublicID, lviv.Account, def.PublicID, def.Account)
	}
	if def.PublicID != PublicIDFor(tranzzo.Name, "order-7") || kyiv.PublicID != PublicIDForAccount(tranzzo.Name, "pos-kyiv", "order-7") {
		t.Errorf("public ids: the default account's keeps the id it had before accounts")
	}
	paid := snap("pos-lviv")
	paid.RawStatus, paid.Captured = "success", 1000
	after, ch := upsertForTest(t, db, paid, UpsertOptions{Kind: "webhook"})
	if after.ID != lviv.ID || ch.Created {
		t.Errorf("an update of pos-lviv's order: payment %s (created %v), want %s", after.PublicID, ch.Created, lviv.PublicID)
	}
	if p, _ := db.PaymentByID(ctx, kyiv.ID); p.RawStatus != "pending" {
		t.Errorf("pos-kyiv's payment moved to %s with pos-lviv's news", p.RawStatus)
	}
	if p, err := db.PaymentByAccountID(ctx, tranzzo.Name, "pos-kyiv", "order-7"); err != nil || p.ID != kyiv.ID {
		t.Errorf("by account id: %v, %v", p.PublicID, err)
	}
	if _, err := db.PaymentByAccountID(ctx, tranzzo.Name, "pos-odesa", "order-7"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's id: %v, want not found", err)
	}
	page, err := db.ListPayments(ctx, PaymentFilter{Provider: tranzzo.Name, Account: "pos-lviv"})
	if err != nil || len(page.Payments) != 1 || page.Payments[0].ID != lviv.ID || page.Count != 1 {
		t.Errorf("list by account: %d payments (%v), want pos-lviv's", len(page.Payments), err)
	}
	if page, _ := db.ListPayments(ctx, PaymentFilter{Query: "order-7"}); page.Count != 3 {
		t.Errorf("search by order id: %d, want the 3 accounts' payments", page.Count)
	}
	if _, err := db.ListPayments(ctx, PaymentFilter{Account: "pos-lviv"}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("account without provider: %v, want an invalid filter", err)
	}
	bad := snap("POS Lviv")
	if _, _, err := db.UpsertPayment(ctx, bad, UpsertOptions{}); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("a bad account name: %v, want refused", err)
	}
}

// TestBulkLoadKeepsTheAccount: the bulk loader stores each payment's account.
func TestBulkLoadKeepsTheAccount(t *testing.T) {
	db := newTestDB(t)
	s := providers.Snapshot{Provider: bpc.Name, Account: "bpc-de", PaymentID: "p_de", Amount: 100, Captured: 100, Currency: "EUR", RawStatus: "succeeded"}
	bulkLoad(t, db, BulkOptions{}, BulkPayment{Snapshot: s}, BulkPayment{Snapshot: providers.Snapshot{Provider: bpc.Name, PaymentID: "p_de",
		Amount: 100, Captured: 100, Currency: "EUR", RawStatus: "succeeded"}})
	de, err := db.PaymentByAccountID(context.Background(), bpc.Name, "bpc-de", "p_de")
	if err != nil || de.Account != "bpc-de" {
		t.Fatalf("bulk-loaded bpc-de payment: %v (%q)", err, de.Account)
	}
	if p, err := db.PaymentByProviderID(context.Background(), bpc.Name, "p_de"); err != nil || p.ID == de.ID {
		t.Errorf("the default account's p_de: %v", err)
	}
}
