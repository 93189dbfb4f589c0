package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"paydesk/storage"
	"paydesk/views"
)

// The payments list's work-queue filters, which the dashboard links to (dashboard.go):
// outcome=unknown (an action's outcome is unknown), link=none|active|abandoned (the
// payment's payer link), failed_since=YYYY-MM-DD (an action or refund failed since that
// day began in the person's zone). They have no field in the filter form: the form carries them as hidden
// fields, and the page names them in words.

// linkFilterWords names each link filter for people.
var linkFilterWords = map[string]string{
	storage.LinkNone:      "without a live payer link",
	storage.LinkActive:    "with a payer link waiting for the payer",
	storage.LinkAbandoned: "with a payer link the payer abandoned",
}

// parseQueueFilters reads the work-queue filters into f, refusing a value it does not
// know with a sentence; failed_since is a day in loc, the person's zone.
func parseQueueFilters(q url.Values, f *storage.PaymentFilter, loc *time.Location, now time.Time) error {
	switch o := strings.TrimSpace(q.Get("outcome")); o {
	case "":
	case "unknown":
		f.UnknownOutcome = true
	default:
		return &filterError{fmt.Sprintf("Unknown outcome filter %q: only \"unknown\" is possible.", o)}
	}
	if l := strings.TrimSpace(q.Get("link")); l != "" {
		if _, ok := linkFilterWords[l]; !ok {
			return &filterError{fmt.Sprintf("Unknown payer link filter %q: use none, active or abandoned.", l)}
		}
		f.Link = l
	}
	since, err := parseDay(q.Get("failed_since"), loc)
	if err != nil {
		return &filterError{"The failed-since date must look like 2026-01-31."}
	}
	f.FailedSince = since
	return parseRefundFilters(q, f, loc, now)
}

// The refund filters of the payments list, which the saved views "Awaiting approval" and
// "Refunded today" are made of: refund=awaiting_approval (a refund waits for a manager's
// approval) and refunded=today|YYYY-MM-DD (a refund succeeded that day, in the person's
// zone: "today" is read anew on each request, so a saved view stays today's).
const (
	refundAwaitingApproval = "awaiting_approval"
	refundedToday          = "today"
)

// parseRefundFilters reads refund and refunded into f; now is the time "today" is read at.
func parseRefundFilters(q url.Values, f *storage.PaymentFilter, loc *time.Location, now time.Time) error {
	switch r := strings.TrimSpace(q.Get("refund")); r {
	case "":
	case refundAwaitingApproval:
		f.AwaitingApproval = true
	default:
		return &fieldError{"refund", fmt.Sprintf("Unknown refund filter %q: choose Any or Awaiting approval.", r)}
	}
	day, err := refundedDay(q.Get("refunded"), loc, now)
	if err != nil {
		return err
	}
	if !day.IsZero() {
		f.RefundedFrom, f.RefundedTo = day, dayAfter(day, loc)
	}
	return nil
}

// refundedDay is the start of the day the refunded filter names — today in loc, or a date
// — and the zero time for none.
func refundedDay(raw string, loc *time.Location, now time.Time) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == refundedToday {
		y, m, d := now.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc).UTC(), nil
	}
	day, err := parseDay(raw, loc)
	if err != nil {
		return day, &fieldError{"refunded", "The refunded filter must be today or a date like 2026-01-31."}
	}
	return day, nil
}

// queueFilters lists the work-queue filters of a query, as hidden fields of the filter
// form (Value is the parameter's name=value) with their words (Label); a date is said as
// the instant it means in the person's zone (ctx).
func queueFilters(ctx context.Context, q url.Values) []views.Option {
	var out []views.Option
	if o := strings.TrimSpace(q.Get("outcome")); o != "" {
		out = append(out, views.Option{Value: "outcome=" + o, Label: "with an action whose outcome is unknown"})
	}
	if l := strings.TrimSpace(q.Get("link")); l != "" {
		words, ok := linkFilterWords[l]
		if !ok {
			words = "payer link " + l
		}
		out = append(out, views.Option{Value: "link=" + l, Label: words})
	}
	if d := strings.TrimSpace(q.Get("failed_since")); d != "" {
		since := d
		if t, err := parseDay(d, views.Zone(ctx)); err == nil {
			since = views.LocalTime(ctx, t) // "2026-01-31 00:00 JST"
		}
		out = append(out, views.Option{Value: "failed_since=" + d, Label: "with an action or refund failed since " + since})
	}
	return out
}
