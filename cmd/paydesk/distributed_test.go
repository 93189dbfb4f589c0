package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// The distributed tests run two `paydesk serve` processes on one PostgreSQL database,
// each on its own port, with the same configuration and secrets, against the provider
// simulators and the OpenID provider of the test process (crash_test.go): the simulator
// is the one provider both instances call, so what it holds is the truth Paydesk must
// agree with. They run in the PostgreSQL pass of make test (PAYDESK_TEST_ENGINE=postgres);
// on SQLite they are skipped, because two processes on one SQLite file is not a supported
// setup (docs/deployment.md): a second instance needs PostgreSQL.

// cluster is two Paydesk processes on one PostgreSQL database.
type cluster struct {
	*crashEnv
	addrs [2]string
	// metrics are the addresses of each instance's metrics listener.
	metrics [2]string
	// base is where people reach both instances (a proxy), or "" for each its own.
	base string
}

// newCluster builds the environment of two instances (not started), each reached at its
// own address.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterAt(t, "")
}

// newClusterAt is newCluster with both instances reached at base (a proxy), when set.
func newClusterAt(t *testing.T, base string) *cluster {
	t.Helper()
	if pgtest.Engine() != "postgres" {
		t.Skip("two instances need PostgreSQL: run with PAYDESK_TEST_ENGINE=postgres (make test does); two processes on one SQLite file is not a supported setup")
	}
	ports := freeAddrs(t, 4)
	c := &cluster{addrs: [2]string{ports[0], ports[1]}, metrics: [2]string{ports[2], ports[3]}, base: base}
	bases := []string{base}
	if base == "" {
		bases = []string{"http://" + c.addrs[0], "http://" + c.addrs[1]}
	}
	c.crashEnv = newProcessEnv(t, bases...)
	c.db = pgtest.NewDatabase(t)
	return c
}

// instanceEnv is the configuration every instance of a test shares besides its address:
// short periods, so that a survivor takes the jobs over and settles what a dead instance
// left within seconds. On PostgreSQL the reconciler leaves a pending action alone for the
// grace (a call of another instance may be in flight), at least a provider call's length.
var instanceEnv = []string{"PAYDESK_RECONCILE_EVERY=300ms", "PAYDESK_JOB_RETRY=1s",
	"PAYDESK_PROVIDER_TIMEOUT=2s", "PAYDESK_RECONCILE_GRACE=8s"}

// start runs instance i (0 or 1), named a or b, with extra variables.
func (c *cluster) start(t *testing.T, i int, crashAt string, extra ...string) *paydeskProcess {
	t.Helper()
	base := c.base
	if base == "" {
		base = "http://" + c.addrs[i]
	}
	env := append([]string{"PAYDESK_METRICS_ADDR=" + c.metrics[i], "PAYDESK_INSTANCE=" + "ab"[i:i+1]}, instanceEnv...)
	return c.startOn(t, c.addrs[i], base, crashAt, append(env, extra...)...)
}

// at is b's browser pointed at another instance: the same client, so the same cookies
// (a cookie is not bound to a port), as a load balancer would send them.
func (b *crashBrowser) at(p *paydeskProcess) *crashBrowser {
	return &crashBrowser{c: b.c, base: p.base}
}

