package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// refundHistoryPageSize is how many refunds the history shows per page.
const refundHistoryPageSize = 50

// refundFilterKeys are the query parameters that select refunds (the page's state, the
// export's selection); paging and the chart's bucket are not among them.
var refundFilterKeys = []string{"from", "to", "provider", "currency", "status", "reason", "requested_by", "approved_by"}

// parseRefundFilter turns the history's query string into a storage filter, refusing what
// it cannot understand with a sentence that says what to fix; its dates are days in loc,
// the person's zone. Paging is read by the page.
func parseRefundFilter(q url.Values, loc *time.Location) (storage.RefundFilter, error) {
	var f storage.RefundFilter
	if p := q.Get("provider"); p != "" {
		if !providers.Name(p).Valid() {
			return f, &filterError{fmt.Sprintf("Unknown provider %q: choose %s.", p, providers.JoinOr(providers.Labels()))}
		}
		f.Provider = providers.Name(p)
	}
	if c := strings.ToUpper(strings.TrimSpace(q.Get("currency"))); c != "" {
		if !providers.ValidCurrency(c) {
			return f, &filterError{fmt.Sprintf("%q is not a currency code: use three letters such as EUR.", c)}
		}
		f.Currency = c
	}
	if st := q.Get("status"); st != "" {
		known := false
		for _, s := range storage.RefundStatuses {
			known = known || s == st
		}
		if !known {
			return f, &filterError{fmt.Sprintf("Unknown refund status %q.", st)}
		}
		f.Status = st
	}
	if rs := q.Get("reason"); rs != "" {
		if !storage.ValidRefundReason(rs) && rs != storage.ProviderRefundReason {
			return f, &filterError{fmt.Sprintf("Unknown refund reason %q.", rs)}
		}
		f.Reason = rs
	}
	f.RequestedBy = strings.TrimSpace(q.Get("requested_by"))
	f.ApprovedBy = strings.TrimSpace(q.Get("approved_by"))
	if len(f.RequestedBy) > 200 || len(f.ApprovedBy) > 200 {
		return f, &filterError{"An e-mail in the filters is too long (200 characters at most)."}
	}
	var err error
	if f.From, f.To, err = parseDayRange(q, loc); err != nil {
		return f, err
	}
	return f, nil
}

// parseDayRange reads the from and to days of a filter, days in loc (the person's zone):
// from the start of the From day to the end of the To day, which is included (to is the
// next day's start, exclusive).
func parseDayRange(q url.Values, loc *time.Location) (from, to time.Time, err error) {
	if from, err = parseDay(q.Get("from"), loc); err != nil {
		return from, to, &filterError{"The From date must look like 2026-01-31."}
	}
	if to, err = parseDay(q.Get("to"), loc); err != nil {
		return from, to, &filterError{"The To date must look like 2026-01-31."}
	}
	if !to.IsZero() {
		to = dayAfter(to, loc)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, &filterError{"The From date is after the To date."}
	}
	return from, to, nil
}

