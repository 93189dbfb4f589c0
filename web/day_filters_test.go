package web_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"paydesk/providers/powens"
)

// TestDateFiltersAreThePersonsDays: a date typed in a filter is that day in the person's
// zone. In Tokyo, 2025-06-10 runs from 2025-06-09T15:00Z to 2025-06-10T15:00Z: it holds a
// payment (and a refund) of 23:30 UTC the day before, not one of 15:30 UTC that day (the
// next Tokyo day); in UTC it is the opposite. The same URL in two zones is two pages (the
// page cache keys on the zone), and the refund export linked from the Tokyo page holds the
// Tokyo days even when the browser's zone has changed since.
func TestDateFiltersAreThePersonsDays(t *testing.T) {
	h := newHarness(t)
	late := h.add(powens.Name, spec{variant: 7, created: time.Date(2025, 6, 9, 23, 30, 0, 0, time.UTC)})  // 2025-06-10 08:30 in Tokyo
	next := h.add(powens.Name, spec{variant: 7, created: time.Date(2025, 6, 10, 15, 30, 0, 0, time.UTC)}) // 2025-06-11 00:30 in Tokyo
	for _, p := range []struct {
		id int64
		at time.Time
	}{{late.ID, h.payment(late).CreatedAt}, {next.ID, h.payment(next).CreatedAt}} {
		if _, err := h.db.SQL().Exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, updated_at)
			VALUES (?, 100, 'EUR', 'succeeded', 'sam@paydesk.example', ?, ?)`, p.id, p.at.UnixMilli(), p.at.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	const dated = "from=2025-06-10&to=2025-06-10"
	for _, tt := range []struct {
		zone    string
		in, out string // public ids
	}{
		{"Asia/Tokyo", late.PublicID, next.PublicID},
		{"UTC", next.PublicID, late.PublicID},
	} {
		sam, fran := h.signedIn("sam"), h.signedIn("fran")
		setZoneCookie(t, sam, tt.zone)
		setZoneCookie(t, fran, tt.zone)
		list := sam.get("/payments?" + dated)
		if list.status != http.StatusOK {
			t.Fatalf("%s: the list answered %d", tt.zone, list.status)
		}
		mustContain(t, list, tt.in, "To days in "+tt.zone)
		mustNotContain(t, list, tt.out)
		// From alone starts, To alone ends, at the same boundaries: from the day on holds the
		// later payment too, up to the day's end the earlier one.
		mustContain(t, sam.get("/payments?from=2025-06-10"), tt.in, next.PublicID)
		mustContain(t, sam.get("/payments?to=2025-06-10"), tt.in, late.PublicID)

		refunds := fran.get("/refunds?" + dated)
		if refunds.status != http.StatusOK {
			t.Fatalf("%s: the refund history answered %d", tt.zone, refunds.status)
		}
		mustContain(t, refunds, tt.in, "Refunded over time, in UTC days", "are days in "+tt.zone, "To days in "+tt.zone)
		mustNotContain(t, refunds, tt.out)
		if n := strings.Count(refunds.body, `data-testid="refund-history-row"`); n != 1 {
			t.Errorf("%s: the refund history lists %d refunds for one day, want 1", tt.zone, n)
		}

		// The export names the page's zone; a browser that moved to another zone since
		// still gets the page's days, in UTC times.
		link := attr(refunds.body, "csv-link", "href")
		if !strings.Contains(link, "tz="+strings.ReplaceAll(tt.zone, "/", "%2F")) {
			t.Errorf("%s: the export link %q does not name the zone", tt.zone, link)
		}
		setZoneCookie(t, fran, "America/New_York")
		_, rows := govCSV(t, fran, link)
		if len(rows) != 1 || rows[0]["payment"] != tt.in {
			t.Errorf("%s: the export holds %v, want the refund of %s alone", tt.zone, rows, tt.in)
		}
		for _, row := range rows {
			if _, err := time.Parse(time.RFC3339, row["requested_at"]); err != nil || !strings.HasSuffix(row["requested_at"], "Z") {
				t.Errorf("%s: export time %q is not UTC", tt.zone, row["requested_at"])
			}
		}
	}

	// A zone that is none, in an export link: a sentence, no file.
	fran := h.signedIn("fran")
	r := fran.get("/refunds.csv?" + dated + "&tz=Mars%2FOlympus")
	if r.status != http.StatusBadRequest || strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("tz=Mars/Olympus: status %d, %s", r.status, r.header.Get("Content-Type"))
	}
	mustContain(t, r, "is not a time zone Paydesk knows")
}

// TestDashboardFailuresAreThePersonsDays: the dashboard's recent failures start at the
// person's midnight seven days back, and its link lists exactly the payments it counts. A
// failure between Tokyo's and UTC's midnights is recent in one zone only.
func TestDashboardFailuresAreThePersonsDays(t *testing.T) {
	h := newQueueHarness(t)
	now := h.clock.Now()
	midnight := func(loc *time.Location) time.Time {
		y, m, d := now.In(loc).AddDate(0, 0, -7).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	tokyo := mustZone(t, "Asia/Tokyo")
	sinceTokyo, sinceUTC := midnight(tokyo), midnight(time.UTC)
	at := sinceTokyo.Add(time.Hour) // in the earlier-starting window only
	if sinceUTC.Before(sinceTokyo) {
		at = sinceUTC.Add(time.Hour)
	}
	edge := h.add(powens.Name, spec{variant: 7})
	if _, err := h.db.SQL().Exec(`INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at, finished_at)
		VALUES (?, 'refund', 'failed', 'k-edge', 'sam@paydesk.example', ?, ?)`, edge.ID, at.UnixMilli(), at.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		zone  string
		since time.Time
	}{{"Asia/Tokyo", sinceTokyo}, {"UTC", sinceUTC}} {
		want := 1 // the failure of two days ago (newQueueHarness)
		if !at.Before(tt.since) {
			want++
		}
		b := h.signedIn("sam")
		setZoneCookie(t, b, tt.zone)
		section := queueSection(b.get("/").body, "failures")
		if got := regexpFind(section, `data-testid="count-failures">([0-9,]+)<`); got != strconv.Itoa(want) {
			t.Errorf("%s: the dashboard counts %s recent failures, want %d", tt.zone, got, want)
		}
		link := attr(section, "link-failures", "href")
		if wantLink := "/payments?failed_since=" + tt.since.Format("2006-01-02"); link != wantLink {
			t.Errorf("%s: the failures link is %q, want %q", tt.zone, link, wantLink)
		}
		list := b.get(link)
		if rows := strings.Count(list.body, `data-testid="payment-row"`); rows != want {
			t.Errorf("%s: %s lists %d payments, the dashboard counts %d", tt.zone, link, rows, want)
		}
		// The list says when "since" begins, in the person's zone.
		mustContain(t, list, "failed since "+tt.since.Format("2006-01-02 15:04 MST"))
	}
}
