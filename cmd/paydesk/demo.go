package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	demogen "paydesk/providers/demo"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/web/devidp"
)

// The demo's provider credentials: the simulators accept exactly these, so the clients
// run their real authentication code. They guard nothing outside this process.
const (
	demoPowensClientID     = "paydesk-demo"
	demoPowensClientSecret = "powens-demo-secret"
	demoBPCAPIKey          = "bpc-demo-api-key"
	demoTranzzoPOSID       = tranzzo.DemoPOSID
	demoTranzzoAPIKey      = "tranzzo-demo-key"
	demoTranzzoAPISecret   = "tranzzo-demo-secret"
	demoTranzzoEndpoints   = "tranzzo-demo-endpoints"
	demoOIDCClientID       = "paydesk"
	demoOIDCClientSecret   = "paydesk-demo-oidc-secret"
	demoSeed               = 20261122
)

// simulators are the three provider simulators of the demo.
type simulators struct {
	powens  *powens.Simulator
	bpc     *bpc.Simulator
	tranzzo *tranzzo.Simulator
}

// load adds one stored payment (its raw import envelope) to its provider's simulator.
func (s simulators) load(p storage.Payment) error {
	switch p.Provider {
	case providers.Powens:
		return s.powens.Load(p.Raw)
	case providers.BPC:
		return s.bpc.Load(p.Raw)
	case providers.Tranzzo:
		return s.tranzzo.Load(p.Raw)
	}
	return fmt.Errorf("unknown provider %q", p.Provider)
}

// demoMakers shape demo payments per provider; powensSim is where the Powens simulator's
// bank pages are served (its validate_uri links point there).
func demoMakers(powensSim string) map[providers.Name]providers.DemoMaker {
	return map[providers.Name]providers.DemoMaker{
		providers.Powens:  powens.Demo{SimulatorURL: powensSim},
		providers.BPC:     bpc.Demo{},
		providers.Tranzzo: tranzzo.Demo{},
	}
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

	// The simulators send signed webhooks to Paydesk's own endpoints, as the providers do.
	hooks := newDemoWebhooks(&c, log)
	go hooks.run(ctx)
	sims := simulators{
		powens:  powens.NewSimulator(powens.SimConfig{ClientID: demoPowensClientID, ClientSecret: demoPowensClientSecret, PublicURL: c.BaseURL + "/sim/powens", OnChange: hooks.powens}),
		bpc:     bpc.NewSimulator(bpc.SimConfig{APIKey: demoBPCAPIKey, PublicURL: c.BaseURL + "/sim/bpc", OnChange: hooks.bpc}),
		tranzzo: tranzzo.NewSimulator(tranzzo.SimConfig{POSID: demoTranzzoPOSID, APIKey: demoTranzzoAPIKey, APISecret: demoTranzzoAPISecret, EndpointsKey: demoTranzzoEndpoints, PublicURL: c.BaseURL + "/sim/tranzzo", OnChange: hooks.tranzzo}),
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
			_, err = seedDemoBulk(ctx, db, c, c.DemoPayments, demoMakers(c.BaseURL+"/sim/powens"), stdout)
		} else {
			err = seedDemo(ctx, db, c.DemoPayments, demoMakers(c.BaseURL+"/sim/powens"), stderr)
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

	c.PowensBaseURL, c.PowensClientID, c.PowensClientSecret = c.BaseURL+"/sim/powens", demoPowensClientID, demoPowensClientSecret
	c.BPCBaseURL, c.BPCAPIKey = c.BaseURL+"/sim/bpc", demoBPCAPIKey
	c.TranzzoBaseURL, c.TranzzoPOSID, c.TranzzoAPIKey, c.TranzzoAPISecret, c.TranzzoEndpointsKey = c.BaseURL+"/sim/tranzzo", demoTranzzoPOSID, demoTranzzoAPIKey, demoTranzzoAPISecret, demoTranzzoEndpoints
	provs, err := realProviders(c)
	if err != nil {
		return err
	}

	idpCtx, stopIDP := context.WithCancel(ctx)
	defer stopIDP()
	idp, err := devidp.Start(idpCtx, devidp.Config{
		Addr:  "127.0.0.1:0",
		Users: devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: demoOIDCClientID, Secret: demoOIDCClientSecret,
			RedirectURIs: []string{c.BaseURL + "/auth/callback"}, PostLogoutRedirectURIs: []string{c.BaseURL + "/"}}},
	})
	if err != nil {
		return fmt.Errorf("demo: OpenID provider: %w", err)
	}
	defer idp.Close()

	srv, err := buildWeb(ctx, c, true, db, provs, sec, idp.Issuer(), demoOIDCClientID, demoOIDCClientSecret, devidp.DemoRoleMap(), log)
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
	mux.Handle("/sim/powens/", http.StripPrefix("/sim/powens", lazy.handler(providers.Powens, sims.powens)))
	mux.Handle("/sim/bpc/", http.StripPrefix("/sim/bpc", lazy.handler(providers.BPC, sims.bpc)))
	mux.Handle("/sim/tranzzo/", http.StripPrefix("/sim/tranzzo", lazy.handler(providers.Tranzzo, sims.tranzzo)))
	// Demo only (loopback, generated data): the metrics next to the app. Production serves
	// them on PAYDESK_METRICS_ADDR, never on the public address.
	mux.Handle("GET /metrics", srv.MetricsHandler())
	mux.Handle("/", srv.Handler())

	printBanner(stdout, c.BaseURL, idp.Issuer(), c.DBPath, int(n), time.Since(start))
	return serveHTTP(ctx, ln, mux, log)
}

// seedDemo fills an empty database with demo payments, through the import path.
func seedDemo(ctx context.Context, db *storage.DB, count int, makers map[providers.Name]providers.DemoMaker, report io.Writer) error {
	pr, pw := io.Pipe()
	go func() {
		err := demogen.Generate(demogen.Options{Count: count, Seed: demoSeed, Now: time.Now(), Makers: makers}, func(line []byte) error {
			if _, err := pw.Write(append(line, '\n')); err != nil {
				return err
			}
			return nil
		})
		pw.CloseWithError(err)
	}()
	sum, err := importLines(ctx, db, pr, report)
	pr.Close()
	if err != nil {
		return fmt.Errorf("demo: generate: %w", err)
	}
	if sum.Bad > 0 {
		return fmt.Errorf("demo: %d generated payments were refused (see above); this is a bug", sum.Bad)
	}
	return nil
}

// demoSecrets returns the demo's session and link keys, generated on first start and kept
// in the database so sessions survive a restart.
func demoSecrets(ctx context.Context, db *storage.DB) (secrets, error) {
	get := func(name string, size int) ([]byte, error) {
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
	fmt.Fprintf(&b, "  provider simulators: %s/sim/powens, %s/sim/bpc, %s/sim/tranzzo\n\n", baseURL, baseURL, baseURL)
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
