package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paydesk/ops"
)

// TestApprovalRulesSettings: out of the box the per-payment limits follow the per-refund
// thresholds; the variables and the rules file add up; a mistake stops start-up with the
// variable, the file and the line named.
func TestApprovalRulesSettings(t *testing.T) {
	c, err := loadConfig(envWith("", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	p := c.approvalPolicy()
	if len(p.Rules) != 1 || p.Rules[0].Kind != ops.RulePerPayment || p.Rules[0].Limits["EUR"] != 50000 || p.Thresholds["JPY"] != 80000 {
		t.Errorf("default policy = %+v, want the per-payment limits of the thresholds", p)
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "rules.toml")
	os.WriteFile(good, []byte("[[rule]]\nkind = \"reason\"\nreasons = [\"other\"]\neffect = \"block\"\n"), 0o600)
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("# rules\n\n[[rule]]\nkind = \"per_person_day\"\nlimits = { JPY = \"10.5\" }\n"), 0o600)
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

	c, err = loadConfig(env(map[string]string{"PAYDESK_APPROVAL_RULES_FILE": good, "PAYDESK_APPROVAL_DAILY_LIMITS": "EUR:2000.00"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.approvalPolicy(); len(p.Rules) != 3 || p.Rules[1].Kind != ops.RulePerPersonDay || p.Rules[2].Kind != ops.RuleReason || p.Rules[2].Effect != ops.EffectBlock {
		t.Errorf("rules = %+v, want per payment, per person and the file's reason rule", p.Rules)
	}

	_, err = loadConfig(env(map[string]string{"PAYDESK_APPROVAL_RULES_FILE": bad, "PAYDESK_APPROVAL_AGE_DAYS": "-3"}), true)
	for _, want := range []string{
		"PAYDESK_APPROVAL_RULES_FILE: " + bad + `:3: rule 1: limits: JPY: "10.5" is not a positive amount in JPY (0 decimals)`,
		`PAYDESK_APPROVAL_AGE_DAYS="-3"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}
