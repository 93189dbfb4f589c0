package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentsList is the payments list: search, filters, keyset pages; the whole state lives
// in the URL so a link can be pasted into a ticket.
//
// A page that was rendered for the same query since the data last changed is served from
// the page cache (page_cache.go): no query, no rendering but the layout.
func (s *Server) paymentsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Who may act sees the Actions column as links to the forms, the others as words: a
	// kept table serves one kind of person only. Sorted: the same filters in another
	// order are the same page.
	canAct := Act.Allows(userFrom(r.Context()))
	key := "/payments?" + q.Encode()
	if q.Get("refunded") == refundedToday {
		// "today" is another day tomorrow, whether or not the data changed.
		key += "#day=" + s.desk.Now().In(views.Zone(r.Context())).Format("2006-01-02")
	}
	if canAct {
		key = "act " + key
	}
	body, slot, ok := s.cachedPage(r, key)
	if ok {
		s.render(w, r, s.page(w, r, "Payments", "payments"), cachedBody(body))
		return
	}
	v := views.PaymentsList{
		Query:     strings.TrimSpace(q.Get("q")),
		Provider:  strings.ToLower(strings.TrimSpace(q.Get("provider"))),
		Status:    q.Get("status"),
		Currency:  strings.ToUpper(strings.TrimSpace(q.Get("currency"))),
		Min:       strings.TrimSpace(q.Get("min")),
		Max:       strings.TrimSpace(q.Get("max")),
		From:      q.Get("from"),
		To:        q.Get("to"),
		Attention: q.Get("attention") == "1",
		Anomaly:   q.Get("anomaly") == "1",
		Refund:    strings.TrimSpace(q.Get("refund")),
		Refunded:  strings.TrimSpace(q.Get("refunded")),
	}
	for _, n := range providers.Names {
		v.Providers = append(v.Providers, views.Option{Value: string(n), Label: n.Label(), Selected: string(n) == v.Provider})
	}
	for _, st := range providers.Statuses {
		v.Statuses = append(v.Statuses, views.Option{Value: string(st), Label: st.Label(), Selected: string(st) == v.Status})
	}
	v.Account = strings.TrimSpace(q.Get("account"))
	if s.desk.SeveralAccounts() {
		for _, a := range s.desk.Accounts() {
			value := string(a.Provider) + "/" + a.Name
			v.Accounts = append(v.Accounts, views.Option{Value: value, Label: a.Provider.Label() + " · " + a.Name, Selected: value == v.Account})
		}
	}
	v.Queue = queueFilters(r.Context(), q)
	v.Filtered = v.Account != "" || v.Query != "" || v.Provider != "" || v.Status != "" || v.Currency != "" || v.Min != "" || v.Max != "" || v.From != "" || v.To != "" || v.Attention || v.Anomaly || v.Refund != "" || v.Refunded != "" || len(v.Queue) > 0
	v.ClearURL = "/payments"
	v.CSVURL = exportURL("/payments.csv", filterQuery(q, paymentFilterKeys), views.Zone(r.Context()))
	v.SaveQuery, v.CanShare = viewQuery(q), canAct
	v.ViewsURL = withQuery("/views", url.Values{"query": {v.SaveQuery}})

	// Dates are days in the person's zone, as the page's times are (the cache key holds it).
	f, err := parsePaymentFilter(q, views.Zone(r.Context()), s.desk.Now())
	if err == nil {
		err = s.parseAccountFilter(q.Get("account"), &f)
	}
	if err == nil {
		var page storage.PaymentPage
		page, err = s.db.ListPayments(r.Context(), f)
		if err == nil {
			fillPaymentsList(&v, page, q, canAct)
			if canAct {
				v.CanBatch, v.BatchReasons = true, batchReasons()
				for i := range v.Rows {
					v.Rows[i].Selectable = true
				}
			}
			if s.desk.SeveralAccounts() {
				for i, p := range page.Payments {
					v.Rows[i].Account = s.accountLabel(p)
				}
			}
		} else if !errors.Is(err, storage.ErrInvalidFilter) {
			s.fail(w, r, http.StatusInternalServerError, "Payments unavailable", "The payments could not be loaded. Try again in a moment.", err)
			return
		}
	}
	if err != nil {
		// One message, naming what is wrong and how to fix it: no count, no "nothing
		// matches" beside it.
		v.Error = filterMessage(err)
		var fe *fieldError
		if errors.As(err, &fe) {
			v.ErrorField = fe.field
		}
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, s.page(w, r, "Payments", "payments"), views.PaymentsListView(v))
		return
	}
	s.serveBody(w, r, slot, "Payments", "payments", views.PaymentsListView(v))
}

// parseAccountFilter reads the account filter, "provider/name", into f: one of the
// configured accounts, and of the provider filter's provider when both are set.
func (s *Server) parseAccountFilter(raw string, f *storage.PaymentFilter) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	var names []string
	for _, a := range s.desk.Accounts() {
		names = append(names, string(a.Provider)+"/"+a.Name)
		if string(a.Provider)+"/"+a.Name != raw {
			continue
		}
		if f.Provider != "" && f.Provider != a.Provider {
			return &filterError{fmt.Sprintf("The account %s is not a %s account: choose its provider or Any.", a.Name, f.Provider.Label())}
		}
		f.Provider, f.Account = a.Provider, a.Name
		return nil
	}
	return &filterError{fmt.Sprintf("Unknown account %q: choose %s.", raw, providers.JoinOr(names))}
}

