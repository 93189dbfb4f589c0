package tranzzo

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/providers/simfault"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid with trailing slash and zero timeout", func(c *Config) { c.BaseURL += "/api/v1/"; c.Timeout = 0 }, ""},
		{"no base URL", func(c *Config) { c.BaseURL = "" }, "base URL is required"},
		{"relative base URL", func(c *Config) { c.BaseURL = "cpay.tranzzo.com/api/v1" }, "absolute http or https URL"},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://cpay.tranzzo.com" }, "absolute http or https URL"},
		{"base URL with query", func(c *Config) { c.BaseURL = "https://cpay.tranzzo.com/api/v1?x=1" }, "query or fragment"},
		{"no POS ID", func(c *Config) { c.POSID = "" }, "must be a UUID"},
		{"POS ID not a UUID", func(c *Config) { c.POSID = "pos-1" }, "must be a UUID"},
		{"no API key", func(c *Config) { c.APIKey = "" }, "API key is required"},
		{"no API secret", func(c *Config) { c.APISecret = "" }, "API secret is required"},
		{"no endpoints key", func(c *Config) { c.EndpointsKey = "" }, "endpoints key is required"},
		{"secret with newline", func(c *Config) { c.APISecret = "a\nb" }, "API secret must not contain"},
		{"key with colon", func(c *Config) { c.APIKey = "a:b" }, "must not contain ':'"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("https://cpay.tranzzo.com")
			tt.mod(&cfg)
			c, err := New(cfg, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if c.http.HTTP == nil {
					t.Error("got nil http client, want a new one")
				}
				if cfg.Timeout == 0 && c.http.Timeout != DefaultTimeout {
					t.Errorf("timeout: got %s, want %s", c.http.Timeout, DefaultTimeout)
				}
				if strings.HasSuffix(c.base, "/") {
					t.Errorf("base %q: want no trailing slash", c.base)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tranzzo: config: ") {
				t.Errorf("got %q, want tranzzo: config: …%s…", err, tt.want)
			}
			noSecrets(t, "config error", err.Error())
		})
	}
}

func TestName(t *testing.T) {
	c := newTestClient(t, "https://cpay.tranzzo.com", nil)
	if c.Name() != Name {
		t.Errorf("got %q, want %q", c.Name(), Name)
	}
}

func TestFetchEveryVariant(t *testing.T) {
	f := newFixture(t, nil)
	for v := range (Demo{}).Variants() {
		ref := f.load(t, v, "UAH", 123456)
		got, err := f.client.Fetch(context.Background(), ref)
		if err != nil {
			t.Fatalf("variant %d: Fetch: %v", v, err)
		}
		want := f.simSnapshot(t, ref)
		for _, d := range diffSnapshot(got, want) {
			t.Errorf("variant %d: %s", v, d)
		}
		if string(got.Raw) != string(want.Raw) {
			t.Errorf("variant %d: Raw:\ngot  %s\nwant %s", v, got.Raw, want.Raw)
		}
		if got.OrderID != ref.OrderID || got.Amount != 123456 {
			t.Errorf("variant %d: got order %q amount %d, want %q 123456", v, got.OrderID, got.Amount, ref.OrderID)
		}
	}
}

func TestFetchEscapesOrderID(t *testing.T) {
	f := newFixture(t, nil)
	env := wrap(order(txJSON(`"order_id":"ord/ü 1?x"`)))
	if err := f.sim.Load(env); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.Fetch(context.Background(), providers.Ref{OrderID: "ord/ü 1?x"})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got.OrderID != "ord/ü 1?x" || got.Amount != 10000 {
		t.Errorf("got order %q amount %d, want %q 10000", got.OrderID, got.Amount, "ord/ü 1?x")
	}
}

func TestFetchErrors(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("unknown order", func(t *testing.T) {
		_, err := f.client.Fetch(context.Background(), providers.Ref{OrderID: "nope"})
		var pe *providers.Error
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a *providers.Error", err)
		}
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("got %v, want it to wrap ErrNotFound", err)
		}
		if pe.Status != http.StatusNotFound || pe.Code != simCodeNotFound || pe.Safe != "Order not found" || pe.Unknown {
			t.Errorf("got status %d code %q safe %q unknown %v, want 404 %q %q false", pe.Status, pe.Code, pe.Safe, pe.Unknown, simCodeNotFound, "Order not found")
		}
	})
	t.Run("no order id", func(t *testing.T) {
		before := len(f.sim.Requests())
		_, err := f.client.Fetch(context.Background(), providers.Ref{PaymentID: "p-1"})
		if err == nil || !strings.Contains(providers.SafeMessage(err), "no Tranzzo order id") {
			t.Errorf("got %v, want a no-order-id error", err)
		}
		if n := len(f.sim.Requests()); n != before {
			t.Errorf("got %d requests, want none sent", n-before)
		}
	})
}

