package ops

import (
	"strings"
	"testing"
	"time"

	"paydesk/storage"
)

// limits builds per-currency limits from "EUR:500.00,…", failing the test on an error.
func limits(t *testing.T, s string) map[string]int64 {
	t.Helper()
	l, err := ParseThresholds(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDecideAtEachBoundary: every rule applies at its threshold and not one minor unit
// (or one second) below it — in a 0-, 2- and 3-decimal currency.
func TestDecideAtEachBoundary(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := "EUR:500.00,JPY:80000,BHD:100.500"
	limit := map[string]int64{"EUR": 50000, "JPY": 80000, "BHD": 100500}
	type tc struct {
		name     string
		rule     ApprovalRule
		facts    func(cur string, at int64) storage.RefundFacts // the facts exactly at the boundary
		below    func(f *storage.RefundFacts)                   // one step below it
		wantRule string
	}
	base := func(cur string) storage.RefundFacts {
		return storage.RefundFacts{Currency: cur, Reason: "duplicate", RequestedBy: "sam@x", Now: now, PaymentCreatedAt: now.Add(-time.Hour)}
	}
	tests := []tc{
		{"per refund", ApprovalRule{Kind: RulePerRefund, Limits: limits(t, l)},
			func(cur string, at int64) storage.RefundFacts { f := base(cur); f.Amount = at; return f },
			func(f *storage.RefundFacts) { f.Amount-- }, RulePerRefund},
		{"per payment", ApprovalRule{Kind: RulePerPayment, Limits: limits(t, l)},
			func(cur string, at int64) storage.RefundFacts {
				f := base(cur)
				f.Amount, f.OnPayment = at/2, at-at/2
				return f
			},
			func(f *storage.RefundFacts) { f.OnPayment-- }, RulePerPayment},
		{"per person, 24 hours", ApprovalRule{Kind: RulePerPersonDay, Limits: limits(t, l)},
			func(cur string, at int64) storage.RefundFacts {
				f := base(cur)
				f.Amount, f.ByPerson = 1, at-1
				return f
			},
			func(f *storage.RefundFacts) { f.ByPerson-- }, RulePerPersonDay},
		{"age", ApprovalRule{Kind: RuleAge, Days: 90},
			func(cur string, at int64) storage.RefundFacts {
				f := base(cur)
				f.Amount, f.PaymentCreatedAt = 1, now.Add(-90*24*time.Hour)
				return f
			},
			func(f *storage.RefundFacts) { f.PaymentCreatedAt = f.PaymentCreatedAt.Add(time.Second) }, RuleAge},
		{"reason", ApprovalRule{Kind: RuleReason, Reasons: []string{"other", "goodwill"}},
			func(cur string, at int64) storage.RefundFacts {
				f := base(cur)
				f.Amount, f.Reason = 1, "other"
				return f
			},
			func(f *storage.RefundFacts) { f.Reason = "duplicate" }, RuleReason},
	}
	for _, tt := range tests {
		for _, cur := range []string{"JPY", "EUR", "BHD"} {
			for _, effect := range []string{EffectApproval, EffectBlock} {
				t.Run(tt.name+"/"+cur+"/"+effect, func(t *testing.T) {
					rule := tt.rule
					rule.Effect = effect
					p := ApprovalPolicy{Rules: []ApprovalRule{rule}}
					f := tt.facts(cur, limit[cur])
					if got := p.Decide(f); got.Effect != effect || got.Rule != tt.wantRule || got.Why == "" {
						t.Errorf("at the boundary: %+v, want %s by %s", got, effect, tt.wantRule)
					}
					tt.below(&f)
					if got := p.Decide(f); got.Effect != "" {
						t.Errorf("one step below: %+v, want no rule", got)
					}
				})
			}
		}
	}
}

// TestDecideOtherCurrencyAndDefault: a currency without a limit is not held back by an
// amount rule; AlwaysByDefault holds back a currency without a per-refund threshold.
func TestDecideOtherCurrencyAndDefault(t *testing.T) {
	f := storage.RefundFacts{Amount: 1 << 40, OnPayment: 1 << 40, ByPerson: 1 << 40, Currency: "GBP", Reason: "duplicate", Now: time.Now(), PaymentCreatedAt: time.Now()}
	p := ApprovalPolicy{Thresholds: limits(t, "EUR:500.00"), Rules: []ApprovalRule{
		{Kind: RulePerPayment, Limits: limits(t, "EUR:500.00")}, {Kind: RulePerPersonDay, Limits: limits(t, "EUR:500.00")}}}
	if got := p.Decide(f); got.Effect != "" {
		t.Errorf("GBP without limits: %+v, want no rule", got)
	}
	p.AlwaysByDefault = true
	if got := p.Decide(f); got.Effect != EffectApproval || got.Rule != RuleDefault {
		t.Errorf("GBP, approval by default: %+v, want the default rule", got)
	}
	f.Currency = "EUR"
	if got := p.Decide(f); got.Rule != RulePerRefund {
		t.Errorf("EUR with a threshold: %+v, want the per-refund rule first", got)
	}
}

// TestDecideBlockWinsAndSentences: a blocking rule that applies refuses even when an
// approval rule applies too; the sentences read as the refund form shows them.
func TestDecideBlockWinsAndSentences(t *testing.T) {
	f := storage.RefundFacts{Amount: 49999, OnPayment: 49999, Currency: "EUR", Reason: "other", Now: time.Now(), PaymentCreatedAt: time.Now()}
	p := ApprovalPolicy{Thresholds: limits(t, "EUR:500.00"), Rules: []ApprovalRule{{Kind: RulePerPayment, Limits: limits(t, "EUR:500.00")}}}
	got := p.Decide(f)
	want := "This refund brings the refunds on this payment to 999.98 EUR, at or above 500.00 EUR: a manager must approve (rule “per payment”)."
	if got.Rule != RulePerPayment || DecisionSentence(got) != want {
		t.Errorf("split refund: %+v %q, want %q", got, DecisionSentence(got), want)
	}
	p.Rules = append(p.Rules, ApprovalRule{Kind: RuleReason, Effect: EffectBlock, Reasons: []string{"other"}})
	got = p.Decide(f)
	if got.Effect != EffectBlock || got.Rule != RuleReason ||
		DecisionSentence(got) != "The reason is “Other (see note)”: Paydesk refuses this refund (rule “reason”)." {
		t.Errorf("blocked: %+v %q", got, DecisionSentence(got))
	}
	if DecisionSentence(storage.RefundDecision{}) != "" {
		t.Error("no rule: want no sentence")
	}
}

// TestRulesFromEnv: the per-payment limits default to the per-refund thresholds; each
// variable is read, "off" turns a rule off, and every mistake names its variable.
func TestRulesFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	rules, errs := RulesFromEnv(env(nil), "EUR:500.00,JPY:80000")
	if len(errs) != 0 || len(rules) != 1 || rules[0].Kind != RulePerPayment || rules[0].Limits["JPY"] != 80000 || rules[0].Effect != EffectApproval {
		t.Fatalf("defaults = %+v, %v; want one per-payment rule from the thresholds", rules, errs)
	}
	rules, errs = RulesFromEnv(env(map[string]string{
		EnvPaymentLimits: "off", EnvDailyLimits: "EUR:2000.00,BHD:750.125", EnvReasons: "other, goodwill",
		EnvAgeDays: "180", EnvBlock: "age",
	}), "EUR:500.00")
	if len(errs) != 0 || len(rules) != 3 {
		t.Fatalf("rules = %+v, %v; want daily, reason and age", rules, errs)
	}
	if rules[0].Kind != RulePerPersonDay || rules[0].Limits["BHD"] != 750125 ||
		rules[1].Kind != RuleReason || strings.Join(rules[1].Reasons, "|") != "other|goodwill" ||
		rules[2].Kind != RuleAge || rules[2].Days != 180 || rules[2].Effect != EffectBlock {
		t.Errorf("rules = %+v", rules)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvPaymentLimits: "EUR:5OO"}, EnvPaymentLimits + `: approval threshold "EUR:5OO": "5OO" is not a positive amount in EUR (2 decimals)`},
		{map[string]string{EnvDailyLimits: "JPY:100.5"}, EnvDailyLimits + `: approval threshold "JPY:100.5": "100.5" is not a positive amount in JPY (0 decimals)`},
		{map[string]string{EnvDailyLimits: "BHD:1.0005"}, "not a positive amount in BHD (3 decimals)"},
		{map[string]string{EnvReasons: "other,angry"}, EnvReasons + `: "angry" is not a refund reason`},
		{map[string]string{EnvAgeDays: "ninety"}, EnvAgeDays + `="ninety": use a number of days`},
		{map[string]string{EnvBlock: "per_refund"}, EnvBlock + `: "per_refund" is not a rule that can block`},
		{map[string]string{EnvBlock: "reason"}, EnvBlock + " lists reason, which " + EnvReasons + " does not configure"},
	} {
		_, errs := RulesFromEnv(env(tt.env), "EUR:500.00")
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("%v: errors %v, want one containing %q", tt.env, errs, tt.want)
		}
	}
}

