package tranzzo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"paydesk/providers"
	"paydesk/providers/simfault"
)

func TestSimulatorStrict(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, VariantPurchaseSuccess, "EUR", 10000)
	unpaid := f.load(t, VariantHostedPurchaseInit, "EUR", 10000)
	auth := "CPAY " + testAPIKey + ":" + testAPISecret
	good := map[string]string{"X-API-Auth": auth, "X-API-Key": testEndpoints}
	orderPath := "/pos/" + testPOS + "/orders/" + paid.OrderID
	refundBody := func(fields string) string {
		return `{"pos_id":"` + testPOS + `","order_id":"` + paid.OrderID + `","order_currency":"EUR"` + fields + `}`
	}
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    string
		message string
	}{
		{"no headers", "GET", orderPath, nil, "", 401, "S-404", msgCredentials},
		{"no X-API-Key", "GET", orderPath, map[string]string{"X-API-Auth": auth}, "", 401, "S-404", msgCredentials},
		{"no X-API-Auth", "GET", orderPath, map[string]string{"X-API-Key": testEndpoints}, "", 401, "S-404", msgCredentials},
		{"Bearer scheme", "GET", orderPath, map[string]string{"X-API-Auth": "Bearer " + testAPIKey + ":" + testAPISecret, "X-API-Key": testEndpoints}, "", 401, "S-404", msgCredentials},
		{"key and secret swapped", "GET", orderPath, map[string]string{"X-API-Auth": "CPAY " + testAPISecret + ":" + testAPIKey, "X-API-Key": testEndpoints}, "", 401, "S-404", msgCredentials},
		{"lower-case scheme", "GET", orderPath, map[string]string{"X-API-Auth": "cpay " + testAPIKey + ":" + testAPISecret, "X-API-Key": testEndpoints}, "", 401, "S-404", msgCredentials},
		{"endpoints key in X-API-Auth", "GET", orderPath, map[string]string{"X-API-Auth": auth, "X-API-Key": testAPIKey}, "", 401, "S-404", msgCredentials},
		{"foreign pos in path", "GET", "/pos/00000000-0000-4000-8000-000000000000/orders/" + paid.OrderID, good, "", 401, "S-404", msgCredentials},
		{"foreign pos in cancel path", "POST", "/pos/00000000-0000-4000-8000-000000000000/order/" + unpaid.OrderID + "/cancel", good, "", 401, "S-404", msgCredentials},
		{"unknown order", "GET", "/pos/" + testPOS + "/orders/nope", good, "", 404, "O-404", "Order not found"},
		{"unknown order to cancel", "POST", "/pos/" + testPOS + "/order/nope/cancel", good, "", 404, "O-404", "Order not found"},
		{"orders without id", "GET", "/pos/" + testPOS + "/orders", good, "", 404, "O-404", "Resource not found"},
		{"plural orders for cancel", "POST", "/pos/" + testPOS + "/orders/" + unpaid.OrderID + "/cancel", good, "", 404, "O-404", "Resource not found"},
		{"POST to read", "POST", orderPath, good, "{}", 405, "S-405", "Method POST is not allowed here; use GET"},
		{"GET refund", "GET", "/refund", good, "", 405, "S-405", "use POST"},
		{"GET cancel", "GET", "/pos/" + testPOS + "/order/" + unpaid.OrderID + "/cancel", good, "", 405, "S-405", "use POST"},
		{"refund body not JSON", "POST", "/refund", good, "order_id=1", 406, "S-406", "Request body must be a JSON object"},
		{"refund body an array", "POST", "/refund", good, "[" + refundBody("") + "]", 406, "S-406", "JSON object"},
		{"refund body empty", "POST", "/refund", good, "", 406, "S-406", "JSON object"},
		{"refund body truncated", "POST", "/refund", good, refundBody("")[:20], 406, "S-406", "JSON object"},
		{"void body not JSON", "POST", "/void", good, "<xml/>", 406, "S-406", "JSON object"},
		{"refund foreign pos", "POST", "/refund", good, strings.Replace(refundBody(""), testPOS, "00000000-0000-4000-8000-000000000000", 1), 401, "S-404", msgCredentials},
		{"refund no pos", "POST", "/refund", good, `{"order_id":"` + paid.OrderID + `","order_currency":"EUR"}`, 401, "S-404", msgCredentials},
		{"refund no order_id", "POST", "/refund", good, `{"pos_id":"` + testPOS + `","order_currency":"EUR"}`, 400, "V-400", "order_id is required"},
		{"refund no currency", "POST", "/refund", good, `{"pos_id":"` + testPOS + `","order_id":"` + paid.OrderID + `"}`, 400, "V-400", "order_currency is required"},
		{"refund lower-case currency", "POST", "/refund", good, strings.Replace(refundBody(""), `"EUR"`, `"eur"`, 1), 400, "V-400", "not an ISO 4217 code"},
		{"refund other currency", "POST", "/refund", good, strings.Replace(refundBody(""), `"EUR"`, `"UAH"`, 1), 400, "V-400", "order_currency UAH does not match the order's currency EUR"},
		{"refund amount as string", "POST", "/refund", good, refundBody(`,"refund_amount":"10.00"`), 400, "V-400", "refund_amount must be a number"},
		{"refund amount zero", "POST", "/refund", good, refundBody(`,"refund_amount":0`), 400, "V-400", "greater than zero"},
		{"refund amount negative", "POST", "/refund", good, refundBody(`,"refund_amount":-1.00`), 400, "V-400", "greater than zero"},
		{"refund amount three decimals", "POST", "/refund", good, refundBody(`,"refund_amount":1.001`), 400, "V-400", "refund_amount 1.001 is not a valid EUR amount"},
		{"refund amount exponent", "POST", "/refund", good, refundBody(`,"refund_amount":1e2`), 400, "V-400", "is not a valid EUR amount"},
		{"refund amount above captured", "POST", "/refund", good, refundBody(`,"refund_amount":100.01`), 400, "R-400", "Refund amount exceeds available amount"},
		{"refund of unpaid", "POST", "/refund", good, strings.Replace(refundBody(""), paid.OrderID, unpaid.OrderID, 1), 400, "P-400", "Only a successful purchase or capture can be refunded"},
		{"refund unknown order", "POST", "/refund", good, strings.Replace(refundBody(""), paid.OrderID, "nope", 1), 404, "O-404", "Order not found"},
		{"void of a purchase", "POST", "/void", good, refundBody(""), 400, "P-400", "Only a successful auth can be voided"},
		{"cancel of a paid payment", "POST", "/pos/" + testPOS + "/order/" + paid.OrderID + "/cancel", good, "", 400, "P-400", "Payment cannot be cancelled"},
		{"unknown path", "GET", "/orders/" + paid.OrderID, good, "", 404, "O-404", "Resource not found"},
	}
	before := []string{f.state(t, paid), f.state(t, unpaid)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, f.srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d (body %s)", resp.StatusCode, tt.status, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			var eb errorBody
			if err := json.Unmarshal(raw, &eb); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			if eb.code() != tt.code || !strings.Contains(eb.Message, tt.message) {
				t.Errorf("got code %q message %q, want %q containing %q", eb.code(), eb.Message, tt.code, tt.message)
			}
		})
	}
	after := []string{f.state(t, paid), f.state(t, unpaid)}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("order %d changed after refused requests:\ngot  %s\nwant %s", i, after[i], before[i])
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changes) != 0 {
		t.Errorf("OnChange called %d times, want never", len(f.changes))
	}
}

