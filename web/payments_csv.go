package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentFilterKeys are the list's filter parameters, in the order an export's file name
// names them.
var paymentFilterKeys = []string{"q", "provider", "account", "status", "currency", "min", "max", "from", "to",
	"attention", "anomaly", "outcome", "link", "failed_since", "refund", "refunded"}

// paymentsCSVHeader is the list's columns, then every id a payment has.
var paymentsCSVHeader = []string{"created_at", "public_id", "provider", "account", "customer_name", "customer_email",
	"card_last4", "status", "provider_status", "currency", "amount", "amount_minor", "captured_minor", "refunded_minor",
	"provider_payment_id", "session_id", "order_id", "merchant_reference", "updated_at"}

// paymentsCSV streams every payment the list's filters match as CSV, newest first, with
// the same filters (and the same refusals) as the page, the formula guard on every cell
// and an audit entry naming the filter. The file is named for the filter and the time.
func (s *Server) paymentsCSV(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	r, filter, err := exportZone(r, filterQuery(q, paymentFilterKeys))
	if err == nil {
		var f storage.PaymentFilter
		if f, err = parsePaymentFilter(q, views.Zone(r.Context()), s.desk.Now()); err == nil {
			err = s.parseAccountFilter(q.Get("account"), &f)
		}
		if err == nil {
			s.exportPayments(w, r, f, filter)
			return
		}
	}
	s.fail(w, r, http.StatusBadRequest, "Export not possible", filterMessage(err), err)
}

// exportPayments writes the export of f; filter is what the audit entry and file name say.
func (s *Server) exportPayments(w http.ResponseWriter, r *http.Request, f storage.PaymentFilter, filter url.Values) {
	s.audit(r, "export", 0, "exported payments as CSV: "+csvFilterText(filter), map[string]any{"export": "payments", "filter": filter.Encode()})
	out := startCSV(w, "payments"+fileSlug(filter), s.desk.Now(), paymentsCSVHeader)
	rows := 0
	err := s.db.ExportPayments(r.Context(), f, func(p storage.ExportedPayment) error {
		rows++
		return out.row(csvTime(p.CreatedAt), p.PublicID, string(p.Provider), p.Account, p.CustomerName, p.CustomerEmail,
			p.CardLast4, string(p.Status), p.RawStatus, p.Currency, providers.FormatMajor(p.Amount, p.Currency),
			strconv.FormatInt(p.Amount, 10), strconv.FormatInt(p.Captured, 10), strconv.FormatInt(p.Refunded, 10),
			p.PaymentID, p.SessionID, p.OrderID, p.MerchantReference, csvTime(p.UpdatedAt))
	})
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		// The headers are gone: cut the connection so the download fails visibly instead of
		// ending as a file that looks complete.
		s.log.Error("payments export", append(logAttrs(r), "rows", rows, "err", err)...)
		panic(http.ErrAbortHandler)
	}
	s.log.Info("payments export", append(logAttrs(r), "rows", rows)...)
}

// slugUnsafe is what a file name's filter part keeps out.
var slugUnsafe = regexp.MustCompile(`[^a-z0-9.]+`)

// fileSlug names a filter in a file name: "-status-paid-currency-eur", at most 60
// characters, "" for no filter.
func fileSlug(filter url.Values) string {
	var b strings.Builder
	for _, k := range paymentFilterKeys {
		if v := filter.Get(k); v != "" {
			b.WriteString("-" + k + "-" + v)
		}
	}
	slug := strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(b.String()), "-"), "-.")
	if len(slug) > 60 {
		slug = strings.TrimRight(slug[:60], "-.")
	}
	if slug == "" {
		return ""
	}
	return "-" + slug
}
