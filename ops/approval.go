package ops

import (
	"fmt"
	"strings"

	"paydesk/providers"
)

// ApprovalPolicy decides which refunds wait for a manager: a refund at or above its
// currency's threshold does. Currencies without a threshold follow Default.
type ApprovalPolicy struct {
	// Thresholds in minor units per currency.
	Thresholds map[string]int64
	// AlwaysByDefault makes every refund in a currency without a threshold need approval;
	// otherwise such refunds need none.
	AlwaysByDefault bool
}

// ParseThresholds reads "EUR:500.00,GBP:400.00,UAH:20000" into exact minor units, using
// each currency's ISO 4217 exponent ("JPY:50000", "BHD:100.500").
func ParseThresholds(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cur, amount, ok := strings.Cut(part, ":")
		cur = strings.ToUpper(strings.TrimSpace(cur))
		if !ok || !providers.ValidCurrency(cur) {
			return nil, fmt.Errorf("approval threshold %q: write CURRENCY:AMOUNT, e.g. EUR:500.00", part)
		}
		v, err := providers.ParseMajor(amount, cur)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("approval threshold %q: %q is not a positive amount in %s", part, amount, cur)
		}
		if _, dup := out[cur]; dup {
			return nil, fmt.Errorf("approval threshold: %s is given twice", cur)
		}
		out[cur] = v
	}
	return out, nil
}

// Threshold returns the currency's threshold, if it has one.
func (p ApprovalPolicy) Threshold(currency string) (int64, bool) {
	t, ok := p.Thresholds[currency]
	return t, ok
}

// Needs reports whether a refund of amount minor units in currency needs approval.
func (p ApprovalPolicy) Needs(currency string, amount int64) bool {
	if t, ok := p.Thresholds[currency]; ok {
		return amount >= t
	}
	return p.AlwaysByDefault
}

// Note says, for the refund form, when a refund in currency waits for a manager ("" when
// none does).
func (p ApprovalPolicy) Note(currency string) string {
	if t, ok := p.Threshold(currency); ok {
		return fmt.Sprintf("Refunds from %s need a manager's approval: they wait in the managers' queue and reserve their amount until decided.", providers.FormatMoney(t, currency))
	}
	if p.AlwaysByDefault {
		return fmt.Sprintf("Every refund in %s needs a manager's approval.", currency)
	}
	return ""
}
