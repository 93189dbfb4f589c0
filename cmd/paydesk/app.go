package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/web"
	"paydesk/web/auth"
)

// secrets are the keys a server needs, from configuration or (demo) from the database.
type secrets struct {
	hashKey, blockKey, linkSecret []byte
}

// buildWeb builds the authenticator and the web server around an open database.
func buildWeb(ctx context.Context, c Config, demoMode bool, db *storage.DB, accounts []ops.Account, sec secrets, issuer, clientID, clientSecret, roleGroups string, log *slog.Logger) (*web.Server, error) {
	groups, err := auth.ParseRoleMap(roleGroups)
	if err != nil {
		return nil, fmt.Errorf("PAYDESK_ROLE_GROUPS: %w", err)
	}
	var emails map[string][]auth.Role
	if c.RoleEmails != "" {
		if emails, err = auth.ParseRoleMap(c.RoleEmails); err != nil {
			return nil, fmt.Errorf("PAYDESK_ROLE_EMAILS: %w", err)
		}
	}
	audit := func(ctx context.Context, r *http.Request, actor, kind, message string) {
		e := storage.AuditEntry{Actor: actor, Kind: kind, Message: message}
		if r != nil {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				e.Remote = host
			}
		}
		if _, err := db.Audit(ctx, e); err != nil {
			log.Error("audit", "kind", kind, "err", err)
		}
	}
	// Several instances share one PostgreSQL database: they share the failed sign-in budget
	// too. One process serves a SQLite file: its memory is enough, and a write there would
	// empty the page cache.
	var limits auth.RateLimits
	if db.Engine() == storage.Postgres {
		limits = db
	}
	a, err := auth.New(ctx, auth.Config{
		IssuerURL: issuer, ClientID: clientID, ClientSecret: clientSecret,
		RedirectURL: c.BaseURL + "/auth/callback", Scopes: c.OIDCScopes, GroupsClaim: c.GroupsClaim,
		GroupRoles: groups, EmailRoles: emails,
		StepUpMaxAge: c.StepUpMaxAge, IdleTimeout: c.SessionIdle, AbsoluteTimeout: c.SessionMax,
		HashKey: sec.hashKey, BlockKey: sec.blockKey, Secure: !demoMode,
		Sessions:              db, // sessions are records in the database (web/auth/store.go)
		RateLimits:            limits,
		PostLogoutRedirectURL: c.BaseURL + auth.SignedOutPath,
		ProviderLogout:        c.OIDCProviderLogout,
		LoginPath:             "/auth/login",
		Logger:                log,
		Audit:                 audit,
		OnSignIn:              web.RecordSignIn(db, log),
	})
	if err != nil {
		return nil, err
	}
	desk, err := ops.New(ops.Config{
		BaseURL: c.BaseURL, LinkSecret: sec.linkSecret, Approval: c.approvalPolicy(), ApprovalTTL: c.ApprovalTTL,
		BatchMaxItems: c.BatchMaxItems, BatchCaps: c.BatchCaps, BatchUndo: c.BatchUndo, BatchRate: c.BatchRate,
		Accounts: accounts, Webhooks: c.unconfiguredWebhooks(), Metrics: c.metrics, Hook: crashHook(c.TestCrashAt, log), ReconcileGrace: c.ReconcileGrace,
		WebhookRefusalsPerMinute: c.WebhookRefusedPerMinute, WebhookTrustedProxies: c.WebhookTrustedProxies,
		WebhookRetention: c.WebhookRetention, WebhookRefusedRetention: c.WebhookRefusedRetention,
		Mail: c.mailConfig(),
	}, db, nil, log)
	if err != nil {
		return nil, err
	}
	return web.New(web.Config{
		Demo: demoMode, Metrics: c.metrics,
		PageCacheBytes: pageCacheBytes(c.PageCacheMB), PageConcurrency: c.PageConcurrency,
		TrustedProxies: c.TrustedProxies, MailBox: c.mailBox,
	}, desk, a, log)
}

// providerCallMargin is what a provider's HTTP client allows beyond PAYDESK_PROVIDER_TIMEOUT
// (the hard limit of one call: reading a slow answer's body included).
const providerCallMargin = 5 * time.Second

// realAccounts builds the client of every configured account, each behind its own
// resilience guard (reliability.go: one account's outage does not open another's
// circuit), and its webhook receiver, which follows hints through that client.
func realAccounts(c Config) ([]ops.Account, error) {
	hcTimeout := c.ProviderTimeout + providerCallMargin
	var out []ops.Account
	for _, a := range c.Accounts {
		g := newGuarded(a.Provider, c.metrics)
		p, err := a.Settings.Client(g.client(hcTimeout), c.ProviderTimeout)
		if err != nil {
			return nil, a.problem(err)
		}
		client := g.guard.Wrap(p)
		out = append(out, ops.Account{Provider: a.Provider, Name: a.Name, Default: a.Default,
			Client: client, Webhooks: a.Settings.Webhooks(client)})
	}
	return out, nil
}

// unconfiguredWebhooks are the webhook receivers of the registered providers that have no
// account, built from their variables without a client (a receiver whose secret is not
// set refuses every webhook as not configured).
func (c Config) unconfiguredWebhooks() map[providers.Name]providers.WebhookReceiver {
	out := map[providers.Name]providers.WebhookReceiver{}
	for _, n := range providers.Names {
		if s := c.Providers[n]; s != nil && !slices.ContainsFunc(c.Accounts, func(a accountConfig) bool { return a.Provider == n }) {
			out[n] = s.Webhooks(nil)
		}
	}
	return out
}

// serveHTTP serves h on ln until ctx is done, then shuts down gracefully: requests in
// flight (a provider call among them) get up to 30 seconds to finish.
// pageCacheBytes turns PAYDESK_PAGE_CACHE_MB into web.Config.PageCacheBytes (0 is off).
func pageCacheBytes(mb int) int {
	if mb == 0 {
		return -1
	}
	return mb << 20
}

func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
