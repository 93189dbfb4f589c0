package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers/powens"
	"paydesk/storage"
)

// navRe finds the saved views of the navigation: name, then count.
var navRe = regexp.MustCompile(`(?s)data-testid="nav-view"[^>]*>(.*?)</a>`)

// navViews reads the navigation's saved views as a person reads them: name → count
// ("" when none is shown).
func navViews(t *testing.T, r response) map[string]string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s answered %d", r.url, r.status)
	}
	out := map[string]string{}
	for _, m := range navRe.FindAllStringSubmatch(r.body, -1) {
		name, count, _ := strings.Cut(m[1], `<span class="nav-count" data-testid="nav-view-count">`)
		out[strings.TrimSpace(text(name))] = strings.TrimSpace(text(count))
	}
	return out
}

// viewsSeed is one payment for each shipped view, and some for none: a cancelling
// payment without a link, one with a live link, one with a refund awaiting approval, one
// refunded a second ago, one refunded two days ago, and a paid one.
type viewsSeed struct {
	cancelling, linked, asked, refunded, refundedBefore, paid storage.Payment
}

func seedViews(t *testing.T, h *harness) viewsSeed {
	t.Helper()
	var s viewsSeed
	s.cancelling = h.add(powens.Name, spec{variant: 4})
	s.linked = h.add(powens.Name, spec{variant: 5})
	s.asked = h.add(powens.Name, spec{variant: 7})
	s.refunded = h.add(powens.Name, spec{variant: 7})
	s.refundedBefore = h.add(powens.Name, spec{variant: 7})
	s.paid = h.add(powens.Name, spec{variant: 7, currency: "GBP"})
	now := h.clock.Now()
	at := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := h.db.SQL().Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO payer_links (payment_id, state, kind, url, nonce, created_by, created_at, expires_at, updated_at)
		VALUES (?, 'active', 'webview', 'https://webview.example/', 'n-1', 'sam@paydesk.example', ?, ?, ?)`, s.linked.ID, at(-time.Hour), at(time.Hour), at(-time.Hour))
	exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, approval_expires_at, updated_at)
		VALUES (?, 100, 'EUR', 'awaiting_approval', 'tess@paydesk.example', ?, ?, ?)`, s.asked.ID, at(-5*time.Hour), at(time.Hour), at(-5*time.Hour))
	for _, r := range []struct {
		p  storage.Payment
		at time.Duration
	}{{s.refunded, -time.Second}, {s.refundedBefore, -48 * time.Hour}} {
		exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, updated_at)
			VALUES (?, 100, 'EUR', 'succeeded', 'sam@paydesk.example', ?, ?)`, r.p.ID, at(r.at-time.Minute), at(r.at))
	}
	return s
}

// TestShippedViewsAndTheirCounts: on a fresh database every person who sees payments
// has the four shipped views in the navigation, each with the count its list shows, and
// each opens the list filtered as its name says.
func TestShippedViewsAndTheirCounts(t *testing.T) {
	h := newHarness(t)
	s := seedViews(t, h)
	want := map[string]string{"Needs attention": "3", "Cancelling without link": "1", "Awaiting approval": "1", "Refunded today": "1"}
	for _, user := range []string{"sam", "fran", "max"} {
		got := navViews(t, h.signedIn(user).get("/"))
		for name, n := range want {
			if got[name] != n {
				t.Errorf("%s's navigation: %q counts %q, want %q (all: %v)", user, name, got[name], n, got)
			}
		}
	}
	sam := h.signedIn("sam")
	// A new cancelling payment moves the counts on the next page (the data changed).
	h.add(powens.Name, spec{variant: 5})
	if got := navViews(t, sam.get("/payments"))["Cancelling without link"]; got != "2" {
		t.Errorf("after a second cancelling payment: Cancelling without link counts %q, want 2", got)
	}
	lists := map[string][]storage.Payment{
		"attention=1":                 {s.cancelling, s.linked, s.asked},
		"link=none&status=cancelling": {s.cancelling}, // (and the new one)
		"refund=awaiting_approval":    {s.asked},
		"refunded=today":              {s.refunded},
	}
	all := []storage.Payment{s.cancelling, s.linked, s.asked, s.refunded, s.refundedBefore, s.paid}
	for q, in := range lists {
		page := sam.get("/payments?" + q)
		if page.status != http.StatusOK {
			t.Fatalf("/payments?%s answered %d", q, page.status)
		}
		for _, p := range all {
			shown := strings.Contains(page.body, p.PublicID)
			wanted := false
			for _, w := range in {
				wanted = wanted || w.ID == p.ID
			}
			if shown != wanted {
				t.Errorf("/payments?%s shows %s: %v, want %v", q, p.PublicID, shown, wanted)
			}
		}
		// The view's own link is marked as the page shown.
		if !regexp.MustCompile(`href="/payments\?` + regexp.QuoteMeta(strings.ReplaceAll(q, "&", "&amp;")) + `" aria-current="page" data-testid="nav-view"`).MatchString(page.body) {
			t.Errorf("/payments?%s: its view is not marked current in the navigation", q)
		}
	}
	// The refund filters are in the filter form, and a bad value is refused in words.
	mustContain(t, sam.get("/payments?refund=awaiting_approval"), "Awaiting approval")
	bad := sam.get("/payments?refunded=yesterdayish")
	if bad.status != http.StatusBadRequest {
		t.Errorf("a bad refunded filter: %d, want 400", bad.status)
	}
	mustContain(t, bad, "The refunded filter must be today or a date like 2026-01-31.")
	mustContain(t, sam.get("/payments?refund=approved"), `Unknown refund filter "approved"`)
}

// TestRefundedTodayIsTheViewersDay: "Refunded today" counts the refunds of the day in the
// person's zone: a refund a minute before Tokyo's midnight is not today's in Tokyo.
func TestRefundedTodayIsTheViewersDay(t *testing.T) {
	h := newHarness(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	y, m, d := now.In(tokyo).Date()
	beforeMidnight := time.Date(y, m, d, 0, 0, 0, 0, tokyo).Add(-time.Minute)
	p := h.add(powens.Name, spec{variant: 7})
	if _, err := h.db.SQL().Exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, updated_at)
		VALUES (?, 100, 'EUR', 'succeeded', 'sam@paydesk.example', ?, ?)`, p.ID, beforeMidnight.UnixMilli(), beforeMidnight.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for zone, loc := range map[string]*time.Location{"Asia/Tokyo": tokyo, "UTC": time.UTC} {
		sam := h.signedIn("sam")
		setZoneCookie(t, sam, zone)
		want := "0"
		if beforeMidnight.In(loc).Format("2006-01-02") == now.In(loc).Format("2006-01-02") {
			want = "1"
		}
		if got := navViews(t, sam.get("/"))["Refunded today"]; got != want {
			t.Errorf("in %s: Refunded today counts %q, want %q", zone, got, want)
		}
	}
}