// exampleRules is the rules file of docs/governance.md.
const exampleRules = `# Paydesk approval rules
[[rule]]
kind = "per_payment"
limits = { EUR = "500.00", JPY = "80000", BHD = "150.500" }

[[rule]]
kind = "per_payment"
effect = "block"
limits = { EUR = "5000.00" }

[[rule]]
kind = "per_person_day"
limits = { EUR = "2000.00" }

[[rule]]
kind = "reason"
reasons = ["other"]

[[rule]]
kind = "age"
days = 180
effect = "block"
`

// TestParseRules reads the documented example, and names the file and the rule's line
// for each mistake.
func TestParseRules(t *testing.T) {
	rules, err := ParseRules("rules.toml", []byte(exampleRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 5 || rules[0].Limits["BHD"] != 150500 || rules[0].Limits["JPY"] != 80000 || rules[1].Effect != EffectBlock ||
		rules[1].Limits["EUR"] != 500000 || rules[3].Reasons[0] != "other" || rules[4].Days != 180 || rules[2].Source != "rules.toml:11" {
		t.Errorf("rules = %+v", rules)
	}
	for _, tt := range []struct{ file, want string }{
		{"[[rule]]\nkind = \"per_payment\"\nlimits = { EUR = 500.5 }\n", `rules.toml:1: rule 1: limits: EUR = 500.5: write the amount as text`},
		{"\n\n[[rule]]\nkind = \"per_payment\"\nlimits = { EUR = \"500.001\" }\n", `rules.toml:3: rule 1: limits: EUR: "500.001" is not a positive amount in EUR (2 decimals)`},
		{"[[rule]]\nkind = \"age\"\ndays = 9\n\n[[rule]]\nkind = \"weekly\"\n", `rules.toml:5: rule 2: kind "weekly"`},
		{"[[rule]]\nkind = \"reason\"\nreasons = [\"angry\"]\n", `rules.toml:1: rule 1: reasons: "angry" is not a refund reason`},
		{"[[rule]]\nkind = \"age\"\neffect = \"deny\"\ndays = 3\n", `rules.toml:1: rule 1: effect "deny": use approval or block`},
		{"[[rule]]\nkind = \"age\"\n", `rules.toml:1: rule 1: an age rule needs days`},
		{"[[rule]]\nkind = \"per_refund\"\n", `rules.toml:1: rule 1: a per_refund rule needs limits`},
		{"[[rule]]\nkind = \"age\"\ndays = 3\nlimit = 4\n", `rules.toml: unknown setting "rule.limit"`},
		{"[[rule]]\nkind = \"age\"\ndays = = 3\n", `rules.toml:3: `},
	} {
		_, err := ParseRules("rules.toml", []byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.file, err, tt.want)
		}
	}
	if _, err := RulesFromFile("/nonexistent/rules.toml"); err == nil || !strings.Contains(err.Error(), "/nonexistent/rules.toml") {
		t.Errorf("missing file: %v, want its name", err)
	}
}
