package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	demogen "paydesk/providers/demo"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// demoConfig is the demo's configuration with no environment.
func demoConfig(t testing.TB) Config {
	t.Helper()
	c, err := loadConfig(noEnv, true)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDemoBulk: the bulk demo holds the payments the import path would make (same ids,
// people, money and states), plus a refund history and a working search.
func TestDemoBulk(t *testing.T) {
	ctx := context.Background()
	const count = 3000
	makers := demoMakers("http://127.0.0.1:1")
	bulk := openDB(t, filepath.Join(t.TempDir(), "bulk.db"))
	var report strings.Builder
	stats, err := seedDemoBulk(ctx, bulk, demoConfig(t), count, makers, &report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "3,000 payments and") {
		t.Errorf("report: %q", report.String())
	}
	imported := openDB(t, filepath.Join(t.TempDir(), "import.db"))
	if err := seedDemo(ctx, imported, count, makers, io.Discard); err != nil {
		t.Fatal(err)
	}

	type row struct {
		id, name, email, raw string
		status               providers.Status
		amount, refunded     int64
		currency             string
	}
	rows := func(db *storage.DB) []row {
		var out []row
		if err := db.EachPayment(ctx, func(p storage.Payment) error {
			out = append(out, row{p.PublicID, p.CustomerName, p.CustomerEmail, p.RawStatus, p.Status, p.Amount, p.Refunded, p.Currency})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := rows(bulk), rows(imported); !slices.Equal(got, want) {
		t.Errorf("the bulk demo's payments differ from the import path's (%d and %d rows)", len(got), len(want))
	}

	// Generated data is consistent: no provider answer that cannot be right (storage/anomalies.go).
	for name, db := range map[string]*storage.DB{"bulk": bulk, "import": imported} {
		if n, err := db.CountAnomalies(ctx); err != nil || n != 0 {
			t.Errorf("the %s demo has %d anomalies (%v), want none", name, n, err)
		}
	}

	// A fifth of the payments carry a refund; staff asked for most, managers decided the large ones.
	if share := float64(stats.Refunds) / count; share < 0.19 || share > 0.25 {
		t.Errorf("%d refunds for %d payments", stats.Refunds, count)
	}
	totals, err := bulk.RefundTotals(ctx, storage.RefundFilter{RequestedBy: "sam@paydesk.example"})
	if err != nil || len(totals) == 0 {
		t.Errorf("refunds requested by sam: %v (%v)", totals, err)
	}
	for _, f := range []storage.RefundFilter{{ApprovedBy: "max@paydesk.example"}, {Status: "rejected"}, {Reason: storage.ProviderRefundReason}} {
		if list, err := bulk.ListRefunds(ctx, f); err != nil || len(list) == 0 {
			t.Errorf("refunds %+v: got %d (%v), want some", f, len(list), err)
		}
	}
	page, err := bulk.ListPayments(ctx, storage.PaymentFilter{Query: "shevchenko"})
	if err != nil || len(page.Payments) == 0 {
		t.Fatalf("search after the bulk demo: %d (%v)", len(page.Payments), err)
	}
	// The bulk demo writes no timeline (see seedDemoBulk).
	evs, err := bulk.Events(ctx, page.Payments[0].ID)
	if err != nil || len(evs) != 0 {
		t.Errorf("timeline of a bulk payment: %+v (%v), want none", evs, err)
	}
}

// TestLazySimulators: a simulator learns a stored payment when a request first names it,
// in its path or its body, once however many requests arrive together.
func TestLazySimulators(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "lazy.db"))
	if err := seedDemo(ctx, db, 60, demoMakers("http://127.0.0.1:1"), io.Discard); err != nil {
		t.Fatal(err)
	}
	bpcSim := bpc.NewSimulator(bpc.SimConfig{APIKey: bpc.DemoAPIKey})
	sims := simulators{
		powens.Name:  powens.NewSimulator(powens.SimConfig{ClientID: powens.DemoClientID, ClientSecret: powens.DemoClientSecret}),
		bpc.Name:     bpcSim,
		tranzzo.Name: tranzzo.NewSimulator(tranzzo.SimConfig{POSID: tranzzo.DemoPOSID, APIKey: tranzzo.DemoAPIKey, APISecret: tranzzo.DemoAPISecret, EndpointsKey: tranzzo.DemoEndpointsKey}),
	}
	lazy := &lazySimulators{db: db, sims: sims, log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(lazy.handler(bpc.Name, sims[bpc.Name]))
	defer srv.Close()

	var pay storage.Payment
	db.EachPayment(ctx, func(p storage.Payment) error {
		if p.Provider == bpc.Name && p.PaymentID != "" && p.SessionID != "" && pay.ID == 0 {
			pay = p
		}
		return nil
	})
	if pay.ID == 0 {
		t.Fatal("no BPC payment with a session in the demo")
	}
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Api-Key", bpc.DemoAPIKey)
		req.Header.Set("X-Version", bpc.DefaultVersion)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := len(bpcSim.Requests()); got != 0 {
		t.Fatalf("requests before the test: %d", got)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/payments/" + pay.PaymentID
			if i%2 == 1 {
				path = "/sessions/" + pay.SessionID
			}
			codes[i] = get(path)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d for a stored payment: %d, want 200", i, c)
		}
	}
	loads := 0
	lazy.rows.Range(func(any, any) bool { loads++; return true })
	if loads != 1 {
		t.Errorf("rows loaded: %d, want 1 (the payment, once)", loads)
	}
	if got := get("/payments/p_nosuchpayment"); got != http.StatusNotFound {
		t.Errorf("unknown payment: %d, want 404", got)
	}

	// Ids carried in the body.
	for _, tt := range []struct {
		provider providers.Name
		method   string
		path     string
		body     string
		want     []string
	}{
		{bpc.Name, http.MethodPost, "/refunds", `{"amount": 100, "paymentId": "p_42"}`, []string{"p_42"}},
		{bpc.Name, http.MethodGet, "/refunds/re_1", ``, nil},
		{tranzzo.Name, http.MethodPost, "/refund", `{"pos_id": "x", "order_id": "ord-000007"}`, []string{"ord-000007"}},
		{tranzzo.Name, http.MethodPost, "/void", `not json`, nil},
		{tranzzo.Name, http.MethodGet, "/pos/x/orders/ord-000009", ``, []string{"ord-000009"}},
		{tranzzo.Name, http.MethodPost, "/pos/x/order/ord-000010/cancel", ``, []string{"ord-000010"}},
		{powens.Name, http.MethodPost, "/payments/480007/scopedtoken", ``, []string{"480007"}},
		{powens.Name, http.MethodGet, "/bank/validate/480008", ``, []string{"480008"}},
		{powens.Name, http.MethodPost, "/auth/token", `{}`, nil},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		got := simulatorIDs(tt.provider, req)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s %s %s: ids %q, want %q", tt.provider, tt.method, tt.path, got, tt.want)
		}
		if rest, _ := io.ReadAll(req.Body); string(rest) != tt.body {
			t.Errorf("%s %s: the body left for the simulator is %q, want %q", tt.method, tt.path, rest, tt.body)
		}
	}
}

// BenchmarkSeedDemoBulk measures the bulk demo on 100,000 payments (payments/s is the
// figure; docs/benchmarks.md has the million).
func BenchmarkSeedDemoBulk(b *testing.B) {
	const count = 100_000
	makers := demoMakers("http://127.0.0.1:1")
	for i := 0; b.Loop(); i++ {
		db, err := storage.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("bulk%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := seedDemoBulk(context.Background(), db, demoConfig(b), count, makers, io.Discard); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	b.ReportMetric(float64(count*b.N)/b.Elapsed().Seconds(), "payments/s")
}

// TestDemoRawIsCompact: the bulk demo tells the loader its raw JSON is compact already
// (storage.BulkOptions.RawCompact): every provider's demo payment, in every variant,
// must be, or the database would keep JSON no other path writes.
func TestDemoRawIsCompact(t *testing.T) {
	opt := demogen.Options{Count: 3000, Seed: demoSeed, Now: time.Now(), Makers: demoMakers("http://127.0.0.1:1"),
		Staff: demoStaff(demoConfig(t)), Parse: parseEnvelope}
	seen := map[providers.Name]int{}
	err := demogen.Pipeline(opt, func(p demogen.Payment) (providers.Snapshot, error) { return p.Snapshot, nil },
		func(s providers.Snapshot) error {
			var buf bytes.Buffer
			if err := json.Compact(&buf, s.Raw); err != nil {
				return fmt.Errorf("%s payment %s: raw JSON: %w", s.Provider, s.PaymentID+s.SessionID+s.OrderID, err)
			}
			if !bytes.Equal(buf.Bytes(), s.Raw) {
				return fmt.Errorf("%s payment: raw JSON is not compact: %.200s", s.Provider, s.Raw)
			}
			seen[s.Provider]++
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range providers.Names {
		if seen[n] < 500 {
			t.Errorf("%s: %d payments checked, want hundreds", n, seen[n])
		}
	}
}