func TestTwoInstancesNeverRefundMoreThanCaptured(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	p := c.add(bpc.Name) // captured 100.00 EUR
	a := c.start(t, 0, "")
	b := c.start(t, 1, "")
	onA := a.signIn(t, "sam")
	browsers := []*crashBrowser{onA, onA.at(b)}

	// 20 refunds of 7.00 at once, alternating between the instances: 14 fit in 100.00.
	// Paydesk runs one action per payment at a time and refuses the others while one is
	// open ("in progress"), so each person retries, as someone at the desk would, until
	// their refund is made or no longer fits.
	const n, each = 20, 700
	db := c.open(t)
	calls := c.refundCalls.Load()
	var wg sync.WaitGroup
	gate := make(chan struct{})
	errs := make(chan error, n)
	deadline := time.Now().Add(30 * time.Second)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := browsers[i%2]
			<-gate
			for attempt := 0; ; attempt++ {
				// The form is not offered while another action is open.
				key, err := br.refundForm(p)
				if err == nil {
					err = br.submitRefund(p, key, "7.00")
				}
				refused := errors.Is(err, errNoRefundForm) || errors.Is(err, errRefundRefused)
				if err != nil && !refused {
					errs <- err
					return
				}
				if err == nil {
					if _, err := db.RefundByKey(context.Background(), key); err == nil {
						return // made (or failed at the provider): this person is done
					}
				}
				left, err := refundable(db, p)
				if err != nil {
					errs <- err
					return
				}
				if left < each {
					return // refused: no longer fits
				}
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("refund %d still refused after %d attempts with %d left", i, attempt+1, left)
					return
				}
				time.Sleep(time.Duration(10+i*3) * time.Millisecond)
			}
		}()
	}
	began := time.Now()
	close(gate)
	wg.Wait()
	close(errs)
	took := time.Since(began)
	for err := range errs {
		t.Error(err)
	}

	// What the database holds.
	var refunds []storage.Refund
	var actions []storage.Action
	c.withDB(func(db *storage.DB) {
		var err error
		if refunds, err = db.RefundsOfPayment(context.Background(), p.ID); err != nil {
			t.Fatal(err)
		}
		if actions, err = db.ActionsOfPayment(context.Background(), p.ID); err != nil {
			t.Fatal(err)
		}
	})
	var succeeded, held int64
	keys := map[string]bool{}
	for _, r := range refunds {
		if r.Status != "succeeded" && r.Status != "failed" {
			t.Errorf("refund %d is %s: every refund must be settled once the requests are answered", r.ID, r.Status)
		}
		if r.Status == "succeeded" {
			succeeded++
			held += r.Amount
		}
		if r.IdempotencyKey != "" && keys[r.IdempotencyKey] {
			t.Errorf("two refunds carry the idempotency key %s", r.IdempotencyKey)
		}
		keys[r.IdempotencyKey] = true
	}
	if held > p.Captured {
		t.Errorf("the database holds %d refunded of %d captured", held, p.Captured)
	}
	// Serialised writers leave no room unused: exactly the refunds that fit succeeded.
	if want := p.Captured / each; succeeded != want {
		t.Errorf("%d refunds of %d succeeded, want %d (the ones that fit in %d)", succeeded, each, want, p.Captured)
	}
	// What the provider holds.
	atProvider := c.providerRefunds(t, p)
	var sum int64
	for _, v := range atProvider {
		sum += v
	}
	if sum > p.Captured {
		t.Errorf("the provider refunded %d of %d captured", sum, p.Captured)
	}
	if got := c.succeededRefunds(t, p); fmt.Sprint(got) != fmt.Sprint(atProvider) {
		t.Errorf("Paydesk holds %v, the provider %v: they must agree refund by refund", got, atProvider)
	}
	// The provider was asked once per accepted refund, never twice.
	if got := c.refundCalls.Load() - calls; got != succeeded || int64(len(atProvider)) != succeeded {
		t.Errorf("the provider was asked for %d refunds and holds %d; Paydesk accepted %d", got, len(atProvider), succeeded)
	}
	for _, act := range actions {
		if act.State == "pending" || act.State == "unknown" {
			t.Errorf("action %d is still %s", act.ID, act.State)
		}
	}
	t.Logf("%d people refunding at once across two instances: %d refunds succeeded (%d of %d), %d actions; refunds in %s, test %s",
		n, succeeded, held, p.Captured, len(actions), took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

func TestSignOutOnOneInstanceEndsTheSessionOnTheOther(t *testing.T) {
	c := newCluster(t)
	a := c.start(t, 0, "")
	b := c.start(t, 1, "")
	onA := a.signIn(t, "sam")
	// The cookie the browser holds, kept aside: the sign-out clears it from the browser,
	// but a copy (another tab, a stolen cookie) must be worth nothing anywhere.
	u, _ := url.Parse(a.base)
	cookies := onA.c.Jar.Cookies(u)
	if len(cookies) == 0 {
		t.Fatal("no cookie after sign-in")
	}
	if got := statusWithCookies(t, b.base+"/settings", cookies); got != http.StatusOK {
		t.Fatalf("the session of a reaches b with %d, want 200 (sessions are shared)", got)
	}
	res, err := noRedirect(onA.c).PostForm(a.base+"/auth/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on a answered %d", res.StatusCode)
	}
	// At once on the other instance: the next request is refused.
	if got := statusWithCookies(t, b.base+"/settings", cookies); got != http.StatusSeeOther {
		t.Errorf("after the sign-out on a, b answers the old cookie with %d, want 303 to sign in", got)
	}
	if got := statusWithCookies(t, a.base+"/settings", cookies); got != http.StatusSeeOther {
		t.Errorf("after the sign-out on a, a answers the old cookie with %d, want 303 to sign in", got)
	}
}

