package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"paydesk/ops/mailer"
	"paydesk/providers"
	demogen "paydesk/providers/demo"
	"paydesk/storage"
	"paydesk/web/auth"
	"paydesk/web/devidp"
)

// The demo's own OpenID client and the seed of its payments. The providers' demo
// credentials are made per demo database (simulate).
const (
	demoOIDCClientID     = "paydesk"
	demoOIDCClientSecret = "paydesk-demo-oidc-secret"
	demoSeed             = 20261122
)

// simulators are the demo's provider simulators, one per account, by simKey: the
// provider's name for its first account, provider/account for the others
// (demo_accounts.go).
type simulators map[providers.Name]providers.Simulator

// load adds one stored payment (its raw import envelope) to its account's simulator.
func (s simulators) load(p storage.Payment) error {
	sim, ok := s[simKey(p.Provider, p.Account)]
	if !ok {
		return fmt.Errorf("unknown provider %q or account %q", p.Provider, p.Account)
	}
	return sim.Load(p.Raw)
}

// simURL is where the demo serves a provider's simulator, under base.
func simURL(base string, n providers.Name) string { return base + simPrefix(n) }

// simPrefix is the path prefix of a provider's simulator.
func simPrefix(n providers.Name) string { return "/sim/" + string(n) }

// demoMakers shape demo payments per provider; base is the demo's URL, under which the
// simulators are served (links in the payments point there).
func demoMakers(base string) map[providers.Name]providers.DemoMaker {
	out := map[providers.Name]providers.DemoMaker{}
	for _, d := range providers.Descriptors() {
		out[d.Name] = d.Demo(simURL(base, d.Name))
	}
	return out
}

// demo runs the embedded default: a SQLite file filled once with demo payments, the
// three simulators (mounted under /sim/), a local OpenID provider on loopback, and
// Paydesk wired to all of them through its real clients and real sign-in.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := loadConfig(getenv, true)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.DemoPayments, "payments", c.DemoPayments, "payments to generate on first start")
	fs.StringVar(&c.DBPath, "db", c.DBPath, "SQLite file")
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(c, stderr)
	start := time.Now()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w (set PAYDESK_ADDR or --addr to another port)", c.Addr, err)
	}
	defer ln.Close()
	if c.BaseURL == "" {
		c.BaseURL = "http://" + ln.Addr().String()
	}

	db, err := storage.Open(ctx, c.DBPath)
	if err != nil {
		return err
	}
	defer db.Close()
	sec, err := demoSecrets(ctx, db)
	if err != nil {
		return err
	}

	// The simulators send signed webhooks to Paydesk's own endpoints, as the providers do;
	// each provider's settings now point at its simulator, with the demo's credentials.
	hooks := newDemoWebhooks(c.BaseURL, log)
	go hooks.run(ctx)
	sims, err := simulate(ctx, db, c, hooks.enqueue)
	if err != nil {
		return err
	}
	// Payments are never deleted: the last id is their number, read without counting a
	// million rows at every start (storage.LastPaymentID).
	n, err := db.LastPaymentID(ctx)
	if err != nil {
		return err
	}
	if n == 0 && c.DemoPayments > 0 {
		fmt.Fprintf(stdout, "Generating %d demo payments in %s…\n", c.DemoPayments, c.DBPath)
		if c.DemoPayments >= bulkDemoFrom {
			_, err = seedDemoBulk(ctx, db, c, c.DemoPayments, demoMakers(c.BaseURL), stdout)
		} else {
			err = seedDemo(ctx, db, c.DemoPayments, demoMakers(c.BaseURL), stderr)
		}
		if err != nil {
			return err
		}
		if n, err = db.LastPaymentID(ctx); err != nil {
			return err
		}
	}
	// Stored payments reach the simulators when a request first names them (demo_sims.go).
	lazy := &lazySimulators{db: db, sims: sims, log: log}
	accounts, err := realAccounts(c)
	if err != nil {
		return err
	}

	idpCtx, stopIDP := context.WithCancel(ctx)
	defer stopIDP()
	idpCfg := devidp.Config{
		Users: devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: demoOIDCClientID, Secret: demoOIDCClientSecret,
			RedirectURIs: []string{c.BaseURL + "/auth/callback"}, PostLogoutRedirectURIs: []string{c.BaseURL + "/", c.BaseURL + "/signed-out"}}},
	}
	idp, err := startDemoIDP(idpCtx, idpCfg, ln.Addr(), log)
	if err != nil {
		return fmt.Errorf("demo: OpenID provider: %w", err)
	}
	defer idp.Close()
	if err := recordDemoManagers(ctx, db, idp.Issuer()); err != nil {
		return err
	}

	// E-mail: unless PAYDESK_SMTP_URL says otherwise, every e-mail goes to a real SMTP
	// server in this process that keeps it in memory, read on /mail.
	var catcher *mailer.Catcher
	if c.SMTP == nil {
		if catcher, err = mailer.StartCatcher(mailer.CatcherConfig{Addr: demoSMTPAddr(getenv)}); err != nil {
			return fmt.Errorf("demo: mail catcher: %w (set PAYDESK_DEMO_SMTP_ADDR to another loopback port)", err)
		}
		defer catcher.Close()
		mc, err := mailer.Parse(catcher.URL(), "Paydesk demo <paydesk@demo.localhost>")
		if err != nil {
			return err
		}
		c.SMTP, c.mailBox = &mc, catcher
	}

	srv, err := buildWeb(ctx, c, true, db, accounts, sec, idp.Issuer(), demoOIDCClientID, demoOIDCClientSecret, devidp.DemoRoleMap(), log)
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
	mux := http.NewServeMux()
	lazy.mount(mux)
	// Demo only (loopback, generated data): the metrics next to the app. Production serves
	// them on PAYDESK_METRICS_ADDR, never on the public address.
	mux.Handle("GET /metrics", srv.MetricsHandler())
	mux.Handle("/", srv.Handler())

	printBanner(stdout, c.BaseURL, idp.Issuer(), c.DBPath, int(n), time.Since(start))
	if catcher != nil {
		fmt.Fprintf(stdout, "E-mail is caught by a local SMTP server (%s): read it at %s/mail\n", catcher.URL(), c.BaseURL)
	} else {
		fmt.Fprintf(stdout, "E-mail goes to %s\n", c.SMTP)
	}
	return serveHTTP(ctx, ln, mux, log)
}

