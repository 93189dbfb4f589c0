// Package ops is what Paydesk does, as plain Go methods on one value, the Desk: refund,
// cancel, expire, refresh, approve or reject a refund, make a payer link, settle a payer's
// return, reconcile the journal and keep house. Each operation takes a context, the acting
// person and typed arguments, enforces every rule itself (eligibility, role, balance,
// approval, a fresh sign-in), records its intent before a provider call and the outcome
// after, and says in plain words what happened. It knows nothing of HTTP, pages or
// cookies: package web parses a form, calls the Desk and answers (docs/architecture.md).
package ops

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/storage"
)

// Config is what the Desk needs beyond its collaborators.
type Config struct {
	// BaseURL is Paydesk's public URL: the payer comes back to it from a payer link.
	BaseURL string
	// LinkSecret signs the opaque state carried by payer links (at least 32 bytes).
	LinkSecret []byte
	// Approval decides which refunds need a manager's approval.
	Approval ApprovalPolicy
	// ApprovalTTL is how long a refund may wait for approval (default 72h).
	ApprovalTTL time.Duration
	// ReconcileGrace is how long a pending action may wait for its provider call before
	// the reconciler treats it as abandoned (default 2m, above any provider timeout).
	// Actions left pending by an earlier process are reconciled at once.
	ReconcileGrace time.Duration
	// Now is the clock (tests replace it).
	Now func() time.Time
	// Webhooks are the registered providers' webhook receivers, built by cmd/paydesk from
	// each provider's settings. A provider without one has its webhooks refused as not
	// configured, so it sends them again once Paydesk can verify them (webhooks.go).
	// They and New's clients are the "default" accounts of the providers Accounts lacks.
	Webhooks map[providers.Name]providers.WebhookReceiver
	// Accounts are the configured provider accounts, each with its client and webhook
	// receiver (accounts.go).
	Accounts []Account
	// Metrics receives the actions, webhooks and reconciler runs (none counted when nil).
	Metrics Metrics
	// Hook, when set, is called at each step of a provider action ("before_call",
	// "before_store"); only the crash test sets it.
	Hook func(step string)
	// Mail sends e-mail through the outbox (mail.go); e-mail is off without a Sender.
	Mail MailConfig

	// Public endpoints that cannot be flooded (webhook_limit.go, maintain.go):
	// WebhookRefusalsPerMinute is how many refused webhooks (not verified, or too large)
	// one source address may have recorded per minute, a burst refilled evenly; past it
	// they are answered 429 and not recorded (default 20). WebhookLimitSources bounds the
	// sources tracked in memory (default 10,000). WebhookTrustedProxies are the proxies
	// whose X-Forwarded-For names the source (none by default: the direct peer).
	// WebhookRetention and WebhookRefusedRetention are how long accepted and refused
	// webhook records are kept (defaults 90 and 7 days).
	WebhookRefusalsPerMinute int
	WebhookLimitSources      int
	WebhookTrustedProxies    []netip.Prefix
	WebhookRetention         time.Duration
	WebhookRefusedRetention  time.Duration

	// Batches (batch_preview.go): BatchMaxItems is the most items one batch may hold
	// (default 10,000); BatchCaps are the most money one batch may move per currency, in
	// minor units (none by default): items beyond a cap are set aside.
	BatchMaxItems int
	BatchCaps     map[string]int64
	// BatchUndo is how long an approved batch waits before it starts, during which its
	// requester or a manager may cancel it (default 10 minutes; batch_run.go).
	// BatchRate is how many items per second a batch sends to one provider account
	// (default 5).
	BatchUndo time.Duration
	BatchRate float64
}

// Metrics is what the Desk counts; web's Prometheus metrics implement it.
type Metrics interface {
	// Action counts one finished provider action by kind (refund, cancel, void, expire)
	// and outcome.
	Action(kind string, outcome providers.OutcomeKind)
	// Reconciled counts one reconciler run (or the settling a webhook triggered) and
	// what it did.
	Reconciled(res ReconcileResult, err error)
	// Webhook counts one received webhook by provider and verdict (the Verdict
	// constants: "too_large" for one refused unread, "rate_limited" for a refusal
	// turned away unrecorded).
	Webhook(provider providers.Name, verdict string)
}

