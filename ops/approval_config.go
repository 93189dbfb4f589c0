package ops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"paydesk/providers"
	"paydesk/storage"
)

// The environment variables of the approval rules besides PAYDESK_APPROVAL_THRESHOLDS
// (per refund) and PAYDESK_APPROVAL_DEFAULT (docs/governance.md, README).
const (
	EnvPaymentLimits = "PAYDESK_APPROVAL_PAYMENT_LIMITS"
	EnvDailyLimits   = "PAYDESK_APPROVAL_DAILY_LIMITS"
	EnvReasons       = "PAYDESK_APPROVAL_REASONS"
	EnvAgeDays       = "PAYDESK_APPROVAL_AGE_DAYS"
	EnvBlock         = "PAYDESK_APPROVAL_BLOCK"
	EnvRulesFile     = "PAYDESK_APPROVAL_RULES_FILE"
)

// RulesFromEnv reads the approval rules configured by environment variables. thresholds
// is PAYDESK_APPROVAL_THRESHOLDS' value: the per-payment limits default to it, so that
// splitting a refund cannot dodge the threshold; "off" turns a rule off. Every problem is
// returned, each naming its variable.
func RulesFromEnv(getenv func(string) string, thresholds string) ([]ApprovalRule, []error) {
	var rules []ApprovalRule
	var errs []error
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	block := map[string]bool{}
	for _, k := range splitList(get(EnvBlock)) {
		switch k {
		case RulePerPayment, RulePerPersonDay, RuleReason, RuleAge:
			block[k] = true
		default:
			errs = append(errs, fmt.Errorf("%s: %q is not a rule that can block; use per_payment, per_person_day, reason or age", EnvBlock, k))
		}
	}
	effect := func(kind string) string {
		if block[kind] {
			return EffectBlock
		}
		return EffectApproval
	}
	limits := func(name, kind, def string) {
		v := get(name)
		if v == "" {
			v = def
		}
		if v == "" || v == "off" {
			if block[kind] {
				errs = append(errs, fmt.Errorf("%s lists %s, which %s does not configure", EnvBlock, kind, name))
			}
			return
		}
		l, err := ParseThresholds(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
			return
		}
		rules = append(rules, ApprovalRule{Kind: kind, Effect: effect(kind), Limits: l, Source: name})
	}
	limits(EnvPaymentLimits, RulePerPayment, thresholds)
	limits(EnvDailyLimits, RulePerPersonDay, "")
	if v := get(EnvReasons); v != "" && v != "off" {
		reasons := splitList(v)
		for _, code := range reasons {
			if !storage.ValidRefundReason(code) {
				errs = append(errs, fmt.Errorf("%s: %q is not a refund reason; use %s", EnvReasons, code, reasonCodes()))
			}
		}
		rules = append(rules, ApprovalRule{Kind: RuleReason, Effect: effect(RuleReason), Reasons: reasons, Source: EnvReasons})
	} else if block[RuleReason] {
		errs = append(errs, fmt.Errorf("%s lists reason, which %s does not configure", EnvBlock, EnvReasons))
	}
	if v := get(EnvAgeDays); v != "" && v != "off" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36500 {
			errs = append(errs, fmt.Errorf("%s=%q: use a number of days from 1 to 36500, or off", EnvAgeDays, v))
		} else {
			rules = append(rules, ApprovalRule{Kind: RuleAge, Effect: effect(RuleAge), Days: n, Source: EnvAgeDays})
		}
	} else if block[RuleAge] {
		errs = append(errs, fmt.Errorf("%s lists age, which %s does not configure", EnvBlock, EnvAgeDays))
	}
	return rules, errs
}

// splitList reads "a, b,c" into its non-empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// reasonCodes lists the reasons staff may choose, for messages.
func reasonCodes() string {
	var codes []string
	for _, r := range storage.RefundReasons {
		codes = append(codes, r.Code)
	}
	return strings.Join(codes, ", ")
}

// fileRule is one [[rule]] of a rules file.
type fileRule struct {
	Kind    string         `toml:"kind"`
	Effect  string         `toml:"effect"`
	Limits  map[string]any `toml:"limits"`
	Reasons []string       `toml:"reasons"`
	Days    int64          `toml:"days"`
}

// RulesFromFile reads a rules file (TOML, docs/governance.md):
//
//	[[rule]]
//	kind = "per_payment"        # per_refund, per_payment, per_person_day, reason, age
//	effect = "approval"         # or "block"
//	limits = { EUR = "500.00", JPY = "80000", BHD = "150.500" }
//
// Each problem names the file and the line of its rule.
func RulesFromFile(path string) ([]ApprovalRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("approval rules file: %w", err)
	}
	return ParseRules(path, data)
}

