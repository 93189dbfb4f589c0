package web_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"paydesk/providers/powens"
	"paydesk/storage"
)

// queueHarness is a harness holding one payment or more of each kind of "needs someone":
// an unknown provider status, two cancelling payments (one with a live link), an action
// with an unknown outcome started three hours ago, a failed refund action, a refund
// awaiting approval and one of sam's requests rejected yesterday.
type queueHarness struct {
	*harness
	unknown, cancelling, linked, outcome, failed storage.Payment
}

func newQueueHarness(t *testing.T) queueHarness {
	t.Helper()
	h := newHarness(t)
	q := queueHarness{harness: h}
	q.unknown = h.add(powens.Name, spec{variant: 12})   // processing_v2: a status Paydesk does not know
	q.cancelling = h.add(powens.Name, spec{variant: 4}) // the payer must confirm in the webview
	q.linked = h.add(powens.Name, spec{variant: 5})
	q.outcome = h.add(powens.Name, spec{variant: 7})
	q.failed = h.add(powens.Name, spec{variant: 7})
	decided := h.add(powens.Name, spec{variant: 7})
	asked := h.add(powens.Name, spec{variant: 7})
	for i, p := range []storage.Payment{q.unknown, q.cancelling, q.linked} {
		want := []string{"unknown", "cancelling", "cancelling"}[i]
		if got := h.payment(p).Status; string(got) != want {
			t.Fatalf("payment %s is %s, want %s: the demo variants changed", p.PublicID, got, want)
		}
	}
	now := h.clock.Now()
	at := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := h.db.SQL().Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO payer_links (payment_id, state, kind, url, nonce, created_by, created_at, expires_at, updated_at)
		VALUES (?, 'active', 'webview', 'https://webview.example/', 'n-1', 'sam@paydesk.example', ?, ?, ?)`, q.linked.ID, at(-time.Hour), at(time.Hour), at(-time.Hour))
	exec(`INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at) VALUES (?, 'refund', 'unknown', 'k-1', 'sam@paydesk.example', ?)`,
		q.outcome.ID, at(-3*time.Hour))
	exec(`INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at, finished_at) VALUES (?, 'refund', 'failed', 'k-2', 'sam@paydesk.example', ?, ?)`,
		q.failed.ID, at(-2*24*time.Hour), at(-2*24*time.Hour))
	exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, approval_expires_at, updated_at)
		VALUES (?, 100, 'EUR', 'awaiting_approval', 'tess@paydesk.example', ?, ?, ?)`, asked.ID, at(-5*time.Hour), at(time.Hour), at(-5*time.Hour))
	exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, updated_at)
		VALUES (?, 100, 'EUR', 'rejected', 'sam@paydesk.example', ?, ?)`, decided.ID, at(-30*time.Hour), at(-26*time.Hour))
	exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
		SELECT id, 'max@paydesk.example', 'rejected', ?, amount, currency, payment_id FROM refunds WHERE payment_id = ?`, at(-26*time.Hour), decided.ID)
	return q
}

// queueSection returns the dashboard's section of one kind of work, "" when absent.
func queueSection(body, key string) string {
	return regexpFind(body, `(?s)(<section[^>]*data-testid="dash-`+regexp.QuoteMeta(key)+`".*?</section>)`)
}