func TestSimulatorOnChange(t *testing.T) {
	f := newFixture(t, nil)
	unpaid := f.load(t, VariantHostedAuthInit, "UAH", 5000)
	held := f.load(t, VariantAuthHeld, "UAH", 5000)
	paid := f.load(t, VariantPurchaseSuccess, "UAH", 5000)
	if len(f.changes) != 0 {
		t.Fatalf("Load called OnChange %d times, want never", len(f.changes))
	}
	ctx := context.Background()
	steps := []struct {
		name     string
		act      func() error
		order    string
		status   providers.Status
		method   string // of the transaction OnChange gets
		txStatus string
	}{
		{"cancel", func() error { return kindErr(f.client.CancelUnpaid(ctx, unpaid)) }, unpaid.OrderID, providers.StatusCancelled, "auth", "failure"},
		{"void", func() error { return kindErr(f.client.Void(ctx, held, "")) }, held.OrderID, providers.StatusCancelled, "void", "success"},
		{"refund", func() error {
			return kindErr(f.client.Refund(ctx, paid, providers.RefundRequest{Amount: 1000}))
		}, paid.OrderID, providers.StatusPartiallyRefunded, "refund", "success"},
		{"set status", func() error { return f.sim.SetStatus(paid.OrderID, "chargeback", "7001", "Chargeback") }, paid.OrderID, providers.StatusUnknown, "purchase", "chargeback"},
	}
	for i, s := range steps {
		if err := s.act(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		f.mu.Lock()
		n := len(f.changes)
		var env, tx []byte
		if n > 0 {
			env, tx = f.changes[n-1], f.changeTxs[n-1]
		}
		f.mu.Unlock()
		if n != i+1 {
			t.Fatalf("%s: OnChange called %d times in all, want %d", s.name, n, i+1)
		}
		snap, err := ParseEnvelope(env)
		if err != nil {
			t.Fatalf("%s: envelope given to OnChange: %v", s.name, err)
		}
		if snap.OrderID != s.order || providers.Normalise(snap) != s.status {
			t.Errorf("%s: OnChange got order %s status %s, want %s %s", s.name, snap.OrderID, providers.Normalise(snap), s.order, s.status)
		}
		if cur, _ := f.sim.Envelope(s.order); string(cur) != string(env) {
			t.Errorf("%s: OnChange envelope differs from the simulator's state", s.name)
		}
		// The transaction is the one a webhook would carry: the changed or new one.
		var changed transaction
		if err := json.Unmarshal(tx, &changed); err != nil {
			t.Fatalf("%s: transaction given to OnChange: %v", s.name, err)
		}
		if string(changed.Method) != s.method || string(changed.Status) != s.txStatus || string(changed.OrderID) != s.order {
			t.Errorf("%s: OnChange transaction %s %s of %s, want %s %s of %s", s.name, changed.Method, changed.Status, changed.OrderID, s.method, s.txStatus, s.order)
		}
		if !strings.Contains(string(env), string(tx)) {
			t.Errorf("%s: OnChange transaction %s is not in the envelope %s", s.name, tx, env)
		}
	}
}

// kindErr turns a non-Done outcome into an error.
func kindErr(out providers.Outcome) error {
	if out.Kind != providers.Done {
		return errors.New(string(out.Kind) + ": " + out.Message)
	}
	return nil
}

func TestSimulatorConcurrentRefunds(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "UAH", 100000)
	var wg sync.WaitGroup
	outcomes := make([]providers.Outcome, 25)
	for i := range outcomes {
		wg.Go(func() {
			outcomes[i] = f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 10000})
		})
	}
	wg.Wait()
	done, refused := 0, 0
	ids := map[string]bool{}
	for _, out := range outcomes {
		switch out.Kind {
		case providers.Done:
			done++
			if ids[out.RefundID] {
				t.Errorf("refund id %s given twice", out.RefundID)
			}
			ids[out.RefundID] = true
		case providers.Refused:
			refused++
		default:
			t.Errorf("got %s %q", out.Kind, out.Message)
		}
	}
	if done != 10 || refused != 15 {
		t.Errorf("got %d done and %d refused, want 10 and 15", done, refused)
	}
	snap := f.simSnapshot(t, ref)
	if snap.Refunded != 100000 || len(snap.Refunds) != 10 {
		t.Errorf("got %d refunded in %d refunds, want 100000 in 10", snap.Refunded, len(snap.Refunds))
	}
}

