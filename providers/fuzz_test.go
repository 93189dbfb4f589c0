package providers_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"paydesk/providers"
)

// FuzzParseMajor checks that ParseMajor never panics, that every error wraps ErrAmount,
// and that every amount it accepts is exactly the decimal it was given (checked against
// math/big) and survives FormatMajor and back.
func FuzzParseMajor(f *testing.F) {
	for _, tt := range parseMajorTests {
		f.Add(tt.in, tt.currency)
	}
	f.Fuzz(func(t *testing.T, s, currency string) {
		v, err := providers.ParseMajor(s, currency)
		if err != nil {
			if !errors.Is(err, providers.ErrAmount) {
				t.Fatalf("ParseMajor(%q, %q) error %v does not wrap ErrAmount", s, currency, err)
			}
			if v != 0 {
				t.Fatalf("ParseMajor(%q, %q) = %d with an error; want 0", s, currency, v)
			}
			return
		}
		trimmed := strings.TrimSpace(s)
		if strings.ContainsAny(trimmed, "eE,_xX ") {
			t.Fatalf("ParseMajor(%q, %q) = %d; want an error for a non-plain decimal", s, currency, v)
		}
		// The exact value: the decimal times 10^exponent must be the integer returned.
		r, ok := new(big.Rat).SetString(trimmed)
		if !ok {
			t.Fatalf("ParseMajor(%q, %q) = %d, but math/big cannot read %q as a number", s, currency, v, trimmed)
		}
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(providers.Exponent(currency))), nil)
		r.Mul(r, new(big.Rat).SetInt(scale))
		if !r.IsInt() || r.Num().Cmp(big.NewInt(v)) != 0 {
			t.Fatalf("ParseMajor(%q, %q) = %d; want exactly %s", s, currency, v, r.RatString())
		}
		back := providers.FormatMajor(v, currency)
		got, err := providers.ParseMajor(back, currency)
		if err != nil || got != v {
			t.Fatalf("ParseMajor(FormatMajor(%d, %q) = %q) = %d, %v; want %d, nil", v, currency, back, got, err, v)
		}
	})
}

// FuzzEligible feeds random snapshot fields to Eligible: it never panics, every decision
// has a reason, MaxRefund is never negative nor above what is left to refund, and nothing
// is allowed when Normalise says unknown.
func FuzzEligible(f *testing.F) {
	seed := func(s providers.Snapshot) {
		f.Add(string(s.Provider), s.PaymentID, s.SessionID, s.RawStatus, s.StateDetail, s.ErrorCode,
			s.SessionStatus, s.Method, s.Mode, s.Voided, s.Instant, s.Captured, s.Refunded, s.Currency)
	}
	for _, tt := range eligibilityTests {
		seed(tt.snap)
	}
	for _, tt := range unknownTests {
		seed(tt.snap)
	}
	f.Fuzz(func(t *testing.T, provider, paymentID, sessionID, raw, detail, code, sessionStatus, method, mode string,
		voided, instant bool, captured, refunded int64, currency string) {
		s := providers.Snapshot{
			Provider: providers.Name(provider), PaymentID: paymentID, SessionID: sessionID,
			RawStatus: raw, StateDetail: detail, ErrorCode: code, SessionStatus: sessionStatus,
			Method: method, Mode: mode, Voided: voided, Instant: instant,
			Captured: captured, Refunded: refunded, Currency: currency,
		}
		e := providers.Eligible(s)
		st := providers.Normalise(s)
		if !st.Valid() {
			t.Fatalf("Normalise(%+v) = %q, not a valid status", s, st)
		}
		for _, d := range e.Decisions() {
			if strings.TrimSpace(d.Reason) == "" {
				t.Fatalf("Eligible(%+v): %s has no Reason", s, d.Action)
			}
			if d.MaxRefund < 0 {
				t.Fatalf("Eligible(%+v): %s MaxRefund = %d; want >= 0", s, d.Action, d.MaxRefund)
			}
			if d.Allowed && d.Op == "" {
				t.Fatalf("Eligible(%+v): %s allowed with no Op", s, d.Action)
			}
		}
		if st == providers.StatusUnknown && e.Any() {
			t.Fatalf("Eligible(%+v): %+v allowed for an unknown status", s, e)
		}
		if e.Refund.Allowed {
			if captured < 0 || refunded < 0 || e.Refund.MaxRefund > captured || e.Refund.MaxRefund != captured-refunded {
				t.Fatalf("Eligible(%+v): refund allowed with MaxRefund %d; want captured - refunded with both non-negative", s, e.Refund.MaxRefund)
			}
		}
	})
}