func TestCredentials(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"wrong API key", func(c *Config) { c.APIKey = "other" }},
		{"wrong API secret", func(c *Config) { c.APISecret = "other" }},
		{"wrong endpoints key", func(c *Config) { c.EndpointsKey = "other" }},
		{"foreign POS", func(c *Config) { c.POSID = "00000000-0000-4000-8000-000000000000" }},
	}
	f := newFixture(t, nil)
	paid := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	held := f.load(t, VariantAuthHeld, "UAH", 10000)
	unpaid := f.load(t, VariantHostedPurchaseInit, "UAH", 10000)
	before := []string{f.state(t, paid), f.state(t, held), f.state(t, unpaid)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, f.srv.URL, tt.mod)
			_, err := c.Fetch(context.Background(), paid)
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Fetch: got %v, want a *providers.Error", err)
			}
			if pe.Status != http.StatusUnauthorized || pe.Code != "S-404" || pe.Safe != msgCredentials || pe.Unknown {
				t.Errorf("Fetch: got status %d code %q safe %q unknown %v, want 401 S-404 %q false", pe.Status, pe.Code, pe.Safe, pe.Unknown, msgCredentials)
			}
			noSecrets(t, "error", err.Error())
			outcomes := map[string]providers.Outcome{
				"refund":        c.Refund(context.Background(), paid, providers.RefundRequest{Amount: 100}),
				"void":          c.Void(context.Background(), held, ""),
				"cancel unpaid": c.CancelUnpaid(context.Background(), unpaid),
				"cancel":        c.Cancel(context.Background(), unpaid, providers.CancelRequest{}),
			}
			for name, out := range outcomes {
				if out.Kind != providers.Refused || !strings.Contains(out.Message, msgCredentials) {
					t.Errorf("%s: got %s %q, want refused with %q", name, out.Kind, out.Message, msgCredentials)
				}
				noSecrets(t, name+" message", out.Message)
				noSecrets(t, name+" detail", out.Detail)
			}
		})
	}
	after := []string{f.state(t, paid), f.state(t, held), f.state(t, unpaid)}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("order %d changed after refused calls:\ngot  %s\nwant %s", i, after[i], before[i])
		}
	}
}

