package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/resilient"
	"paydesk/storage"
)

// Metrics are Paydesk's Prometheus metrics, on a registry of their own (no global state).
// Labels only ever take values from fixed sets — route patterns, provider names, outcome
// kinds, verdicts — never an id, an e-mail or an amount, so the metrics carry no payment
// data. They are served by MetricsHandler, which cmd/paydesk puts on its own listen
// address (PAYDESK_METRICS_ADDR), never on the public one.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	providerCalls   *prometheus.CounterVec
	providerLatency *prometheus.HistogramVec
	providerRetries *prometheus.CounterVec
	circuit         *prometheus.GaugeVec
	actions         *prometheus.CounterVec
	webhooks        *prometheus.CounterVec
	reconciled      *prometheus.CounterVec
	reconcileRuns   *prometheus.CounterVec
	pageCacheHits   *prometheus.CounterVec
	jobs            *prometheus.GaugeVec
	mailAttempts    *prometheus.CounterVec
	outboxOnce      sync.Once
	// the two children of pageCacheHits, looked up once: every list page counts one
	pageCacheHit, pageCacheMiss prometheus.Counter
}

// NewMetrics registers every Paydesk metric, with the Go runtime and process collectors,
// on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paydesk_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_provider_calls_total",
			Help: "Calls to payment providers, by provider, operation and outcome (circuit_open and rate_limited: refused by Paydesk, not sent).",
		}, []string{"provider", "operation", "outcome"}),
		providerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paydesk_provider_call_duration_seconds",
			Help:    "Duration of calls sent to payment providers, retries included.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider", "operation"}),
		providerRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_provider_read_retries_total",
			Help: "Reads retried after a connection error, a 5xx or a 429, by provider and reason. Money-moving calls are never retried.",
		}, []string{"provider", "reason"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paydesk_provider_circuit_state",
			Help: "1 for the current state of each provider's circuit breaker (closed, open, half_open).",
		}, []string{"provider", "state"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_actions_total",
			Help: "Actions run against providers (cancel, void, expire, refund), by kind and outcome.",
		}, []string{"kind", "outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_webhooks_total",
			Help: "Webhooks received, by provider and verdict (too_large: refused unread; rate_limited: a refusal past its source's budget, answered 429 and not recorded).",
		}, []string{"provider", "verdict"}),
		reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_reconciler_actions_total",
			Help: "Open actions the reconciler looked at, by result (succeeded, failed, needs_payer, still_unknown, marked_unknown, error).",
		}, []string{"result"}),
		reconcileRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_reconciler_runs_total",
			Help: "Reconciler runs, by result (ok, error).",
		}, []string{"result"}),
		pageCacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_page_cache_lookups_total",
			Help: "Payments list pages asked of the page cache, by result (hit: served without a query; miss: rendered).",
		}, []string{"result"}),
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paydesk_background_job_held",
			Help: "1 for each background job this instance runs now (reconciler, maintenance), 0 for one another instance runs: across instances each job sums to 1.",
		}, []string{"job"}),
		mailAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paydesk_mail_attempts_total",
			Help: "Attempts to send an e-mail of the outbox, by outcome (sent; retry: failed, tried again later; failed: the last attempt failed).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.providerCalls, m.providerLatency, m.providerRetries, m.circuit,
		m.actions, m.webhooks, m.reconciled, m.reconcileRuns, m.pageCacheHits, m.jobs, m.mailAttempts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, n := range providers.Names {
		m.CircuitState(n, resilient.Closed)
	}
	m.pageCacheHit, m.pageCacheMiss = m.pageCacheHits.WithLabelValues("hit"), m.pageCacheHits.WithLabelValues("miss")
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics live (tests read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// JobHeld records whether this instance runs a background job (storage.JobLeader's OnChange).
func (m *Metrics) JobHeld(job string, held bool) {
	v := 0.0
	if held {
		v = 1
	}
	m.jobs.WithLabelValues(job).Set(v)
}

// pageCache counts one lookup in the page cache.
func (m *Metrics) pageCache(hit bool) {
	if hit {
		m.pageCacheHit.Inc()
	} else {
		m.pageCacheMiss.Inc()
	}
}

// request counts one answered request.
func (m *Metrics) request(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// ProviderCall counts one call through a provider guard (resilient.Options.Observe).
func (m *Metrics) ProviderCall(c resilient.Call) {
	m.providerCalls.WithLabelValues(string(c.Provider), c.Operation, c.Outcome).Inc()
	if c.Outcome != "circuit_open" && c.Outcome != "rate_limited" {
		m.providerLatency.WithLabelValues(string(c.Provider), c.Operation).Observe(c.Duration.Seconds())
	}
}

// ProviderRetry counts one retried read (resilient.Options.OnRetry).
func (m *Metrics) ProviderRetry(provider providers.Name, reason string) {
	m.providerRetries.WithLabelValues(string(provider), reason).Inc()
}

// CircuitState records a breaker's new state (resilient.Options.OnState).
func (m *Metrics) CircuitState(provider providers.Name, state resilient.State) {
	for _, s := range []resilient.State{resilient.Closed, resilient.Open, resilient.HalfOpen} {
		v := 0.0
		if s == state {
			v = 1
		}
		m.circuit.WithLabelValues(string(provider), string(s)).Set(v)
	}
}

// Action counts one finished action (ops.Metrics).
func (m *Metrics) Action(kind string, outcome providers.OutcomeKind) {
	m.actions.WithLabelValues(kind, string(outcome)).Inc()
}

// Webhook counts one received webhook by provider and verdict (ops.Metrics).
func (m *Metrics) Webhook(provider providers.Name, verdict string) {
	m.webhooks.WithLabelValues(string(provider), verdict).Inc()
}

// Reconciled counts one reconciler run and what it did (ops.Metrics).
func (m *Metrics) Reconciled(res ops.ReconcileResult, err error) {
	if err != nil {
		m.reconcileRuns.WithLabelValues("error").Inc()
	} else {
		m.reconcileRuns.WithLabelValues("ok").Inc()
	}
	for result, n := range map[string]int{
		"succeeded": res.Succeeded, "failed": res.Failed, "needs_payer": res.NeedsPayer,
		"still_unknown": res.StillUnknown, "marked_unknown": res.MarkedUnknown, "error": res.Errors,
	} {
		if n > 0 {
			m.reconciled.WithLabelValues(result).Add(float64(n))
		}
	}
}

// MailAttempt counts one attempt to send an e-mail (ops.MailMetrics).
func (m *Metrics) MailAttempt(outcome string) {
	m.mailAttempts.WithLabelValues(outcome).Inc()
}

// watchOutbox adds the outbox's gauge (messages by state, read at each scrape) once.
func (m *Metrics) watchOutbox(db *storage.DB) {
	m.outboxOnce.Do(func() {
		m.reg.MustRegister(outboxCollector{db: db, desc: prometheus.NewDesc("paydesk_mail_outbox_messages",
			"E-mails in the outbox by state (queued, sending, failed, sent).", []string{"state"}, nil)})
	})
}