// accountLabel is the account a page shows for p: "" when no provider has several
// accounts and p is its provider's default account's.
func (s *Server) accountLabel(p storage.Payment) string {
	label := s.desk.AccountLabel(p)
	if !s.desk.SeveralAccounts() && label == providers.DefaultAccount {
		return ""
	}
	return label
}

// filterError is a filter people typed that cannot be understood.
type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

// fieldError is a payments list filter that cannot be understood: what is wrong and how
// to fix it, and the form field at fault ("" when none is).
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }

func filterMessage(err error) string {
	var fe *filterError
	if errors.As(err, &fe) {
		return fe.msg
	}
	var fd *fieldError
	if errors.As(err, &fd) {
		return fd.msg
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "storage: ")
	msg = strings.TrimPrefix(msg, storage.ErrInvalidFilter.Error()+": ")
	return "This filter cannot be used: " + msg
}

// parsePaymentFilter turns the list's query string into a storage filter, refusing what it
// cannot understand with a sentence that says what to fix. Its dates (from, to,
// failed_since) are days in loc, the person's zone.
// now is when "today" is (the refunded filter).
func parsePaymentFilter(q url.Values, loc *time.Location, now time.Time) (storage.PaymentFilter, error) {
	f := storage.PaymentFilter{Query: strings.TrimSpace(q.Get("q"))}
	if len(f.Query) > 200 {
		return f, &fieldError{"q", fmt.Sprintf("The search is %d characters long: shorten it to 200 at most.", len(f.Query))}
	}
	if p := strings.ToLower(strings.TrimSpace(q.Get("provider"))); p != "" {
		if !providers.Name(p).Valid() {
			return f, &fieldError{"provider", fmt.Sprintf("Unknown provider %q: choose %s.", p, providers.JoinOr(providers.Labels()))}
		}
		f.Provider = providers.Name(p)
	}
	if st := q.Get("status"); st != "" {
		if !providers.Status(st).Valid() {
			return f, &fieldError{"status", fmt.Sprintf("Unknown status %q: choose one from the Status list.", st)}
		}
		f.Status = providers.Status(st)
	}
	if c := strings.ToUpper(strings.TrimSpace(q.Get("currency"))); c != "" {
		if !providers.ValidCurrency(c) {
			return f, &fieldError{"currency", fmt.Sprintf("%q is not a currency code: use three letters such as EUR.", c)}
		}
		f.Currency = c
	}
	for _, b := range []struct {
		key, label string
		dest       **int64
	}{{"min", "minimum", &f.MinAmount}, {"max", "maximum", &f.MaxAmount}} {
		raw := strings.TrimSpace(q.Get(b.key))
		if raw == "" {
			continue
		}
		if f.Currency == "" {
			return f, &fieldError{"currency", "Choose a currency to filter by amount: amounts mean different things in different currencies. (To find one amount in any currency, type it in the search box.)"}
		}
		v, err := providers.ParseMajor(decimalPoint(raw), f.Currency)
		if err != nil || v < 0 {
			return f, &fieldError{b.key, fmt.Sprintf("The %s amount %q is not an amount in %s: write it like %s.",
				b.label, raw, f.Currency, amountExample(f.Currency))}
		}
		*b.dest = &v
	}
	if f.MinAmount != nil && f.MaxAmount != nil && *f.MinAmount > *f.MaxAmount {
		return f, &fieldError{"min", "The minimum amount is above the maximum: swap them, or lower the minimum."}
	}
	var err error
	if f.From, err = parseDay(q.Get("from"), loc); err != nil {
		return f, &fieldError{"from", "The From date must look like 2026-01-31: pick it in the calendar or type it that way."}
	}
	to, err := parseDay(q.Get("to"), loc)
	if err != nil {
		return f, &fieldError{"to", "The To date must look like 2026-01-31: pick it in the calendar or type it that way."}
	}
	if !to.IsZero() {
		f.To = dayAfter(to, loc) // the To day is included: up to its end, exclusive
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, &fieldError{"from", "The From date is after the To date: swap them."}
	}
	f.NeedsAttention = q.Get("attention") == "1"
	f.Anomaly = q.Get("anomaly") == "1"
	if err := parseQueueFilters(q, &f, loc, now); err != nil {
		return f, err
	}
	if a := q.Get("after"); a != "" {
		c, err := storage.ParseCursor(a)
		if err != nil {
			return f, &fieldError{"", "This page link is damaged: start again from the first page."}
		}
		f.After = &c
	}
	if b := q.Get("before"); b != "" {
		c, err := storage.ParseCursor(b)
		if err != nil {
			return f, &fieldError{"", "This page link is damaged: start again from the first page."}
		}
		f.Before = &c
	}
	if f.After != nil && f.Before != nil {
		return f, &fieldError{"", "This page link is damaged: start again from the first page."}
	}
	f.Limit = 50
	return f, nil
}

