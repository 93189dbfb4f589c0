package bpc

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// demoWant is what each demo variant must look like.
var demoWant = []struct {
	variant       int
	sessionStatus string // "" when the variant has no session
	rawStatus     string
	hasPayment    bool
	normalised    providers.Status
	refunds       int
}{
	{variantSessionOpen, "open", "open", false, providers.StatusAwaitingPayment, 0},
	{variantSessionExpired, "expired", "expired", false, providers.StatusExpired, 0},
	{variantSucceeded, "completed", "succeeded", true, providers.StatusPaid, 0},
	{variantPartlyRefunded, "completed", "succeeded", true, providers.StatusPartiallyRefunded, 2},
	{variantFullyRefunded, "completed", "succeeded", true, providers.StatusRefunded, 2},
	{variantRequiresPaymentMethod, "", "requiresPaymentMethod", true, providers.StatusAwaitingPayment, 0},
	{variantRequiresAction, "", "requiresAction", true, providers.StatusAwaitingPayment, 0},
	{variantRequiresConfirmation, "", "requiresConfirmation", true, providers.StatusAwaitingPayment, 0},
	{variantRequiresCapture, "completed", "requiresCapture", true, providers.StatusAuthorized, 0},
	{variantProcessing, "", "processing", true, providers.StatusProcessing, 0},
	{variantCanceled, "", "canceled", true, providers.StatusCancelled, 0},
	{variantFailed, "", "failed", true, providers.StatusFailed, 0},
	{variantDirectSucceeded, "", "succeeded", true, providers.StatusPaid, 0},
	{variantUnknownStatus, "", "underReview", true, providers.StatusUnknown, 0},
}

func TestDemoCoversEveryVariant(t *testing.T) {
	d := Demo{}
	if d.Variants() != len(demoWant) {
		t.Fatalf("Variants = %d, want %d", d.Variants(), len(demoWant))
	}
	if got := strings.Join(d.Currencies(), ","); got != "EUR,GBP,JPY" {
		t.Errorf("Currencies = %s, want EUR,GBP,JPY", got)
	}
	sim := NewSimulator(SimConfig{APIKey: testKey}) // no PublicURL: envelopes stay byte-identical
	seq := 0
	last4s := map[string]bool{}
	for _, cur := range d.Currencies() {
		for _, w := range demoWant {
			seq++
			spec := demoSpec(seq, w.variant, cur, 123456)
			raw, err := d.Envelope(spec)
			if err != nil {
				t.Fatalf("%s variant %d: %v", cur, w.variant, err)
			}
			s, err := ParseEnvelope(raw)
			if err != nil {
				t.Fatalf("%s variant %d: ParseEnvelope: %v", cur, w.variant, err)
			}
			name := cur + "/" + w.rawStatus
			if !bytes.Equal(s.Raw, raw) {
				t.Errorf("%s: envelope is not normalised:\n got %s\nwant %s", name, s.Raw, raw)
			}
			if got := providers.Normalise(s); got != w.normalised {
				t.Errorf("%s: Normalise = %s, want %s", name, got, w.normalised)
			}
			if s.SessionStatus != w.sessionStatus || s.RawStatus != w.rawStatus || (s.PaymentID != "") != w.hasPayment || (s.SessionID != "") != (w.sessionStatus != "") {
				t.Errorf("%s: session %q/%q, raw %q, payment %q; want %q, %q, payment %v", name, s.SessionID, s.SessionStatus, s.RawStatus, s.PaymentID, w.sessionStatus, w.rawStatus, w.hasPayment)
			}
			if len(s.Refunds) != w.refunds {
				t.Errorf("%s: %d refunds, want %d", name, len(s.Refunds), w.refunds)
			}
			if s.Amount != 123456 || s.Currency != cur || s.CustomerName != spec.Name || s.CustomerEmail != spec.Email || s.MerchantReference != spec.Reference {
				t.Errorf("%s: amount/currency/name/email/ref = %d/%s/%q/%q/%q, want the spec's", name, s.Amount, s.Currency, s.CustomerName, s.CustomerEmail, s.MerchantReference)
			}
			if !s.CreatedAt.Equal(spec.CreatedAt) {
				t.Errorf("%s: CreatedAt = %v, want %v", name, s.CreatedAt, spec.CreatedAt)
			}
			wantCaptured := int64(0)
			if w.rawStatus == "succeeded" {
				wantCaptured = 123456
			}
			if s.Captured != wantCaptured {
				t.Errorf("%s: Captured = %d, want %d", name, s.Captured, wantCaptured)
			}
			if s.Refunded > s.Captured {
				t.Errorf("%s: refunded %d > captured %d", name, s.Refunded, s.Captured)
			}
			if w.hasPayment && w.rawStatus != "requiresPaymentMethod" {
				if len(s.CardLast4) != 4 {
					t.Errorf("%s: CardLast4 = %q, want 4 digits", name, s.CardLast4)
				}
				last4s[s.CardLast4] = true
			}
			if err := sim.Load(raw); err != nil {
				t.Fatalf("%s: Load: %v", name, err)
			}
			back, err := sim.Snapshot(providers.RefOf(s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Raw, raw) {
				t.Errorf("%s: simulator changed the envelope:\n got %s\nwant %s", name, back.Raw, raw)
			}
		}
	}
	if len(last4s) < 10 {
		t.Errorf("only %d distinct card last 4s, want variety", len(last4s))
	}
	if got, want := len(sim.PaymentIDs()), 3*12; got != want {
		t.Errorf("simulator holds %d payments, want %d (distinct ids per Seq)", got, want)
	}
}

func TestDemoIsDeterministic(t *testing.T) {
	d := Demo{}
	a, err := d.Envelope(demoSpec(5, variantPartlyRefunded, "EUR", 9999))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.Envelope(demoSpec(5, variantPartlyRefunded, "EUR", 9999))
	if !bytes.Equal(a, b) {
		t.Errorf("two envelopes for one spec differ:\n%s\n%s", a, b)
	}
	c, _ := d.Envelope(demoSpec(6, variantPartlyRefunded, "EUR", 9999))
	sa, _ := ParseEnvelope(a)
	sc, _ := ParseEnvelope(c)
	if sa.PaymentID == sc.PaymentID || sa.SessionID == sc.SessionID || sa.Refunds[0].ID == sc.Refunds[0].ID {
		t.Errorf("Seq 5 and 6 share ids: %s %s", sa.PaymentID, sc.PaymentID)
	}
	// Variant is taken modulo the number of variants, negative ones too.
	for _, v := range []int{demoVariants + variantCanceled, variantCanceled - demoVariants} {
		raw, err := d.Envelope(demoSpec(5, v, "EUR", 9999))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := ParseEnvelope(raw)
		if s.RawStatus != "canceled" {
			t.Errorf("variant %d gave %s, want canceled", v, s.RawStatus)
		}
	}
}

func TestDemoSmallAmounts(t *testing.T) {
	for _, amount := range []int64{2, 3, 19, 20} {
		for _, v := range []int{variantPartlyRefunded, variantFullyRefunded} {
			raw, err := Demo{}.Envelope(demoSpec(1, v, "JPY", amount))
			if err != nil {
				t.Fatalf("amount %d variant %d: %v", amount, v, err)
			}
			s, _ := ParseEnvelope(raw)
			want := providers.StatusPartiallyRefunded
			if v == variantFullyRefunded {
				want = providers.StatusRefunded
			}
			if got := providers.Normalise(s); got != want {
				t.Errorf("amount %d: %s (refunded %d of %d), want %s", amount, got, s.Refunded, s.Captured, want)
			}
			for _, r := range s.Refunds {
				if r.Amount <= 0 {
					t.Errorf("amount %d: refund of %d", amount, r.Amount)
				}
			}
		}
	}
	if raw, err := (Demo{}).Envelope(demoSpec(1, variantFullyRefunded, "EUR", 1)); err != nil {
		t.Errorf("fully refunded 1 minor unit: %v", err)
	} else if s, _ := ParseEnvelope(raw); s.Refunded != 1 {
		t.Errorf("fully refunded 1 minor unit: refunded %d, want 1", s.Refunded)
	}
}

func TestDemoRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		edit func(*providers.DemoSpec)
		want string
	}{
		{"no currency", func(s *providers.DemoSpec) { s.Currency = "" }, "invalid currency"},
		{"bad currency", func(s *providers.DemoSpec) { s.Currency = "EURO" }, `invalid currency "EURO"`},
		{"zero amount", func(s *providers.DemoSpec) { s.Amount = 0 }, "amount must be positive"},
		{"no time", func(s *providers.DemoSpec) { s.CreatedAt = time.Time{} }, "CreatedAt is required"},
		{"partly refunding 1", func(s *providers.DemoSpec) { s.Amount = 1; s.Variant = variantPartlyRefunded }, "at least 2 minor units"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := demoSpec(1, variantSucceeded, "EUR", 500)
			tt.edit(&spec)
			if _, err := (Demo{}).Envelope(spec); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bpc: demo") {
				t.Errorf("Envelope = %v, want a bpc: demo error containing %q", err, tt.want)
			}
		})
	}
	// Lower-case currencies are accepted and upper-cased.
	raw, err := Demo{}.Envelope(demoSpec(1, variantSucceeded, "gbp", 500))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := ParseEnvelope(raw); s.Currency != "GBP" {
		t.Errorf("currency = %s, want GBP", s.Currency)
	}
}

