package powens

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

func demoSpec(seq, variant int, currency string) providers.DemoSpec {
	return providers.DemoSpec{
		Seq: seq, Name: "Jean Dupont", Email: "jean.dupont@example.com", Amount: 12345, Currency: currency,
		CreatedAt: time.Date(2024, 4, 2, 8, 30, 15, 0, time.FixedZone("CEST", 2*3600)), Variant: variant, Reference: "ORD-" + itoa(seq),
	}
}

func TestDemoVariants(t *testing.T) {
	want := []struct {
		state, detail, errCode string
		instant                bool
		captured               bool
		status                 providers.Status
		cancellable            bool
	}{
		{"created", "", "", false, false, providers.StatusAwaitingPayment, true},
		{"validating", "", "", false, false, providers.StatusAwaitingPayment, false},
		{"pending", "", "", false, false, providers.StatusProcessing, true},
		{"pending", "", "", true, false, providers.StatusProcessing, false},
		{"pending", "cancelling_webauth", "", false, false, providers.StatusCancelling, false},
		{"pending", "cancelling", "", false, false, providers.StatusCancelling, false},
		{"accepted", "", "", false, true, providers.StatusInitiated, false},
		{"done", "", "", false, true, providers.StatusPaid, false},
		{"rejected", "", "cancelledByUser", false, false, providers.StatusCancelled, false},
		{"rejected", "", "insufficientFunds", false, false, providers.StatusFailed, false},
		{"expired", "", "", false, false, providers.StatusExpired, false},
		{"pending", "", "", false, false, providers.StatusProcessing, true},
		{"processing_v2", "", "", false, false, providers.StatusUnknown, false},
	}
	d := Demo{SimulatorURL: "https://paydesk.example/sim/powens/"}
	if d.Variants() != len(want) {
		t.Fatalf("Variants: got %d, want %d", d.Variants(), len(want))
	}
	if got := strings.Join(d.Currencies(), ","); got != "EUR,GBP" {
		t.Errorf("Currencies: got %s", got)
	}
	sim := NewSimulator(SimConfig{ClientID: "a", ClientSecret: "b", PublicURL: "https://elsewhere.example"})
	covered := map[providers.Status]bool{}
	for v, w := range want {
		currency := d.Currencies()[v%2]
		spec := demoSpec(100+v, v, currency)
		raw, err := d.Envelope(spec)
		if err != nil {
			t.Fatalf("variant %d: %v", v, err)
		}
		s, err := ParseEnvelope(raw)
		if err != nil {
			t.Fatalf("variant %d: ParseEnvelope: %v", v, err)
		}
		if s.PaymentID != DemoPaymentID(100+v) || s.Amount != 12345 || s.Currency != currency || s.CustomerName != "Jean Dupont" ||
			s.CustomerEmail != "jean.dupont@example.com" || s.MerchantReference != spec.Reference || !s.CreatedAt.Equal(spec.CreatedAt) {
			t.Errorf("variant %d: got %+v", v, s)
		}
		if s.RawStatus != w.state || s.StateDetail != w.detail || s.ErrorCode != w.errCode || s.Instant != w.instant {
			t.Errorf("variant %d: got %s/%s/%s instant %v, want %s/%s/%s %v", v, s.RawStatus, s.StateDetail, s.ErrorCode, s.Instant, w.state, w.detail, w.errCode, w.instant)
		}
		if wantCaptured := map[bool]int64{true: 12345, false: 0}[w.captured]; s.Captured != wantCaptured || s.Refunded != 0 || s.Refunds != nil {
			t.Errorf("variant %d: captured %d refunded %d, want %d 0", v, s.Captured, s.Refunded, wantCaptured)
		}
		if got := providers.Normalise(s); got != w.status {
			t.Errorf("variant %d (%s): normalised %s, want %s", v, DemoVariants[v].Name, got, w.status)
		}
		if got := providers.Eligible(s).Cancel.Allowed; got != w.cancellable {
			t.Errorf("variant %d: cancel eligible %v, want %v", v, got, w.cancellable)
		}
		covered[w.status] = true
		if w.detail == "cancelling" {
			if want := "https://paydesk.example/sim/powens/bank/validate/" + s.PaymentID; s.ValidateURI != want {
				t.Errorf("validate_uri: got %q, want %q", s.ValidateURI, want)
			}
		} else if s.ValidateURI != "" {
			t.Errorf("variant %d has validate_uri %q", v, s.ValidateURI)
		}
		// Raw is already the normalised envelope the demo produced.
		if !bytes.Equal(s.Raw, raw) {
			t.Errorf("variant %d: Raw differs from the envelope:\n%s\n%s", v, s.Raw, raw)
		}
		// The simulator takes it and serves the same payment back.
		if err := sim.Load(raw); err != nil {
			t.Fatalf("variant %d: Load: %v", v, err)
		}
		back, err := sim.Snapshot(s.PaymentID)
		if err != nil || !equalSnapshots(back, s) {
			t.Errorf("variant %d: simulator gives %+v, %v", v, back, err)
		}
	}
	for _, st := range []providers.Status{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusCancelling,
		providers.StatusInitiated, providers.StatusPaid, providers.StatusCancelled, providers.StatusExpired, providers.StatusFailed, providers.StatusUnknown} {
		if !covered[st] {
			t.Errorf("no demo payment is %s", st)
		}
	}
}

