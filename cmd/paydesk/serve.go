package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"

	"paydesk/storage"
)

// serve is production: real OpenID Connect issuer, real provider APIs.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("serve takes no arguments; configure it with PAYDESK_* variables (see README)")
	}
	c, err := loadConfig(getenv, false)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	accounts, err := realAccounts(c)
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, c.DBPath)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := buildWeb(ctx, c, false, db, accounts, secrets{hashKey: c.SessionHashKey, blockKey: c.SessionBlockKey, linkSecret: c.LinkSecret},
		c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret, c.RoleGroups, log)
	if err != nil {
		return err
	}
	// The reconciler (at start-up, then periodically), expiry of approvals and payer links,
	// and the metrics listener, stopped before the database closes.
	stopBackground, err := background(ctx, c, srv, log)
	if err != nil {
		return err
	}
	defer stopBackground()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	log.Info("paydesk serving", "addr", ln.Addr().String(), "base_url", c.BaseURL, "db", redactDB(c.DBPath), "instance", c.Instance)
	return serveHTTP(ctx, ln, withInstance(c.Instance, srv.Handler()), log)
}

// redactDB is PAYDESK_DB fit for a log: a PostgreSQL URL without its password (in the
// user part or a password parameter).
func redactDB(dsn string) string {
	if storage.EngineOf(dsn) != storage.Postgres {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unreadable url)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
