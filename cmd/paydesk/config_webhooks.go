package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults of the webhook flood guards (README's configuration table).
const (
	defaultWebhookRefusedPerMinute = 20
	defaultWebhookRetention        = 90 * 24 * time.Hour
	defaultWebhookRefusedRetention = 7 * 24 * time.Hour
)

// loadWebhookFlood reads the webhook flood guards into c: refused webhooks recorded per
// source and minute, the proxies whose X-Forwarded-For names the source, and how long
// accepted and refused webhook records are kept. It returns what is wrong.
func (c *Config) loadWebhookFlood(getenv func(string) string) []error {
	var errs []error
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }

	c.WebhookRefusedPerMinute = defaultWebhookRefusedPerMinute
	if v := get("PAYDESK_WEBHOOK_REFUSED_PER_MINUTE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			errs = append(errs, fmt.Errorf("PAYDESK_WEBHOOK_REFUSED_PER_MINUTE=%q: use a number of refused webhooks per source and minute from 1 to 100000", v))
		} else {
			c.WebhookRefusedPerMinute = n
		}
	}
	var perr []error
	c.TrustedProxies, perr = proxyPrefixes("PAYDESK_TRUSTED_PROXIES", get)
	errs = append(errs, perr...)
	c.WebhookTrustedProxies, perr = proxyPrefixes("PAYDESK_WEBHOOK_TRUSTED_PROXIES", get)
	errs = append(errs, perr...)
	if get("PAYDESK_WEBHOOK_TRUSTED_PROXIES") == "" {
		// The reverse proxy in front of every request is in front of webhooks too.
		c.WebhookTrustedProxies = c.TrustedProxies
	}
	days := func(key string, def time.Duration) time.Duration {
		v := get(key)
		if v == "" {
			return def
		}
		d, err := parseDays(v)
		if err != nil || d < time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q: use a number of days such as 90d, or a duration of at least 1h such as 72h", key, v))
			return def
		}
		return d
	}
	c.WebhookRetention = days("PAYDESK_WEBHOOK_RETENTION", defaultWebhookRetention)
	c.WebhookRefusedRetention = days("PAYDESK_WEBHOOK_REFUSED_RETENTION", defaultWebhookRefusedRetention)
	if c.WebhookRefusedRetention > c.WebhookRetention {
		errs = append(errs, fmt.Errorf("PAYDESK_WEBHOOK_REFUSED_RETENTION (%s) is longer than PAYDESK_WEBHOOK_RETENTION (%s): refused records are kept at most as long as the others",
			c.WebhookRefusedRetention, c.WebhookRetention))
	}
	return errs
}

// parseDays reads "90d" (whole days) or a Go duration ("72h").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 100*365 {
			return 0, fmt.Errorf("not a number of days: %q", v)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// proxyPrefixes reads a list of addresses and networks ("10.0.0.0/8, 192.0.2.10") from key.
func proxyPrefixes(key string, get func(string) string) ([]netip.Prefix, []error) {
	var out []netip.Prefix
	var errs []error
	for _, f := range strings.FieldsFunc(get(key), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an address or a network such as 10.0.0.0/8", key, f))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, errs
}
