package storage

import (
	"context"
	"errors"
	"testing"
)

func TestEachAuditRowNamesThePayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100)
	var public string
	if err := db.SQL().QueryRow(`SELECT public_id FROM payments WHERE id = ?`, pid).Scan(&public); err != nil {
		t.Fatal(err)
	}
	for _, e := range []AuditEntry{
		{Actor: "ann@x", Kind: "sign_in", Message: "signed in"},
		{Actor: "ann@x", Kind: "action", PaymentID: pid, Message: "refund"},
		{Actor: "max@x", Kind: "approval", PaymentID: pid, Message: "approved"},
	} {
		if _, err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    AuditFilter
		want []string // payment public ids, newest first
	}{
		{"all", AuditFilter{}, []string{public, public, ""}},
		{"one payment", AuditFilter{PaymentID: pid, Kind: "action"}, []string{public}},
		{"page", AuditFilter{Before: 3, Limit: 1}, []string{public}},
	}
	for _, tt := range tests {
		rows, err := db.ListAuditRows(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.PaymentPublicID)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	e, err := db.AuditEntryByID(ctx, 2)
	if err != nil || e.Kind != "action" || e.PaymentPublicID != public || len(e.Hash) != 64 {
		t.Errorf("AuditEntryByID(2) = %+v, %v", e, err)
	}
	if _, err := db.AuditEntryByID(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("AuditEntryByID(99) = %v, want ErrNotFound", err)
	}
}
