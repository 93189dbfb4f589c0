package web_test

import (
	"context"
	"net/http"
	"net/url"
	"paydesk/providers/bpc"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentRefundsNeverExceedTheBalance: many members of staff refund one payment
// at the same moment, through the real routes, each clicking twice. Whatever the
// interleaving, the provider is called once per refund Paydesk records as succeeded, no
// form is sent twice, and the refunds never exceed what was captured.
func TestConcurrentRefundsNeverExceedTheBalance(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, amount: 100000}) // 1,000.00 EUR captured
	const clients = 8
	browsers := make([]*browser, clients)
	for i := range browsers {
		browsers[i] = h.signedIn([]string{"sam", "max"}[i%2])
	}
	ctx := context.Background()
	submitted := 0
	for round := 0; round < 6; round++ {
		// Everyone opens the form, then everyone submits it at once.
		forms := make([]url.Values, clients)
		for i, b := range browsers {
			key := formKey(t, b.get("/payments/"+p.PublicID+"/refund"))
			forms[i] = url.Values{"amount": {"300.00"}, "reason": {"duplicate"}, "idempotency_key": {key}}
		}
		var wg sync.WaitGroup
		for i, b := range browsers {
			// The same form twice at once: a double click.
			for range 2 {
				wg.Add(1)
				submitted++
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, b.abs("/payments/"+p.PublicID+"/refund"), strings.NewReader(forms[i].Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					res, err := b.client.Do(req)
					if err != nil {
						t.Errorf("refund: %v", err)
						return
					}
					res.Body.Close()
				}()
			}
		}
		wg.Wait()
	}

	refunds, err := h.db.RefundsOfPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var succeeded int64
	for _, r := range refunds {
		switch r.Status {
		case "succeeded":
			succeeded += r.Amount
		case "pending", "unknown", "approved", "awaiting_approval":
			t.Errorf("refund %d is still %s", r.ID, r.Status)
		}
	}
	atProvider := h.providerRefunds(p)
	var total int64
	for _, v := range atProvider {
		total += v
	}
	calls := 0
	for _, r := range h.bpc.Requests() {
		if strings.HasPrefix(r, "POST /refunds") {
			calls++
		}
	}
	t.Logf("%d submissions: %d refunds recorded, %d succeeded (%d minor units), %d refund calls to BPC", submitted, len(refunds), len(atProvider), succeeded, calls)
	if succeeded > 100000 || total > 100000 {
		t.Fatalf("refunded %d in Paydesk and %d at BPC, more than the 100000 captured", succeeded, total)
	}
	if succeeded != total || calls != len(atProvider) {
		t.Errorf("Paydesk has %d refunded, BPC %d in %d refunds from %d calls: they must agree, one call per refund", succeeded, total, len(atProvider), calls)
	}
	// Refunds of 300.00 go through one after another until less than that is left.
	if succeeded != 90000 {
		t.Errorf("refunded %d, want 90000 (three refunds of 300.00; the fourth does not fit)", succeeded)
	}
	bal, _ := h.db.Balance(ctx, p.ID)
	if bal.Refundable != 10000 {
		t.Errorf("refundable %d, want 10000", bal.Refundable)
	}
}
