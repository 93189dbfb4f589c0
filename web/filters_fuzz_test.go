package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"paydesk/ops/opstest"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/storage/storagetest"
	"paydesk/web"
)

// FuzzParsePaymentFilter feeds the payments list's query string parser, then the
// database with what it accepts. A query string is either refused with a message for
// people, or gives a filter that keeps its promises (known provider, status and
// currency; min <= max; from < to; a bounded search) and that the database answers
// without an error — search words included, whatever their punctuation.
func FuzzParsePaymentFilter(f *testing.F) {
	for _, q := range []string{
		"",
		"q=ada%40example.com",
		"q=4242&provider=bpc&status=paid",
		"q=Ada+Love&currency=eur&min=10.00&max=99.99",
		"from=2026-01-01&to=2026-01-31&attention=1",
		"q=%22unbalanced&provider=tranzzo",
		"q=re_*+OR+NEAR(a+b)&currency=JPY&min=100",
		"q=pd_abcdefghijkl",
		"min=-1&currency=EUR",
		"from=2026-02-30",
		"after=bogus",
		"refund=awaiting_approval&refunded=today",
		"refunded=2026-01-12&status=paid",
		"q=" + url.QueryEscape("p_ab-cd:ef^g AND \"x\""),
	} {
		f.Add(q)
	}
	ctx := context.Background()
	paris, err := time.LoadLocation("Europe/Paris") // a zone with daylight-saving changes
	if err != nil {
		f.Fatal(err)
	}
	db, err := storage.Open(ctx, storagetest.DSN(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	for i := range 5 {
		raw, err := bpc.Demo{}.Envelope(providers.DemoSpec{Seq: i + 1, Name: "Ada Lovelace", Email: "ada@example.com", Amount: 1000,
			Currency: "EUR", CreatedAt: time.Date(2026, 1, 10+i, 0, 0, 0, 0, time.UTC), Variant: i, Reference: "REF-1"})
		if err != nil {
			f.Fatal(err)
		}
		snap, err := bpc.ParseEnvelope(raw)
		if err != nil {
			f.Fatal(err)
		}
		if _, _, err := db.UpsertPayment(ctx, snap, storage.UpsertOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the server answers a query string it cannot split with 400 before this
		}
		flt, err := web.ParsePaymentFilter(q, paris, time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC)) // dates are days in the person's zone
		if err != nil {
			opstest.CheckRefusal(t, raw, err)
			return
		}
		switch {
		case len(flt.Query) > 200:
			t.Fatalf("%q: search of %d bytes accepted", raw, len(flt.Query))
		case flt.Provider != "" && !flt.Provider.Valid():
			t.Fatalf("%q: provider %q accepted", raw, flt.Provider)
		case flt.Status != "" && !flt.Status.Valid():
			t.Fatalf("%q: status %q accepted", raw, flt.Status)
		case flt.Currency != "" && !providers.ValidCurrency(flt.Currency):
			t.Fatalf("%q: currency %q accepted", raw, flt.Currency)
		case (flt.MinAmount != nil || flt.MaxAmount != nil) && flt.Currency == "":
			t.Fatalf("%q: an amount bound without a currency", raw)
		case flt.MinAmount != nil && flt.MaxAmount != nil && *flt.MinAmount > *flt.MaxAmount:
			t.Fatalf("%q: min %d > max %d", raw, *flt.MinAmount, *flt.MaxAmount)
		case !flt.From.IsZero() && !flt.To.IsZero() && !flt.From.Before(flt.To):
			t.Fatalf("%q: from %s not before to %s", raw, flt.From, flt.To)
		case flt.After != nil && flt.Before != nil:
			t.Fatalf("%q: both after and before", raw)
		}
		if _, err := db.ListPayments(ctx, flt); err != nil {
			t.Fatalf("%q: the database refused an accepted filter %+v: %v", raw, flt, err)
		}
	})
}