// decimalPoint reads an amount written with a decimal comma ("12,50") or grouped by
// spaces ("1 250.00") as ParseMajor wants it ("12.50", "1250.00"). A comma with a point
// is left alone (ParseMajor refuses it, and the message shows how to write it).
func decimalPoint(s string) string {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(s)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	return s
}

// amountExample is twelve and a half in currency, as the amount filters take it ("12.50",
// "12" in yen, "12.500" in dinars).
func amountExample(currency string) string {
	v := int64(1250)
	for range providers.Exponent(currency) {
		v *= 10
	}
	return providers.FormatMajor(v/100, currency)
}

// parseDay reads a date a person typed or followed ("2026-01-31") as the instant that day
// starts in their zone loc — the zone's midnight, in UTC — and "" as the zero time. A
// person in Tokyo asking for 2026-01-31 means from 2026-01-30T15:00Z.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	return t.UTC(), err
}

// dayAfter is the start, in loc, of the day after the one holding t: the exclusive end of
// t's day in the person's zone (23 or 25 hours on a daylight-saving change, not 24).
func dayAfter(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
}

// fillPaymentsList formats a page of payments for the view; canAct makes the eligible
// actions links to their forms.
func fillPaymentsList(v *views.PaymentsList, page storage.PaymentPage, q url.Values, canAct bool) {
	v.Rows = paymentRows(page.Payments, canAct)
	v.Count = paymentCount(page)
	v.FirstURL, v.PrevURL, v.NextURL = pageURLs("/payments", q, page)
}

// paymentRows formats payments as the list's rows (the payments list's and a customer's);
// canAct makes the eligible actions links to their forms.
func paymentRows(ps []storage.Payment, canAct bool) []views.PaymentRow {
	rows := make([]views.PaymentRow, 0, len(ps))
	for _, p := range ps {
		row := views.PaymentRow{
			URL:         "/payments/" + p.PublicID,
			PublicID:    p.PublicID,
			Provider:    p.Provider.Label(),
			ProviderID:  firstNonEmpty(p.PaymentID, p.SessionID, p.OrderID),
			Customer:    p.CustomerName,
			Email:       p.CustomerEmail,
			CustomerURL: customerNameURL(p.CustomerName),
			EmailURL:    customerEmailURL(p.CustomerEmail),
			Amount:      providers.FormatMoney(p.Amount, p.Currency),
			Status:      string(p.Status),
			StatusLabel: p.Status.Label(),
			RawStatus:   p.RawStatus,
			CreatedAt:   p.CreatedAt,
		}
		for _, d := range providers.Eligible(p.Snapshot).Decisions() {
			if !d.Allowed {
				continue
			}
			a := views.RowAction{Action: string(d.Action), Label: ableLabels[d.Action]}
			if canAct {
				// The confirmation step: it restates what will happen, nothing moves yet.
				a.Label, a.URL = ops.ActionLabel(d.Action), row.URL+"/"+string(d.Action)
			}
			row.Actions = append(row.Actions, a)
		}
		rows = append(rows, row)
	}
	return rows
}

// paymentCount says how many payments a page's filter matches, in words.
func paymentCount(page storage.PaymentPage) string {
	noun := "payments"
	if page.Count == 1 {
		noun = "payment"
	}
	if page.CountCapped {
		// Counted up to the cap only: exact counts of a search, an amount, dates or
		// "needs attention" read every match (19–31 ms on a million payments).
		return fmt.Sprintf("More than %s %s match (counted up to %s)", groupThousands(int64(page.Count)), noun,
			groupThousands(int64(storage.CountCap)))
	}
	return fmt.Sprintf("%s %s", groupThousands(int64(page.Count)), noun)
}

// pageURLs are the addresses of the newest, the newer and the older page around page, at
// path with the query q (its cursors replaced); "" for a page that does not exist.
func pageURLs(path string, q url.Values, page storage.PaymentPage) (first, prev, next string) {
	base := url.Values{}
	for k, vals := range q {
		if k == "after" || k == "before" {
			continue
		}
		for _, val := range vals {
			if val != "" {
				base.Add(k, val)
			}
		}
	}
	first = path
	if enc := base.Encode(); enc != "" {
		first += "?" + enc
	}
	if page.Next != nil {
		n := cloneValues(base)
		n.Set("after", page.Next.String())
		next = path + "?" + n.Encode()
	}
	if page.Prev != nil {
		p := cloneValues(base)
		p.Set("before", page.Prev.String())
		prev = path + "?" + p.Encode()
	}
	return first, prev, next
}

// ableLabels say, to those who may not act, what the payment's provider would allow.
var ableLabels = map[providers.Action]string{
	providers.ActionCancel: "Cancellable",
	providers.ActionExpire: "Session can expire",
	providers.ActionRefund: "Refundable",
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// groupThousands writes 1234567 as "1,234,567".
func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