// filterQuery keeps only the filter parameters of q that are set, for links.
func filterQuery(q url.Values, keys []string) url.Values {
	out := url.Values{}
	for _, k := range keys {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// withQuery is path?query, or path alone when the query is empty.
func withQuery(path string, q url.Values) string {
	if enc := q.Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

// refundsHistory is the refund history for finance and managers: filters in the URL,
// totals per currency, a chart per currency, the refunds newest first (keyset pages).
//
// A page asked again while nothing in the database changed comes from the page cache
// (page_cache.go), as the payments list does.
func (s *Server) refundsHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body, slot, ok := s.cachedPage(r, "/refunds?"+q.Encode())
	if ok {
		s.render(w, r, s.page(w, r, "Refund history", "refunds"), cachedBody(body))
		return
	}
	base := filterQuery(q, refundFilterKeys)
	v := views.RefundHistory{
		From: q.Get("from"), To: q.Get("to"), Provider: q.Get("provider"),
		Currency: strings.ToUpper(strings.TrimSpace(q.Get("currency"))), Status: q.Get("status"), Reason: q.Get("reason"),
		RequestedBy: strings.TrimSpace(q.Get("requested_by")), ApprovedBy: strings.TrimSpace(q.Get("approved_by")),
		Bucket:   q.Get("bucket"),
		Filtered: len(base) > 0, ClearURL: "/refunds",
		CSVURL: exportURL("/refunds.csv", base, views.Zone(r.Context())),
	}
	for _, n := range providers.Names {
		v.Providers = append(v.Providers, views.Option{Value: string(n), Label: n.Label(), Selected: string(n) == v.Provider})
	}
	for _, st := range storage.RefundStatuses {
		v.Statuses = append(v.Statuses, views.Option{Value: st, Label: refundStatusLabel(st), Selected: st == v.Status})
	}
	for _, rr := range append(append([]storage.RefundReason(nil), storage.RefundReasons...), storage.RefundReason{Code: storage.ProviderRefundReason, Label: storage.RefundReasonLabel(storage.ProviderRefundReason)}) {
		v.Reasons = append(v.Reasons, views.Option{Value: rr.Code, Label: rr.Label, Selected: rr.Code == v.Reason})
	}
	for _, b := range []struct{ value, label string }{{"", "Automatic"}, {"day", "Day"}, {"week", "Week"}, {"month", "Month"}} {
		v.Buckets = append(v.Buckets, views.Option{Value: b.value, Label: b.label, Selected: b.value == v.Bucket})
	}

	// Dates are days in the person's zone (the cache key holds it); the chart's bars stay
	// UTC days, as the daily summaries are kept, and the page says so.
	f, err := parseRefundFilter(q, views.Zone(r.Context()))
	if err == nil && v.Bucket != "" && v.Bucket != "day" && v.Bucket != "week" && v.Bucket != "month" {
		err = &filterError{fmt.Sprintf("Unknown chart bucket %q: choose day, week or month.", v.Bucket)}
	}
	if err == nil {
		if a := q.Get("after"); a != "" {
			if f.After, err = strconv.ParseInt(a, 10, 64); err != nil || f.After <= 0 {
				err = &filterError{"This page link is damaged: start again from the first page."}
			}
		}
	}
	if err != nil {
		v.Error = filterMessage(err)
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, s.page(w, r, "Refund history", "refunds"), views.RefundHistoryView(v))
		return
	}

	ctx := r.Context()
	// Totals and the daily chart in one read of the daily summary (storage.RefundSummary:
	// about 3 ms for 200,000 refunds, 29 ms when it read the refunds themselves).
	summary, err := s.db.RefundSummary(ctx, f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refunds unavailable", "The refund history could not be loaded. Try again in a moment.", err)
		return
	}
	for _, t := range summary.Totals {
		v.Totals = append(v.Totals, views.CurrencyTotal{
			Currency: t.Currency, Count: t.Count, SucceededCount: t.SucceededCount,
			Amount: providers.FormatMoney(t.Amount, t.Currency), SucceededAmount: providers.FormatMoney(t.SucceededAmount, t.Currency),
			AmountMinor: t.Amount, SucceededMinor: t.SucceededAmount,
		})
	}
	v.Charts = refundCharts(summary.Days, f.From, f.To, v.Bucket)

	page := f
	page.Limit = refundHistoryPageSize + 1
	rows, err := s.db.ListRefunds(ctx, page)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Refunds unavailable", "The refund history could not be loaded. Try again in a moment.", err)
		return
	}
	if len(rows) > refundHistoryPageSize {
		rows = rows[:refundHistoryPageSize]
		next := filterQuery(q, append(refundFilterKeys, "bucket"))
		next.Set("after", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		v.NextURL = "/refunds?" + next.Encode()
	}
	if f.After > 0 {
		v.FirstURL = withQuery("/refunds", filterQuery(q, append(refundFilterKeys, "bucket")))
	}
	if len(rows) > 0 {
		v.Shown = fmt.Sprintf("%d %s shown, newest first.", len(rows), plural(len(rows), "refund", "refunds"))
	}
	for _, rf := range rows {
		v.Rows = append(v.Rows, refundHistoryRow(rf))
	}
	s.serveBody(w, r, slot, "Refund history", "refunds", views.RefundHistoryView(v))
}

// refundHistoryRow formats one refund for the history.
func refundHistoryRow(rf storage.RefundRow) views.RefundHistoryRow {
	row := views.RefundHistoryRow{
		ID: strconv.FormatInt(rf.ID, 10), RequestedAt: rf.RequestedAt,
		PaymentURL: "/payments/" + rf.PaymentPublicID, PaymentID: rf.PaymentPublicID, Provider: rf.Provider.Label(),
		Customer: rf.CustomerName, CustomerURL: customerNameURL(rf.CustomerName), Amount: providers.FormatMoney(rf.Amount, rf.Currency),
		Status: rf.Status, StatusLabel: refundStatusLabel(rf.Status),
		Reason: storage.RefundReasonLabel(rf.Reason), Note: rf.Note, RequestedBy: rf.RequestedBy,
		DecidedBy: rf.DecidedBy, Decision: refundDecision(rf.Refund), DecisionReason: rf.DecisionReason,
		ProviderRefundID: rf.ProviderRefundID, Message: rf.Message,
	}
	return row
}

// refundDecision is the manager's decision on a refund: approved, rejected or "".
func refundDecision(rf storage.Refund) string {
	switch {
	case rf.DecidedBy == "":
		return ""
	case rf.Status == "rejected":
		return "rejected"
	}
	return "approved"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// refundsCSVHeader is the refund export's header row (docs/governance.md describes it).
var refundsCSVHeader = []string{
	"refund_id", "requested_at", "payment", "provider", "customer", "currency", "amount", "amount_minor",
	"status", "reason", "note", "requested_by", "decision", "decided_by", "decided_at", "decision_reason",
	"provider_refund_id", "message", "updated_at",
}

// refundsCSV exports exactly the refunds the history's filters select (every page), as
// CSV streamed row by row; each export is audited with its filter. Its dates are the days
// of the page it was linked from (exportZone); its times are UTC.
func (s *Server) refundsCSV(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	r, filter, err := exportZone(r, filterQuery(q, refundFilterKeys))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "Export not possible", filterMessage(err), err)
		return
	}
	f, err := parseRefundFilter(q, views.Zone(r.Context()))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "Export not possible", filterMessage(err), err)
		return
	}
	s.audit(r, "export", 0, "exported refunds as CSV: "+csvFilterText(filter), map[string]any{"export": "refunds", "filter": filter.Encode()})
	out := startCSV(w, "refunds", s.desk.Now(), refundsCSVHeader)
	rows := 0
	err = s.db.EachRefund(r.Context(), f, func(rf storage.RefundRow) error {
		rows++
		return out.row(
			strconv.FormatInt(rf.ID, 10), csvTime(rf.RequestedAt), rf.PaymentPublicID, string(rf.Provider), rf.CustomerName,
			rf.Currency, providers.FormatMajor(rf.Amount, rf.Currency), strconv.FormatInt(rf.Amount, 10),
			rf.Status, rf.Reason, rf.Note, rf.RequestedBy, refundDecision(rf.Refund), rf.DecidedBy, csvTime(rf.DecidedAt), rf.DecisionReason,
			rf.ProviderRefundID, rf.Message, csvTime(rf.UpdatedAt),
		)
	})
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		// The headers are gone: cut the connection so the download fails visibly instead of
		// ending as a file that looks complete.
		s.log.Error("refunds export", append(logAttrs(r), "rows", rows, "err", err)...)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("refunds export", append(logAttrs(r), "rows", rows)...)
}

