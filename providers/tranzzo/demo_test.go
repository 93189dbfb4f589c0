package tranzzo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

func TestDemoVariants(t *testing.T) {
	const amount = 123457
	tests := []struct {
		variant   int
		status    providers.Status
		raw       string
		method    string
		mode      string
		code      string
		voided    bool
		captured  int64
		refunded  int64
		refunds   int
		cancelOp  providers.Operation // "" when cancel is not eligible
		refundMax int64               // 0 when refund is not eligible
	}{
		{VariantHostedPurchaseInit, providers.StatusAwaitingPayment, "init", "purchase", "hosted", "", false, 0, 0, 0, providers.OpCancel, 0},
		{VariantHostedAuthInit, providers.StatusAwaitingPayment, "init", "auth", "hosted", "", false, 0, 0, 0, providers.OpCancel, 0},
		{VariantDirectPurchaseInit, providers.StatusAwaitingPayment, "init", "purchase", "direct", "", false, 0, 0, 0, "", 0},
		{VariantPurchasePending, providers.StatusProcessing, "pending", "purchase", "hosted", "1001", false, 0, 0, 0, "", 0},
		{VariantPurchaseSuccess, providers.StatusPaid, "success", "purchase", "hosted", "1000", false, amount, 0, 0, "", amount},
		{VariantPartlyRefunded, providers.StatusPartiallyRefunded, "success", "purchase", "hosted", "1000", false, amount, amount / 3, 1, "", amount - amount/3},
		{VariantFullyRefunded, providers.StatusRefunded, "success", "purchase", "hosted", "1000", false, amount, amount, 2, "", 0},
		{VariantAuthHeld, providers.StatusAuthorized, "success", "auth", "hosted", "1002", false, 0, 0, 0, providers.OpVoid, 0},
		{VariantAuthVoided, providers.StatusCancelled, "success", "auth", "hosted", "1002", true, 0, 0, 0, "", 0},
		{VariantAuthCaptured, providers.StatusPaid, "success", "capture", "hosted", "1000", false, amount, 0, 0, "", amount},
		{VariantPurchaseFailed, providers.StatusFailed, "failure", "purchase", "hosted", "2122", false, 0, 0, 0, "", 0},
		{VariantHostedCancelled, providers.StatusCancelled, "failure", "purchase", "hosted", "6007", false, 0, 0, 0, "", 0},
		{VariantUnknownStatus, providers.StatusUnknown, "processing", "purchase", "hosted", "1005", false, 0, 0, 0, "", 0},
	}
	if len(tests) != (Demo{}).Variants() {
		t.Fatalf("table has %d variants, Demo has %d", len(tests), (Demo{}).Variants())
	}
	covered := map[providers.Status]bool{}
	created := time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC)
	for ci, currency := range (Demo{}).Currencies() {
		f := newFixture(t, nil)
		for _, tt := range tests {
			seq := 1000 + tt.variant*10 + ci
			t.Run(fmt.Sprintf("%s %s", variantNames[tt.variant], currency), func(t *testing.T) {
				spec := providers.DemoSpec{Seq: seq, Name: "Mykola Lysenko", Email: "mykola@example.com",
					Amount: amount, Currency: currency, CreatedAt: created, Variant: tt.variant, Reference: fmt.Sprintf("REF-%d", seq)}
				env, err := Demo{POSID: testPOS}.Envelope(spec)
				if err != nil {
					t.Fatal(err)
				}
				snap, err := ParseEnvelope(env)
				if err != nil {
					t.Fatalf("ParseEnvelope: %v", err)
				}
				covered[providers.Normalise(snap)] = true
				checks := []struct {
					name      string
					got, want any
				}{
					{"status", providers.Normalise(snap), tt.status},
					{"raw status", snap.RawStatus, tt.raw},
					{"method", snap.Method, tt.method},
					{"mode", snap.Mode, tt.mode},
					{"code", snap.ErrorCode, tt.code},
					{"voided", snap.Voided, tt.voided},
					{"amount", snap.Amount, int64(amount)},
					{"captured", snap.Captured, tt.captured},
					{"refunded", snap.Refunded, tt.refunded},
					{"refunds", len(snap.Refunds), tt.refunds},
					{"currency", snap.Currency, currency},
					{"order id", snap.OrderID, fmt.Sprintf("ord-%06d", seq)},
					{"reference", snap.MerchantReference, spec.Reference},
					{"customer", snap.CustomerName, "Mykola Lysenko"},
					{"email", snap.CustomerEmail, "mykola@example.com"},
					{"created", snap.CreatedAt, created},
					{"payment id is UUID-like", isUUID(snap.PaymentID), true},
					{"payment id from seq", strings.HasSuffix(snap.PaymentID, fmt.Sprintf("%012d", seq)), true},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
					}
				}
				el := providers.Eligible(snap)
				if el.Cancel.Op != tt.cancelOp || el.Cancel.Allowed != (tt.cancelOp != "") {
					t.Errorf("cancel eligibility: got %+v, want op %q", el.Cancel, tt.cancelOp)
				}
				if el.Refund.MaxRefund != tt.refundMax || el.Refund.Allowed != (tt.refundMax > 0) {
					t.Errorf("refund eligibility: got %+v, want max %d", el.Refund, tt.refundMax)
				}

				// The simulator agrees with the eligibility rules: what is eligible is
				// done, what is not is refused by the simulator itself.
				if err := f.sim.Load(env); err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got, _ := f.sim.Envelope(snap.OrderID); string(got) != string(snap.Raw) {
					t.Errorf("Load then Envelope:\ngot  %s\nwant %s", got, snap.Raw)
				}
				fetched, err := f.client.Fetch(context.Background(), providers.RefOf(snap))
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				for _, d := range diffSnapshot(fetched, snap) {
					t.Errorf("Fetch: %s", d)
				}
				out := f.client.Cancel(context.Background(), providers.RefOf(snap), providers.CancelRequest{Op: el.Cancel.Op})
				if wantDone := tt.cancelOp != ""; (out.Kind == providers.Done) != wantDone || (!wantDone && out.Kind != providers.Refused) {
					t.Errorf("Cancel: got %s %q, want done %v (else refused)", out.Kind, out.Message, wantDone)
				}
				if out.Kind == providers.Done && providers.Normalise(*out.Snapshot) != providers.StatusCancelled {
					t.Errorf("Cancel: payment after is %s, want cancelled", providers.Normalise(*out.Snapshot))
				}

				if err := f.sim.Load(env); err != nil { // back to the demo state
					t.Fatalf("Load: %v", err)
				}
				req := providers.RefundRequest{Amount: tt.refundMax, Full: tt.refundMax == 0}
				out = f.client.Refund(context.Background(), providers.RefOf(snap), req)
				if wantDone := tt.refundMax > 0; (out.Kind == providers.Done) != wantDone || (!wantDone && out.Kind != providers.Refused) {
					t.Errorf("Refund: got %s %q, want done %v (else refused)", out.Kind, out.Message, wantDone)
				}
				if out.Kind == providers.Done && providers.Normalise(*out.Snapshot) != providers.StatusRefunded {
					t.Errorf("Refund of everything left: payment after is %s, want refunded", providers.Normalise(*out.Snapshot))
				}
			})
		}
	}
	for _, st := range []providers.Status{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusAuthorized,
		providers.StatusPaid, providers.StatusPartiallyRefunded, providers.StatusRefunded, providers.StatusCancelled,
		providers.StatusFailed, providers.StatusUnknown} {
		if !covered[st] {
			t.Errorf("no demo variant is %s", st)
		}
	}
}

