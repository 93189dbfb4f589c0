package providers_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/providertest"
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

// FuzzEligible: the generic properties of Eligible over any snapshot (providertest),
// seeded with snapshots of providers Paydesk does not know. Each provider's package fuzzes
// from its own table.
func FuzzEligible(f *testing.F) {
	providertest.FuzzEligibleFrom(f, nil, unknownTests)
}
