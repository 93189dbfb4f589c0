package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// Saved views of the payments list (docs/saved-views.md): a view is the list's canonical
// filter query (viewQuery) with a name. The navigation shows each with its live count,
// counted by the list's own code (capped at storage.CountCap) and kept, with each
// person's list of views, in a cache of the navigation's own (a pageCache: emptied when
// the data version moves) for the data version it was counted at: a page render with
// nothing changed runs no query at all, and after a change each view is counted once, for
// everyone in the same zone. It is on whatever Config.PageCacheBytes says, so that a
// server without the page cache does not count every view on every page.

// navCacheBytes is the navigation cache's size: a count is a few bytes, a person's list
// of views a few hundred; 1 MB holds thousands of people's.
const navCacheBytes = 1 << 20

// viewsPath is the page that manages saved views.
const viewsPath = "/views"

// viewQuery is the list state q as a saved view keeps it: the list's filter parameters
// that are set, sorted, without paging, with provider and currency written as the list
// reads them (so "gbp" and "GBP" are one view).
func viewQuery(q url.Values) string {
	f := filterQuery(q, paymentFilterKeys)
	if c := f.Get("currency"); c != "" {
		f.Set("currency", strings.ToUpper(c))
	}
	if p := f.Get("provider"); p != "" {
		f.Set("provider", strings.ToLower(p))
	}
	return f.Encode()
}

// checkViewQuery parses a saved view's query as the list would: a view that the list
// would refuse is refused with the list's own words. It returns the canonical form.
func (s *Server) checkViewQuery(ctx context.Context, raw string) (string, storage.PaymentFilter, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", storage.PaymentFilter{}, &filterError{"These filters cannot be read: open the list again and save from there."}
	}
	f, err := parsePaymentFilter(q, views.Zone(ctx), s.desk.Now())
	if err == nil {
		err = s.parseAccountFilter(q.Get("account"), &f)
	}
	return viewQuery(q), f, err
}

// viewCount is the live count of a saved view's query for the person's zone ("" when
// the view's filters cannot be used any more), from the page cache when the data has not
// changed since it was counted.
//
// ok is false when the count failed (not kept: the next page tries again).
func (s *Server) viewCount(r *http.Request, query string) (count string, ok bool) {
	key := "view-count " + query
	if strings.Contains(query, "refunded="+refundedToday) {
		key += "#day=" + s.today(r)
	}
	body, slot, hit := s.cachedIn(s.nav, r, key)
	if hit {
		return string(body), true
	}
	_, f, err := s.checkViewQuery(r.Context(), query)
	if err != nil {
		slot.keep([]byte{})
		return "", true
	}
	n, capped, err := s.db.CountMatching(r.Context(), f)
	if err != nil {
		s.log.Warn("saved view count", append(logAttrs(r), "query", query, "err", err)...)
		return "", false
	}
	count = strconv.Itoa(n)
	if capped {
		count += "+"
	}
	slot.keep([]byte(count))
	return count, true
}

// today is the person's day now ("2026-01-31"), in their zone.
func (s *Server) today(r *http.Request) string {
	return s.desk.Now().In(views.Zone(r.Context())).Format("2006-01-02")
}

// navViews are the saved views the signed-in person sees in the navigation, each with
// its count; the list for a person is kept in the page cache too. A failure leaves the
// group out of the page (and is logged): the navigation never stops a page.
func (s *Server) navViews(r *http.Request) []views.NavView {
	who := s.person(r)
	current := ""
	if r.URL.Path == "/payments" {
		current = viewQuery(r.URL.Query())
	}
	// The day is in the key: a view of "today" counts another day after midnight.
	key := "nav-views " + who.Key + "#day=" + s.today(r)
	body, slot, ok := s.cachedIn(s.nav, r, key)
	var list []views.NavView
	if ok && json.Unmarshal(body, &list) == nil {
		return markCurrent(list, current)
	}
	saved, err := s.db.SavedViews(r.Context(), who.Key)
	if err != nil {
		s.log.Warn("saved views", append(logAttrs(r), "err", err)...)
		return nil
	}
	complete := true
	for _, v := range saved {
		count, ok := s.viewCount(r, v.Query)
		complete = complete && ok
		list = append(list, views.NavView{Name: v.Name, URL: withQuery("/payments", mustQuery(v.Query)), Count: count, Shared: v.Shared})
	}
	if b, err := json.Marshal(list); err == nil && complete {
		slot.keep(b)
	}
	return markCurrent(list, current)
}

