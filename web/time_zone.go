package web

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	// The zone database inside the binary: times show in the person's zone even on a
	// machine without /usr/share/zoneinfo (a distroless image).
	_ "time/tzdata"

	"paydesk/views"
)

// The time zone cookies. zoneCookie is the browser's own zone, written by static tz.js
// on every page (Intl.DateTimeFormat().resolvedOptions().timeZone); zoneChoiceCookie is
// the zone the person chose on the settings page, which wins. Neither is a secret nor
// signed: a wrong value only changes how the person's own pages show times, and a value
// that names no zone shows UTC.
const (
	zoneCookie       = "tz"
	zoneChoiceCookie = "tz_choice"
)

// zones caches the locations already loaded (time.LoadLocation reads and parses the
// zone's data each time); only names that load are kept, so the map is bounded by the
// zone database.
var zones sync.Map // name → *time.Location

// loadZone returns the location an IANA zone name names ("Europe/Paris"), and false for
// anything else: empty, "Local" (the server's zone, which means nothing to the person),
// too long, characters no zone name has, or unknown.
func loadZone(name string) (*time.Location, bool) {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, false
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), true
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return nil, false
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, loc)
	return loc, true
}

// cookieZone returns the zone named by the request's cookie, if it names one. A value
// written percent-encoded ("Europe%2FParis", as encodeURIComponent writes it) is read too.
func cookieZone(r *http.Request, name string) (*time.Location, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return nil, false
	}
	v, err := url.PathUnescape(c.Value)
	if err != nil {
		return nil, false
	}
	return loadZone(v)
}

// zoneFor is the zone a request's times are shown in: the person's choice, else their
// browser's zone, else UTC. A cookie that names no zone is ignored, never an error.
func zoneFor(r *http.Request) *time.Location {
	if loc, ok := cookieZone(r, zoneChoiceCookie); ok {
		return loc
	}
	if loc, ok := cookieZone(r, zoneCookie); ok {
		return loc
	}
	return time.UTC
}

// withZone returns r carrying its zone for the views (views.Zone).
func withZone(r *http.Request) *http.Request {
	return r.WithContext(views.WithZone(r.Context(), zoneFor(r)))
}
