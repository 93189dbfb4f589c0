package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"paydesk/ops"
	"paydesk/ops/mailer"
	"paydesk/providers"
	"paydesk/web"
	"paydesk/web/auth"
)

// Config is every setting Paydesk reads, from environment variables (see README).
type Config struct {
	Addr     string // PAYDESK_ADDR
	DBPath   string // PAYDESK_DB
	BaseURL  string // PAYDESK_BASE_URL
	LogLevel string // PAYDESK_LOG_LEVEL: debug, info, warn, error
	LogJSON  bool   // PAYDESK_LOG_FORMAT=json

	OIDCIssuer       string   // PAYDESK_OIDC_ISSUER
	OIDCClientID     string   // PAYDESK_OIDC_CLIENT_ID
	OIDCClientSecret string   // PAYDESK_OIDC_CLIENT_SECRET (secret)
	OIDCScopes       []string // PAYDESK_OIDC_SCOPES
	GroupsClaim      string   // PAYDESK_OIDC_GROUPS_CLAIM
	RoleGroups       string   // PAYDESK_ROLE_GROUPS
	RoleEmails       string   // PAYDESK_ROLE_EMAILS
	// OIDCProviderLogout is PAYDESK_OIDC_PROVIDER_LOGOUT: auto (the default: on when the
	// issuer advertises end_session_endpoint), on or off.
	OIDCProviderLogout string

	SessionHashKey  []byte        // PAYDESK_SESSION_HASH_KEY (secret)
	SessionBlockKey []byte        // PAYDESK_SESSION_BLOCK_KEY (secret)
	SessionIdle     time.Duration // PAYDESK_SESSION_IDLE
	SessionMax      time.Duration // PAYDESK_SESSION_MAX
	StepUpMaxAge    time.Duration // PAYDESK_STEPUP_MAX_AGE
	LinkSecret      []byte        // PAYDESK_LINK_SECRET (secret)

	Thresholds      string        // PAYDESK_APPROVAL_THRESHOLDS
	ApprovalDefault string        // PAYDESK_APPROVAL_DEFAULT: none | always
	ApprovalTTL     time.Duration // PAYDESK_APPROVAL_TTL
	// ApprovalRules are the approval rules besides the per-refund thresholds:
	// PAYDESK_APPROVAL_PAYMENT_LIMITS, _DAILY_LIMITS, _REASONS, _AGE_DAYS, _BLOCK and
	// the rules file PAYDESK_APPROVAL_RULES_FILE (docs/governance.md).
	ApprovalRules []ops.ApprovalRule

	ProviderTimeout time.Duration // PAYDESK_PROVIDER_TIMEOUT

	BatchMaxItems int              // PAYDESK_BATCH_MAX_ITEMS (docs/batches.md)
	BatchCaps     map[string]int64 // PAYDESK_BATCH_CAPS: CURRENCY:AMOUNT,… per batch
	BatchUndo     time.Duration    // PAYDESK_BATCH_UNDO: the undo window before an approved batch starts
	BatchRate     float64          // PAYDESK_BATCH_RATE: items per second per provider account

	// Providers are the registered providers' settings, each read by the provider's
	// package from its own PAYDESK_<NAME>_* variables.
	Providers map[providers.Name]providers.Settings
	// Accounts are the provider accounts Paydesk calls and takes webhooks for: each
	// enabled provider's variables as its "default" account, then those of the file
	// PAYDESK_ACCOUNTS_FILE (accounts.go); the demo's own in the demo (demo_accounts.go).
	Accounts []accountConfig

	DemoPayments    int // PAYDESK_DEMO_PAYMENTS
	PageCacheMB     int // PAYDESK_PAGE_CACHE_MB: rendered list pages kept; 0 turns it off
	PageConcurrency int // PAYDESK_PAGE_CONCURRENCY: pages worked out at once (0: one per core, -1: no limit)

	ReconcileEvery time.Duration // PAYDESK_RECONCILE_EVERY
	// ReconcileGrace is PAYDESK_RECONCILE_GRACE: how long a pending action is left to its
	// call in flight before the reconciler reads the provider (ops.Config.ReconcileGrace).
	ReconcileGrace time.Duration
	JobRetry       time.Duration // PAYDESK_JOB_RETRY: how often background jobs are taken over and checked (several instances)
	Instance       string        // PAYDESK_INSTANCE: the Paydesk-Instance response header (instance.go)
	MetricsAddr    string        // PAYDESK_METRICS_ADDR
	Profiling      bool          // PAYDESK_PPROF=1: Go's profiles on the metrics listener
	TestCrashAt    string        // PAYDESK_TEST_CRASH_AT (crash tests only)

	// The webhook flood guards (config_webhooks.go).
	WebhookRefusedPerMinute int            // PAYDESK_WEBHOOK_REFUSED_PER_MINUTE
	WebhookTrustedProxies   []netip.Prefix // PAYDESK_WEBHOOK_TRUSTED_PROXIES (default PAYDESK_TRUSTED_PROXIES)
	TrustedProxies          []netip.Prefix // PAYDESK_TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For names the client
	WebhookRetention        time.Duration  // PAYDESK_WEBHOOK_RETENTION
	WebhookRefusedRetention time.Duration  // PAYDESK_WEBHOOK_REFUSED_RETENTION

	// SMTP is PAYDESK_SMTP_URL and PAYDESK_MAIL_FROM parsed (nil: e-mail is off; the demo
	// points it at its own catcher). MailMaxAttempts, MailBackoff and MailLease tune the
	// sender (PAYDESK_MAIL_MAX_ATTEMPTS, _BACKOFF, _LEASE; docs/email.md).
	SMTP            *mailer.Config
	MailMaxAttempts int
	MailBackoff     time.Duration
	MailLease       time.Duration
	// mailBox is the demo's SMTP catcher (nil outside the demo), read by /mail.
	mailBox web.MailBox

	// metrics are built at start-up (not configured): the web server and the provider
	// guards report to the same set.
	metrics *web.Metrics
}

