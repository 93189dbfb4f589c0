package main

import (
	"strings"
	"testing"
	"time"
)

// TestReconcileGraceSetting: PAYDESK_RECONCILE_GRACE reaches the reconciler, and start-up
// refuses a grace a provider call could outlast (the reconciler would read the provider
// while the refund is still being made, and call it failed).
func TestReconcileGraceSetting(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := loadConfig(env(map[string]string{}), true)
	if err != nil || c.ReconcileGrace != 2*time.Minute {
		t.Errorf("default grace %s (%v), want 2m", c.ReconcileGrace, err)
	}
	c, err = loadConfig(env(map[string]string{"PAYDESK_RECONCILE_GRACE": "8s", "PAYDESK_PROVIDER_TIMEOUT": "2s"}), true)
	if err != nil || c.ReconcileGrace != 8*time.Second {
		t.Errorf("grace 8s with a 2s provider timeout: %s (%v)", c.ReconcileGrace, err)
	}
	for _, kv := range []map[string]string{
		{"PAYDESK_RECONCILE_GRACE": "15s"}, // the default provider timeout is 10s, +5s margin
		{"PAYDESK_RECONCILE_GRACE": "7s", "PAYDESK_PROVIDER_TIMEOUT": "2s"},
	} {
		if _, err := loadConfig(env(kv), true); err == nil || !strings.Contains(err.Error(), "PAYDESK_RECONCILE_GRACE") {
			t.Errorf("%v was taken: %v", kv, err)
		}
	}
}
