package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/ops/mailer"
	"paydesk/ops/opstest"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web"
	"paydesk/web/auth"
	"paydesk/web/devidp"
	"paydesk/web/devidp/idptest"
)

// harness is Paydesk wired as in production: the real route table, real sign-in against
// the development OpenID provider, real provider clients talking HTTP to the simulators.
type harness struct {
	t       *testing.T
	clock   *opstest.Clock
	db      *storage.DB
	desk    *ops.Desk
	app     *web.Server
	srv     *httptest.Server
	idp     *idptest.Provider
	powens  *powens.Simulator
	bpc     *bpc.Simulator
	tranzzo *tranzzo.Simulator
	bpcURL  string
	seq     int
	// bpcDE is the simulator of the second BPC account, bpc-de (harnessOptions.bpcDE).
	bpcDE *bpc.Simulator
	// mail is the SMTP server e-mail goes to (harnessOptions.mail), a real one in process.
	mail *mailer.Catcher
}

const (
	// clientTimeout is short so that "the provider never answered" tests stay fast.
	clientTimeout = 700 * time.Millisecond
	slowDelay     = 1500 * time.Millisecond
)

// harnessOptions tweak a harness.
type harnessOptions struct {
	// mail turns e-mail on, through a real SMTP server in the test process (h.mail);
	// smtpURL, when set, sends to that server instead (e.g. one that is down).
	mail    bool
	smtpURL string
	// catcherPage shows h.mail on /mail, as the demo does (needs mail).
	catcherPage bool
	thresholds  string
	rules       []ops.ApprovalRule // approval rules besides the per-refund thresholds
	// bpcDE adds a second BPC account, bpc-de, with its own simulator, API key and
	// webhook secret; the first is then the account "default" (accounts_test.go).
	bpcDE bool
}