// noMetrics counts nothing.
type noMetrics struct{}

func (noMetrics) Action(string, providers.OutcomeKind) {}
func (noMetrics) Reconciled(ReconcileResult, error)    {}
func (noMetrics) Webhook(providers.Name, string)       {}

// Desk holds what every operation uses. It is safe for concurrent use.
type Desk struct {
	cfg       Config
	db        *storage.DB
	accounts  map[providers.Name][]*Account // by provider, in configuration order (accounts.go)
	log       *slog.Logger
	metrics   Metrics
	started   time.Time    // when this desk was built: older pending actions are abandoned
	reconcile sync.Mutex   // one reconciler run at a time
	hooks     webhookLocks // one webhook at a time per provider

	// The public endpoints' flood guards, in this process's memory.
	refusals refusalGuard // refused webhooks per source (webhook_limit.go)
	returns  payerReturns // payer returns per link (payer_return.go)

	batches batchWorker // the batch worker's pace, runs and follow-up (batch_run.go)
}

// New checks the configuration and builds the Desk.
func New(cfg Config, db *storage.DB, provs map[providers.Name]providers.Provider, log *slog.Logger) (*Desk, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ApprovalTTL == 0 {
		cfg.ApprovalTTL = 72 * time.Hour
	}
	cfg.Mail = cfg.Mail.withDefaults()
	if cfg.BatchMaxItems <= 0 {
		cfg.BatchMaxItems = DefaultBatchMaxItems
	}
	if cfg.BatchUndo <= 0 {
		cfg.BatchUndo = DefaultBatchUndo
	}
	if cfg.BatchRate <= 0 {
		cfg.BatchRate = DefaultBatchRate
	}
	if cfg.ReconcileGrace == 0 {
		cfg.ReconcileGrace = 2 * time.Minute
	}
	if len(cfg.LinkSecret) < 32 {
		return nil, errors.New("ops: the payer-link secret must be at least 32 bytes (PAYDESK_LINK_SECRET)")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ops: the base URL %q must be an absolute http(s) URL (PAYDESK_BASE_URL)", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if db == nil {
		return nil, errors.New("ops: a database is required")
	}
	if log == nil {
		log = slog.Default()
	}
	m := cfg.Metrics
	if m == nil {
		m = noMetrics{}
	}
	accounts, err := buildAccounts(cfg, provs)
	if err != nil {
		return nil, err
	}
	return &Desk{cfg: cfg, db: db, accounts: accounts, log: log, metrics: m, started: cfg.Now()}, nil
}

// Store is the database the Desk works on (pages read lists from it directly).
func (d *Desk) Store() *storage.DB { return d.db }

// Now is the Desk's clock.
func (d *Desk) Now() time.Time { return d.cfg.Now() }

// BaseURL is Paydesk's public URL, without a trailing slash.
func (d *Desk) BaseURL() string { return d.cfg.BaseURL }

// Approval is the approval policy (the refund form says when a refund will wait).
func (d *Desk) Approval() ApprovalPolicy { return d.cfg.Approval }

// ApprovalTTL is how long a refund may wait for a manager.
func (d *Desk) ApprovalTTL() time.Duration { return d.cfg.ApprovalTTL }

// Metrics is what the Desk counts into.
func (d *Desk) Metrics() Metrics { return d.metrics }

// MakesPayerLinks reports whether a provider's payments may need the payer to confirm
// through a link (its clients can make one).
func (d *Desk) MakesPayerLinks(n providers.Name) bool {
	for _, a := range d.accounts[n] {
		if _, ok := a.Client.(providers.PayerLinker); ok {
			return true
		}
	}
	return false
}

// hook tells Config.Hook (the crash test) that an action reached step.
func (d *Desk) hook(step string) {
	if d.cfg.Hook != nil {
		d.cfg.Hook(step)
	}
}