// open opens the cluster's database for the test (as a third client of it).
func (c *cluster) open(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// refundable is what is left to refund on p: captured less the refunds that succeeded or
// may still succeed.
func refundable(db *storage.DB, p storage.Payment) (int64, error) {
	list, err := db.RefundsOfPayment(context.Background(), p.ID)
	if err != nil {
		return 0, err
	}
	left := p.Captured
	for _, r := range list {
		if r.Status != "failed" && r.Status != "rejected" && r.Status != "expired" {
			left -= r.Amount
		}
	}
	return left, nil
}

// statusWithCookies is the status of GET target with exactly cookies, redirects not followed.
func statusWithCookies(t *testing.T, target string, cookies []*http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	res, err := noRedirect(&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(res.Header.Get("Location"), "/auth/login") {
		t.Fatalf("GET %s redirected to %s", target, res.Header.Get("Location"))
	}
	return res.StatusCode
}

// noRedirect is c (its cookies) without following redirects.
func noRedirect(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestRefundOnOneInstanceShowsAtOnceOnTheOthersList(t *testing.T) {
	c := newCluster(t)
	p := c.add(bpc.Name)
	a := c.start(t, 0, "")
	b := c.start(t, 1, "")
	onA := a.signIn(t, "sam")
	onB := onA.at(b)
	list := "/payments?q=" + url.QueryEscape(p.CustomerEmail)

	// b renders the list once, then serves it from its page cache — once the writes of
	// the instances' start-up (the jobs' first rounds) are over.
	before := onB.page(t, list)
	const refundedBadge = `data-testid="status">refunded<`
	if !strings.Contains(before, p.PublicID) || strings.Contains(before, refundedBadge) {
		t.Fatalf("the list on b does not show %s unrefunded", p.PublicID)
	}
	for settle := time.Now(); ; {
		hits := c.cacheHits(t, 1)
		if again := onB.page(t, list); again != before {
			t.Fatal("the list on b changed with nothing done")
		}
		if c.cacheHits(t, 1) == hits+1 {
			break
		}
		if time.Since(settle) > 5*time.Second {
			t.Fatal("b never served the list from its page cache: the test would prove nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A refund of the whole amount on a; b's list must say so within a second or two.
	if _, err := onA.refund(t, p, "100.00"); err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	for {
		after := onB.page(t, list)
		if after != before && strings.Contains(after, refundedBadge) {
			t.Logf("b's list showed the refund made on a after %s", time.Since(done).Round(time.Millisecond))
			break
		}
		if time.Since(done) > 2*time.Second {
			t.Fatalf("2s after the refund on a, b still shows the list from before it")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// page is the body of GET path, which must answer 200.
func (b *crashBrowser) page(t *testing.T, path string) string {
	t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	return string(body)
}

// cacheHits reads instance i's count of list pages served from its page cache.
func (c *cluster) cacheHits(t *testing.T, i int) int64 {
	t.Helper()
	return metricValue(t, "http://"+c.metrics[i]+"/metrics", `paydesk_page_cache_lookups_total{result="hit"}`)
}

// metricValue reads one sample of a Prometheus text page (0 when absent).
func metricValue(t *testing.T, target, sample string) int64 {
	t.Helper()
	res, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", sample, v)
			}
			return int64(f)
		}
	}
	return 0
}

func TestKilledInstancesRefundIsSettledByTheOther(t *testing.T) {
	c := newCluster(t)
	p := c.add(bpc.Name)
	// a starts first (the jobs' leader, if any is chosen by arrival) and dies after the
	// provider made the refund, before the answer is stored.
	a := c.start(t, 0, "before_store")
	b := c.start(t, 1, "")
	key, err := a.signIn(t, "sam").refund(t, p, "30.00")
	if err == nil {
		t.Fatal("the refund on a was answered; a should have died before storing the answer")
	}
	a.waitKilled(t)
	killed := time.Now()
	if act := c.action(t, key); act.State != "pending" {
		t.Fatalf("after the crash the action is %s, want pending", act.State)
	}
	if got := c.providerRefunds(t, p); len(got) != 1 {
		t.Fatalf("the provider holds %v after the crash, want the one refund", got)
	}

	// b settles it, without a restart of a.
	act := c.waitSettledWithin(t, key, 15*time.Second)
	r := c.refund(t, act.RefundID)
	if act.State != "succeeded" || r.Status != "succeeded" {
		t.Fatalf("b left the action %s and the refund %s, want succeeded (%s)", act.State, r.Status, act.Message)
	}
	if held, at := c.succeededRefunds(t, p), c.providerRefunds(t, p); fmt.Sprint(held) != fmt.Sprint(at) {
		t.Errorf("Paydesk holds %v, the provider %v: they must agree", held, at)
	}
	t.Logf("b settled a's refund %s after a died", time.Since(killed).Round(time.Millisecond))

	// b goes on: the next refund runs once, to completion.
	calls := c.refundCalls.Load()
	key2, err := b.signIn(t, "sam").refund(t, p, "20.00")
	if err != nil {
		t.Fatal(err)
	}
	if a2 := c.action(t, key2); a2.State != "succeeded" {
		t.Errorf("the next refund on b is %s, want succeeded", a2.State)
	}
	if got := c.refundCalls.Load() - calls; got != 1 {
		t.Errorf("the next refund asked the provider %d times", got)
	}
}

// waitSettledWithin waits for some instance's reconciler to settle the action.
func (e *crashEnv) waitSettledWithin(t *testing.T, key string, limit time.Duration) storage.Action {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		a := e.action(t, key)
		if a.State != "pending" && a.State != "unknown" {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the action is still %s %s after the crash: %s", a.State, limit, a.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