// loadConfig reads the environment. demo relaxes what the demo provides itself (issuer,
// keys, provider URLs); everything else is checked the same way.
func loadConfig(getenv func(string) string, demo bool) (Config, error) {
	var errs []error
	getenv, fileErrs := withSecretFiles(getenv)
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := str(key, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: use a positive duration such as 15m or 72h", key, v))
			return def
		}
		return d
	}
	key := func(name string, sizes ...int) []byte {
		v := str(name, "")
		if v == "" {
			return nil
		}
		b, err := decodeKey(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
			return nil
		}
		ok := len(sizes) == 0
		for _, s := range sizes {
			if len(b) == s || (s == 0 && len(b) >= 32) {
				ok = true
			}
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s: wrong length %d bytes (want %v; 0 means at least 32)", name, len(b), sizes))
			return nil
		}
		return b
	}
	defAddr, defDB := ":8080", "paydesk.db"
	if demo {
		defAddr, defDB = "127.0.0.1:8080", "paydesk-demo.db"
	}
	c := Config{
		Addr:     str("PAYDESK_ADDR", defAddr),
		DBPath:   str("PAYDESK_DB", defDB),
		BaseURL:  strings.TrimRight(str("PAYDESK_BASE_URL", ""), "/"),
		LogLevel: str("PAYDESK_LOG_LEVEL", "info"),
		LogJSON:  str("PAYDESK_LOG_FORMAT", "text") == "json",

		OIDCIssuer:       str("PAYDESK_OIDC_ISSUER", ""),
		OIDCClientID:     str("PAYDESK_OIDC_CLIENT_ID", ""),
		OIDCClientSecret: str("PAYDESK_OIDC_CLIENT_SECRET", ""),
		OIDCScopes:       strings.Fields(strings.ReplaceAll(str("PAYDESK_OIDC_SCOPES", "openid email profile groups"), ",", " ")),
		GroupsClaim:      str("PAYDESK_OIDC_GROUPS_CLAIM", "groups"),
		RoleGroups:       str("PAYDESK_ROLE_GROUPS", ""),
		RoleEmails:       str("PAYDESK_ROLE_EMAILS", ""),

		OIDCProviderLogout: strings.ToLower(str("PAYDESK_OIDC_PROVIDER_LOGOUT", auth.ProviderLogoutAuto)),

		SessionHashKey:  key("PAYDESK_SESSION_HASH_KEY", 0),
		SessionBlockKey: key("PAYDESK_SESSION_BLOCK_KEY", 16, 24, 32),
		SessionIdle:     dur("PAYDESK_SESSION_IDLE", 30*time.Minute),
		SessionMax:      dur("PAYDESK_SESSION_MAX", 12*time.Hour),
		StepUpMaxAge:    dur("PAYDESK_STEPUP_MAX_AGE", 15*time.Minute),
		LinkSecret:      key("PAYDESK_LINK_SECRET", 0),

		Thresholds:      str("PAYDESK_APPROVAL_THRESHOLDS", "EUR:500.00,GBP:400.00,UAH:20000.00,XTS:500.00,JPY:80000"),
		ApprovalDefault: str("PAYDESK_APPROVAL_DEFAULT", "none"),
		ApprovalTTL:     dur("PAYDESK_APPROVAL_TTL", 72*time.Hour),
		ProviderTimeout: dur("PAYDESK_PROVIDER_TIMEOUT", 10*time.Second),
	}
	c.ReconcileEvery = dur("PAYDESK_RECONCILE_EVERY", time.Minute)
	c.ReconcileGrace = dur("PAYDESK_RECONCILE_GRACE", 2*time.Minute)
	// A call in flight lasts at most the provider timeout plus the HTTP client's margin
	// (realAccounts): a shorter grace could settle a refund the provider is still making.
	if limit := c.ProviderTimeout + providerCallMargin; c.ReconcileGrace <= limit {
		errs = append(errs, fmt.Errorf("PAYDESK_RECONCILE_GRACE=%s: must be longer than a provider call can last (PAYDESK_PROVIDER_TIMEOUT + %s = %s)", c.ReconcileGrace, providerCallMargin, limit))
	}
	c.JobRetry = dur("PAYDESK_JOB_RETRY", 5*time.Second)
	c.MetricsAddr = str("PAYDESK_METRICS_ADDR", "")
	c.Instance = str("PAYDESK_INSTANCE", "")
	if err := checkInstance(c.Instance); err != nil {
		errs = append(errs, err)
	}
	c.TestCrashAt = str("PAYDESK_TEST_CRASH_AT", "")
	errs = append(errs, c.loadMail(str, dur)...)
	switch v := str("PAYDESK_PPROF", ""); v {
	case "", "0":
	case "1":
		c.Profiling = true
		if c.MetricsAddr == "" {
			errs = append(errs, errors.New("PAYDESK_PPROF=1 needs PAYDESK_METRICS_ADDR: profiles are served on the metrics listener only"))
		}
	default:
		errs = append(errs, fmt.Errorf("PAYDESK_PPROF=%q: use 1 or leave it unset", v))
	}
	c.Providers = map[providers.Name]providers.Settings{}
	for _, d := range providers.Descriptors() {
		s, problems := d.LoadSettings(getenv)
		c.Providers[d.Name] = s
		errs = append(errs, problems...)
	}
	if demo {
		c.Accounts = demoAccounts(c.Providers)
	} else {
		var problems []error
		c.Accounts, problems = loadAccounts(getenv, c.Providers)
		errs = append(errs, problems...)
	}
	if c.TestCrashAt != "" {
		if _, _, err := parseCrashAt(c.TestCrashAt); err != nil {
			errs = append(errs, err)
		}
	}
	c.metrics = web.NewMetrics()
	n, err := strconv.Atoi(str("PAYDESK_DEMO_PAYMENTS", "5000"))
	if err != nil || n < 0 || n > 5_000_000 {
		errs = append(errs, fmt.Errorf("PAYDESK_DEMO_PAYMENTS=%q: use a number from 0 to 5000000", getenv("PAYDESK_DEMO_PAYMENTS")))
	}
	c.DemoPayments = n
	switch v := str("PAYDESK_PAGE_CONCURRENCY", ""); v {
	case "":
	case "off":
		c.PageConcurrency = -1
	default:
		if c.PageConcurrency, err = strconv.Atoi(v); err != nil || c.PageConcurrency < 1 || c.PageConcurrency > 1024 {
			errs = append(errs, fmt.Errorf("PAYDESK_PAGE_CONCURRENCY=%q: use a number of pages from 1 to 1024, or off", v))
		}
	}
	if c.PageCacheMB, err = strconv.Atoi(str("PAYDESK_PAGE_CACHE_MB", "8")); err != nil || c.PageCacheMB < 0 || c.PageCacheMB > 1024 {
		errs = append(errs, fmt.Errorf("PAYDESK_PAGE_CACHE_MB=%q: use a number of megabytes from 0 (off) to 1024", getenv("PAYDESK_PAGE_CACHE_MB")))
	}
	if _, err := ops.ParseThresholds(c.Thresholds); err != nil {
		errs = append(errs, fmt.Errorf("PAYDESK_APPROVAL_THRESHOLDS: %v", err))
	}
	if c.BatchMaxItems, err = strconv.Atoi(str("PAYDESK_BATCH_MAX_ITEMS", strconv.Itoa(ops.DefaultBatchMaxItems))); err != nil || c.BatchMaxItems < 1 || c.BatchMaxItems > 100000 {
		errs = append(errs, fmt.Errorf("PAYDESK_BATCH_MAX_ITEMS=%q: use a number of items from 1 to 100000", getenv("PAYDESK_BATCH_MAX_ITEMS")))
	}
	if c.BatchCaps, err = ops.ParseThresholds(str("PAYDESK_BATCH_CAPS", "")); err != nil {
		errs = append(errs, fmt.Errorf("PAYDESK_BATCH_CAPS: %v", strings.Replace(err.Error(), "approval threshold", "batch cap", 1)))
	}
	c.BatchUndo = dur("PAYDESK_BATCH_UNDO", ops.DefaultBatchUndo)
	if c.BatchUndo > 24*time.Hour {
		errs = append(errs, fmt.Errorf("PAYDESK_BATCH_UNDO=%q: use a duration up to 24h", getenv("PAYDESK_BATCH_UNDO")))
	}
	if c.BatchRate, err = strconv.ParseFloat(str("PAYDESK_BATCH_RATE", strconv.FormatFloat(ops.DefaultBatchRate, 'f', -1, 64)), 64); err != nil || !(c.BatchRate >= 0.01 && c.BatchRate <= 1000) {
		errs = append(errs, fmt.Errorf("PAYDESK_BATCH_RATE=%q: use a number of items per second per provider account from 0.01 to 1000", getenv("PAYDESK_BATCH_RATE")))
	}
	// Approval rules: the variables, then the rules file; all of them apply.
	rules, problems := ops.RulesFromEnv(getenv, c.Thresholds)
	errs = append(errs, problems...)
	if path := str(ops.EnvRulesFile, ""); path != "" {
		more, err := ops.RulesFromFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ops.EnvRulesFile, err))
		}
		rules = append(rules, more...)
	}
	c.ApprovalRules = rules
	if c.ApprovalDefault != "none" && c.ApprovalDefault != "always" {
		errs = append(errs, fmt.Errorf("PAYDESK_APPROVAL_DEFAULT=%q: use none or always", c.ApprovalDefault))
	}
	switch c.OIDCProviderLogout {
	case auth.ProviderLogoutAuto, auth.ProviderLogoutOn, auth.ProviderLogoutOff:
	default:
		errs = append(errs, fmt.Errorf("PAYDESK_OIDC_PROVIDER_LOGOUT=%q: use auto, on or off", c.OIDCProviderLogout))
	}
	for _, v := range []struct{ name, value string }{{"PAYDESK_ROLE_GROUPS", c.RoleGroups}, {"PAYDESK_ROLE_EMAILS", c.RoleEmails}} {
		if v.value == "" {
			continue
		}
		if _, err := auth.ParseRoleMap(v.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", v.name, err))
		}
	}
	if !demo {
		required := []struct{ name, value string }{
			{"PAYDESK_BASE_URL", c.BaseURL},
			{"PAYDESK_OIDC_ISSUER", c.OIDCIssuer},
			{"PAYDESK_OIDC_CLIENT_ID", c.OIDCClientID},
			{"PAYDESK_OIDC_CLIENT_SECRET", c.OIDCClientSecret},
		}
		for _, r := range required {
			if r.value == "" {
				errs = append(errs, fmt.Errorf("%s is required", r.name))
			}
		}
		if c.SessionHashKey == nil {
			errs = append(errs, errors.New("PAYDESK_SESSION_HASH_KEY is required: at least 32 random bytes, hex or base64 (e.g. openssl rand -hex 32)"))
		}
		if c.SessionBlockKey == nil {
			errs = append(errs, errors.New("PAYDESK_SESSION_BLOCK_KEY is required: 32 random bytes, hex or base64 (e.g. openssl rand -hex 32)"))
		}
		if c.LinkSecret == nil {
			errs = append(errs, errors.New("PAYDESK_LINK_SECRET is required: at least 32 random bytes, hex or base64"))
		}
		if c.RoleGroups == "" && c.RoleEmails == "" {
			errs = append(errs, errors.New("PAYDESK_ROLE_GROUPS or PAYDESK_ROLE_EMAILS is required: nobody could do anything without a role mapping"))
		}
		errs = append(errs, c.providerProblems()...)
	}
	errs = append(errs, c.loadWebhookFlood(getenv)...)
	errs = append(errs, *fileErrs...)
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// providerProblems is what production lacks on the providers' side: at least one
// provider, and everything each configured provider needs.
func (c Config) providerProblems() []error {
	var errs, missing []error
	var vars []string
	for _, d := range providers.Descriptors() {
		vars = append(vars, d.BaseURLVariable)
	}
	for _, a := range c.Accounts {
		for _, err := range a.Settings.Check() {
			missing = append(missing, a.problem(err))
		}
	}
	if !c.anyProvider() {
		errs = append(errs, fmt.Errorf("configure at least one provider (%s, or accounts in %s)", providers.JoinOr(vars), envAccountsFile))
	}
	return append(errs, missing...)
}

