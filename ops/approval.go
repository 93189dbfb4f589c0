package ops

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
)

// The kinds of approval rule (docs/governance.md).
const (
	// RulePerRefund: this refund alone at or above a per-currency threshold.
	RulePerRefund = "per_refund"
	// RulePerPayment: this refund plus the payment's refunds so far (refunded, in flight,
	// awaiting approval) at or above a per-currency threshold — splitting cannot dodge it.
	RulePerPayment = "per_payment"
	// RulePerPersonDay: this refund plus the requester's refunds of the last 24 hours in
	// the currency, on any payment, at or above a daily limit.
	RulePerPersonDay = "per_person_day"
	// RuleReason: refunds with one of the listed reasons.
	RuleReason = "reason"
	// RuleAge: refunds of payments at least so many days old.
	RuleAge = "age"
	// RuleDefault: PAYDESK_APPROVAL_DEFAULT=always, a currency without a per-refund
	// threshold.
	RuleDefault = "default"
)

// The effects of an approval rule.
const (
	// EffectApproval: the refund waits for a manager (the default).
	EffectApproval = storage.DecisionApproval
	// EffectBlock: the refund is refused, nothing recorded but an audit entry.
	EffectBlock = storage.DecisionBlock
)

// ruleOrder is the order rules are looked at: the first that applies names the decision.
var ruleOrder = []string{RulePerRefund, RulePerPayment, RulePerPersonDay, RuleReason, RuleAge, RuleDefault}

// ApprovalRule is one configured rule.
type ApprovalRule struct {
	// Kind is one of the Rule… constants.
	Kind string
	// Effect is EffectApproval ("" means it too) or EffectBlock.
	Effect string
	// Limits are the thresholds in minor units per currency (per_refund, per_payment,
	// per_person_day); a currency without one is not held back by the rule.
	Limits map[string]int64
	// Reasons are the refund reasons' codes that the rule holds back (reason).
	Reasons []string
	// Days is the payment's age, in days, from which the rule holds back (age).
	Days int
	// Source says where the rule was configured ("PAYDESK_APPROVAL_PAYMENT_LIMITS",
	// "rules.toml:12"), for messages.
	Source string
}

// ApprovalPolicy decides which refunds wait for a manager and which are refused: the
// per-refund Thresholds (PAYDESK_APPROVAL_THRESHOLDS), AlwaysByDefault for currencies
// without one, and the other Rules. It is pure: it judges the facts storage read.
type ApprovalPolicy struct {
	// Thresholds in minor units per currency: a refund at or above its currency's
	// threshold waits for a manager (the per_refund rule).
	Thresholds map[string]int64
	// AlwaysByDefault makes every refund in a currency without a threshold need approval;
	// otherwise such refunds need none.
	AlwaysByDefault bool
	// Rules are the other rules (environment and rules file), in any order.
	Rules []ApprovalRule
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
		v, err := parseLimit(amount, cur)
		if err != nil {
			return nil, fmt.Errorf("approval threshold %q: %v", part, err)
		}
		if _, dup := out[cur]; dup {
			return nil, fmt.Errorf("approval threshold: %s is given twice", cur)
		}
		out[cur] = v
	}
	return out, nil
}

// parseLimit reads a positive amount in currency's major units, exactly.
func parseLimit(amount, cur string) (int64, error) {
	v, err := providers.ParseMajor(amount, cur)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive amount in %s (%d decimals)", strings.TrimSpace(amount), cur, providers.Exponent(cur))
	}
	return v, nil
}

// Threshold returns the currency's per-refund threshold, if it has one.
func (p ApprovalPolicy) Threshold(currency string) (int64, bool) {
	t, ok := p.Thresholds[currency]
	return t, ok
}

// Needs reports whether a refund of amount minor units in currency needs approval by the
// per-refund threshold alone (the other rules need facts: see Decide).
func (p ApprovalPolicy) Needs(currency string, amount int64) bool {
	if t, ok := p.Thresholds[currency]; ok {
		return amount >= t
	}
	return p.AlwaysByDefault
}

// Note says, for the refund form, when a refund in currency waits for a manager by the
// per-refund threshold ("" when none does).
func (p ApprovalPolicy) Note(currency string) string {
	if t, ok := p.Threshold(currency); ok {
		return fmt.Sprintf("Refunds from %s need a manager's approval: they wait in the managers' queue and reserve their amount until decided.", providers.FormatMoney(t, currency))
	}
	if p.AlwaysByDefault {
		return fmt.Sprintf("Every refund in %s needs a manager's approval.", currency)
	}
	return ""
}