// markCurrent marks the view whose filters are the page's (query), on a copy of list.
func markCurrent(list []views.NavView, query string) []views.NavView {
	out := make([]views.NavView, len(list))
	for i, v := range list {
		v.Current = query != "" && v.URL == "/payments?"+query
		out[i] = v
	}
	return out
}

// mustQuery parses a stored query ("" and garbage as no filter: the count says it).
func mustQuery(raw string) url.Values {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return url.Values{}
	}
	return q
}

// viewID reads the {id} of a saved view's path.
func viewID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// viewsPage lists the saved views the person may use, with the forms that change them;
// /views?query=… (from the payments list) offers each view those filters.
func (s *Server) viewsPage(w http.ResponseWriter, r *http.Request) {
	who := s.person(r)
	saved, err := s.db.SavedViews(r.Context(), who.Key)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Saved views unavailable", "The saved views could not be loaded. Try again in a moment.", err)
		return
	}
	v := views.SavedViewsPage{CanShare: ops.MayShareViews(who)}
	if q := r.URL.Query(); q.Has("query") {
		query, _, err := s.checkViewQuery(r.Context(), q.Get("query"))
		if err != nil {
			v.Error = filterMessage(err)
		} else {
			v.Query, v.Replacing = query, true
			v.QueryWords = filterWords(query)
			v.QueryURL = withQuery("/payments", mustQuery(query))
		}
	}
	for _, sv := range saved {
		row := views.SavedViewRow{
			ID: sv.ID, Name: sv.Name, URL: withQuery("/payments", mustQuery(sv.Query)), Filters: filterWords(sv.Query), Query: sv.Query,
			Owner: sv.OwnerEmail, Shared: sv.Shared, CanChange: ops.MayChangeView(who, sv),
			UpdatedAt: sv.UpdatedAt, UpdatedBy: sv.UpdatedBy,
		}
		if sv.Builtin() {
			row.Owner = "Paydesk"
		}
		row.Count, _ = s.viewCount(r, sv.Query)
		if row.Count == "" {
			row.Count = "—"
		}
		v.Views = append(v.Views, row)
	}
	s.render(w, r, s.page(w, r, "Saved views", "views"), views.SavedViewsView(v))
}

// filterWords says a view's filters in words: "status Cancelling · without a live payer
// link"; "all payments" for none. (The query itself is shown beside it, as code.)
func filterWords(query string) string {
	q := mustQuery(query)
	var parts []string
	for _, k := range paymentFilterKeys {
		v := q.Get(k)
		if v == "" {
			continue
		}
		switch k {
		case "q":
			parts = append(parts, "search “"+v+"”")
		case "provider":
			parts = append(parts, providers.Name(v).Label())
		case "status":
			parts = append(parts, "status "+providers.Status(v).Label())
		case "min":
			parts = append(parts, "from "+v)
		case "max":
			parts = append(parts, "up to "+v)
		case "from":
			parts = append(parts, "created from "+v)
		case "to":
			parts = append(parts, "created until "+v)
		case "attention":
			parts = append(parts, "needs attention")
		case "anomaly":
			parts = append(parts, "provider anomaly")
		case "outcome":
			parts = append(parts, "with an action whose outcome is unknown")
		case "link":
			parts = append(parts, linkFilterWords[v])
		case "failed_since":
			parts = append(parts, "failed since "+v)
		case "refund":
			parts = append(parts, "with a refund awaiting approval")
		case "refunded":
			if v == refundedToday {
				parts = append(parts, "refunded today")
			} else {
				parts = append(parts, "refunded on "+v)
			}
		default: // account, currency
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return "all payments"
	}
	return strings.Join(parts, " · ")
}
