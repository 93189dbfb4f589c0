package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestWebhookFloodConfig: the webhook flood guards' defaults, accepted values and clear
// refusals.
func TestWebhookFloodConfig(t *testing.T) {
	c, err := loadConfig(envWith("", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookRefusedPerMinute != 20 || c.WebhookTrustedProxies != nil || c.WebhookRetention != 90*24*time.Hour || c.WebhookRefusedRetention != 7*24*time.Hour {
		t.Errorf("defaults: %d/min, proxies %v, retention %s / %s", c.WebhookRefusedPerMinute, c.WebhookTrustedProxies, c.WebhookRetention, c.WebhookRefusedRetention)
	}
	env := map[string]string{
		"PAYDESK_WEBHOOK_REFUSED_PER_MINUTE": "5",
		"PAYDESK_WEBHOOK_TRUSTED_PROXIES":    "10.0.0.0/8, 192.0.2.10 2001:db8::/32",
		"PAYDESK_WEBHOOK_RETENTION":          "30d",
		"PAYDESK_WEBHOOK_REFUSED_RETENTION":  "36h",
	}
	c, err = loadConfig(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8::/32")}
	if c.WebhookRefusedPerMinute != 5 || len(c.WebhookTrustedProxies) != 3 || c.WebhookTrustedProxies[1] != want[1] || c.WebhookTrustedProxies[2] != want[2] ||
		c.WebhookRetention != 30*24*time.Hour || c.WebhookRefusedRetention != 36*time.Hour {
		t.Errorf("read: %d/min, proxies %v, retention %s / %s", c.WebhookRefusedPerMinute, c.WebhookTrustedProxies, c.WebhookRetention, c.WebhookRefusedRetention)
	}
	// The proxies in front of every request are in front of webhooks too, unless told apart.
	env = map[string]string{"PAYDESK_TRUSTED_PROXIES": "10.0.0.0/8"}
	if c, err = loadConfig(func(k string) string { return env[k] }, true); err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 1 || len(c.WebhookTrustedProxies) != 1 || c.WebhookTrustedProxies[0] != want[0] {
		t.Errorf("PAYDESK_TRUSTED_PROXIES alone: %v, webhooks %v", c.TrustedProxies, c.WebhookTrustedProxies)
	}
	for key, value := range map[string]string{
		"PAYDESK_TRUSTED_PROXIES":            "10.0.0.0/99",
		"PAYDESK_WEBHOOK_REFUSED_PER_MINUTE": "0",
		"PAYDESK_WEBHOOK_TRUSTED_PROXIES":    "proxy.example",
		"PAYDESK_WEBHOOK_RETENTION":          "forever",
		"PAYDESK_WEBHOOK_REFUSED_RETENTION":  "1m",
	} {
		if _, err := loadConfig(envWith(key, value), true); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: err = %v, want one naming it", key, value, err)
		}
	}
	longer := map[string]string{"PAYDESK_WEBHOOK_RETENTION": "7d", "PAYDESK_WEBHOOK_REFUSED_RETENTION": "8d"}
	if _, err := loadConfig(func(k string) string { return longer[k] }, true); err == nil || !strings.Contains(err.Error(), "longer than PAYDESK_WEBHOOK_RETENTION") {
		t.Errorf("refused kept longer than accepted: err = %v", err)
	}
}
