// Package web is Paydesk's HTTP side: the route table, middleware, sign-in wiring and one
// handler per thing a user does. It talks to storage and to the provider contract, never
// to a concrete provider: cmd/paydesk builds the provider set and hands it in. What a
// handler does is a call to the ops Desk: parse the form, call, answer.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"

	"paydesk/ops"
	"paydesk/static"
	"paydesk/storage"
	"paydesk/web/auth"
)

// Config is what the web server needs beyond its collaborators. What the product's
// operations need (base URL, payer-link secret, approval policy…) is the Desk's.
type Config struct {
	// Demo marks the embedded demo (shown in the page header; relaxes nothing security-related).
	Demo bool
	// MaxBody caps request bodies (default 64 KiB).
	MaxBody int64

	// Metrics receives the server's metrics: when nil, the Desk's when they are a
	// *Metrics, else a new set.
	Metrics *Metrics
	// PageConcurrency is how many signed-in pages (GET, but exports) are worked out at
	// once; the others wait their turn in arrival order (turns.go). 0 means one per core,
	// a negative value no limit.
	PageConcurrency int
	// PageCacheBytes caps the cache of rendered list pages (page_cache.go): 0 means
	// 8 MiB, a negative value turns the cache off.
	PageCacheBytes int
	// TrustedProxies are the reverse proxies in front of Paydesk: a request from one of
	// them comes from the address its X-Forwarded-For names (client_addr.go).
	TrustedProxies []netip.Prefix
	// MailBox, in the demo, is its SMTP catcher: /mail shows what it caught.
	MailBox MailBox
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
	cfg    Config
	desk   *ops.Desk   // what Paydesk does: every action goes through it
	db     *storage.DB // the Desk's store, read directly by the list pages
	auth   Authenticator
	assets *static.Assets
	log    *slog.Logger
	routes []Route

	metrics *Metrics
	pages   *pageCache         // rendered list pages; nil when off
	nav     *pageCache         // the saved views' counts in the navigation (saved_views.go); always on
	turns   turns              // signed-in pages worked out at once (turns.go); nil: no limit
	jobs    *storage.JobLeader // the background jobs of this instance (WatchJobs); nil: none shown
}

// New checks the configuration and builds the server around the Desk.
func New(cfg Config, desk *ops.Desk, a Authenticator, log *slog.Logger) (*Server, error) {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 64 << 10
	}
	if desk == nil || a == nil {
		return nil, errors.New("web: a desk and an authenticator are required")
	}
	if log == nil {
		log = slog.Default()
	}
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	if cfg.Metrics == nil {
		if m, ok := desk.Metrics().(*Metrics); ok {
			cfg.Metrics = m
		} else {
			cfg.Metrics = NewMetrics()
		}
	}
	s := &Server{cfg: cfg, desk: desk, db: desk.Store(), auth: a, assets: assets, log: log, metrics: cfg.Metrics,
		nav: newPageCache(navCacheBytes, nil)}
	s.metrics.watchOutbox(s.db)
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

// Desk is the operations the server calls (cmd runs its reconciler and maintenance).
func (s *Server) Desk() *ops.Desk { return s.desk }