// TestCancel: Cancel sends the call the stored state chose (req.Op, as ops passes it from
// the eligibility decision) first, with no read before it; the order is read after.
func TestCancel(t *testing.T) {
	tests := []struct {
		variant  int
		op       providers.Operation // what ops passes: Eligible(stored).Cancel.Op, or a stale choice
		kind     providers.OutcomeKind
		message  string // contained in the outcome's message
		endpoint string // the POST sent
		after    providers.Status
	}{
		{VariantHostedPurchaseInit, providers.OpCancel, providers.Done, "cancelled the unpaid payment", "/cancel", providers.StatusCancelled},
		{VariantHostedAuthInit, providers.OpCancel, providers.Done, "cancelled the unpaid payment", "/cancel", providers.StatusCancelled},
		{VariantHostedPurchaseInit, "", providers.Done, "cancelled the unpaid payment", "/cancel", providers.StatusCancelled},
		{VariantDirectPurchaseInit, providers.OpCancel, providers.Refused, "Payment cannot be cancelled: only an unpaid hosted purchase or auth (status init) can be; this one is direct purchase init", "/cancel", providers.StatusAwaitingPayment},
		{VariantPurchasePending, providers.OpCancel, providers.Refused, "this one is hosted purchase pending", "/cancel", providers.StatusProcessing},
		{VariantPurchaseSuccess, providers.OpCancel, providers.Refused, "this one is hosted purchase success", "/cancel", providers.StatusPaid},
		{VariantAuthHeld, providers.OpVoid, providers.Done, "voided the authorisation", "/void", providers.StatusCancelled},
		{VariantAuthVoided, providers.OpVoid, providers.Refused, "Authorisation is already voided", "/void", providers.StatusCancelled},
		{VariantAuthCaptured, providers.OpCancel, providers.Refused, "this one is hosted capture success", "/cancel", providers.StatusPaid},
		{VariantHostedCancelled, providers.OpCancel, providers.Refused, "this one is hosted purchase failure", "/cancel", providers.StatusCancelled},
		{VariantUnknownStatus, providers.OpCancel, providers.Refused, "this one is hosted purchase processing", "/cancel", providers.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(variantNames[tt.variant]+"/"+string(tt.op), func(t *testing.T) {
			f := newFixture(t, nil)
			ref := f.load(t, tt.variant, "EUR", 4200)
			before := f.state(t, ref)
			out := f.client.Cancel(context.Background(), ref, providers.CancelRequest{Comment: "customer asked", Op: tt.op})
			if out.Kind != tt.kind || !strings.Contains(out.Message, tt.message) {
				t.Fatalf("got %s %q, want %s containing %q (detail %s)", out.Kind, out.Message, tt.kind, tt.message, out.Detail)
			}
			reqs := f.sim.Requests()
			if len(reqs) == 0 || reqs[0].Method != http.MethodPost || !strings.HasSuffix(reqs[0].Path, tt.endpoint) {
				t.Errorf("requests: got %v, want the POST …%s first, nothing read before it", reqs, tt.endpoint)
			}
			for _, r := range reqs[1:] {
				if r.Method != http.MethodGet {
					t.Errorf("requests: got %v, want only reads after the POST", reqs)
				}
			}
			if f.posts() != 1 {
				t.Errorf("got %d POSTs, want exactly 1", f.posts())
			}
			sim := f.simSnapshot(t, ref)
			if st := providers.Normalise(sim); st != tt.after {
				t.Errorf("simulator status after: got %s, want %s", st, tt.after)
			}
			if tt.kind == providers.Done {
				if out.Snapshot == nil {
					t.Fatal("Done without the payment read back")
				}
				if st := providers.Normalise(*out.Snapshot); st != providers.StatusCancelled {
					t.Errorf("outcome snapshot: got %s, want cancelled", st)
				}
				if len(out.Raw) == 0 {
					t.Error("Done without the provider's answer in Raw")
				}
				f.waitChange(t)
			} else if after := f.state(t, ref); after != before {
				t.Errorf("refused cancel changed the order:\ngot  %s\nwant %s", after, before)
			}
			if tt.kind == providers.Refused && tt.endpoint == "/cancel" {
				// The refusal's reason is the payment's fresh state, read after the call.
				if out.Snapshot == nil || providers.Normalise(*out.Snapshot) != tt.after {
					t.Errorf("refused cancel: snapshot read after = %+v, want the order as it is (%s)", out.Snapshot, tt.after)
				}
			}
		})
	}
}

// TestCancelSentWhateverTheReadAnswers: a plain server whose GET answers 500, 404 or an
// HTML page still receives the documented cancel, once, and its answer decides.
func TestCancelSentWhateverTheReadAnswers(t *testing.T) {
	answer, err := os.ReadFile("testdata/seed_cancel_response_fixed.json")
	if err != nil {
		t.Fatal(err)
	}
	gets := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"500", http.StatusInternalServerError, "application/json", `{"message":"Internal error","args":{"code":"S-500"}}`},
		{"404", http.StatusNotFound, "application/json", `{"message":"Order not found","args":{"code":"O-404"}}`},
		{"html", http.StatusOK, "text/html", "<!DOCTYPE html><html><body>Maintenance</body></html>"},
		{"html 502", http.StatusBadGateway, "text/html", "<html><body>Bad gateway</body></html>"},
	}
	for _, g := range gets {
		t.Run(g.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.Path)
				mu.Unlock()
				if r.Method == http.MethodGet {
					w.Header().Set("Content-Type", g.ctype)
					w.WriteHeader(g.status)
					io.WriteString(w, g.body)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write(answer)
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			out := c.Cancel(context.Background(), providers.Ref{OrderID: "123", Currency: "UAH"},
				providers.CancelRequest{Op: providers.OpCancel, Comment: "customer asked"})
			if out.Kind != providers.Done || !strings.Contains(out.Message, "cancelled the unpaid payment") {
				t.Errorf("got %s %q, want done (detail %s)", out.Kind, out.Message, out.Detail)
			}
			if out.Snapshot != nil {
				t.Errorf("snapshot %+v from a read that failed", out.Snapshot)
			}
			if !strings.Contains(out.Detail, "reading the order back failed") {
				t.Errorf("detail %q does not note the failed read after", out.Detail)
			}
			mu.Lock()
			defer mu.Unlock()
			want := "POST /pos/" + testPOS + "/order/123/cancel"
			if len(seen) == 0 || seen[0] != want {
				t.Fatalf("requests %v, want %q first", seen, want)
			}
			posts := 0
			for _, s := range seen {
				if strings.HasPrefix(s, "POST ") {
					posts++
				}
			}
			if posts != 1 {
				t.Errorf("requests %v, want exactly one POST", seen)
			}
		})
	}
}

func TestCancelUnpaidAnswer(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantHostedPurchaseInit, "UAH", 999)
	out := f.client.CancelUnpaid(context.Background(), ref)
	if out.Kind != providers.Done {
		t.Fatalf("got %s %q, want done", out.Kind, out.Message)
	}
	tx, err := answerTransaction(out.Raw, methodPurchase)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != statusFailure || tx.StatusCode != codeCancelled || tx.StatusDescription != descCancelled {
		t.Errorf("answer: got %s %s %q, want failure 6007 %q", tx.Status, tx.StatusCode, tx.StatusDescription, descCancelled)
	}
	if got := out.Snapshot.ErrorCode; got != "6007" {
		t.Errorf("read back error code: got %q, want 6007", got)
	}
	if want := formatTime(testNow); string(tx.ProcessedAt) != want {
		t.Errorf("processed_at: got %q, want %q (the simulator's clock)", tx.ProcessedAt, want)
	}
	// A second cancellation is refused: the payment is no longer init.
	again := f.client.CancelUnpaid(context.Background(), ref)
	if again.Kind != providers.Refused || !strings.Contains(again.Message, "purchase failure") {
		t.Errorf("second cancel: got %s %q, want refused", again.Kind, again.Message)
	}
	if out := f.client.CancelUnpaid(context.Background(), providers.Ref{OrderID: "missing"}); out.Kind != providers.Refused || out.Message != "Order not found" {
		t.Errorf("unknown order: got %s %q, want refused %q", out.Kind, out.Message, "Order not found")
	}
}