// demoSMTPAddr is where the demo's mail catcher listens: PAYDESK_DEMO_SMTP_ADDR, else a
// free loopback port.
func demoSMTPAddr(getenv func(string) string) string {
	if a := strings.TrimSpace(getenv("PAYDESK_DEMO_SMTP_ADDR")); a != "" {
		return a
	}
	return "127.0.0.1:0"
}

// seedDemo fills an empty database with demo payments, through the import path.
func seedDemo(ctx context.Context, db *storage.DB, count int, makers map[providers.Name]providers.DemoMaker, report io.Writer) error {
	pr, pw := io.Pipe()
	go func() {
		err := demogen.Generate(demogen.Options{Count: count, Seed: demoSeed, Now: time.Now(), Makers: makers}, func(line []byte) error {
			// A provider with several demo accounts has its payments spread over them.
			if snap, err := parseLine(line); err == nil {
				if account := demoAccountOf(snap); account != "" {
					line = append([]byte(`{"account":"`+account+`",`), line[1:]...)
				}
			}
			if _, err := pw.Write(append(line, '\n')); err != nil {
				return err
			}
			return nil
		})
		pw.CloseWithError(err)
	}()
	sum, err := importLinesFor(ctx, db, pr, report, demoImportAccounts())
	pr.Close()
	if err != nil {
		return fmt.Errorf("demo: generate: %w", err)
	}
	if sum.Bad > 0 {
		return fmt.Errorf("demo: %d generated payments were refused (see above); this is a bug", sum.Bad)
	}
	return nil
}

// demoSecret returns the demo's secret called name, of size random bytes, generated on
// first start and kept in the database (settings "demo.<name>").
func demoSecret(ctx context.Context, db *storage.DB, name string, size int) ([]byte, error) {
	v, err := db.Setting(ctx, "demo."+name)
	if err == nil && len(v) == size {
		return v, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	v = make([]byte, size)
	rand.Read(v)
	return v, db.SetSetting(ctx, "demo."+name, v)
}

// demoKeyed is a provider's settings that take the demo's credentials from the demo
// (WithDemoKeys in providers/<name>/config.go): key(purpose) is the same for the same
// purpose as long as the demo database lives, another for another database.
type demoKeyed interface {
	WithDemoKeys(key func(purpose string) string) providers.Settings
}

// demoProviderKeys returns the demo's key maker for provider n: HMAC-SHA256, keyed with
// the demo database's provider secret, of the provider's name and the purpose, hex-encoded.
// The simulators' API keys and webhook secrets come from it, so nothing anyone can read in
// the source signs a webhook or calls a simulator, a restarted demo keeps them (webhooks
// the simulators queued before still verify), and a new demo database gets new ones.
func demoProviderKeys(secret []byte, n providers.Name) func(purpose string) string {
	return func(purpose string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(string(n) + "/" + purpose))
		return hex.EncodeToString(m.Sum(nil))
	}
}

