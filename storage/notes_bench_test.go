package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSearchWithNotes is the list's search on benchRows payments with no notes, then
// with 10,000 notes on as many payments: the notes' arm of the search must not slow the
// searches that find nothing in notes (docs/notes.md has the figures).
func BenchmarkSearchWithNotes(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "notes.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Now = func() time.Time { return testEpoch }
	r := rand.New(rand.NewPCG(1, 2))
	bulkInsertPayments(b, db, benchRows, func(i int) Payment { return syntheticPayment(r, i) })
	sample := syntheticPayment(rand.New(rand.NewPCG(1, 2)), 0)
	cases := []struct{ name, query string }{
		{"reference", sample.MerchantReference},
		{"name", "Shevchenko"},
		{"two_words", "olena kowal"},
		{"note_word", "chargeback"},
	}
	run := func(label string) {
		for _, c := range cases {
			b.Run(label+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := db.ListPayments(ctx, PaymentFilter{Query: c.query}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	run("no_notes")
	err = db.tx(ctx, func(tx *Tx) error {
		for i := range 10_000 {
			words := "Customer called, ticket https://tickets.example/browse/T-" + fmt.Sprint(i)
			if i%100 == 0 {
				words += " chargeback"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO payment_notes (payment_id, author, created_at, editor, updated_at, body)
				VALUES (?, 'sam@paydesk.example', 0, 'sam@paydesk.example', 0, ?)`, 1+i*(benchRows/10_000), words); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	run("10k_notes")
}