func TestVoid(t *testing.T) {
	f := newFixture(t, nil)
	held := f.load(t, VariantAuthHeld, "XTS", 5050)
	paid := f.load(t, VariantPurchaseSuccess, "XTS", 5050)

	if out := f.client.Void(context.Background(), providers.Ref{OrderID: held.OrderID, Currency: "EUR"}, ""); out.Kind != providers.Refused ||
		!strings.Contains(out.Message, "order_currency EUR does not match the order's currency XTS") {
		t.Errorf("wrong currency: got %s %q, want refused", out.Kind, out.Message)
	}
	if out := f.client.Void(context.Background(), paid, ""); out.Kind != providers.Refused ||
		!strings.Contains(out.Message, "Only a successful auth can be voided; this payment is purchase success") {
		t.Errorf("void of a purchase: got %s %q, want refused", out.Kind, out.Message)
	}
	if out := f.client.Void(context.Background(), providers.Ref{OrderID: held.OrderID, Currency: "xts"}, ""); out.Kind != providers.Refused || f.posts() != 2 {
		t.Errorf("invalid currency: got %s %q with %d POSTs, want refused with nothing sent", out.Kind, out.Message, f.posts())
	}

	out := f.client.Void(context.Background(), held, "customer changed their mind")
	if out.Kind != providers.Done {
		t.Fatalf("got %s %q, want done", out.Kind, out.Message)
	}
	if want := `{"pos_id":"` + testPOS + `","order_id":"` + held.OrderID + `","order_currency":"XTS","comment":"customer changed their mind"}`; f.lastBody() != want {
		t.Errorf("void body: got %s, want %s", f.lastBody(), want)
	}
	if out.Snapshot == nil || !out.Snapshot.Voided || providers.Normalise(*out.Snapshot) != providers.StatusCancelled {
		t.Errorf("read back: got %+v, want a voided, cancelled payment", out.Snapshot)
	}
	tx, err := answerTransaction(out.Raw, methodVoid)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := providers.ParseMajorJSON(tx.Amount, "XTS"); tx.Method != methodVoid || err != nil || v != 5050 || tx.Status != statusSuccess || tx.StatusCode != codeOK {
		t.Errorf("answer: got %s %s %s %s, want void 50.50 success 1000", tx.Method, tx.Amount, tx.Status, tx.StatusCode)
	}
	if out := f.client.Void(context.Background(), held, ""); out.Kind != providers.Refused || out.Message != "Authorisation is already voided" {
		t.Errorf("second void: got %s %q, want refused", out.Kind, out.Message)
	}
}

