package providertest

import (
	"encoding/json"
	"testing"
	"time"

	"paydesk/providers"
)

// SeedSpec is the demo payment the fuzzers start from, in variant v: fixed, so that a
// seed corpus does not change from one run to the next.
func SeedSpec(v int) providers.DemoSpec {
	return providers.DemoSpec{Seq: v + 1, Name: "Ada Lovelace", Email: "ada@example.com",
		Amount: 12345, Currency: "EUR", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Variant: v, Reference: "REF-1"}
}

// SeedDemo adds to f the import envelope of every variant demo makes (SeedSpec).
func SeedDemo(f *testing.F, demo providers.DemoMaker) {
	f.Helper()
	for v := range demo.Variants() {
		raw, err := demo.Envelope(SeedSpec(v))
		if err != nil {
			f.Fatalf("providertest: demo variant %d: %v", v, err)
		}
		f.Add([]byte(raw))
	}
}

// InEnvelope returns a wrap for opstest.SeedFiles that puts a provider's answer into an import
// envelope of provider, under field: {"provider":"<provider>","<field>":<answer>}.
func InEnvelope(provider providers.Name, field string) func([]byte) []byte {
	return func(b []byte) []byte {
		return []byte(`{"provider":"` + string(provider) + `","` + field + `":` + string(b) + `}`)
	}
}

// CheckSnapshot fails t unless snap, which a parser accepted, is a payment storage can
// keep: provider want, a known currency, no negative amount, an id, a Raw that is valid
// JSON, and a status that Normalise maps to a valid Status.
func CheckSnapshot(t *testing.T, want providers.Name, snap providers.Snapshot) {
	t.Helper()
	if snap.Provider != want {
		t.Fatalf("provider %q, want %s", snap.Provider, want)
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
	if st := providers.Normalise(snap); !st.Valid() {
		t.Fatalf("Normalise gives %q, not a valid status", st)
	}
}

// FuzzParseEnvelope fuzzes a provider's envelope parser (the decoding its client applies
// to the provider's answers) from the seeds already added to f, plus an envelope with no
// payment and a proxy's HTML error page. It never panics; what it accepts passes
// CheckSnapshot, and its Raw parses back to the same payment.
func FuzzParseEnvelope(f *testing.F, name providers.Name, parse func([]byte) (providers.Snapshot, error)) {
	f.Add([]byte(`{"provider":"` + string(name) + `"}`))
	f.Add([]byte(`<html>502 Bad Gateway</html>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		snap, err := parse(raw)
		if err != nil {
			return
		}
		CheckSnapshot(t, name, snap)
		again, err := parse(snap.Raw)
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
