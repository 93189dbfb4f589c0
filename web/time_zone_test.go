package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
)

// setZoneCookie stores the cookie tz.js writes: the browser's time zone.
func setZoneCookie(t *testing.T, b *browser, zone string) {
	t.Helper()
	b.client.Jar.SetCookies(mustURL(b.h.srv.URL), []*http.Cookie{{Name: "tz", Value: zone, Path: "/"}})
}

// localIn writes t as a page shows it in zone.
func localIn(t *testing.T, at time.Time, zone string) string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return at.In(loc).Format("2006-01-02 15:04 MST")
}

// TestTimesShowInThePersonsZone: the browser's zone (the tz cookie) sets how every time
// reads, with the exact UTC time on hover; a chosen zone wins over it; a cookie that names
// no zone shows UTC, never an error page.
func TestTimesShowInThePersonsZone(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	created := h.payment(p).CreatedAt
	iso := created.UTC().Format(time.RFC3339)
	sam := h.signedIn("sam")

	// Before tz.js ran: UTC, as before.
	r := sam.get("/payments/" + p.PublicID)
	mustContain(t, r, localIn(t, created, "UTC"), "UTC time")

	setZoneCookie(t, sam, "Asia/Tokyo")
	r = sam.get("/payments/" + p.PublicID)
	mustContain(t, r, localIn(t, created, "Asia/Tokyo"), "Asia/Tokyo time")
	if !strings.Contains(r.body, `title="`+iso+`"`) {
		t.Errorf("the payment page has no tooltip with the UTC time %s", iso)
	}
	list := sam.get("/payments")
	day := created.In(mustZone(t, "Asia/Tokyo"))
	mustContain(t, list, day.Format("2006-01-02"), day.Format("15:04 MST"))
	if !strings.Contains(list.body, `title="`+iso+`"`) {
		t.Errorf("the list has no tooltip with the UTC time %s", iso)
	}

	// The settings page says where the zone comes from; a choice wins over the browser.
	mustContain(t, sam.get("/settings"), "Times show in Asia/Tokyo (your browser's zone)")
	r = sam.post("/settings/time-zone", url.Values{"zone": {"America/New_York"}})
	mustContain(t, r, "Times now show in America/New_York.", "Times show in America/New_York (your choice)", "Follow my browser (Asia/Tokyo)")
	mustContain(t, sam.get("/payments/"+p.PublicID), localIn(t, created, "America/New_York"))

	// A name that is no zone is refused with a sentence and changes nothing.
	for _, bad := range []string{"Mars/Olympus", "../../etc/passwd", "Local", strings.Repeat("A", 100)} {
		r = sam.post("/settings/time-zone", url.Values{"zone": {bad}})
		if r.status != http.StatusBadRequest {
			t.Errorf("zone %q: status %d, want 400", bad, r.status)
		}
		mustContain(t, r, "is not a time zone Paydesk knows", "Nothing was changed.")
		mustBeCleanPage(t, r)
	}
	mustContain(t, sam.get("/payments/"+p.PublicID), localIn(t, created, "America/New_York"))

	// An empty choice follows the browser again.
	r = sam.post("/settings/time-zone", url.Values{"zone": {""}})
	mustContain(t, r, "Times now follow your browser's time zone.", "Times show in Asia/Tokyo (your browser's zone)")

	// The zone percent-encoded, as encodeURIComponent writes it, is read too.
	setZoneCookie(t, sam, "Asia%2FTokyo")
	mustContain(t, sam.get("/payments/"+p.PublicID), localIn(t, created, "Asia/Tokyo"))

	// A browser cookie that names no zone: UTC, the page as usual.
	for _, bad := range []string{"Mars/Olympus", "../../../etc/passwd", "Local", "%00"} {
		setZoneCookie(t, sam, bad)
		r = sam.get("/payments/" + p.PublicID)
		if r.status != http.StatusOK {
			t.Errorf("tz=%q: status %d, want 200", bad, r.status)
		}
		mustContain(t, r, localIn(t, created, "UTC"), "UTC time")
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestPageCacheKeepsOneBodyPerZone: the page cache is shared between people, and a kept
// list shows times in the zone it was rendered for: someone in another zone gets a page
// of their own, someone in the same zone (and the same kind of page: both may act) the
// kept one.
func TestPageCacheKeepsOneBodyPerZone(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	created := h.payment(p).CreatedAt
	tokyo, york, tokyo2 := h.signedIn("max"), h.signedIn("tess"), h.signedIn("mia")
	setZoneCookie(t, tokyo, "Asia/Tokyo")
	setZoneCookie(t, york, "America/New_York")
	setZoneCookie(t, tokyo2, "Asia/Tokyo")
	at := func(zone string) string { return created.In(mustZone(t, zone)).Format("15:04 MST") }

	for _, path := range []string{"/payments?provider=bpc", "/refunds"} {
		settle(t, h)
		hits0, _ := pageCacheLookups(t, h)
		if r := tokyo.get(path); path == "/payments?provider=bpc" {
			mustContain(t, r, at("Asia/Tokyo"))
		}
		r := york.get(path)
		if path == "/payments?provider=bpc" {
			mustContain(t, r, at("America/New_York"))
			mustNotContain(t, r, at("Asia/Tokyo"))
		}
		if hits, _ := pageCacheLookups(t, h); hits != hits0 {
			t.Errorf("%s: another zone was served the kept page (%d hits, want %d)", path, hits, hits0)
		}
		if r := tokyo2.get(path); path == "/payments?provider=bpc" {
			mustContain(t, r, at("Asia/Tokyo"))
		}
		if hits, _ := pageCacheLookups(t, h); hits != hits0+1 {
			t.Errorf("%s: the same zone was not served the kept page (%d hits, want %d)", path, hits, hits0+1)
		}
	}
}

// TestExportsStayUTC: whatever the person's zone, CSV exports write times in RFC 3339 UTC
// and amounts with a dot, after a UTF-8 byte-order mark (govCSV checks it).
func TestExportsStayUTC(t *testing.T) {
	h := newHarness(t)
	fran := h.signedIn("fran")
	setZoneCookie(t, fran, "Asia/Tokyo")
	header, rows := govCSV(t, fran, "/audit.csv")
	if len(rows) == 0 || header[0] != "id" {
		t.Fatalf("audit export: header %q, %d rows", header, len(rows))
	}
	for _, row := range rows {
		if at, err := time.Parse(time.RFC3339, row["at"]); err != nil || !strings.HasSuffix(row["at"], "Z") || at.Location() != time.UTC {
			t.Errorf("audit export time %q is not RFC 3339 UTC", row["at"])
		}
	}
}