func TestDemoDeterministic(t *testing.T) {
	spec := providers.DemoSpec{Seq: 42, Name: "Lesya Ukrainka", Email: "lesya@example.com", Amount: 9999,
		Currency: "XTS", CreatedAt: time.Date(2025, 2, 1, 8, 0, 0, 0, time.FixedZone("EET", 2*3600)), Variant: VariantFullyRefunded, Reference: "R-42"}
	a, err := Demo{}.Envelope(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Demo{}.Envelope(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("same spec, different JSON:\n%s\n%s", a, b)
	}
	if !strings.Contains(string(a), `"pos_id":"`+DemoPOSID+`"`) {
		t.Errorf("default pos_id: want %s in %s", DemoPOSID, a)
	}
	if !strings.Contains(string(a), `"created_at":"2025-02-01T06:00:00.000"`) {
		t.Errorf("created_at: want UTC without zone in %s", a)
	}
	if !strings.Contains(string(a), `"amount":99.99`) {
		t.Errorf("amount: want a JSON number in major units in %s", a)
	}
	// The variant is taken modulo Variants().
	spec.Variant += (Demo{}).Variants()
	c, err := Demo{}.Envelope(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(c) != string(a) {
		t.Error("variant + Variants() gave a different payment")
	}
	// Other seqs give other ids, and every id in an order is distinct.
	seen := map[string]bool{}
	for seq := range 3 {
		spec.Seq = seq
		env, err := Demo{}.Envelope(spec)
		if err != nil {
			t.Fatal(err)
		}
		var e providers.Envelope
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		var txs []transaction
		if err := json.Unmarshal(e.Transactions, &txs); err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			if seen[string(tx.PaymentID)] {
				t.Errorf("payment_id %s used twice", tx.PaymentID)
			}
			seen[string(tx.PaymentID)] = true
		}
	}
	if len(seen) != 9 {
		t.Errorf("got %d distinct ids, want 9", len(seen))
	}
}

func TestDemoErrors(t *testing.T) {
	good := providers.DemoSpec{Seq: 1, Name: "A B", Amount: 100, Currency: "UAH", CreatedAt: time.Now()}
	tests := []struct {
		name string
		mod  func(*providers.DemoSpec)
		want string
	}{
		{"no currency", func(s *providers.DemoSpec) { s.Currency = "" }, `invalid currency ""`},
		{"bad currency", func(s *providers.DemoSpec) { s.Currency = "Hryvnia" }, `invalid currency "Hryvnia"`},
		{"zero amount", func(s *providers.DemoSpec) { s.Amount = 0 }, "amount 0 must be positive"},
		{"negative seq", func(s *providers.DemoSpec) { s.Seq = -1 }, "negative seq"},
		{"refund too small", func(s *providers.DemoSpec) { s.Amount = 1; s.Variant = VariantPartlyRefunded }, "at least 2 minor units"},
	}
	for _, tt := range tests {
		spec := good
		tt.mod(&spec)
		_, err := Demo{}.Envelope(spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tranzzo: demo: ") {
			t.Errorf("%s: got %v, want tranzzo: demo: …%s…", tt.name, err, tt.want)
		}
	}
	if got := (Demo{}).Currencies(); strings.Join(got, ",") != "UAH,XTS,EUR" {
		t.Errorf("Currencies: got %v, want UAH, XTS, EUR", got)
	}
}