// anyProvider reports whether at least one provider account is configured.
func (c Config) anyProvider() bool { return len(c.Accounts) > 0 }

// approvalPolicy builds the web layer's policy (thresholds were checked by loadConfig).
func (c Config) approvalPolicy() ops.ApprovalPolicy {
	t, _ := ops.ParseThresholds(c.Thresholds)
	return ops.ApprovalPolicy{Thresholds: t, AlwaysByDefault: c.ApprovalDefault == "always", Rules: c.ApprovalRules}
}

// decodeKey accepts hex or base64 (standard or URL, padded or not).
func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not hex or base64")
}

// loadMail reads e-mail's settings: PAYDESK_SMTP_URL (unset: e-mail is off), with
// PAYDESK_MAIL_FROM required beside it, and the sender's tuning.
func (c *Config) loadMail(str func(key, def string) string, dur func(key string, def time.Duration) time.Duration) []error {
	var errs []error
	c.MailBackoff = dur("PAYDESK_MAIL_BACKOFF", 30*time.Second)
	c.MailLease = dur("PAYDESK_MAIL_LEASE", 2*time.Minute)
	n, err := strconv.Atoi(str("PAYDESK_MAIL_MAX_ATTEMPTS", "6"))
	if err != nil || n < 1 || n > 100 {
		errs = append(errs, fmt.Errorf("PAYDESK_MAIL_MAX_ATTEMPTS=%q: use a number of attempts from 1 to 100", str("PAYDESK_MAIL_MAX_ATTEMPTS", "")))
	}
	c.MailMaxAttempts = n
	raw, from := str("PAYDESK_SMTP_URL", ""), str("PAYDESK_MAIL_FROM", "")
	if raw == "" {
		if from != "" {
			errs = append(errs, errors.New("PAYDESK_MAIL_FROM is set but PAYDESK_SMTP_URL is not: set both to send e-mail, or neither"))
		}
		return errs
	}
	if from == "" {
		return append(errs, errors.New("PAYDESK_MAIL_FROM is required with PAYDESK_SMTP_URL: the address Paydesk's e-mails come from, e.g. Paydesk <paydesk@example.com>"))
	}
	mc, err := mailer.Parse(raw, from)
	if err != nil {
		return append(errs, fmt.Errorf("PAYDESK_SMTP_URL: %w", err))
	}
	c.SMTP = &mc
	return errs
}

// mailConfig is the Desk's e-mail configuration (no sender: e-mail is off).
func (c Config) mailConfig() ops.MailConfig {
	if c.SMTP == nil {
		return ops.MailConfig{}
	}
	return ops.MailConfig{Sender: mailer.New(*c.SMTP), MaxAttempts: c.MailMaxAttempts, Backoff: c.MailBackoff, Lease: c.MailLease}
}