func TestSimulatorLoad(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	original := f.state(t, ref)
	if out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 4000}); out.Kind != providers.Done {
		t.Fatalf("refund: got %s %q", out.Kind, out.Message)
	}
	first := f.simSnapshot(t, ref).Refunds[0].ID

	// A restarted demo rebuilds the simulator from the database: loading the stored
	// envelope replaces the order, and new ids never collide with loaded ones.
	sim := NewSimulator(SimConfig{POSID: testPOS, APIKey: testAPIKey, APISecret: testAPISecret, EndpointsKey: testEndpoints})
	refunded := f.state(t, ref)
	if err := sim.Load([]byte(refunded)); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.Envelope(ref.OrderID); string(got) != refunded {
		t.Errorf("rebuilt state:\ngot  %s\nwant %s", got, refunded)
	}
	f.sim = sim // the fixture's server now serves the rebuilt simulator
	out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 6000})
	if out.Kind != providers.Done {
		t.Fatalf("refund after rebuild: got %s %q", out.Kind, out.Message)
	}
	if out.RefundID == first {
		t.Errorf("refund id %s reused after the rebuild", first)
	}
	if out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 1}); out.Kind != providers.Refused {
		t.Errorf("over-refund after rebuild: got %s, want refused", out.Kind)
	}

	// Loading the original envelope replaces the order; Orders lists it once.
	if err := sim.Load([]byte(original)); err != nil {
		t.Fatal(err)
	}
	if got := sim.Orders(); len(got) != 1 || got[0] != ref.OrderID {
		t.Errorf("Orders: got %v, want [%s]", got, ref.OrderID)
	}
	if got := f.simSnapshot(t, ref).Refunded; got != 0 {
		t.Errorf("refunded after loading the original: got %d, want 0", got)
	}

	for _, bad := range []string{`{}`, `{"provider":"bpc","payment":{}}`, `not json`, string(wrap(order(txJSON(`"amount":"x"`))))} {
		if err := sim.Load([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "tranzzo: simulator: load: ") {
			t.Errorf("Load(%s): got %v, want a load error", bad, err)
		}
	}
	if got := sim.Orders(); len(got) != 1 {
		t.Errorf("bad loads changed Orders: %v", got)
	}
	if _, err := sim.Snapshot("nope"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Snapshot of an unknown order: got %v, want ErrNotFound", err)
	}
}