func TestDemoWireShape(t *testing.T) {
	raw, err := Demo{}.Envelope(demoSpec(3, 11, "GBP"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Provider string
		Payment  map[string]any
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	p := env.Payment
	in := p["instructions"].([]any)[0].(map[string]any)
	payer := p["payer_identity"].(map[string]any)
	if env.Provider != "powens" || p["id"] != float64(480003) || p["register_date"] != "2024-04-02 06:30:15" || p["validate_date"] != "2024-04-02 06:33:15" {
		t.Errorf("payment: got %v", p)
	}
	if in["amount"] != 123.45 || in["currency"] != "GBP" || in["execution_date_type"] != "deferred" || in["execution_date"] != "2024-04-16" || in["label"] != "ORD-3" {
		t.Errorf("instruction: got %v", in)
	}
	if payer["first_name"] != "Jean" || payer["last_name"] != "Dupont" || payer["email"] != "jean.dupont@example.com" || payer["kind"] != "individual" {
		t.Errorf("payer: got %v", payer)
	}
	// The exact decimal is written, never a float rendering.
	if !strings.Contains(string(raw), `"amount":123.45`) {
		t.Errorf("amount not written as a plain decimal: %s", raw)
	}
}

func TestDemoDeterministic(t *testing.T) {
	d := Demo{}
	a, _ := d.Envelope(demoSpec(7, 4, "EUR"))
	b, _ := d.Envelope(demoSpec(7, 4, "EUR"))
	if !bytes.Equal(a, b) {
		t.Errorf("same spec, different envelopes:\n%s\n%s", a, b)
	}
	// Variant is taken modulo the number of variants, negative ones included.
	for _, v := range []int{4 + d.Variants(), 4 - 2*d.Variants()} {
		c, err := d.Envelope(demoSpec(7, v, "EUR"))
		if err != nil || !bytes.Equal(a, c) {
			t.Errorf("variant %d: got %s, %v", v, c, err)
		}
	}
	// Different sequences give different ids.
	c, _ := d.Envelope(demoSpec(8, 4, "EUR"))
	sa, _ := ParseEnvelope(a)
	sc, _ := ParseEnvelope(c)
	if sa.PaymentID == sc.PaymentID {
		t.Errorf("seq 7 and 8 share id %s", sa.PaymentID)
	}
}

func TestDemoErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*providers.DemoSpec)
		want string
	}{
		{"currency", func(s *providers.DemoSpec) { s.Currency = "euro" }, `invalid currency "euro"`},
		{"amount", func(s *providers.DemoSpec) { s.Amount = 0 }, "amount 0 must be positive"},
		{"time", func(s *providers.DemoSpec) { s.CreatedAt = time.Time{} }, "creation time is required"},
		{"seq", func(s *providers.DemoSpec) { s.Seq = -1 }, "sequence -1 is negative"},
	}
	for _, tt := range tests {
		spec := demoSpec(1, 0, "EUR")
		tt.mod(&spec)
		_, err := Demo{}.Envelope(spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "powens: demo: ") {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// The demo's cancellable and cancelling payments work against the simulator end to end.
func TestDemoAgainstSimulator(t *testing.T) {
	e := newEnv(t, nil)
	d := Demo{} // relative validate_uri, resolved by Load
	for v := 0; v < d.Variants(); v++ {
		raw, err := d.Envelope(demoSpec(v, v, "EUR"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Load(raw); err != nil {
			t.Fatal(err)
		}
	}
	req := providers.CancelRequest{ReturnURL: testReturnURL, State: testState}
	// Variant 4: pending + cancelling_webauth → a webview link.
	link, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: DemoPaymentID(4)}, req)
	if err != nil || link.Kind != "webview" {
		t.Errorf("webauth demo: %+v, %v", link, err)
	}
	// Variant 5: pending + cancelling → the simulator's bank page.
	link, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: DemoPaymentID(5)}, req)
	if err != nil || link.URL != e.srv.URL+"/bank/validate/"+DemoPaymentID(5) {
		t.Errorf("validate_uri demo: %+v, %v", link, err)
	}
	// Every eligible demo payment is accepted by the simulator; every other one refused.
	for v := 0; v < d.Variants(); v++ {
		id := DemoPaymentID(v)
		s := e.snap(t, id)
		eligible := providers.Eligible(s).Cancel.Allowed
		out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: id}, req)
		refused := out.Kind == providers.Refused
		if eligible == refused {
			t.Errorf("variant %d (%s): eligible %v but the simulator answered %s (%s)", v, DemoVariants[v].Name, eligible, out.Kind, out.Message)
		}
		if want := DefaultCancelScenario(id); eligible && want == CancelNotSupported && out.Kind != providers.NotSupported {
			t.Errorf("variant %d: got %s, want not supported by the id rule", v, out.Kind)
		}
	}
}