// TestDemoAgreesWithEligibility runs every action on every demo variant against the
// simulator: BPC does it exactly when providers.Eligible says it is allowed.
func TestDemoAgreesWithEligibility(t *testing.T) {
	ctx := context.Background()
	for _, w := range demoWant {
		f := newFixture(t, nil)
		s := f.load(t, w.variant, 1, "EUR", 8000)
		el := providers.Eligible(s)
		ref := providers.RefOf(s)
		amount := el.Refund.MaxRefund
		if amount == 0 {
			amount = 1
		}
		outcomes := []struct {
			name string
			d    providers.Decision
			out  func() providers.Outcome
		}{
			{"cancel", el.Cancel, func() providers.Outcome { return f.c.Cancel(ctx, ref, providers.CancelRequest{}) }},
			{"expire", el.Expire, func() providers.Outcome { return f.c.Expire(ctx, ref) }},
			{"refund", el.Refund, func() providers.Outcome {
				return f.c.Refund(ctx, ref, providers.RefundRequest{Amount: amount})
			}},
		}
		for _, o := range outcomes {
			// Each action starts from the loaded state.
			if err := f.sim.Load(s.Raw); err != nil {
				t.Fatal(err)
			}
			out := o.out()
			if done := out.Kind == providers.Done; done != o.d.Allowed {
				t.Errorf("%s/%s: %s = %s (%q), but Eligible says allowed=%v (%q)", w.sessionStatus, w.rawStatus, o.name, out.Kind, out.Message, o.d.Allowed, o.d.Reason)
			}
			if out.Kind == providers.Unknown {
				t.Errorf("%s/%s: %s = unknown (%q), want a definitive answer", w.sessionStatus, w.rawStatus, o.name, out.Message)
			}
		}
	}
}
