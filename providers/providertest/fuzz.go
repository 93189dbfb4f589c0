package providertest

import (
	"strings"
	"testing"

	"paydesk/providers"
)

// FuzzEligible feeds random snapshot fields, starting from seeds, to providers.Eligible:
// it never panics, every decision has a reason, MaxRefund is never negative nor above what
// is left to refund, and nothing is allowed when Normalise says unknown.
func FuzzEligible(f *testing.F, seeds []providers.Snapshot) {
	seed := func(s providers.Snapshot) {
		f.Add(string(s.Provider), s.PaymentID, s.SessionID, s.RawStatus, s.StateDetail, s.ErrorCode,
			s.SessionStatus, s.Method, s.Mode, s.Voided, s.Instant, s.Captured, s.Refunded, s.Currency)
	}
	for _, s := range seeds {
		seed(s)
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

// FuzzEligibleFrom runs FuzzEligible seeded with the snapshots of a provider's own tables:
// its eligibility cases and its unknown-status cases.
func FuzzEligibleFrom(f *testing.F, eligibility []EligibilityCase, unknown []UnknownCase) {
	var seeds []providers.Snapshot
	for _, tt := range eligibility {
		seeds = append(seeds, tt.Snap)
	}
	for _, tt := range unknown {
		seeds = append(seeds, tt.Snap)
	}
	FuzzEligible(f, seeds)
}