// TestSavedViewsSharedAndPrivate: a view saved as shared is in everyone's navigation
// with its count, a private one in its owner's only; a change to the shared one changes it
// for all and is audited, before and after; finance reads shared views without changing
// them; another's private view cannot be reached.
func TestSavedViewsSharedAndPrivate(t *testing.T) {
	h := newHarness(t)
	seedViews(t, h)
	sam, max, fran := h.signedIn("sam"), h.signedIn("max"), h.signedIn("fran")

	// Sam saves the list of GBP payments as shared, from the list's own form.
	list := sam.get("/payments?currency=gbp")
	mustContain(t, list, "Save this view", "Shared with the team")
	if !strings.Contains(list.body, `<input type="hidden" name="query" value="currency=GBP">`) {
		t.Errorf("the list's save form does not carry its filters as the list keeps them: %s", regexp.MustCompile(`name="query"[^>]*>`).FindString(list.body))
	}
	if strings.Contains(fran.get("/payments?currency=gbp").body, `data-testid="save-view-shared"`) {
		t.Errorf("finance is offered to share a view")
	}
	saved := sam.post("/views", url.Values{"name": {"  British   pounds "}, "shared": {"1"}, "query": {"currency=GBP"}})
	mustContain(t, saved, "Saved the view “British pounds”, shared with the team")
	if saved.url.Path != "/payments" || saved.url.RawQuery != "currency=GBP" {
		t.Errorf("after saving: at %s, want back on the list", saved.url)
	}
	sam.post("/views", url.Values{"name": {"Sam's cancelling"}, "query": {"status=cancelling"}})

	for who, b := range map[string]*browser{"sam": sam, "max": max, "fran": fran} {
		nav := navViews(t, b.get("/"))
		if nav["British pounds"] != "1" {
			t.Errorf("%s's navigation: British pounds counts %q, want 1 (%v)", who, nav["British pounds"], nav)
		}
		_, mine := nav["Sam's cancelling"]
		if mine != (who == "sam") {
			t.Errorf("%s sees sam's private view: %v", who, mine)
		}
	}

	// Max (a manager) renames the shared view and gives it other filters: everyone sees the
	// change, and the audit log says who changed what.
	id := viewIDNamed(t, h, "British pounds")
	mustContain(t, max.post("/views/"+id+"/rename", url.Values{"name": {"Pounds"}}), "Renamed the view “Pounds”.")
	mustContain(t, max.get("/views?query=status%3Dcancelling"), "Replacing a view's filters with")
	mustContain(t, max.post("/views/"+id+"/query", url.Values{"query": {"status=cancelling"}}), "The view “Pounds” now shows these filters.")
	nav := navViews(t, sam.get("/"))
	if _, old := nav["British pounds"]; old || nav["Pounds"] != "2" {
		t.Errorf("sam's navigation after max's change: %v, want Pounds counting the 2 cancelling payments", nav)
	}
	var actor, message, data string
	if err := h.db.SQL().QueryRow(`SELECT actor, message, data FROM audit_log WHERE kind = 'saved_view' AND message LIKE '%renamed%'`).Scan(&actor, &message, &data); err != nil {
		t.Fatalf("no audit entry for the rename: %v", err)
	}
	if !strings.HasPrefix(actor, "max") || !strings.Contains(message, `"British pounds"`) || !strings.Contains(message, `"Pounds"`) ||
		!strings.Contains(data, `"before":{"name":"British pounds"`) || !strings.Contains(data, `"after":{"name":"Pounds"`) {
		t.Errorf("audit entry of the rename: %s / %s / %s", actor, message, data)
	}
	var n int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'saved_view' AND message LIKE '%?currency=GBP to ?status=cancelling%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit entries of the filter change: %d (%v), want 1", n, err)
	}
	// A private view's changes are nobody else's business: not audited.
	private := viewIDNamed(t, h, "Sam's cancelling")
	mustContain(t, sam.post("/views/"+private+"/rename", url.Values{"name": {"Mine"}}), "Renamed the view “Mine”.")
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'saved_view' AND message LIKE '%Mine%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a private rename was audited (%d, %v)", n, err)
	}

	// Made private by max, the shared view becomes max's own: gone from sam's navigation.
	mustContain(t, max.post("/views/"+id+"/share", url.Values{"shared": {"0"}}), "The view “Pounds” is now private: only you see it.")
	if _, ok := navViews(t, sam.get("/"))["Pounds"]; ok {
		t.Errorf("sam still sees the view max made private")
	}
	if _, ok := navViews(t, max.get("/"))["Pounds"]; !ok {
		t.Errorf("max does not see the view he made private")
	}
	mustContain(t, max.post("/views/"+id+"/share", url.Values{"shared": {"1"}}), "The view “Pounds” is now shared with the team.")

	// Finance reads the shared views but neither changes nor shares them.
	page := fran.get("/views")
	mustContain(t, page, "Pounds", "Needs attention", "Shared views are changed by support and managers.")
	mustNotContain(t, page, "Make private", "Mine")
	mustContain(t, fran.post("/views/"+id+"/rename", url.Values{"name": {"Fran's"}}), "Only support and managers change the views shared with the team.")
	mustContain(t, fran.post("/views", url.Values{"name": {"Fran shared"}, "shared": {"1"}, "query": {""}}), "Only support and managers share views with the team")
	// Another person's private view does not exist for max.
	if r := max.post("/views/"+private+"/delete", nil); r.status != http.StatusNotFound {
		t.Errorf("max deleting sam's private view: %d, want 404", r.status)
	}
	// Shared, then deleted by its sharer: gone from everyone's navigation, audited.
	mustContain(t, sam.post("/views/"+private+"/share", url.Values{"shared": {"1"}}), "The view “Mine” is now shared with the team.")
	if _, ok := navViews(t, max.get("/"))["Mine"]; !ok {
		t.Errorf("max does not see the view sam shared")
	}
	mustContain(t, max.post("/views/"+private+"/delete", nil), "Deleted the view “Mine”.")
	if _, ok := navViews(t, sam.get("/"))["Mine"]; ok {
		t.Errorf("sam still sees the view max deleted")
	}
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'saved_view' AND message LIKE '%Mine%'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("audit entries of sharing and deleting Mine: %d (%v), want 2", n, err)
	}
}