func TestSimulatorSetStatus(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantHostedPurchaseInit, "EUR", 3000)
	if out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Full: true}); out.Kind != providers.Refused {
		t.Fatalf("refund of unpaid: got %s, want refused", out.Kind)
	}
	// The payer pays on the hosted page.
	if err := f.sim.SetStatus(ref.OrderID, "success", "1000", "Success"); err != nil {
		t.Fatal(err)
	}
	out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Full: true})
	if out.Kind != providers.Done || out.Snapshot.Refunded != 3000 {
		t.Fatalf("refund after payment: got %s %q, want done in full", out.Kind, out.Message)
	}
	if err := f.sim.SetStatus("nope", "success", "", ""); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("SetStatus of unknown order: got %v, want ErrNotFound", err)
	}
}

func TestSimulatorNewTransactions(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 250})
	if out.Kind != providers.Done {
		t.Fatal(out.Message)
	}
	var env providers.Envelope
	if err := json.Unmarshal([]byte(f.state(t, ref)), &env); err != nil {
		t.Fatal(err)
	}
	var txs []transaction
	if err := json.Unmarshal(env.Transactions, &txs); err != nil {
		t.Fatal(err)
	}
	if len(txs) != 2 {
		t.Fatalf("got %d transactions, want the payment and the refund", len(txs))
	}
	pay, rf := txs[0], txs[1]
	checks := []struct{ name, got, want string }{
		{"method", string(rf.Method), "refund"},
		{"amount", string(rf.Amount), "2.50"},
		{"currency", string(rf.Currency), "UAH"},
		{"status", string(rf.Status), "success"},
		{"status_code", string(rf.StatusCode), "1000"},
		{"payment_id", string(rf.PaymentID), "5100c0de-0000-4000-8000-000000000001"},
		{"order_id", string(rf.OrderID), string(pay.OrderID)},
		{"pos_id", string(rf.POSID), string(pay.POSID)},
		{"cc_mask", string(rf.CCMask), string(pay.CCMask)},
		{"created_at", string(rf.CreatedAt), formatTime(testNow)},
		{"payment untouched", string(pay.Status), "success"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if out.RefundID != string(rf.PaymentID) {
		t.Errorf("RefundID: got %q, want %q", out.RefundID, rf.PaymentID)
	}
}

func TestFailNextQueue(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	f.sim.FailNext(1, simfault.Unavailable)
	f.sim.FailNext(2, simfault.Internal)
	f.sim.FailNext(0, simfault.HTMLPage)
	if got := f.sim.PendingFaults(); got != 3 {
		t.Fatalf("PendingFaults: got %d, want 3", got)
	}
	wantStatus := []int{503, 500, 500, 0}
	for i, want := range wantStatus {
		_, err := f.client.Fetch(context.Background(), ref)
		var pe *providers.Error
		switch {
		case want == 0 && err != nil:
			t.Errorf("call %d: got %v, want success", i, err)
		case want != 0 && (!errors.As(err, &pe) || pe.Status != want):
			t.Errorf("call %d: got %v, want HTTP %d", i, err, want)
		}
	}
	f.sim.FailNext(5, simfault.DropAnswer)
	f.sim.ClearFaults()
	if got := f.sim.PendingFaults(); got != 0 {
		t.Errorf("PendingFaults after ClearFaults: got %d, want 0", got)
	}
	if _, err := f.client.Fetch(context.Background(), ref); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
	names := map[simfault.Fault]string{simfault.Internal: "500", simfault.Unavailable: "503", simfault.Slow: "slow", simfault.Malformed: "malformed", simfault.HTMLPage: "html", simfault.DropAnswer: "drop", simfault.Fault(99): "Fault(99)"}
	for f, want := range names {
		if f.String() != want {
			t.Errorf("String: got %q, want %q", f.String(), want)
		}
	}
}
