package views

import (
	"context"
	"time"
)

// zoneKey carries the person's time zone in a request's context.
type zoneKey struct{}

// WithZone returns ctx carrying the location the person reads times in (web sets it for
// every request from the person's choice or their browser's zone).
func WithZone(ctx context.Context, loc *time.Location) context.Context {
	if loc == nil {
		loc = time.UTC
	}
	return context.WithValue(ctx, zoneKey{}, loc)
}

// Zone returns the location carried by ctx: UTC when none is.
func Zone(ctx context.Context) *time.Location {
	if loc, ok := ctx.Value(zoneKey{}).(*time.Location); ok {
		return loc
	}
	return time.UTC
}

// LocalTime writes t as the person reads it: "2026-12-05 09:19 CET" in their zone.
// Sentences built by handlers use it too, so that every time on a page is in one zone.
func LocalTime(ctx context.Context, t time.Time) string {
	return t.In(Zone(ctx)).Format("2006-01-02 15:04 MST")
}

// utcISO is the exact time in UTC, ISO 8601 ("2026-12-05T08:19:30Z"): the datetime and
// the tooltip of every time shown, the same for everyone whatever their zone.
func utcISO(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