func TestDashboardIsTheWorkQueueOfEachRole(t *testing.T) {
	h := newQueueHarness(t)
	all := []string{"unknown-status", "unknown-outcome", "cancelling-no-link", "links-waiting", "links-abandoned", "approvals", "my-decided", "failures", "anomalies"}
	roles := []struct {
		user  string
		shown map[string]int // section → count; the others must be absent
	}{
		{"sam", map[string]int{"unknown-status": 1, "unknown-outcome": 1, "cancelling-no-link": 1, "links-waiting": 1, "links-abandoned": 0, "my-decided": 1, "failures": 1, "anomalies": 0}},
		{"fran", map[string]int{"unknown-status": 1, "unknown-outcome": 1, "failures": 1, "anomalies": 0}},
		{"max", map[string]int{"unknown-status": 1, "unknown-outcome": 1, "cancelling-no-link": 1, "links-waiting": 1, "links-abandoned": 0, "approvals": 1, "my-decided": 0, "failures": 1, "anomalies": 0}},
	}
	for _, role := range roles {
		t.Run(role.user, func(t *testing.T) {
			b := h.signedIn(role.user)
			r := b.get("/")
			if r.status != http.StatusOK {
				t.Fatalf("GET / as %s: status %d", role.user, r.status)
			}
			mustBeCleanPage(t, r)
			for _, key := range all {
				section := queueSection(r.body, key)
				want, shown := role.shown[key]
				if !shown {
					if section != "" {
						t.Errorf("%s sees %q, which the role cannot act on", role.user, key)
					}
					continue
				}
				if section == "" {
					t.Errorf("%s does not see %q", role.user, key)
					continue
				}
				if got := regexpFind(section, `data-testid="count-`+key+`">([0-9,]+)<`); got != strconv.Itoa(want) {
					t.Errorf("%s: %q counts %q, want %d", role.user, key, got, want)
				}
				if want == 0 {
					continue
				}
				if s := text(section); !strings.Contains(s, "Oldest:") || !strings.Contains(s, " ago.") && !strings.Contains(s, "waiting ") {
					t.Errorf("%s: %q says nothing of the oldest: %s", role.user, key, text(section))
				}
				// The link leads to a list of exactly the payments counted.
				link := attr(section, "link-"+key, "href")
				if link == "" {
					t.Errorf("%s: %q has no link", role.user, key)
					continue
				}
				if !strings.HasPrefix(link, "/payments?") {
					continue
				}
				list := b.get(link)
				if list.status != http.StatusOK {
					t.Errorf("%s: %s answered %d: %s", role.user, link, list.status, text(regexpFind(list.body, `(?s)(data-testid="filter-error".*?</div>)`)))
					continue
				}
				mustBeCleanPage(t, list)
				if rows := strings.Count(list.body, `data-testid="payment-row"`); rows != want {
					t.Errorf("%s: %s lists %d payments, the dashboard counts %d", role.user, link, rows, want)
				}
			}
		})
	}
	// What each line says, for the people who act on it.
	sam := h.signedIn("sam").get("/")
	if s := text(queueSection(sam.body, "unknown-outcome")); !strings.Contains(s, "waiting 3 hours") || !strings.Contains(s, "do not repeat the action elsewhere") {
		t.Errorf("the unknown outcome's line: %s", s)
	}
	if s := text(queueSection(sam.body, "cancelling-no-link")); !strings.Contains(s, "make a payer link") {
		t.Errorf("the cancelling line names no next step: %s", s)
	}
	if got := attr(queueSection(sam.body, "cancelling-no-link"), "link-cancelling-no-link", "href"); got != "/payments?status=cancelling&link=none" {
		t.Errorf("cancelling link = %q", got)
	}
	cancelling := h.signedIn("sam").get("/payments?status=cancelling&link=none")
	mustContain(t, cancelling, h.cancelling.PublicID, "Only payments without a live payer link")
	mustNotContain(t, cancelling, h.linked.PublicID)
	// The hidden field keeps the dashboard's filter when the form is sent again.
	if !strings.Contains(cancelling.body, `type="hidden" name="link" value="none"`) {
		t.Error("the list's form drops the link filter")
	}
	// A work-queue filter the list does not know is one sentence, not an error page.
	bad := h.signedIn("sam").get("/payments?link=lost")
	if bad.status != http.StatusBadRequest {
		t.Errorf("link=lost: status %d, want 400", bad.status)
	}
	mustContain(t, bad, "Unknown payer link filter")

	// A person without a role sees the no-access page, cleanly.
	nora := h.signedIn("nora").get("/")
	if nora.status != http.StatusForbidden {
		t.Errorf("GET / as nora: status %d, want 403", nora.status)
	}
	mustContain(t, nora, "No access")
	mustBeCleanPage(t, nora)
}

// templateSource matches what a person must never read: templ source printed as text
// (`@When(`, `{ it.Title }`), fmt's complaints (`%!d(string=…)`), a nil printed, a zero
// time.
var templateSource = regexp.MustCompile(`@[A-Z]\w*\(|\{ [A-Za-z_][\w.()]* \}|%!|<nil>|0001-01-01`)

// mustBeCleanPage fails when the page's text or attributes leak template source.
func mustBeCleanPage(t *testing.T, r response) {
	t.Helper()
	for _, s := range []string{text(r.body), r.body} {
		if m := templateSource.FindString(s); m != "" {
			i := strings.Index(s, m)
			t.Errorf("page %s shows template source %q: …%s…", r.url, m, s[max(0, i-120):min(len(s), i+120)])
			return
		}
	}
	if strings.Contains(r.body, "&lt;nil&gt;") {
		t.Errorf("page %s shows <nil>", r.url)
	}
}

// TestNoPageShowsTemplateSource walks every page each role can open, over payments in
// several states, and looks for template source, fmt's complaints, nil and zero times.
func TestNoPageShowsTemplateSource(t *testing.T) {
	h := newQueueHarness(t)
	pages := []string{"/", "/payments", "/payments?attention=1", "/payments?outcome=unknown", "/payments?link=active",
		"/payments?failed_since=2020-01-01", "/my-refunds", "/approvals", "/refunds", "/audit", "/sessions", "/settings"}
	for _, p := range []storage.Payment{h.unknown, h.cancelling, h.linked, h.outcome, h.failed} {
		pages = append(pages, "/payments/"+p.PublicID)
	}
	for _, user := range []string{"sam", "fran", "max", "nora"} {
		b := h.signedIn(user)
		for _, path := range pages {
			r := b.get(path)
			if r.status >= 500 {
				t.Errorf("GET %s as %s: status %d", path, user, r.status)
			}
			mustBeCleanPage(t, r)
		}
	}
}