func TestRefund(t *testing.T) {
	type step struct {
		req     providers.RefundRequest
		kind    providers.OutcomeKind
		message string
		body    string // part of the request body, "" when none must be sent
	}
	tests := []struct {
		name     string
		variant  int
		currency string
		amount   int64
		steps    []step
		refunded int64
		status   providers.Status
	}{
		{"partial then rest", VariantPurchaseSuccess, "UAH", 100000, []step{
			{providers.RefundRequest{Amount: 25050, Comment: "damaged"}, providers.Done, "Tranzzo refunded 250.50 UAH.", `"refund_amount":250.50,"comment":"damaged"`},
			{providers.RefundRequest{Amount: 74950}, providers.Done, "Tranzzo refunded 749.50 UAH.", `"refund_amount":749.50}`},
			{providers.RefundRequest{Amount: 1}, providers.Refused, "Nothing left to refund", `"refund_amount":0.01`},
		}, 100000, providers.StatusRefunded},
		{"full omits the amount", VariantPurchaseSuccess, "EUR", 1999, []step{
			{providers.RefundRequest{Amount: 1999, Full: true}, providers.Done, "Tranzzo refunded 19.99 EUR.", `"order_currency":"EUR"}`},
		}, 1999, providers.StatusRefunded},
		{"over-refund refused", VariantPurchaseSuccess, "XTS", 5000, []step{
			{providers.RefundRequest{Amount: 5001}, providers.Refused, "Refund amount exceeds available amount", `"refund_amount":50.01`},
			{providers.RefundRequest{Amount: 5000}, providers.Done, "Tranzzo refunded 50.00 XTS.", `"refund_amount":50.00`},
		}, 5000, providers.StatusRefunded},
		{"partly refunded: only what is left", VariantPartlyRefunded, "UAH", 3000, []step{
			{providers.RefundRequest{Amount: 2001}, providers.Refused, "Refund amount exceeds available amount", `"refund_amount":20.01`},
			{providers.RefundRequest{Amount: 2000}, providers.Done, "Tranzzo refunded 20.00 UAH.", `"refund_amount":20.00`},
		}, 3000, providers.StatusRefunded},
		{"fully refunded", VariantFullyRefunded, "UAH", 3000, []step{
			{providers.RefundRequest{Full: true}, providers.Refused, "Nothing left to refund", `"order_currency":"UAH"}`},
		}, 3000, providers.StatusRefunded},
		{"captured auth", VariantAuthCaptured, "EUR", 700, []step{
			{providers.RefundRequest{Amount: 100}, providers.Done, "Tranzzo refunded 1.00 EUR.", `"refund_amount":1.00`},
		}, 100, providers.StatusPartiallyRefunded},
		{"held auth refused", VariantAuthHeld, "EUR", 700, []step{
			{providers.RefundRequest{Amount: 100}, providers.Refused, "Only a successful purchase or capture can be refunded; this payment is auth success", `"refund_amount":1.00`},
		}, 0, providers.StatusAuthorized},
		{"unpaid refused", VariantHostedPurchaseInit, "EUR", 700, []step{
			{providers.RefundRequest{Full: true}, providers.Refused, "this payment is purchase init", `"order_currency":"EUR"`},
		}, 0, providers.StatusAwaitingPayment},
		{"failed refused", VariantPurchaseFailed, "EUR", 700, []step{
			{providers.RefundRequest{Amount: 1}, providers.Refused, "this payment is purchase failure", `"refund_amount":0.01`},
		}, 0, providers.StatusFailed},
		{"zero amount not sent", VariantPurchaseSuccess, "EUR", 700, []step{
			{providers.RefundRequest{Amount: 0}, providers.Refused, "must be more than zero", ""},
			{providers.RefundRequest{Amount: -5}, providers.Refused, "must be more than zero", ""},
		}, 0, providers.StatusPaid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			ref := f.load(t, tt.variant, tt.currency, tt.amount)
			for i, s := range tt.steps {
				posts := f.posts()
				out := f.client.Refund(context.Background(), ref, s.req)
				if out.Kind != s.kind || !strings.Contains(out.Message, s.message) {
					t.Fatalf("step %d: got %s %q, want %s containing %q (detail %s)", i, out.Kind, out.Message, s.kind, s.message, out.Detail)
				}
				sent := f.posts() - posts
				if s.body == "" {
					if sent != 0 {
						t.Errorf("step %d: got %d POSTs, want none", i, sent)
					}
					continue
				}
				if sent != 1 {
					t.Errorf("step %d: got %d POSTs, want 1", i, sent)
				}
				if !strings.Contains(f.lastBody(), s.body) {
					t.Errorf("step %d: request body %s, want it to contain %s", i, f.lastBody(), s.body)
				}
				if s.req.Full && strings.Contains(f.lastBody(), "refund_amount") {
					t.Errorf("step %d: full refund sent refund_amount: %s", i, f.lastBody())
				}
				if s.kind == providers.Done {
					if out.RefundID == "" || !isUUID(out.RefundID) {
						t.Errorf("step %d: RefundID %q, want a UUID-like id", i, out.RefundID)
					}
					if out.Snapshot == nil {
						t.Fatalf("step %d: Done without the payment read back", i)
					}
					var found *providers.RefundSnapshot
					for _, r := range out.Snapshot.Refunds {
						if r.ID == out.RefundID {
							found = &r
						}
					}
					switch {
					case found == nil:
						t.Errorf("step %d: refund %s not in the read-back snapshot %+v", i, out.RefundID, out.Snapshot.Refunds)
					case !found.Succeeded || (!s.req.Full && found.Amount != s.req.Amount):
						t.Errorf("step %d: read-back refund %+v, want succeeded with %d", i, *found, s.req.Amount)
					}
				}
			}
			sim := f.simSnapshot(t, ref)
			if sim.Refunded != tt.refunded {
				t.Errorf("refunded: got %d, want %d", sim.Refunded, tt.refunded)
			}
			if st := providers.Normalise(sim); st != tt.status {
				t.Errorf("status: got %s, want %s", st, tt.status)
			}
		})
	}
}

func TestRefundOutcomes(t *testing.T) {
	tests := []struct {
		name                  string
		status, code, desc    string
		kind                  providers.OutcomeKind
		message               string
		refunded, leftToClaim int64
	}{
		{"pending", "pending", "1001", "Refund is processing", providers.Unknown, "still pending", 0, 600},
		{"failure", "failure", "2104", "Refund declined by issuer", providers.Refused, "Refund declined by issuer (code 2104)", 0, 1000},
		{"failure without words", "failure", "", "", providers.Refused, "Tranzzo refused the refund", 0, 1000},
		{"unexpected status", "queued", "", "", providers.Unknown, "status queued", 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			ref := f.load(t, VariantPurchaseSuccess, "UAH", 1000)
			f.sim.NextRefundStatus(tt.status, tt.code, tt.desc)
			out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 400})
			if out.Kind != tt.kind || !strings.Contains(out.Message, tt.message) {
				t.Fatalf("got %s %q, want %s containing %q", out.Kind, out.Message, tt.kind, tt.message)
			}
			if out.RefundID == "" || !strings.Contains(out.Message+out.Detail, out.RefundID) {
				t.Errorf("RefundID %q: want it set and mentioned (message %q)", out.RefundID, out.Message)
			}
			if out.Snapshot != nil {
				t.Errorf("got a snapshot for a %s refund, want none", tt.status)
			}
			if got := f.simSnapshot(t, ref).Refunded; got != tt.refunded {
				t.Errorf("refunded: got %d, want %d", got, tt.refunded)
			}
			// What is still claimable: a pending refund holds its amount, a failed one not.
			over := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: tt.leftToClaim + 1})
			if over.Kind != providers.Refused {
				t.Errorf("refund of %d: got %s %q, want refused", tt.leftToClaim+1, over.Kind, over.Message)
			}
			if ok := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: tt.leftToClaim}); ok.Kind != providers.Done {
				t.Errorf("refund of %d: got %s %q, want done", tt.leftToClaim, ok.Kind, ok.Message)
			}
		})
	}
}