// all is every rule, the per-refund thresholds and the default included.
func (p ApprovalPolicy) all() []ApprovalRule {
	out := make([]ApprovalRule, 0, len(p.Rules)+2)
	if len(p.Thresholds) > 0 {
		out = append(out, ApprovalRule{Kind: RulePerRefund, Limits: p.Thresholds, Source: "PAYDESK_APPROVAL_THRESHOLDS"})
	}
	out = append(out, p.Rules...)
	if p.AlwaysByDefault {
		out = append(out, ApprovalRule{Kind: RuleDefault, Source: "PAYDESK_APPROVAL_DEFAULT"})
	}
	return out
}

// Decide applies the rules to a request's facts: a blocking rule that applies refuses
// it; otherwise a rule that requires approval sends it to a manager; otherwise it runs at
// once. Among several rules of the deciding effect the first in ruleOrder names the
// decision. Storage calls it inside the write transaction that records the request.
func (p ApprovalPolicy) Decide(f storage.RefundFacts) storage.RefundDecision {
	var block, approval *storage.RefundDecision
	rank := func(d *storage.RefundDecision) int {
		for i, k := range ruleOrder {
			if k == d.Rule {
				return i
			}
		}
		return len(ruleOrder)
	}
	for _, r := range p.all() {
		why, ok := r.applies(p, f)
		if !ok {
			continue
		}
		d := &storage.RefundDecision{Effect: r.effect(), Rule: r.Kind, Why: why}
		slot := &approval
		if d.Effect == EffectBlock {
			slot = &block
		}
		if *slot == nil || rank(d) < rank(*slot) {
			*slot = d
		}
	}
	switch {
	case block != nil:
		return *block
	case approval != nil:
		return *approval
	}
	return storage.RefundDecision{}
}

// effect is the rule's effect, EffectApproval when unset.
func (r ApprovalRule) effect() string {
	if r.Effect == EffectBlock {
		return EffectBlock
	}
	return EffectApproval
}

// applies says whether the rule holds the request back, and what it found in words.
func (r ApprovalRule) applies(p ApprovalPolicy, f storage.RefundFacts) (string, bool) {
	money := func(m int64) string { return providers.FormatMoney(m, f.Currency) }
	limit, hasLimit := r.Limits[f.Currency]
	switch r.Kind {
	case RulePerRefund:
		if hasLimit && f.Amount >= limit {
			return fmt.Sprintf("this refund of %s is at or above %s, the limit for one refund", money(f.Amount), money(limit)), true
		}
	case RulePerPayment:
		if total := f.OnPayment + f.Amount; hasLimit && total >= limit {
			return fmt.Sprintf("this refund brings the refunds on this payment to %s, at or above %s", money(total), money(limit)), true
		}
	case RulePerPersonDay:
		if total := f.ByPerson + f.Amount; hasLimit && total >= limit {
			return fmt.Sprintf("this refund brings the requester's refunds of the last 24 hours to %s, at or above the daily limit of %s", money(total), money(limit)), true
		}
	case RuleReason:
		for _, code := range r.Reasons {
			if code == f.Reason {
				return fmt.Sprintf("the reason is “%s”", storage.RefundReasonLabel(code)), true
			}
		}
	case RuleAge:
		if days := int(f.Now.Sub(f.PaymentCreatedAt).Hours() / 24); r.Days > 0 && days >= r.Days {
			return fmt.Sprintf("the payment is %d days old, at or above %d days", days, r.Days), true
		}
	case RuleDefault:
		if _, ok := p.Thresholds[f.Currency]; !ok {
			return fmt.Sprintf("no per-refund threshold is set for %s", f.Currency), true
		}
	}
	return "", false
}

// RuleName names a rule's kind for people ("per payment").
func RuleName(kind string) string {
	switch kind {
	case RulePerRefund:
		return "per refund"
	case RulePerPayment:
		return "per payment"
	case RulePerPersonDay:
		return "per person, 24 hours"
	case RuleReason:
		return "reason"
	case RuleAge:
		return "payment age"
	case RuleDefault:
		return "every refund"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// DecisionSentence says a decision in one sentence for people: "This refund brings the
// refunds on this payment to 999.98 EUR, at or above 500.00 EUR: a manager must approve
// (rule “per payment”)." It is "" for a refund that runs at once.
func DecisionSentence(d storage.RefundDecision) string {
	switch d.Effect {
	case EffectApproval:
		return fmt.Sprintf("%s: a manager must approve (rule “%s”).", capitalize(d.Why), RuleName(d.Rule))
	case EffectBlock:
		return fmt.Sprintf("%s: Paydesk refuses this refund (rule “%s”).", capitalize(d.Why), RuleName(d.Rule))
	}
	return ""
}

// capitalize upper-cases a sentence's first letter.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
