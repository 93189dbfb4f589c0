package providers

import (
	"slices"
	"strings"
	"unicode"
)

// Words is how one provider's facts read for people: how the payer pays, which actions
// the provider has at all, and its raw codes in plain words. The raw codes stay on the
// page beside the words, for those who talk to the provider.
type Words struct {
	// Means is how the payer pays through the provider ("card", "open-banking transfer").
	Means string
	// Actions are the actions the provider has at all; nil means all three. The payment
	// page offers no other (only a provider with hosted sessions can expire one).
	Actions []Action
	// Explain says a raw value in plain words, "" when it has none. field is "status"
	// (the raw status), "state_detail", "error_code", "session_status", "method" or
	// "mode".
	Explain func(field, value string) string
}

// Has reports whether the provider has action a at all (an unregistered provider has
// every action: its payments are refused by the eligibility rules anyway).
func (n Name) Has(a Action) bool {
	d, ok := registry[n]
	if !ok || d.Words.Actions == nil {
		return true
	}
	return slices.Contains(d.Words.Actions, a)
}

// Means is how the payer pays through the provider ("" when it does not say).
func (n Name) Means() string {
	if d, ok := registry[n]; ok {
		return d.Words.Means
	}
	return ""
}

// Explain says a provider's raw value in plain words: the provider's own words when it
// has them, else the code split into words ("insufficientFunds" → "insufficient funds",
// "cancelling_webauth" → "cancelling webauth"); "" for an empty value.
func (n Name) Explain(field, value string) string {
	if value == "" {
		return ""
	}
	if d, ok := registry[n]; ok && d.Words.Explain != nil {
		if w := d.Words.Explain(field, value); w != "" {
			return w
		}
	}
	return SplitCode(value)
}

// SplitCode writes a camelCase or snake_case code as lower-case words; a code that is
// only digits stays as it is.
func SplitCode(code string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range code {
		switch {
		case r == '_' || r == '-' || r == '.':
			b.WriteByte(' ')
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
