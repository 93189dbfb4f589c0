package web_test

// The page benchmarks: the real route table, middleware and templates, on a database of
// a million demo payments and their refund history (PAYDESK_BENCH_PAYMENTS to change the
// size). The database is built once with the bulk loader and kept under os.TempDir(),
// named by size and data version, so later runs start at once. Requests go through
// Handler() with a recorder; the signed-in user comes from a stub authenticator (the
// session cookie's cost is in scripts/load.sh's figures, not here). Each benchmark
// reports its p50 and p99 besides the mean; docs/benchmarks.md has the figures. The page
// cache is off (every page is worked out from the database) but in BenchmarkListPage/cached.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/bpc"
	demogen "paydesk/providers/demo"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/web"
	"paydesk/web/auth"
	"paydesk/web/devidp"
)

// benchDataVersion names the generated data: change it when the generator or the bulk
// loader changes what they write, so that cached databases are rebuilt.
const benchDataVersion = 1

// benchThresholds are the approval thresholds of the benchmarks' refund history.
const benchThresholds = "EUR:500.00,GBP:400.00,UAH:20000.00,JPY:80000"

// benchEnv is the app on the benchmarks' database, and ids to ask it for.
type benchEnv struct {
	db      *storage.DB
	handler http.Handler // the page cache off
	cached  http.Handler // the page cache on (the default)
	// payments are public ids to open, spread over the whole history.
	payments []string
	// search holds a value of each kind the search box takes.
	search map[string]string
	// newest is the creation time of the newest payment (the data's "now").
	newest time.Time
	// customers are customer pages to open, by kind (BenchmarkCustomerPage).
	customers map[string]string
}

var (
	benchOnce sync.Once
	benchApp  *benchEnv
	benchErr  error
)

// benchSize is the number of payments of the benchmarks' database.
func benchSize() (int, error) {
	if v := os.Getenv("PAYDESK_BENCH_PAYMENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			return 0, fmt.Errorf("PAYDESK_BENCH_PAYMENTS=%q: want a number of payments, at least 1000", v)
		}
		return n, nil
	}
	return 1_000_000, nil
}

