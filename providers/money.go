package providers

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// exponents are ISO 4217 minor-unit exponents for the currencies that are not 2.
// XTS, the ISO code reserved for testing that providers' sandboxes use, counts as 2
// (docs/providers.md).
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// Exponent is the number of minor-unit digits of an ISO 4217 currency (2 when not listed).
func Exponent(currency string) int {
	if e, ok := exponents[strings.ToUpper(currency)]; ok {
		return e
	}
	return 2
}

// ValidCurrency reports whether s looks like an ISO 4217 code (three upper-case letters).
func ValidCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// ErrAmount is wrapped by every amount parsing error.
var ErrAmount = errors.New("invalid amount")

// ParseMajor converts a decimal amount in major units ("50.90", "250", "-1.5", "1e2" is
// refused) into minor units of currency, exactly, without floating point. More fraction
// digits than the currency has are refused unless they are zeros.
func ParseMajor(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrAmount)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w: %q", ErrAmount, s)
	}
	if whole == "" {
		whole = "0"
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("%w: %q ends with a point", ErrAmount, s)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%w: %q is not a decimal number", ErrAmount, s)
			}
		}
	}
	exp := Exponent(currency)
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return 0, fmt.Errorf("%w: %q has more than %d decimals for %s", ErrAmount, s, exp, currency)
	}
	frac += strings.Repeat("0", exp-len(frac))
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > 18 {
		return 0, fmt.Errorf("%w: %q is too large", ErrAmount, s)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrAmount, s, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// ParseMajorJSON converts a JSON number token (as kept by json.Number or json.RawMessage)
// in major units into minor units; it also accepts a quoted decimal string. Exponent
// notation is refused.
func ParseMajorJSON(raw json.RawMessage, currency string) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, fmt.Errorf("%w: missing", ErrAmount)
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrAmount, err)
		}
		s = str
	}
	return ParseMajor(s, currency)
}

// FormatMajor renders minor units as a plain decimal in major units ("50.90", "250",
// "1.500") — the form providers that take decimals expect.
func FormatMajor(minor int64, currency string) string {
	exp := Exponent(currency)
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
		if minor == math.MinInt64 {
			u = uint64(math.MaxInt64) + 1
		}
	}
	digits := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// FormatMoney renders an amount for people: thousands grouped, the currency code after
// ("1,234.50 EUR", "1,500 JPY", "12.345 BHD").
func FormatMoney(minor int64, currency string) string {
	plain := FormatMajor(minor, currency)
	sign := ""
	if strings.HasPrefix(plain, "-") {
		sign, plain = "-", plain[1:]
	}
	whole, frac, hasFrac := strings.Cut(plain, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := sign + b.String()
	if hasFrac {
		out += "." + frac
	}
	return out + " " + currency
}