// TestSaveViewBadInput: a name missing, too long or taken, or filters the list refuses,
// are refused in words and nothing is saved.
func TestSaveViewBadInput(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	count := func() int {
		var n int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM saved_views`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for _, c := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"name": {"   "}, "query": {"status=paid"}}, "The view was not saved: Give the view a name."},
		{url.Values{"name": {strings.Repeat("é", 61)}, "query": {"status=paid"}}, "The name is 61 characters long: shorten it to 60 at most."},
		{url.Values{"name": {"needs ATTENTION"}, "shared": {"1"}, "query": {"status=paid"}}, "The team already shares a view named \"needs ATTENTION\""},
		{url.Values{"name": {"Bogus"}, "query": {"status=bogus"}}, "The view was not saved: Unknown status \"bogus\""},
		{url.Values{"name": {"Bogus"}, "query": {"refunded=someday"}}, "The refunded filter must be today or a date"},
	} {
		mustContain(t, sam.post("/views", c.form), c.says)
	}
	if got := count(); got != before {
		t.Errorf("%d views after refused saves, want %d", got, before)
	}
	sam.post("/views", url.Values{"name": {"Paid"}, "query": {"status=paid"}})
	mustContain(t, sam.post("/views", url.Values{"name": {"paid"}, "query": {"status=failed"}}), "You already have a view named \"paid\"")
	id := viewIDNamed(t, h, "Paid")
	mustContain(t, sam.post("/views/"+id+"/rename", url.Values{"name": {""}}), "Give the view a name.")
	mustContain(t, sam.post("/views/"+id+"/query", url.Values{"query": {"min=abc&currency=EUR"}}), "The view was not changed")
	if r := sam.post("/views/nope/rename", url.Values{"name": {"x"}}); r.status != http.StatusNotFound {
		t.Errorf("a view id that is not a number: %d, want 404", r.status)
	}
	if got := count(); got != before+1 {
		t.Errorf("%d views, want %d", got, before+1)
	}
}

// viewIDNamed is the id of the saved view named name.
func viewIDNamed(t *testing.T, h *harness, name string) string {
	t.Helper()
	var id string
	if err := h.db.SQL().QueryRow(`SELECT CAST(id AS TEXT) FROM saved_views WHERE name = ?`, name).Scan(&id); err != nil {
		t.Fatalf("view %q: %v", name, err)
	}
	return id
}