// benchSetup returns the app on the benchmarks' database, building the database on the
// first run.
func benchSetup(b *testing.B) *benchEnv {
	b.Helper()
	benchOnce.Do(func() { benchApp, benchErr = newBenchEnv(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchApp
}

func newBenchEnv(b *testing.B) (*benchEnv, error) {
	ctx := context.Background()
	// The collector as the paydesk binary sets it (cmd/paydesk/gc.go), unless the
	// environment chooses: collections only near 64 MB.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
		debug.SetGCPercent(-1)
	}
	n, err := benchSize()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("paydesk-bench-%d-v%d.db", n, benchDataVersion))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		if err := buildBenchDB(ctx, path, n); err != nil {
			return nil, err
		}
		b.Logf("built %s in %s", path, time.Since(start).Round(time.Second))
	}
	opened := time.Now()
	db, err := storage.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if took := time.Since(opened); took > time.Second {
		b.Logf("opened %s in %s (migrations)", path, took.Round(100*time.Millisecond))
	}
	env := &benchEnv{db: db, search: map[string]string{}}
	thresholds, err := ops.ParseThresholds(benchThresholds)
	if err != nil {
		return nil, err
	}
	user := auth.User{Subject: "bench", Email: "max@paydesk.example", Name: "Max Manager",
		Roles: []auth.Role{auth.RoleSupport, auth.RoleFinance, auth.RoleManager}, AuthTime: time.Now(), SignedInAt: time.Now()}
	// Two apps: the benchmarks measure pages worked out from the database (the page
	// cache off: what every first ask and every ask after a change costs); the cached
	// ones use the second, as a running server is by default.
	for _, app := range []struct {
		handler *http.Handler
		cache   int
	}{{&env.handler, -1}, {&env.cached, 0}} {
		desk, err := ops.New(ops.Config{BaseURL: "http://paydesk.test", LinkSecret: bytes.Repeat([]byte("k"), 32),
			Approval: ops.ApprovalPolicy{Thresholds: thresholds}}, db, map[providers.Name]providers.Provider{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		srv, err := web.New(web.Config{PageCacheBytes: app.cache}, desk, benchAuth{user}, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		*app.handler = srv.Handler()
	}

	// What to ask for: payments spread over the history, and one value of each kind
	// of search.
	sql := db.SQL()
	var maxID int64
	var newest int64
	if err := sql.QueryRowContext(ctx, "SELECT max(id), max(created_at) FROM payments").Scan(&maxID, &newest); err != nil {
		return nil, err
	}
	env.newest = time.UnixMilli(newest).UTC()
	for i := range int64(200) {
		var pid string
		if err := sql.QueryRowContext(ctx, "SELECT public_id FROM payments WHERE id >= ? ORDER BY id LIMIT 1", 1+i*maxID/200).Scan(&pid); err != nil {
			return nil, err
		}
		env.payments = append(env.payments, pid)
	}
	var bpcID, session, last4, email, reference, publicID, order, powensID string
	if err := sql.QueryRowContext(ctx, `SELECT provider_payment_id, session_id, card_last4, customer_email, merchant_reference, public_id
		FROM payments WHERE provider = 'bpc' AND session_id <> '' AND card_last4 <> '' AND id >= ? ORDER BY id LIMIT 1`, maxID/2).
		Scan(&bpcID, &session, &last4, &email, &reference, &publicID); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	if err := sql.QueryRowContext(ctx, "SELECT order_id FROM payments WHERE provider = 'tranzzo' AND id >= ? ORDER BY id LIMIT 1", maxID/3).Scan(&order); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	if err := sql.QueryRowContext(ctx, "SELECT provider_payment_id FROM payments WHERE provider = 'powens' AND id >= ? ORDER BY id LIMIT 1", maxID/4).Scan(&powensID); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	// A word of an e-mail's local part with digits ("thomas31" of jules.thomas31@…), the
	// same e-mail's start up to its "@", and an amount written three ways.
	var numbered string
	var amount int64
	if err := sql.QueryRowContext(ctx, `SELECT customer_email FROM payments WHERE id >= ? AND customer_email GLOB '*.*[0-9]@*'
		ORDER BY id LIMIT 1`, maxID/2).Scan(&numbered); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	if err := sql.QueryRowContext(ctx, "SELECT amount FROM payments WHERE currency = 'EUR' AND amount >= 100000 AND id >= ? ORDER BY id LIMIT 1", maxID/5).Scan(&amount); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	local, _, _ := strings.Cut(numbered, "@")
	_, word, _ := strings.Cut(local, ".")
	major := providers.FormatMajor(amount, "EUR")
	env.search = map[string]string{
		"email_word": word, "email_start": local + "@", "amount": major, "amount_comma": strings.Replace(major, ".", ",", 1),
		"amount_euro": "€" + major,

		"public_id": publicID, "bpc_payment_id": bpcID, "bpc_session_id": session, "tranzzo_order_id": order,
		"powens_id": powensID, "reference": reference, "email": email, "last4": last4,
		"name": "Shevchenko", "name_prefix": "shev", "two_words": "olena kov",
	}
	// Customers: the sampled BPC payment's name (about 500 payments at 1M: 2,000 names)
	// and card, an e-mail without a number (about 70 payments), and the name with the
	// most payments.
	var name, common, most string
	if err := sql.QueryRowContext(ctx, "SELECT customer_name FROM payments WHERE public_id = ?", publicID).Scan(&name); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	if err := sql.QueryRowContext(ctx, `SELECT customer_email FROM payments WHERE id >= ? AND customer_email NOT GLOB '*[0-9]@*'
		ORDER BY id LIMIT 1`, maxID/3).Scan(&common); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	if err := sql.QueryRowContext(ctx, `SELECT customer_name FROM payments GROUP BY customer_name COLLATE NOCASE
		ORDER BY count(*) DESC LIMIT 1`).Scan(&most); err != nil {
		return nil, fmt.Errorf("bench sample: %w", err)
	}
	env.customers = map[string]string{
		"email": "/customers/email/" + url.PathEscape(common), "name": "/customers/name/" + url.PathEscape(name),
		"card": "/customers/card/bpc/" + last4, "name_most_payments": "/customers/name/" + url.PathEscape(most),
	}
	return env, nil
}

// buildBenchDB fills a new database at path with n demo payments and their refund
// history, as `paydesk demo` does, and with each payment's timeline, which the demo skips
// (the payment page is measured with one): built aside, then renamed into place.
func buildBenchDB(ctx context.Context, path string, n int) error {
	tmp := path + ".building"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(f)
	}
	db, err := storage.Open(ctx, tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	thresholds, err := ops.ParseThresholds(benchThresholds)
	if err != nil {
		return err
	}
	policy := ops.ApprovalPolicy{Thresholds: thresholds}
	staff := &demogen.Staff{Threshold: policy.Threshold}
	for _, u := range devidp.DemoUsers() {
		if slices.Contains(u.Groups, devidp.GroupSupport) || slices.Contains(u.Groups, devidp.GroupManager) {
			staff.Requesters = append(staff.Requesters, u.Email)
		}
		if slices.Contains(u.Groups, devidp.GroupManager) {
			staff.Managers = append(staff.Managers, u.Email)
		}
	}
	for _, r := range storage.RefundReasons {
		staff.Reasons = append(staff.Reasons, r.Code)
	}
	parsers := map[providers.Name]func([]byte) (providers.Snapshot, error){
		powens.Name: powens.ParseEnvelope, bpc.Name: bpc.ParseEnvelope, tranzzo.Name: tranzzo.ParseEnvelope,
	}
	opt := demogen.Options{Count: n, Seed: 20261122, Now: time.Now(), Staff: staff,
		Makers: map[providers.Name]providers.DemoMaker{
			powens.Name: powens.Demo{SimulatorURL: "http://127.0.0.1:1/sim/powens"}, bpc.Name: bpc.Demo{}, tranzzo.Name: tranzzo.Demo{},
		},
		Parse: func(name providers.Name, line []byte) (providers.Snapshot, error) { return parsers[name](line) },
	}
	l, err := db.NewBulkLoader(ctx, storage.BulkOptions{Events: true})
	if err != nil {
		return err
	}
	defer l.Abort()
	err = demogen.Pipeline(opt, func(p demogen.Payment) (storage.BulkPayment, error) {
		bp := storage.BulkPayment{Snapshot: p.Snapshot}
		for _, q := range p.Requests {
			bp.Requests = append(bp.Requests, storage.BulkRefund(q))
		}
		return l.Prepare(bp)
	}, func(p storage.BulkPayment) error {
		_, err := l.Add(p)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := l.Close(); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// benchAuth signs every request in as one user holding every role.
type benchAuth struct{ user auth.User }

func (a benchAuth) CurrentUser(http.ResponseWriter, *http.Request) (auth.User, bool) {
	return a.user, true
}
func (benchAuth) Login(w http.ResponseWriter, r *http.Request)    { http.NotFound(w, r) }
func (benchAuth) Callback(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (benchAuth) Logout(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
func (benchAuth) Fresh(auth.User) bool                            { return true }
func (benchAuth) StepUp(w http.ResponseWriter, r *http.Request, _ string, _ url.Values) {
	http.NotFound(w, r)
}
func (benchAuth) SavedForm(http.ResponseWriter, *http.Request, string) (url.Values, bool) {
	return nil, false
}
func (benchAuth) AddFlash(http.ResponseWriter, *http.Request, string, string) {}
func (benchAuth) Flashes(http.ResponseWriter, *http.Request) []auth.Flash     { return nil }

// get serves one GET and fails the benchmark unless it answers 200.
func (e *benchEnv) get(b *testing.B, path string) *httptest.ResponseRecorder {
	return e.getFrom(b, e.handler, path)
}

func (e *benchEnv) getFrom(b *testing.B, h http.Handler, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%.500s", path, rec.Code, rec.Body.String())
	}
	return rec
}

// timed runs one page request per iteration over paths (in turn) and reports p50, p99.
func (e *benchEnv) timed(b *testing.B, paths ...string) {
	b.Helper()
	e.timedOn(b, e.handler, paths...)
}

// timedOn is timed on handler h.
func (e *benchEnv) timedOn(b *testing.B, h http.Handler, paths ...string) {
	b.Helper()
	for _, p := range paths {
		e.getFrom(b, h, p) // warm the caches the way a running server has them
	}
	var took []time.Duration
	i := 0
	cpu := processCPU()
	for b.Loop() {
		start := time.Now()
		e.getFrom(b, h, paths[i%len(paths)])
		took = append(took, time.Since(start))
		i++
	}
	if i > 0 {
		// The process's CPU time per page: on a machine shared with other work, wall
		// times wait for a core, CPU time much less so.
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/float64(i), "cpu-ms/op")
	}
	reportPercentiles(b, took)
}

// processCPU is the CPU time (user and system) the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPercentiles adds p50 and p99 in milliseconds to a benchmark's result.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func BenchmarkListPage(b *testing.B) {
	e := benchSetup(b)
	day := func(d time.Duration) string { return e.newest.Add(-d).Format("2006-01-02") }
	first := e.get(b, "/payments")
	m := regexp.MustCompile(`href="(/payments\?after=[^"]+)"`).FindStringSubmatch(first.Body.String())
	if m == nil {
		b.Fatal("the first page links to no next page")
	}
	next := html.UnescapeString(m[1])
	cases := []struct{ name, path string }{
		{"default", "/payments"},
		{"next_page", next},
		{"provider", "/payments?provider=bpc"},
		{"status", "/payments?status=refunded"},
		{"currency", "/payments?currency=GBP"},
		{"amount_range", "/payments?currency=EUR&min=100.00&max=200.00"},
		{"exact_amount", "/payments?currency=EUR&min=42.50&max=42.50"},
		{"last_30_days", "/payments?from=" + day(30*24*time.Hour) + "&to=" + day(0)},
		{"one_day_bpc", "/payments?provider=bpc&from=" + day(90*24*time.Hour) + "&to=" + day(90*24*time.Hour)},
		{"provider_status_currency", "/payments?provider=tranzzo&status=paid&currency=UAH"},
		{"status_currency", "/payments?status=failed&currency=JPY"},
		{"needs_attention", "/payments?attention=1"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { e.timed(b, c.path) })
	}
	// Asked again with nothing changed: from the page cache.
	b.Run("cached", func(b *testing.B) {
		var paths []string
		for _, c := range cases {
			paths = append(paths, c.path)
		}
		e.timedOn(b, e.cached, paths...)
	})
}

func BenchmarkSearch(b *testing.B) {
	e := benchSetup(b)
	for _, kind := range []string{"public_id", "bpc_payment_id", "bpc_session_id", "tranzzo_order_id", "powens_id",
		"reference", "email", "last4", "name", "name_prefix", "two_words",
		"email_word", "email_start", "amount", "amount_comma", "amount_euro"} {
		b.Run(kind, func(b *testing.B) { e.timed(b, "/payments?q="+url.QueryEscape(e.search[kind])) })
	}
}

func BenchmarkPaymentPage(b *testing.B) {
	e := benchSetup(b)
	paths := make([]string, len(e.payments))
	for i, id := range e.payments {
		paths[i] = "/payments/" + id
	}
	e.timed(b, paths...)
}

// BenchmarkCustomerPage is a customer's page (docs/customers.md): totals per currency,
// refunds by reason, open payer links and the first page of their payments, by e-mail,
// name and card; and the next page of the name with the most payments.
func BenchmarkCustomerPage(b *testing.B) {
	e := benchSetup(b)
	first := e.get(b, e.customers["name_most_payments"])
	m := regexp.MustCompile(`href="(/customers/name/[^"?]+\?after=[^"]+)"`).FindStringSubmatch(first.Body.String())
	for _, kind := range []string{"email", "name", "card", "name_most_payments"} {
		b.Run(kind, func(b *testing.B) { e.timed(b, e.customers[kind]) })
	}
	if m == nil { // a small database (PAYDESK_BENCH_PAYMENTS): nobody has 50 payments
		b.Logf("the customer with the most payments has no second page")
		return
	}
	b.Run("next_page", func(b *testing.B) { e.timed(b, html.UnescapeString(m[1])) })
}

// BenchmarkDashboard is the home page (every count of the work queue, as a manager: all
// of them) and the lists its lines link to. Besides the times it reports the process's
// CPU time per page (cpu-ms), which a busy machine does not inflate as it does the clock.
func BenchmarkDashboard(b *testing.B) {
	e := benchSetup(b)
	timed := func(b *testing.B, path string) {
		before := cpuTime()
		e.timed(b, path)
		b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N+1), "cpu-ms")
	}
	b.Run("page", func(b *testing.B) { timed(b, "/") })
	since := e.newest.AddDate(0, 0, -7).Format("2006-01-02")
	for _, c := range []struct{ name, path string }{
		{"list_unknown_status", "/payments?status=unknown"},
		{"list_unknown_outcome", "/payments?outcome=unknown"},
		{"list_cancelling_without_link", "/payments?status=cancelling&link=none"},
		{"list_links_waiting", "/payments?link=active"},
		{"list_failed_since", "/payments?failed_since=" + since},
	} {
		b.Run(c.name, func(b *testing.B) { timed(b, c.path) })
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkRefundHistory(b *testing.B) {
	e := benchSetup(b)
	month := e.newest.AddDate(0, -1, 0).Format("2006-01-02")
	cases := []struct{ name, query string }{
		{"all", ""},
		{"provider", "provider=bpc"},
		{"currency", "currency=EUR"},
		{"status_rejected", "status=rejected"},
		{"reason_currency", "reason=goodwill&currency=EUR"},
		{"requested_by", "requested_by=sam@paydesk.example"},
		{"approved_by", "approved_by=max@paydesk.example"},
		{"last_month", "from=" + month},
		{"last_month_bpc_succeeded", "from=" + month + "&provider=bpc&status=succeeded"},
		{"by_month", "bucket=month"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { e.timed(b, "/refunds?"+c.query) })
	}
}

// BenchmarkRefundsCSV streams the refund export through a writer that keeps nothing,
// and reports rows per second and the live heap's peak while it streams (what the last
// collection found alive): the same whatever the number of rows.
func BenchmarkRefundsCSV(b *testing.B) {
	e := benchSetup(b)
	cases := []struct{ name, query string }{
		{"all", ""},
		{"last_month", "from=" + e.newest.AddDate(0, -1, 0).Format("2006-01-02")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchCSV(b, e, "/refunds.csv?"+c.query) })
	}
}

// BenchmarkPaymentsCSV streams the payments list's export (every payment, a month's, one
// currency's), as BenchmarkRefundsCSV does.
func BenchmarkPaymentsCSV(b *testing.B) {
	e := benchSetup(b)
	cases := []struct{ name, query string }{
		{"all", ""},
		{"last_month", "from=" + e.newest.AddDate(0, -1, 0).Format("2006-01-02")},
		{"eur", "currency=EUR"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchCSV(b, e, "/payments.csv?"+c.query) })
	}
}

// benchCSV streams the export at path through a writer that keeps nothing, and reports
// rows per second and the live heap's peak while it streams (what the last collection
// found alive): the same whatever the number of rows.
func benchCSV(b *testing.B, e *benchEnv, path string) {
	export := func() *countingWriter {
		w := &countingWriter{header: http.Header{}}
		e.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.status != http.StatusOK || w.lines < 2 {
			b.Fatalf("export: %d, %d lines", w.status, w.lines)
		}
		return w
	}
	export() // warm the caches the way a running server has them
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	base := live[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // samples the live heap while the export streams
		defer close(sampled)
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	rows := 0
	b.ReportAllocs()
	for b.Loop() {
		rows += export().lines - 1 // the header
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows/b.N), "rows/op")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base))/(1<<20), "live-heap-MB")
}