func TestRefundLocalChecks(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name string
		ref  providers.Ref
		want string
	}{
		{"no order", providers.Ref{Currency: "UAH"}, "no Tranzzo order id"},
		{"no currency", providers.Ref{OrderID: "o-1"}, `currency "" is not a valid`},
		{"bad currency", providers.Ref{OrderID: "o-1", Currency: "hryvnia"}, `currency "hryvnia" is not a valid`},
	}
	for _, tt := range tests {
		out := f.client.Refund(context.Background(), tt.ref, providers.RefundRequest{Amount: 100})
		if out.Kind != providers.Refused || !strings.Contains(out.Message, tt.want) {
			t.Errorf("%s: got %s %q, want refused containing %q", tt.name, out.Kind, out.Message, tt.want)
		}
	}
	if out := f.client.Void(context.Background(), providers.Ref{Currency: "UAH"}, ""); out.Kind != providers.Refused {
		t.Errorf("void without order: got %s, want refused", out.Kind)
	}
	if out := f.client.CancelUnpaid(context.Background(), providers.Ref{}); out.Kind != providers.Refused {
		t.Errorf("cancel without order: got %s, want refused", out.Kind)
	}
	if n := len(f.sim.Requests()); n != 0 {
		t.Errorf("got %d requests, want none sent", n)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault     simfault.Fault
		status    int    // the HTTP status the client saw, 0 for none
		safe      string // part of the safe message
		performed bool   // the simulator performed the refund anyway
	}{
		{simfault.Internal, 500, "server error (HTTP 500: Internal server error)", false},
		{simfault.Unavailable, 503, "server error (HTTP 503: Service temporarily unavailable)", false},
		{simfault.HTMLPage, 502, "server error (HTTP 502)", false},
		{simfault.Malformed, 200, "could not read", true},
		{simfault.Slow, 0, "did not answer in time", true},
		{simfault.DropAnswer, 500, "server error (HTTP 500", true},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Timeout = 150 * time.Millisecond })
			ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)

			// A read.
			f.sim.FailNext(1, tt.fault)
			start := time.Now()
			_, err := f.client.Fetch(context.Background(), ref)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Fetch took %s, want it bounded by the timeout", elapsed)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Fetch: got %v, want a *providers.Error", err)
			}
			if !pe.Unknown || pe.Status != tt.status || !strings.Contains(pe.Safe, tt.safe) {
				t.Errorf("Fetch: got unknown %v status %d safe %q, want unknown, %d, %q", pe.Unknown, pe.Status, pe.Safe, tt.status, tt.safe)
			}
			if strings.ContainsAny(pe.Safe, "<>") {
				t.Errorf("safe message carries markup: %q", pe.Safe)
			}
			if n := len(f.sim.Requests()); n != 1 {
				t.Errorf("Fetch sent %d requests, want 1 (no retry after an answer or a timeout)", n)
			}

			// A money-moving call.
			f.sim.FailNext(1, tt.fault)
			start = time.Now()
			out := f.client.Refund(context.Background(), ref, providers.RefundRequest{Amount: 1000})
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Refund took %s, want it bounded by the timeout", elapsed)
			}
			if out.Kind != providers.Unknown || !strings.Contains(out.Message, tt.safe) || !strings.Contains(out.Message, "read the order") {
				t.Errorf("Refund: got %s %q, want unknown with %q and advice to read the order", out.Kind, out.Message, tt.safe)
			}
			if strings.ContainsAny(out.Message, "<>") {
				t.Errorf("outcome message carries markup: %q", out.Message)
			}
			noSecrets(t, "detail", out.Detail)
			if tt.performed {
				f.waitChange(t)
			}
			if f.posts() != 1 {
				t.Errorf("got %d POSTs, want exactly 1: a money-moving call is never retried", f.posts())
			}
			// Reconciliation: reading the order tells what happened.
			snap, err := f.client.Fetch(context.Background(), ref)
			if err != nil {
				t.Fatalf("Fetch after the fault: %v", err)
			}
			want := int64(0)
			if tt.performed {
				want = 1000
			}
			if snap.Refunded != want {
				t.Errorf("refunded after the fault: got %d, want %d", snap.Refunded, want)
			}
			if f.sim.PendingFaults() != 0 {
				t.Errorf("got %d faults left, want 0", f.sim.PendingFaults())
			}
		})
	}
}

