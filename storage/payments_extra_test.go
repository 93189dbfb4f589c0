package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// TestUpsertPaymentKeepsMerchantReference: the merchant's reference is fixed once known.
// A Powens cancellation replaces client_state (where the reference lives) with Paydesk's
// own signed state; the payment must keep the shop's reference, in the row, the search
// and the timeline.
func TestUpsertPaymentKeepsMerchantReference(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		refs       []string // the reference each successive snapshot carries
		want       string
		wantSearch []string // searches that must find the payment
	}{
		{"a different reference later", []string{"ORD-1001", "pd-state.eyJhbGciOi"}, "ORD-1001", []string{"ORD-1001"}},
		{"an empty reference later", []string{"ORD-1001", ""}, "ORD-1001", []string{"ORD-1001"}},
		{"several later references", []string{"ORD-1001", "x", "y"}, "ORD-1001", []string{"ORD-1001"}},
		{"unknown first, known later", []string{"", "ORD-1002"}, "ORD-1002", []string{"ORD-1002"}},
		{"unknown first, known later, changed after", []string{"", "ORD-1003", "other"}, "ORD-1003", []string{"ORD-1003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			var p Payment
			for i, ref := range tt.refs {
				setClock(db, testEpoch.Add(time.Duration(i)*time.Minute))
				state, detail := "pending", ""
				if i > 0 {
					detail = "cancelling_webauth" // something else changes too, as in a real cancellation
				}
				snap := providers.Snapshot{Provider: providers.Powens, PaymentID: "480001", MerchantReference: ref,
					Amount: 5090, Currency: "EUR", RawStatus: state, StateDetail: detail, CustomerName: "Jean Dupont",
					CreatedAt: testEpoch.Add(-time.Hour)}
				p, _ = upsertForTest(t, db, snap, UpsertOptions{Actor: "provider", Kind: "refreshed"})
			}
			if p.MerchantReference != tt.want {
				t.Errorf("reference %q, want %q", p.MerchantReference, tt.want)
			}
			stored, err := db.PaymentByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.MerchantReference != tt.want {
				t.Errorf("stored reference %q, want %q", stored.MerchantReference, tt.want)
			}
			for _, q := range tt.wantSearch {
				page, err := db.ListPayments(ctx, PaymentFilter{Query: q})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Payments) != 1 || page.Payments[0].ID != p.ID {
					t.Errorf("search %q finds %d payments, want the one", q, len(page.Payments))
				}
			}
			// The later references are no key of this payment.
			for _, ref := range tt.refs {
				if ref == "" || ref == tt.want {
					continue
				}
				page, err := db.ListPayments(ctx, PaymentFilter{Query: ref})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Payments) != 0 {
					t.Errorf("search %q (a reference that was not kept) finds the payment", ref)
				}
			}
			// No timeline line claims the reference changed once it was known.
			known := tt.refs[0] != ""
			for _, e := range eventsOf(t, db, p.ID) {
				if known && strings.Contains(e.Message, "reference") {
					t.Errorf("event %q: the reference changed after it was known", e.Message)
				}
				if strings.Contains(e.Message, "reference (none) → "+tt.want) {
					known = true
				}
			}
		})
	}
}

// TestFTSExpressionPunctuationWords: a word of punctuation alone is dropped, so that
// "Dupont - order" still finds Dupont.
func TestFTSExpressionPunctuationWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Dupont - order", `"Dupont"* AND "order"*`},
		{"Sato -", `"Sato"*`},
		{"- . _ @", ""},
		{"a.b@c", `"a.b@c"*`},
		{"jean-luc", `"jean-luc"*`},
	}
	for _, tt := range tests {
		if got := ftsExpression(tt.in); got != tt.want {
			t.Errorf("ftsExpression(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
	db := newTestDB(t)
	upsertForTest(t, db, providers.Snapshot{Provider: providers.BPC, PaymentID: "p_1", Amount: 100, Currency: "EUR",
		RawStatus: "succeeded", CustomerName: "Haruto Sato", CreatedAt: testEpoch}, UpsertOptions{})
	page, err := db.ListPayments(context.Background(), PaymentFilter{Query: "Sato - "})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Payments) != 1 {
		t.Errorf(`"Sato - " finds %d payments, want 1`, len(page.Payments))
	}
}