// countingWriter is a ResponseWriter that counts lines and keeps nothing.
type countingWriter struct {
	header http.Header
	status int
	lines  int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
func (w *countingWriter) Flush() {}

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkNavViews is what the saved views in the navigation cost. count_all is a page
// after the data changed: the four shipped views each counted by the list's own code
// (the worst case: every page after a change finds the counts gone, once per data
// version); each view alone beside it. page_settings is a small page whose navigation
// comes from the navigation's cache (nothing changed), which every other page pays too.
func BenchmarkNavViews(b *testing.B) {
	e := benchSetup(b)
	ctx := context.Background()
	views, err := e.db.SavedViews(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	now := e.newest // "today" in the data's own time
	filters := make([]storage.PaymentFilter, len(views))
	for i, v := range views {
		q, err := url.ParseQuery(v.Query)
		if err != nil {
			b.Fatal(err)
		}
		if filters[i], err = web.ParsePaymentFilter(q, time.UTC, now); err != nil {
			b.Fatalf("view %q: %v", v.Name, err)
		}
	}
	count := func(b *testing.B, fs ...storage.PaymentFilter) {
		var took []time.Duration
		cpu := processCPU()
		for b.Loop() {
			start := time.Now()
			for _, f := range fs {
				if _, _, err := e.db.CountMatching(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
			took = append(took, time.Since(start))
		}
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/float64(len(took)), "cpu-ms/op")
		reportPercentiles(b, took)
	}
	b.Run("count_all", func(b *testing.B) { count(b, filters...) })
	for i, v := range views {
		b.Run(strings.ReplaceAll(strings.ToLower(v.Name), " ", "_"), func(b *testing.B) {
			n, capped, _ := e.db.CountMatching(ctx, filters[i])
			b.Logf("%s: %d (capped %v)", v.Name, n, capped)
			count(b, filters[i])
		})
	}
	b.Run("page_settings", func(b *testing.B) { e.timed(b, "/settings") })
}