// dropFirst closes the connection of the first n requests without answering.
func dropFirst(n int32, next http.Handler) (http.Handler, *atomic.Int32) {
	var seen atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		next.ServeHTTP(w, r)
	}), &seen
}

// The client sends each call once; wired as cmd/paydesk wires it, behind the resilient
// guard's transport, a read is retried after a connection error (twice at most).
func TestReadRetriedOnceOnConnectionError(t *testing.T) {
	tests := []struct {
		name     string
		drops    int32
		attempts int32
		wantErr  bool
	}{
		{"one broken connection", 1, 2, false},
		{"three broken connections", 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
			h, seen := dropFirst(tt.drops, f.sim)
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := newGuardedClient(t, srv.URL)
			snap, err := c.Fetch(context.Background(), ref)
			if got := seen.Load(); got != tt.attempts {
				t.Errorf("got %d attempts, want %d", got, tt.attempts)
			}
			if tt.wantErr {
				var pe *providers.Error
				if !errors.As(err, &pe) || !pe.Unknown || !strings.Contains(pe.Safe, "could not be reached") {
					t.Errorf("got %v, want an unknown could-not-be-reached error", err)
				}
				return
			}
			if err != nil || snap.OrderID != ref.OrderID {
				t.Errorf("got %v, %q; want the order after one retry", err, snap.OrderID)
			}
		})
	}
}