// simulate points each account's settings in c (c.Accounts, and c.Providers for each
// provider's first account: both shared with the caller's Config) at its own simulator,
// with the demo's credentials kept in db, and returns the simulators; send posts their
// webhooks, each to its account's webhook URL.
func simulate(ctx context.Context, db *storage.DB, c Config, send func(providers.DemoWebhook)) (simulators, error) {
	secret, err := demoSecret(ctx, db, "provider_secret", 32)
	if err != nil {
		return nil, err
	}
	sims := simulators{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		key := simKey(a.Provider, a.Name)
		st := a.Settings
		if k, ok := st.(demoKeyed); ok {
			// Keyed by simKey: each account its own credentials, the first one's as before.
			st = k.WithDemoKeys(demoProviderKeys(secret, key))
		}
		post := send
		if key != a.Provider {
			path := providers.AccountWebhookPath(a.Provider, a.Name)
			post = func(w providers.DemoWebhook) {
				w.Path = path
				send(w)
			}
		}
		a.Settings, sims[key] = st.Simulate(simURL(c.BaseURL, key), post)
		if key == a.Provider {
			c.Providers[a.Provider] = a.Settings
		}
	}
	return sims, nil
}

// demoSecrets returns the demo's session and link keys, generated on first start and kept
// in the database so sessions survive a restart.
func demoSecrets(ctx context.Context, db *storage.DB) (secrets, error) {
	get := func(name string, size int) ([]byte, error) { return demoSecret(ctx, db, name, size) }
	var s secrets
	var err error
	if s.hashKey, err = get("session_hash_key", 64); err != nil {
		return s, err
	}
	if s.blockKey, err = get("session_block_key", 32); err != nil {
		return s, err
	}
	if s.linkSecret, err = get("link_secret", 32); err != nil {
		return s, err
	}
	return s, nil
}

// printBanner tells a person trying the demo where to go and how to sign in.
func printBanner(w io.Writer, baseURL, issuer, dbPath string, payments int, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nPaydesk demo is running: %s\n", baseURL)
	fmt.Fprintf(&b, "  database: %s (%d payments), ready in %s\n", dbPath, payments, took.Round(time.Millisecond))
	fmt.Fprintf(&b, "  OpenID provider (local, demo users only): %s\n", issuer)
	var sims []string
	for _, a := range demoAccounts(nil) {
		sims = append(sims, simURL(baseURL, simKey(a.Provider, a.Name)))
	}
	fmt.Fprintf(&b, "  provider simulators: %s\n\n", strings.Join(sims, ", "))
	fmt.Fprintf(&b, "Sign in as:\n")
	for _, u := range devidp.DemoUsers() {
		groups := strings.Join(u.Groups, ", ")
		if groups == "" {
			groups = "no group: sees the no-access page"
		}
		fmt.Fprintf(&b, "  %-6s password %-12s %s\n", u.Username, u.Password, groups)
	}
	fmt.Fprintf(&b, "\nStop with Ctrl-C. Delete %s to start from fresh demo data.\n", dbPath)
	io.WriteString(w, b.String())
}

// startDemoIDP starts the demo's OpenID provider on the port after Paydesk's (8081 for
// 8080), so that its issuer — and with it every person key (issuer and user name: sessions,
// batches' and notes' authors, saved views' owners) — is the same at each start of a demo
// on the same database file. When that port is taken (or Paydesk's is chosen at random)
// it takes any free port, and says that people will look new to a restarted demo.
func startDemoIDP(ctx context.Context, cfg devidp.Config, app net.Addr, log *slog.Logger) (*devidp.Server, error) {
	if tcp, ok := app.(*net.TCPAddr); ok && tcp.Port > 0 && tcp.Port < 65535 {
		cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port+1))
		idp, err := devidp.Start(ctx, cfg)
		if err == nil {
			return idp, nil
		}
		log.Warn("demo: the OpenID provider's usual port is taken; it takes another, and people's keys change with it (a restarted demo sees them as new people)", "addr", cfg.Addr, "err", err)
	}
	cfg.Addr = "127.0.0.1:0"
	return devidp.Start(ctx, cfg)
}

// recordDemoManagers makes the demo's managers known before they first sign in: the
// approval e-mails go to managers Paydesk has seen (docs/email.md), and the demo's first
// large refund request — made before any manager signed in — must reach the mail catcher.
// Their person keys are the ones their sign-in gives (issuer and user name); the provider's
// address is the same at each start unless its port was taken (startDemoIDP), and a
// manager seen under an older key is e-mailed once.
func recordDemoManagers(ctx context.Context, db *storage.DB, issuer string) error {
	for _, u := range devidp.DemoUsers() {
		if slices.Contains(u.Groups, devidp.GroupManager) {
			if err := db.RecordPerson(ctx, auth.PersonKey(issuer, u.Username), u.Email, u.Name, true); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
	}
	return nil
}
