package web

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"paydesk/views"
)

// Date filters are days in the person's zone (parseDay, dayAfter). An export's link is
// made on the page the person filtered and names that page's zone (tz=Asia/Tokyo), so the
// file holds the rows of the same days whatever the browser says when it is downloaded;
// the export writes its times in UTC all the same, and its audit entry records the zone.

// zoneParam is the query parameter naming the zone an export's dates are read in.
const zoneParam = "tz"

// dated reports whether a filter's query names a day.
func dated(q url.Values) bool {
	return q.Get("from") != "" || q.Get("to") != "" || q.Get("refunded") != ""
}

// exportURL is the link to path (a CSV export) with the filter base, and the zone loc its
// dates are days in when it has any.
func exportURL(path string, base url.Values, loc *time.Location) string {
	if dated(base) {
		base = cloneValues(base)
		base.Set(zoneParam, loc.String())
	}
	return withQuery(path, base)
}

// exportZone returns r carrying the zone an export's dates are read in — the link's tz,
// else the person's — and, for the export's audit entry, filter with that zone added when
// it names a day. A tz that names no zone is refused with a sentence.
func exportZone(r *http.Request, filter url.Values) (*http.Request, url.Values, error) {
	loc := views.Zone(r.Context())
	if name := r.URL.Query().Get(zoneParam); name != "" {
		l, ok := loadZone(name)
		if !ok {
			return r, filter, &filterError{fmt.Sprintf("%q is not a time zone Paydesk knows: export again from the page.", name)}
		}
		loc = l
	}
	if dated(filter) {
		filter = cloneValues(filter)
		filter.Set(zoneParam, loc.String())
	}
	return r.WithContext(views.WithZone(r.Context(), loc)), filter, nil
}