// ParseRules reads the text of a rules file named name (for messages).
func ParseRules(name string, data []byte) ([]ApprovalRule, error) {
	var doc struct {
		Rule []fileRule `toml:"rule"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown setting %q; a [[rule]] has kind, effect, limits, reasons and days", name, und[0].String())
	}
	lines := ruleLines(data)
	var out []ApprovalRule
	var errs []error
	for i, fr := range doc.Rule {
		where := name
		if n := lines.at(i); n > 0 {
			where = fmt.Sprintf("%s:%d", name, n)
		}
		r, problems := fr.rule(where)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: rule %d: %s", where, i+1, p))
		}
		if len(problems) == 0 {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// rule checks a rule of a file and builds it; where is "file:line".
func (fr fileRule) rule(where string) (ApprovalRule, []string) {
	r := ApprovalRule{Kind: strings.TrimSpace(fr.Kind), Effect: strings.TrimSpace(fr.Effect), Source: where}
	var problems []string
	switch r.Effect {
	case "":
		r.Effect = EffectApproval
	case EffectApproval, EffectBlock:
	default:
		problems = append(problems, fmt.Sprintf("effect %q: use approval or block", fr.Effect))
	}
	amounts := r.Kind == RulePerRefund || r.Kind == RulePerPayment || r.Kind == RulePerPersonDay
	switch {
	case amounts:
		if len(fr.Limits) == 0 {
			problems = append(problems, fmt.Sprintf("a %s rule needs limits, e.g. limits = { EUR = \"500.00\" }", r.Kind))
		}
		r.Limits = map[string]int64{}
		keys := make([]string, 0, len(fr.Limits))
		for k := range fr.Limits {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			cur := strings.ToUpper(strings.TrimSpace(k))
			if !providers.ValidCurrency(cur) {
				problems = append(problems, fmt.Sprintf("limits: %q is not a currency code", k))
				continue
			}
			var text string
			switch v := fr.Limits[k].(type) {
			case string:
				text = v
			case int64:
				text = strconv.FormatInt(v, 10)
			default:
				problems = append(problems, fmt.Sprintf("limits: %s = %v: write the amount as text, e.g. %s = \"500.00\" (decimals in a number are not exact)", k, v, cur))
				continue
			}
			v, err := parseLimit(text, cur)
			if err != nil {
				problems = append(problems, fmt.Sprintf("limits: %s: %v", k, err))
				continue
			}
			if _, dup := r.Limits[cur]; dup {
				problems = append(problems, fmt.Sprintf("limits: %s is given twice", cur))
			}
			r.Limits[cur] = v
		}
	case r.Kind == RuleReason:
		if len(fr.Reasons) == 0 {
			problems = append(problems, "a reason rule needs reasons, e.g. reasons = [\"other\"]")
		}
		for _, code := range fr.Reasons {
			if !storage.ValidRefundReason(code) {
				problems = append(problems, fmt.Sprintf("reasons: %q is not a refund reason; use %s", code, reasonCodes()))
			}
		}
		r.Reasons = fr.Reasons
	case r.Kind == RuleAge:
		if fr.Days < 1 || fr.Days > 36500 {
			problems = append(problems, "an age rule needs days, from 1 to 36500, e.g. days = 90")
		}
		r.Days = int(fr.Days)
	case r.Kind == "":
		problems = append(problems, "kind is missing: use per_refund, per_payment, per_person_day, reason or age")
	default:
		problems = append(problems, fmt.Sprintf("kind %q: use per_refund, per_payment, per_person_day, reason or age", fr.Kind))
	}
	if !amounts && len(fr.Limits) > 0 {
		problems = append(problems, fmt.Sprintf("limits do not apply to a %s rule", r.Kind))
	}
	if r.Kind != RuleReason && len(fr.Reasons) > 0 {
		problems = append(problems, fmt.Sprintf("reasons do not apply to a %s rule", r.Kind))
	}
	if r.Kind != RuleAge && fr.Days != 0 {
		problems = append(problems, fmt.Sprintf("days do not apply to a %s rule", r.Kind))
	}
	return r, problems
}

// headerLines are the line numbers of a file's [[rule]] headers, in order.
type headerLines []int

// ruleLines finds the [[rule]] headers: the decoder gives no positions for values, so a
// rule's problems name the line its header is on.
func ruleLines(data []byte) headerLines {
	var out headerLines
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.ReplaceAll(strings.SplitN(line, "#", 2)[0], " ", "") == "[[rule]]" {
			out = append(out, n)
		}
	}
	return out
}

// at is the line of rule i (0 when unknown).
func (h headerLines) at(i int) int {
	if i < len(h) {
		return h[i]
	}
	return 0
}
