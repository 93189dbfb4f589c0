package tranzzo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"paydesk/providers"
)

// FuzzParseEnvelope feeds Tranzzo's envelope parser (the same decoding the client applies to
// Tranzzo's answers) with mutations of real examples: every demo variant and the seeds'
// documented answers. It never panics; what it accepts is a payment storage can keep (a
// known currency, no negative amount, an id) whose Raw is valid JSON and parses back to
// the same payment.
func FuzzParseEnvelope(f *testing.F) {
	for v := range (Demo{}).Variants() {
		raw, err := Demo{}.Envelope(providers.DemoSpec{Seq: v + 1, Name: "Ada Lovelace", Email: "ada@example.com",
			Amount: 12345, Currency: "EUR", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Variant: v, Reference: "REF-1"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(raw))
	}
	for _, name := range []string{"seed_cancel_response.json", "seed_cancel_response_fixed.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add([]byte(`{"provider":"tranzzo","transactions":` + string(b) + `}`))
		}
	}
	f.Add([]byte(`{"provider":"tranzzo"}`))
	f.Add([]byte(`<html>502 Bad Gateway</html>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		snap, err := ParseEnvelope(raw)
		if err != nil {
			return
		}
		if snap.Provider != Name {
			t.Fatalf("provider %q, want tranzzo", snap.Provider)
		}
		if !providers.ValidCurrency(snap.Currency) {
			t.Fatalf("accepted currency %q", snap.Currency)
		}
		if snap.Amount < 0 || snap.Captured < 0 || snap.Refunded < 0 {
			t.Fatalf("accepted negative amounts: %d %d %d", snap.Amount, snap.Captured, snap.Refunded)
		}
		if snap.PaymentID == "" && snap.SessionID == "" && snap.OrderID == "" {
			t.Fatal("accepted a payment with no id")
		}
		if !json.Valid(snap.Raw) {
			t.Fatalf("Raw is not JSON: %q", snap.Raw)
		}
		_ = providers.Normalise(snap)
		again, err := ParseEnvelope(snap.Raw)
		if err != nil {
			t.Fatalf("its own Raw does not parse: %v\nraw: %s", err, snap.Raw)
		}
		if again.PaymentID != snap.PaymentID || again.SessionID != snap.SessionID || again.OrderID != snap.OrderID ||
			again.Amount != snap.Amount || again.Captured != snap.Captured || again.Refunded != snap.Refunded ||
			again.Currency != snap.Currency || again.RawStatus != snap.RawStatus || len(again.Refunds) != len(snap.Refunds) {
			t.Fatalf("parsing Raw again gives another payment:\n%+v\n%+v", snap, again)
		}
	})
}
