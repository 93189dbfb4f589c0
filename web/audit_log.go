package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"paydesk/storage"
	"paydesk/views"
)

// auditPageSize is how many entries the audit page shows per page.
const auditPageSize = 100

// auditFilterKeys are the query parameters that select audit entries.
var auditFilterKeys = []string{"from", "to", "actor", "kind", "payment"}

// auditKinds are suggested in the kind filter (any other kind can be typed).
var auditKinds = []string{
	"sign_in", "sign_in_failed", "sign_out", "session_expired", "refused", "step_up",
	"action", "refund_requested", "approval", "expiry", "payer_link", "export",
}

// parseAuditFilter turns the audit page's query string into a storage filter. A payment is
// named by its Paydesk id; dates are days in the person's zone (views.Zone(ctx)).
func (s *Server) parseAuditFilter(ctx context.Context, q url.Values) (storage.AuditFilter, error) {
	var f storage.AuditFilter
	var err error
	if f.From, f.To, err = parseDayRange(q, views.Zone(ctx)); err != nil {
		return f, err
	}
	f.Actor = strings.TrimSpace(q.Get("actor"))
	f.Kind = strings.TrimSpace(q.Get("kind"))
	if len(f.Actor) > 200 || len(f.Kind) > 100 {
		return f, &filterError{"A filter is too long."}
	}
	if pid := strings.TrimSpace(q.Get("payment")); pid != "" {
		if !validPublicID(pid) {
			return f, &filterError{fmt.Sprintf("%q is not a Paydesk payment id (they look like pd_…).", pid)}
		}
		p, err := s.db.PaymentByPublicID(ctx, pid)
		if errors.Is(err, storage.ErrNotFound) {
			return f, &filterError{fmt.Sprintf("There is no payment %s.", pid)}
		}
		if err != nil {
			return f, err
		}
		f.PaymentID = p.ID
	}
	return f, nil
}

// auditLog is the audit log for finance and managers: whether the chain is intact,
// filters, entries newest first (keyset pages on the id).
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	base := filterQuery(q, auditFilterKeys)
	v := views.AuditLog{
		From: q.Get("from"), To: q.Get("to"), Actor: strings.TrimSpace(q.Get("actor")),
		Kind: strings.TrimSpace(q.Get("kind")), Payment: strings.TrimSpace(q.Get("payment")),
		Kinds: auditKinds, Filtered: len(base) > 0, ClearURL: "/audit",
		CSVURL: exportURL("/audit.csv", base, views.Zone(ctx)),
	}
	v.Chain = s.auditChainStatus(ctx)

	f, err := s.parseAuditFilter(ctx, q)
	var fe *filterError
	if err != nil && !errors.As(err, &fe) {
		s.fail(w, r, http.StatusInternalServerError, "Audit log unavailable", "The audit log could not be loaded. Try again in a moment.", err)
		return
	}
	if err == nil {
		if b := q.Get("before"); b != "" {
			if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
				err = &filterError{"This page link is damaged: start again from the first page."}
			}
		}
	}
	if err != nil {
		v.Error = filterMessage(err)
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, s.page(w, r, "Audit log", "audit"), views.AuditLogView(v))
		return
	}
	f.Limit = auditPageSize + 1
	rows, err := s.db.ListAuditRows(ctx, f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Audit log unavailable", "The audit log could not be loaded. Try again in a moment.", err)
		return
	}
	if len(rows) > auditPageSize {
		rows = rows[:auditPageSize]
		next := cloneValues(base)
		next.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		v.NextURL = "/audit?" + next.Encode()
	}
	if f.Before > 0 {
		v.FirstURL = withQuery("/audit", base)
	}
	broken := int64(-1)
	if v.Chain.Known && !v.Chain.OK {
		broken, _ = strconv.ParseInt(strings.TrimPrefix(v.Chain.FirstBroken, "#"), 10, 64)
	}
	for _, e := range rows {
		row := views.AuditRowView{
			ID: strconv.FormatInt(e.ID, 10), At: e.At, Actor: e.Actor, Remote: e.Remote, Kind: e.Kind, Message: e.Message,
			ChainBrokenAtThis: e.ID == broken,
		}
		if d := string(e.Data); d != "{}" && d != "" {
			row.Data = d
		}
		if e.PaymentPublicID != "" {
			row.PaymentID, row.PaymentURL = e.PaymentPublicID, "/payments/"+e.PaymentPublicID
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, s.page(w, r, "Audit log", "audit"), views.AuditLogView(v))
}

// auditChainStatus says whether the chain is intact, as the Desk last verified it (a
// fresh check within a few seconds at most once a minute, else the kept result).
func (s *Server) auditChainStatus(ctx context.Context) views.ChainStatus {
	last := s.desk.AuditChain(ctx)
	note := ""
	if last.TriedAt.After(last.At) {
		note = "the log is too long to check while the page loads; Paydesk checks it in the background every few minutes, and paydesk audit verify checks it now."
		if !last.At.IsZero() {
			note = "This is the last complete check: a newer one did not finish in time (" + note + ")"
		}
	}
	if last.At.IsZero() {
		return views.ChainStatus{Note: note}
	}
	c := views.ChainStatus{Known: true, OK: last.OK, CheckedAt: last.At, Note: note,
		Checked: fmt.Sprintf("%s %s", groupThousands(int64(last.Checked)), plural(last.Checked, "entry", "entries"))}
	if !last.OK {
		c.FirstBroken = "#" + strconv.FormatInt(last.FirstBroken, 10)
		c.BrokenURL = "/audit?before=" + strconv.FormatInt(last.FirstBroken+1, 10)
		c.Problem = upperFirst(last.Problem)
	}
	return c
}

// upperFirst starts a sentence with a capital.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// auditCSVHeader is the audit export's header row (docs/governance.md describes it).
var auditCSVHeader = []string{"id", "at", "actor", "remote", "kind", "payment", "message", "data", "prev_hash", "hash"}

// auditCSV exports exactly the entries the audit page's filters select, streamed; the
// export is itself audited (first, so it is recorded even if the download breaks).
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	r, filter, err := exportZone(r, filterQuery(q, auditFilterKeys))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "Export not possible", filterMessage(err), err)
		return
	}
	f, err := s.parseAuditFilter(r.Context(), q)
	if err != nil {
		var fe *filterError
		if errors.As(err, &fe) {
			s.fail(w, r, http.StatusBadRequest, "Export not possible", filterMessage(err), err)
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "Export not possible", "The audit log could not be read. Try again in a moment.", err)
		return
	}
	s.audit(r, "export", 0, "exported the audit log as CSV: "+csvFilterText(filter), map[string]any{"export": "audit", "filter": filter.Encode()})
	out := startCSV(w, "audit-log", s.desk.Now(), auditCSVHeader)
	rows := 0
	err = s.db.EachAuditRow(r.Context(), f, func(e storage.AuditRow) error {
		rows++
		return out.row(strconv.FormatInt(e.ID, 10), csvTime(e.At), e.Actor, e.Remote, e.Kind, e.PaymentPublicID,
			e.Message, string(e.Data), e.PrevHash, e.Hash)
	})
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		s.log.Error("audit export", append(logAttrs(r), "rows", rows, "err", err)...)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("audit export", append(logAttrs(r), "rows", rows)...)
}