// Neither the client nor the guard's transport it is wired behind sends a money-moving
// call twice.
func TestMoneyMovingCallNotRetried(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	held := f.load(t, VariantAuthHeld, "UAH", 10000)
	unpaid := f.load(t, VariantHostedPurchaseInit, "UAH", 10000)
	calls := map[string]func(*Client) providers.Outcome{
		"refund": func(c *Client) providers.Outcome {
			return c.Refund(context.Background(), paid, providers.RefundRequest{Amount: 10})
		},
		"void":   func(c *Client) providers.Outcome { return c.Void(context.Background(), held, "") },
		"cancel": func(c *Client) providers.Outcome { return c.CancelUnpaid(context.Background(), unpaid) },
	}
	for name, call := range calls {
		h, seen := dropFirst(1, f.sim)
		srv := httptest.NewServer(h)
		out := call(newGuardedClient(t, srv.URL))
		srv.Close()
		if out.Kind != providers.Unknown {
			t.Errorf("%s: got %s %q, want unknown", name, out.Kind, out.Message)
		}
		if got := seen.Load(); got != 1 {
			t.Errorf("%s: got %d attempts, want 1", name, got)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changes) != 0 {
		t.Errorf("got %d state changes, want none", len(f.changes))
	}
}

func TestAnswerShapes(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		unknown     bool
		safe        string
		code        string
		notFound    bool
	}{
		{"400 with args array", 400, "application/json", `{"message":"order_id is required","args":[{"code":"V-400","field":"order_id"}]}`, false, "order_id is required", "V-400", false},
		{"401 documented", 401, "application/json", `{"args":{"code":"S-404"},"message":"Invalid pos_id field or credentials"}`, false, msgCredentials, "S-404", false},
		{"404 JSON", 404, "application/json", `{"message":"Order not found","args":{"code":"O-404"}}`, false, "Order not found", "O-404", true},
		{"405", 405, "application/json", `{"message":"Method not allowed","args":[]}`, false, "Method not allowed", "", false},
		{"406", 406, "application/json", `{"message":"Request body must be a JSON object","args":{"code":"S-406"}}`, false, "Request body must be a JSON object", "S-406", false},
		{"429 empty", 429, "text/plain", ``, false, "too many requests", "", false},
		{"429 JSON", 429, "application/json", `{"message":"Too many requests, retry later","args":{"code":"S-429"}}`, false, "Too many requests, retry later", "S-429", false},
		{"403 HTML", 403, "text/html", `<html><body>Access denied</body></html>`, true, "HTTP 403 with something Paydesk could not read", "", false},
		{"404 HTML", 404, "text/html", `<html>Not Found</html>`, true, "HTTP 404 with something", "", true},
		{"500 JSON", 500, "application/json", `{"message":"Internal error","args":{"code":"S-500"}}`, true, "HTTP 500: Internal error", "S-500", false},
		{"503 empty", 503, "text/plain", ``, true, "server error (HTTP 503)", "", false},
		{"200 HTML", 200, "text/html", `<!DOCTYPE html><html>maintenance</html>`, true, "could not read", "", false},
		{"200 object", 200, "application/json", `{"message":"ok"}`, true, "could not read", "", false},
		{"200 wrong order", 200, "application/json", order(txJSON(`"order_id":"someone-else"`)), true, "could not read", "", false},
		{"200 bad amount", 200, "application/json", order(txJSON(`"amount":"12,50"`)), true, "could not read", "", false},
		{"200 empty array", 200, "application/json", `[]`, false, "no transactions for order o-1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			_, err := c.Fetch(context.Background(), providers.Ref{OrderID: "o-1"})
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *providers.Error", err)
			}
			if pe.Unknown != tt.unknown || !strings.Contains(pe.Safe, tt.safe) || pe.Code != tt.code || pe.Status != tt.status {
				t.Errorf("got unknown %v safe %q code %q status %d, want %v %q %q %d", pe.Unknown, pe.Safe, pe.Code, pe.Status, tt.unknown, tt.safe, tt.code, tt.status)
			}
			if errors.Is(err, providers.ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(ErrNotFound): got %v, want %v", !tt.notFound, tt.notFound)
			}
			if pe.Provider != Name {
				t.Errorf("provider: got %q, want tranzzo", pe.Provider)
			}
			if tt.body != "" && !strings.Contains(pe.Detail, strings.TrimSpace(tt.body)[:min(20, len(tt.body))]) {
				t.Errorf("detail %q: want a body excerpt", pe.Detail)
			}
			if strings.Contains(pe.Safe, "<") {
				t.Errorf("safe message carries markup: %q", pe.Safe)
			}
			// The same answer to a refund gives the matching outcome.
			out := c.Refund(context.Background(), providers.Ref{OrderID: "o-1", Currency: "UAH"}, providers.RefundRequest{Amount: 1})
			wantKind := providers.Refused
			if tt.unknown || tt.status == 200 {
				wantKind = providers.Unknown // a 2xx answer that is not a refund transaction
			}
			if out.Kind != wantKind {
				t.Errorf("refund: got %s %q, want %s", out.Kind, out.Message, wantKind)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	c := newTestClient(t, url, nil)
	_, err = c.Fetch(context.Background(), providers.Ref{OrderID: "o-1"})
	var pe *providers.Error
	if !errors.As(err, &pe) || !pe.Unknown || pe.Status != 0 || !strings.Contains(pe.Safe, "could not be reached") {
		t.Errorf("Fetch: got %v, want an unknown could-not-be-reached error", err)
	}
	out := c.Refund(context.Background(), providers.Ref{OrderID: "o-1", Currency: "UAH"}, providers.RefundRequest{Amount: 1})
	if out.Kind != providers.Unknown {
		t.Errorf("Refund: got %s, want unknown", out.Kind)
	}
	// Cancel reads nothing first: the cancel itself was sent into the void, so its outcome
	// is unknown.
	if out := c.Cancel(context.Background(), providers.Ref{OrderID: "o-1"}, providers.CancelRequest{Op: providers.OpCancel}); out.Kind != providers.Unknown ||
		!strings.Contains(out.Message, "could not be reached") {
		t.Errorf("Cancel: got %s %q, want unknown, could not be reached", out.Kind, out.Message)
	}
}

func TestCallerContextCancelled(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "UAH", 10000)
	f.sim.FailNext(1, simfault.Slow)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	out := f.client.Refund(ctx, ref, providers.RefundRequest{Amount: 100})
	if time.Since(start) > time.Second {
		t.Errorf("took %s, want the caller's deadline to bound the call", time.Since(start))
	}
	if out.Kind != providers.Unknown || !strings.Contains(out.Message, "did not answer in time") {
		t.Errorf("got %s %q, want unknown, no answer in time", out.Kind, out.Message)
	}
	f.waitChange(t)
}

func TestMountedUnderPrefix(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.load(t, VariantPurchaseSuccess, "EUR", 2500)
	mux := http.NewServeMux()
	mux.Handle("/sim/tranzzo/", http.StripPrefix("/sim/tranzzo", f.sim))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/sim/tranzzo/", nil)
	snap, err := c.Fetch(context.Background(), ref)
	if err != nil || snap.Amount != 2500 {
		t.Fatalf("Fetch: got %v, %d; want the order", err, snap.Amount)
	}
	if out := c.Refund(context.Background(), ref, providers.RefundRequest{Amount: 500}); out.Kind != providers.Done || out.Snapshot.Refunded != 500 {
		t.Errorf("Refund: got %s %q, want done", out.Kind, out.Message)
	}
	reqs := f.sim.Requests()
	if got := reqs[len(reqs)-2].Path; got != "/refund" {
		t.Errorf("path seen by the simulator: got %q, want /refund", got)
	}
}

// The body excerpt in an error's detail never cuts a UTF-8 character in half (it used to,
// with a multi-byte character at byte 300).
func TestErrorDetailKeepsUTF8Whole(t *testing.T) {
	for pad := 0; pad < 3; pad++ {
		body := `{"message":"` + strings.Repeat("x", 287+pad) + strings.Repeat("€", 40) + `"}`
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(body))
		}))
		_, err := newTestClient(t, srv.URL, nil).Fetch(context.Background(), providers.Ref{OrderID: "o-1"})
		srv.Close()
		var pe *providers.Error
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a *providers.Error", err)
		}
		if !utf8.ValidString(pe.Detail) || !strings.HasSuffix(pe.Detail, "…") {
			t.Errorf("pad %d: detail is cut badly: %q", pad, pe.Detail[max(0, len(pe.Detail)-12):])
		}
	}
}