func newHarness(t *testing.T, opts ...harnessOptions) *harness {
	t.Helper()
	var opt harnessOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	if opt.thresholds == "" {
		opt.thresholds = "EUR:500.00,GBP:400.00,UAH:20000.00,JPY:80000,XTS:500.00"
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The clock starts at the real time: the provider library signs tokens with its own clock.
	h := &harness{t: t, clock: opstest.NewWallClock()}
	quiet := slog.New(slog.DiscardHandler)

	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = h.clock.Now
	t.Cleanup(func() { db.Close() })
	h.db = db

	var handler http.Handler = http.NotFoundHandler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)

	// Simulators, each on its own server, as the real providers are.
	pwSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.powens.ServeHTTP(w, r) }))
	t.Cleanup(pwSrv.Close)
	h.powens = powens.NewSimulator(powens.SimConfig{ClientID: "pw-client", ClientSecret: "pw-secret", SlowDelay: slowDelay, PublicURL: pwSrv.URL})
	h.bpc = bpc.NewSimulator(bpc.SimConfig{APIKey: "bpc-key", SlowDelay: slowDelay})
	bpcSrv := httptest.NewServer(h.bpc)
	t.Cleanup(bpcSrv.Close)
	h.bpcURL = bpcSrv.URL
	h.tranzzo = tranzzo.NewSimulator(tranzzo.SimConfig{POSID: tranzzo.DemoPOSID, APIKey: "tz-key", APISecret: "tz-secret", EndpointsKey: "tz-endpoints", SlowDelay: slowDelay})
	tzSrv := httptest.NewServer(h.tranzzo)
	t.Cleanup(tzSrv.Close)

	hc := &http.Client{}
	pw, err := powens.New(powens.Config{BaseURL: pwSrv.URL, ClientID: "pw-client", ClientSecret: "pw-secret", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bpc.New(bpc.Config{BaseURL: bpcSrv.URL, APIKey: "bpc-key", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}
	tz, err := tranzzo.New(tranzzo.Config{BaseURL: tzSrv.URL, POSID: tranzzo.DemoPOSID, APIKey: "tz-key", APISecret: "tz-secret", EndpointsKey: "tz-endpoints", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}

	h.idp = idptest.Start(t, idptest.Options{AppURL: h.srv.URL, Users: devidp.DemoUsers(), Now: h.clock.Now})
	groups, err := auth.ParseRoleMap(devidp.DemoRoleMap())
	if err != nil {
		t.Fatal(err)
	}
	hashKey, blockKey := auth.NewSessionKeys()
	a, err := auth.New(ctx, auth.Config{
		IssuerURL: h.idp.Issuer(), ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret,
		RedirectURL: h.idp.CallbackURL(), GroupRoles: groups,
		HashKey: hashKey, BlockKey: blockKey, Now: h.clock.Now, Logger: quiet, Sessions: db,
		PostLogoutRedirectURL: h.srv.URL + "/", LoginPath: "/auth/login",
		Audit: func(ctx context.Context, r *http.Request, actor, kind, message string) {
			db.Audit(ctx, storage.AuditEntry{Actor: actor, Kind: kind, Message: message})
		},
		OnSignIn: web.RecordSignIn(db, quiet),
	})
	if err != nil {
		t.Fatal(err)
	}
	thresholds, err := ops.ParseThresholds(opt.thresholds)
	if err != nil {
		t.Fatal(err)
	}
	var accounts []ops.Account
	if opt.bpcDE {
		accounts = h.secondBPCAccount(bc, hc)
	}
	var mail ops.MailConfig
	if opt.mail {
		url := opt.smtpURL
		if url == "" {
			if h.mail, err = mailer.StartCatcher(mailer.CatcherConfig{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.mail.Close() })
			url = h.mail.URL()
		}
		mc, err := mailer.Parse(url, "Paydesk <paydesk@desk.example>")
		if err != nil {
			t.Fatal(err)
		}
		mc.Timeout = 2 * time.Second
		mail = ops.MailConfig{Sender: mailer.New(mc), MaxAttempts: 3, Backoff: time.Minute, MaxBackoff: 10 * time.Minute}
	}
	h.desk, err = ops.New(ops.Config{
		BaseURL: h.srv.URL, Mail: mail, LinkSecret: []byte(strings.Repeat("k", 32)),
		Approval: ops.ApprovalPolicy{Thresholds: thresholds, Rules: opt.rules}, Now: h.clock.Now, Metrics: web.NewMetrics(),
		Accounts: accounts,
	}, db, map[providers.Name]providers.Provider{powens.Name: pw, bpc.Name: bc, tranzzo.Name: tz}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	var wcfg web.Config
	if opt.catcherPage && h.mail != nil {
		wcfg.MailBox = h.mail
	}
	h.app, err = web.New(wcfg, h.desk, a, quiet)
	if err != nil {
		t.Fatal(err)
	}
	handler = h.app.Handler()
	return h
}

// spec is a demo payment to add: which provider state and, optionally, the money.
type spec struct {
	variant  int
	currency string
	amount   int64
	email    string
	name     string
	created  time.Time
}

// add creates a payment in the provider's own shape, imports it and loads it in the
// simulator, so Paydesk and the provider agree on it.
func (h *harness) add(provider providers.Name, s spec) storage.Payment {
	h.t.Helper()
	h.seq++
	ds := providers.DemoSpec{
		Seq: h.seq, Name: "Ada Lovelace", Email: fmt.Sprintf("ada%d@example.com", h.seq),
		Amount: 100000, Currency: "EUR", CreatedAt: h.clock.Now().Add(-time.Duration(h.seq) * time.Minute),
		Variant: s.variant, Reference: fmt.Sprintf("REF-%05d", h.seq),
	}
	if s.currency != "" {
		ds.Currency = s.currency
	}
	if s.amount != 0 {
		ds.Amount = s.amount
	}
	if s.email != "" {
		ds.Email = s.email
	}
	if s.name != "" {
		ds.Name = s.name
	}
	if !s.created.IsZero() {
		ds.CreatedAt = s.created
	}
	var (
		raw  json.RawMessage
		err  error
		snap providers.Snapshot
	)
	switch provider {
	case powens.Name:
		raw, err = powens.Demo{}.Envelope(ds)
		if err == nil {
			snap, err = powens.ParseEnvelope(raw)
		}
		if err == nil {
			err = h.powens.Load(raw)
		}
	case bpc.Name:
		raw, err = bpc.Demo{}.Envelope(ds)
		if err == nil {
			snap, err = bpc.ParseEnvelope(raw)
		}
		if err == nil {
			err = h.bpc.Load(raw)
		}
	case tranzzo.Name:
		raw, err = tranzzo.Demo{}.Envelope(ds)
		if err == nil {
			snap, err = tranzzo.ParseEnvelope(raw)
		}
		if err == nil {
			err = h.tranzzo.Load(raw)
		}
	}
	if err != nil {
		h.t.Fatalf("add %s variant %d: %v", provider, s.variant, err)
	}
	p, _, err := h.db.UpsertPayment(context.Background(), snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
	if err != nil {
		h.t.Fatalf("add %s: %v", provider, err)
	}
	return p
}

// payment re-reads a payment from the database.
func (h *harness) payment(p storage.Payment) storage.Payment {
	h.t.Helper()
	got, err := h.db.PaymentByID(context.Background(), p.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

// browser is one person's browser: a cookie jar, following redirects like a browser.
type browser struct {
	h      *harness
	b      *idptest.Browser
	client *http.Client
	last   *url.URL // where the last response came from, after redirects
}

func (h *harness) browser() *browser {
	b := idptest.NewBrowser(h.t, idptest.FollowAll)
	return &browser{h: h, b: b, client: b.Client}
}

// response is what a page answered.
type response struct {
	status int
	body   string
	url    *url.URL
	header http.Header
}

func (b *browser) do(req *http.Request) response {
	b.h.t.Helper()
	p := b.b.Do(req)
	b.last = p.URL
	return response{status: p.Status, body: p.Body, url: p.URL, header: p.Header}
}

func (b *browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.h.srv.URL + path
}

func (b *browser) get(path string) response {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(path), nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// noFollow returns a copy of the browser that stops at redirects (same cookies).
func (b *browser) noFollow() *browser {
	nb := b.b.WithFollow(idptest.FollowNone)
	return &browser{h: b.h, b: nb, client: nb.Client}
}

// signIn signs the browser in through the development provider's real login page.
func (b *browser) signIn(user string) {
	b.h.t.Helper()
	b.submitLogin(b.get("/auth/login?next=/payments"), user)
}

// submitLogin fills the provider's login page that r shows, as user with the user's own
// password, and checks that the browser lands back on the app without an error.
func (b *browser) submitLogin(r response, user string) response {
	b.h.t.Helper()
	if _, ok := idptest.LoginFormID(r.body); !ok {
		b.h.t.Fatalf("no login form at %s (status %d): %.300s", r.url, r.status, r.body)
	}
	u := b.h.idp.User(b.h.t, user)
	p := b.h.idp.SubmitLogin(b.b, &idptest.Page{URL: r.url, Status: r.status, Header: r.header, Body: r.body}, u.Username, u.Password)
	b.last = p.URL
	out := response{status: p.Status, body: p.Body, url: p.URL, header: p.Header}
	if strings.Contains(out.body, `data-testid="signin-error"`) || out.status >= 500 || out.url.Host != mustURL(b.h.srv.URL).Host {
		b.h.t.Fatalf("sign-in as %s ended with %d at %s: %.300s", user, out.status, out.url, out.body)
	}
	return out
}

func (h *harness) signedIn(user string) *browser {
	h.t.Helper()
	b := h.browser()
	b.signIn(user)
	return b
}

var keyRe = regexp.MustCompile(`name="idempotency_key" value="([0-9a-f]{32})"`)

// formKey reads the idempotency key of the confirmation form a page shows.
func formKey(t *testing.T, r response) string {
	t.Helper()
	m := keyRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no idempotency key on %s (status %d): %.500s", r.url, r.status, r.body)
	}
	return m[1]
}

// text strips tags and unescapes, for asserting on what a person reads.
func text(body string) string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(body, " ")
	s = html.UnescapeString(s)
	return strings.Join(strings.Fields(s), " ")
}

func mustContain(t *testing.T, r response, wants ...string) {
	t.Helper()
	got := text(r.body)
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("page %s (status %d) does not say %q; it says: %.1500s", r.url, r.status, want, got)
		}
	}
}

func mustNotContain(t *testing.T, r response, unwanted ...string) {
	t.Helper()
	got := text(r.body)
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("page %s says %q but should not", r.url, u)
		}
	}
}

// attr returns the value of attribute name of the first element carrying data-testid=id.
func attr(body, testid, name string) string {
	re := regexp.MustCompile(`<[^>]*data-testid="` + regexp.QuoteMeta(testid) + `"[^>]*>`)
	tag := re.FindString(body)
	m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// regexpFind returns the first group of pattern in s, or "".
func regexpFind(s, pattern string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }
