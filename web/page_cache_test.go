package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
)

// pageCacheLookups reads the page cache's hit and miss counters from the metrics.
func pageCacheLookups(t *testing.T, h *harness) (hits, misses int) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		for label, dest := range map[string]*int{`result="hit"`: &hits, `result="miss"`: &misses} {
			if strings.HasPrefix(line, "paydesk_page_cache_lookups_total{") && strings.Contains(line, label) {
				n, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
				if err != nil {
					t.Fatalf("metrics line %q: %v", line, err)
				}
				*dest = n
			}
		}
	}
	return hits, misses
}

// settle waits until every write so far has reached the page cache's data version (on
// PostgreSQL, commits are heard as notifications a moment later; a late one would empty
// the cache between two asks and the second would miss).
func settle(t *testing.T, h *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.db.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPaymentsListCacheFollowsTheData: a list page asked again is served from the page
// cache, but never after the data changed — a new payment, a change made behind
// Paydesk's back — and the layout around a kept page is each user's own.
func TestPaymentsListCacheFollowsTheData(t *testing.T) {
	h := newHarness(t)
	first := h.add(bpc.Name, spec{name: "Ada Lovelace"})
	// Signing in is audited, a write: sign everyone in before asking.
	sam, tess, nora := h.signedIn("sam"), h.signedIn("tess"), h.signedIn("nora")

	settle(t, h)
	r := sam.get("/payments?provider=bpc&currency=EUR")
	mustContain(t, r, first.PublicID, "Ada Lovelace", "Sam Support")
	hits0, _ := pageCacheLookups(t, h)
	r = sam.get("/payments?currency=EUR&provider=bpc") // the same filters in another order
	mustContain(t, r, first.PublicID, "Sam Support")
	if hits, _ := pageCacheLookups(t, h); hits != hits0+1 {
		t.Fatalf("asking again was not served from the cache: %d hits, want %d", hits, hits0+1)
	}

	// Another user gets the kept page inside their own layout.
	r = tess.get("/payments?provider=bpc&currency=EUR")
	mustContain(t, r, first.PublicID, "Tess Two-Roles")
	mustNotContain(t, r, "Sam Support")
	if hits, _ := pageCacheLookups(t, h); hits != hits0+2 {
		t.Fatalf("the second user's page was not served from the cache: %d hits, want %d", hits, hits0+2)
	}
	// Nor does a kept page open the list to someone without the right.
	if r := nora.get("/payments?provider=bpc&currency=EUR"); r.status != http.StatusForbidden || strings.Contains(r.body, first.PublicID) {
		t.Fatalf("no-access user: %d, payment shown %v", r.status, strings.Contains(r.body, first.PublicID))
	}

	// A new payment shows at once.
	second := h.add(bpc.Name, spec{name: "Grace Hopper"})
	mustContain(t, sam.get("/payments?provider=bpc&currency=EUR"), first.PublicID, second.PublicID, "Grace Hopper")

	// So does a change made outside Paydesk's own code (another process would do the same).
	if _, err := h.db.SQL().ExecContext(context.Background(), `UPDATE payments SET customer_name = 'Katherine Johnson' WHERE id = ?`, first.ID); err != nil {
		t.Fatal(err)
	}
	r = sam.get("/payments?provider=bpc&currency=EUR")
	mustContain(t, r, "Katherine Johnson", "Grace Hopper")
	mustNotContain(t, r, "Ada Lovelace")

	// A filter that cannot be understood is refused each time, never kept.
	for range 2 {
		r = sam.get("/payments?provider=paypal")
		if r.status != http.StatusBadRequest {
			t.Fatalf("unknown provider: %d, want 400", r.status)
		}
		mustContain(t, r, "Unknown provider")
	}
}

// TestRefundHistoryCacheFollowsTheData: the refund history asked again is served from
// the page cache; a refund requested in between shows at once, in the list and in the
// totals.
func TestRefundHistoryCacheFollowsTheData(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 200000})
	sam, fran := h.signedIn("sam"), h.signedIn("fran")
	mustContain(t, govRequestRefund(t, sam, p, "100.00", "duplicate", ""), "done")

	r := fran.get("/refunds?currency=EUR")
	if got := govTotals(r.body)["EUR"]; got.count != 1 || got.amount != 10000 {
		t.Fatalf("totals before: %+v", got)
	}
	settle(t, h)
	r = fran.get("/refunds?currency=EUR")
	hits0, _ := pageCacheLookups(t, h)
	r = fran.get("/refunds?currency=EUR")
	if hits, _ := pageCacheLookups(t, h); hits != hits0+1 {
		t.Fatalf("asking again was not served from the cache: %d hits, want %d", hits, hits0+1)
	}
	if got := govTotals(r.body)["EUR"]; got.count != 1 || got.amount != 10000 {
		t.Fatalf("totals from the cache: %+v", got)
	}

	mustContain(t, govRequestRefund(t, sam, p, "25.00", "goodwill", ""), "done")
	r = fran.get("/refunds?currency=EUR")
	if got := govTotals(r.body)["EUR"]; got.count != 2 || got.amount != 12500 {
		t.Fatalf("totals after a second refund: %+v, want 2 refunds, 125.00", got)
	}
	mustContain(t, r, "Goodwill")
}
