// Package web is Paydesk's HTTP side: the route table, middleware, sign-in wiring and one
// handler per thing a user does. It talks to storage and to the provider contract, never
// to a concrete provider: cmd/paydesk builds the provider set and hands it in.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/static"
	"paydesk/storage"
	"paydesk/web/auth"
)

// Config is what the web server needs beyond its collaborators.
type Config struct {
	// BaseURL is Paydesk's public URL (payer links and the OIDC redirect are built from it).
	BaseURL string
	// Demo marks the embedded demo (shown in the page header; relaxes nothing security-related).
	Demo bool
	// LinkSecret signs the opaque state carried by payer links (at least 32 bytes).
	LinkSecret []byte
	// Approval decides which refunds need a manager's approval.
	Approval ApprovalPolicy
	// ApprovalTTL is how long a refund may wait for approval (default 72h).
	ApprovalTTL time.Duration
	// MaxBody caps request bodies (default 64 KiB).
	MaxBody int64
	// Now is the clock (tests replace it).
	Now func() time.Time

	// Webhooks are the registered providers' webhook receivers, built by cmd/paydesk
	// from each provider's settings (webhooks.go). A provider without one has its
	// webhooks refused with 503.
	Webhooks map[providers.Name]providers.WebhookReceiver
	// ReconcileGrace is how long a pending action may wait for its provider call before
	// the reconciler treats it as abandoned (default 2m, above any provider timeout).
	// Actions left pending by an earlier process are reconciled at once.
	ReconcileGrace time.Duration
	// Metrics receives the server's metrics (a new set when nil).
	Metrics *Metrics
	// PageConcurrency is how many signed-in pages (GET, but exports) are worked out at
	// once; the others wait their turn in arrival order (turns.go). 0 means one per core,
	// a negative value no limit.
	PageConcurrency int
	// PageCacheBytes caps the cache of rendered list pages (page_cache.go): 0 means
	// 8 MiB, a negative value turns the cache off.
	PageCacheBytes int

	// Hook, when set, is called by runAction at each step of a provider action
	// ("before_call", "before_store"); only the crash test sets it.
	Hook func(step string)
}

// Authenticator is the sign-in side as the handlers use it (implemented by *auth.Auth).
type Authenticator interface {
	CurrentUser(w http.ResponseWriter, r *http.Request) (auth.User, bool)
	Login(w http.ResponseWriter, r *http.Request)
	Callback(w http.ResponseWriter, r *http.Request)
	Logout(w http.ResponseWriter, r *http.Request)
	Fresh(u auth.User) bool
	StepUp(w http.ResponseWriter, r *http.Request, returnTo string, form url.Values)
	SavedForm(w http.ResponseWriter, r *http.Request, path string) (url.Values, bool)
	AddFlash(w http.ResponseWriter, r *http.Request, kind, msg string)
	Flashes(w http.ResponseWriter, r *http.Request) []auth.Flash
}

// Server holds the collaborators every handler uses.
type Server struct {
	cfg       Config
	db        *storage.DB
	providers map[providers.Name]providers.Provider
	auth      Authenticator
	assets    *static.Assets
	log       *slog.Logger
	routes    []Route

	metrics   *Metrics
	pages     *pageCache // rendered list pages; nil when off
	turns     turns      // signed-in pages worked out at once (turns.go); nil: no limit
	started   time.Time  // when this server was built: older pending actions are abandoned
	webhooks  sync.Map   // provider → *sync.Mutex: one webhook at a time per provider
	reconcile sync.Mutex // one reconciler run at a time
}

// New checks the configuration and builds the server.
func New(cfg Config, db *storage.DB, provs map[providers.Name]providers.Provider, a Authenticator, log *slog.Logger) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ApprovalTTL == 0 {
		cfg.ApprovalTTL = 72 * time.Hour
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 64 << 10
	}
	if len(cfg.LinkSecret) < 32 {
		return nil, errors.New("web: the payer-link secret must be at least 32 bytes (PAYDESK_LINK_SECRET)")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: the base URL %q must be an absolute http(s) URL (PAYDESK_BASE_URL)", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if db == nil || a == nil {
		return nil, errors.New("web: a database and an authenticator are required")
	}
	if log == nil {
		log = slog.Default()
	}
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	if cfg.ReconcileGrace == 0 {
		cfg.ReconcileGrace = 2 * time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	s := &Server{cfg: cfg, db: db, providers: provs, auth: a, assets: assets, log: log, metrics: cfg.Metrics, started: cfg.Now()}
	switch {
	case cfg.PageCacheBytes == 0:
		s.pages = newPageCache(defaultPageCacheBytes, s.metrics.pageCache)
	case cfg.PageCacheBytes > 0:
		s.pages = newPageCache(cfg.PageCacheBytes, s.metrics.pageCache)
	}
	switch n := cfg.PageConcurrency; {
	case n == 0:
		s.turns = make(turns, runtime.GOMAXPROCS(0))
	case n > 0:
		s.turns = make(turns, n)
	}
	s.routes = s.routeTable()
	return s, nil
}

// Handler returns the whole application: every route wrapped in the middleware chain.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	mux.Handle("/", s.guard(Route{Pattern: "/", Access: Public, Handler: s.notFound}))
	return s.middleware(mux)
}

// MetricsHandler serves the Prometheus metrics. It is not in the route table: it belongs
// on a listen address of its own, reachable by the monitoring system only.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.Handler() }

// Routes returns the route table (tests walk it).
func (s *Server) Routes() []Route { return s.routes }

// provider returns the client for a payment's provider, or nil.
func (s *Server) provider(n providers.Name) providers.Provider {
	return s.providers[n]
}