// Chart buckets: the automatic choice keeps a chart readable (at most about 60 bars for
// days, 53 for weeks), and no chart draws more than maxChartBars.
const (
	autoDayLimit   = 62  // days spanned up to which the automatic bucket is the day
	autoWeekLimit  = 371 // … and the week (53 weeks); beyond, the month
	maxChartBars   = 400
	chartDayLayout = "2006-01-02"
)

// bucketStart is the first day of the bucket holding day (UTC): the day itself, the
// Monday of its week (as storage.RefundSeries counts weeks), or the first of its month.
func bucketStart(day time.Time, bucket string) time.Time {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	switch bucket {
	case "week":
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case "month":
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// nextBucket is the first day of the bucket after the one starting at start.
func nextBucket(start time.Time, bucket string) time.Time {
	switch bucket {
	case "week":
		return start.AddDate(0, 0, 7)
	case "month":
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// bucketLabel names a bucket on the chart.
func bucketLabel(start time.Time, bucket string) string {
	if bucket == "month" {
		return start.Format("2006-01")
	}
	return start.Format(chartDayLayout)
}

// countBuckets is how many buckets cover first..last (both bucket starts).
func countBuckets(first, last time.Time, bucket string) int {
	n := 0
	for t := first; !t.After(last) && n <= maxChartBars; t = nextBucket(t, bucket) {
		n++
	}
	return n
}

// refundCharts turns the succeeded refunds per day and currency into one chart per
// currency, over the filter's dates when given (else the data's), in the bucket asked
// for or chosen from the span, with empty buckets drawn as zero so time reads evenly.
func refundCharts(points []storage.SeriesPoint, from, to time.Time, bucket string) []views.Chart {
	if len(points) == 0 {
		return nil
	}
	first, last := points[0].Bucket, points[0].Bucket
	for _, p := range points {
		if p.Bucket.Before(first) {
			first = p.Bucket
		}
		if p.Bucket.After(last) {
			last = p.Bucket
		}
	}
	if !from.IsZero() && from.Before(first) {
		first = from
	}
	// The dates are the person's days, the bars UTC days: the chart spans every UTC day
	// the range touches (the last is the one holding the range's last instant).
	if !to.IsZero() && to.Add(-time.Nanosecond).After(last) {
		last = to.Add(-time.Nanosecond)
	}
	note := ""
	if bucket == "" {
		switch days := int(last.Sub(first).Hours()/24) + 1; {
		case days <= autoDayLimit:
			bucket = "day"
		case days <= autoWeekLimit:
			bucket = "week"
		default:
			bucket = "month"
		}
	}
	for bucket != "month" && countBuckets(bucketStart(first, bucket), bucketStart(last, bucket), bucket) > maxChartBars {
		coarser := map[string]string{"day": "week", "week": "month"}[bucket]
		note = fmt.Sprintf("Drawn per %s: per %s it would have more than %d bars.", coarser, bucket, maxChartBars)
		bucket = coarser
	}
	start, end := bucketStart(first, bucket), bucketStart(last, bucket)
	if countBuckets(start, end, bucket) > maxChartBars {
		// Even by month the range is too long (dates far from the data): keep the data's span.
		start, end = bucketStart(points[0].Bucket, bucket), bucketStart(points[len(points)-1].Bucket, bucket)
	}
	sums := map[string]map[time.Time]views.ChartBar{}
	var currencies []string
	for _, p := range points {
		if sums[p.Currency] == nil {
			sums[p.Currency] = map[time.Time]views.ChartBar{}
			currencies = append(currencies, p.Currency)
		}
		k := bucketStart(p.Bucket, bucket)
		b := sums[p.Currency][k]
		b.Amount += p.Amount
		b.Count += p.Count
		sums[p.Currency][k] = b
	}
	slices.Sort(currencies)
	var charts []views.Chart
	for _, cur := range currencies {
		c := views.Chart{ID: "chart-" + strings.ToLower(cur), Currency: cur, Bucket: bucket, Note: note}
		for t := start; !t.After(end); t = nextBucket(t, bucket) {
			b := sums[cur][t]
			b.Label = bucketLabel(t, bucket)
			c.Bars = append(c.Bars, b)
		}
		charts = append(charts, c)
	}
	return charts
}
