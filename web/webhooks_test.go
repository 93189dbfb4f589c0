package web_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/simfault"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/web"
	"paydesk/web/auth"
)

// The webhook secrets of webhookApp. Tranzzo's is the test-vector secret of docs/providers.md.
const (
	bpcWebhookSecret     = "bpc-webhook-secret"
	tranzzoWebhookSecret = "changeme"
	powensWebhookSecret  = "powens-webhook-secret"
)

// noAuth is an authenticator with nobody signed in: the webhook server serves public
// routes only (the harness's own app shows the pages, over the same database).
type noAuth struct{}

func (noAuth) CurrentUser(http.ResponseWriter, *http.Request) (auth.User, bool) {
	return auth.User{}, false
}
func (noAuth) Login(w http.ResponseWriter, r *http.Request)    { http.NotFound(w, r) }
func (noAuth) Callback(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (noAuth) Logout(w http.ResponseWriter, r *http.Request)   { http.NotFound(w, r) }
func (noAuth) Fresh(auth.User) bool                            { return false }
func (noAuth) StepUp(http.ResponseWriter, *http.Request, string, url.Values) {
}
func (noAuth) SavedForm(http.ResponseWriter, *http.Request, string) (url.Values, bool) {
	return nil, false
}
func (noAuth) AddFlash(http.ResponseWriter, *http.Request, string, string) {}
func (noAuth) Flashes(http.ResponseWriter, *http.Request) []auth.Flash     { return nil }

// parsers are the providers' own envelope parsers, as cmd/paydesk hands them in.
var parsers = map[providers.Name]func([]byte) (providers.Snapshot, error){
	powens.Name:  powens.ParseEnvelope,
	bpc.Name:     bpc.ParseEnvelope,
	tranzzo.Name: tranzzo.ParseEnvelope,
}

// webhookApp is a second Paydesk over the harness's database and simulators, with
// webhooks configured as in production.
type webhookApp struct {
	h       *harness
	app     *web.Server
	url     string
	metrics *web.Metrics
}

func newWebhookApp(t *testing.T, h *harness) *webhookApp {
	t.Helper()
	serve := func(hd http.Handler) string {
		srv := httptest.NewServer(hd)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hc := &http.Client{}
	pw, err := powens.New(powens.Config{BaseURL: serve(h.powens), ClientID: "pw-client", ClientSecret: "pw-secret", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bpc.New(bpc.Config{BaseURL: serve(h.bpc), APIKey: "bpc-key", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}
	tz, err := tranzzo.New(tranzzo.Config{BaseURL: serve(h.tranzzo), POSID: tranzzo.DemoPOSID, APIKey: "tz-key", APISecret: "tz-secret", EndpointsKey: "tz-endpoints", Timeout: clientTimeout}, hc)
	if err != nil {
		t.Fatal(err)
	}
	m := web.NewMetrics()
	desk, err := ops.New(ops.Config{BaseURL: h.srv.URL, LinkSecret: []byte(strings.Repeat("k", 32)), Now: h.clock.Now, Metrics: m,
		Webhooks: map[providers.Name]providers.WebhookReceiver{
			bpc.Name:     bpc.Webhooks{Secret: []byte(bpcWebhookSecret)},
			tranzzo.Name: tranzzo.Webhooks{Secret: []byte(tranzzoWebhookSecret)},
			powens.Name:  powens.Webhooks{Secret: []byte(powensWebhookSecret), Header: "X-Powens-Signature", Client: pw},
		}},
		h.db, map[providers.Name]providers.Provider{powens.Name: pw, bpc.Name: bc, tranzzo.Name: tz}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	app, err := web.New(web.Config{Metrics: m}, desk, noAuth{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &webhookApp{h: h, app: app, url: serve(app.Handler()), metrics: m}
}

// send posts a webhook and returns the status and the answer.
func send(t *testing.T, base, path, contentType string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// bpcBody is a BPC webhook carrying object.
func bpcBody(typ string, object json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"created": "2026-01-02T03:04:05Z", "type": typ, "data": map[string]any{"object": object}})
	return b
}

// tranzzoBody is a Tranzzo webhook form carrying tx, signed with secret.
func tranzzoBody(secret string, tx []byte) []byte {
	data := base64.URLEncoding.EncodeToString(tx)
	return []byte(url.Values{"data": {data}, "signature": {tranzzo.Signature([]byte(secret), data)}}.Encode())
}

// lastWebhook is the newest recorded webhook.
func (h *harness) lastWebhook() storage.WebhookEvent {
	h.t.Helper()
	list, err := h.db.ListWebhooks(context.Background(), 1)
	if err != nil || len(list) == 0 {
		h.t.Fatalf("no webhook recorded (%v)", err)
	}
	return list[0]
}

func (h *harness) webhookCount() int {
	h.t.Helper()
	list, err := h.db.ListWebhooks(context.Background(), 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(list)
}

// timeline is a payment's timeline as one string.
func (h *harness) timeline(p storage.Payment) string {
	h.t.Helper()
	evs, err := h.db.Events(context.Background(), p.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Actor + ": " + e.Message + "\n")
	}
	return b.String()
}

// webhookStep is one webhook of a verdict table and what it must do.
type webhookStep struct {
	name        string
	send        func() (int, string)
	wantStatus  int
	wantVerdict string // "" when nothing may be recorded
	wantPayment providers.Status
	wantTimes   string // on the payment's timeline afterwards
}

func runWebhookSteps(t *testing.T, h *harness, p storage.Payment, steps []webhookStep) {
	t.Helper()
	for _, st := range steps {
		before := h.webhookCount()
		status, answer := st.send()
		if status != st.wantStatus {
			t.Errorf("%s: status %d (%q), want %d", st.name, status, answer, st.wantStatus)
		}
		switch {
		case st.wantVerdict == "" && h.webhookCount() != before:
			t.Errorf("%s: a webhook was recorded, want none", st.name)
		case st.wantVerdict != "":
			if h.webhookCount() != before+1 {
				t.Errorf("%s: %d webhooks recorded, want 1", st.name, h.webhookCount()-before)
			} else if got := h.lastWebhook(); got.Verdict != st.wantVerdict {
				t.Errorf("%s: verdict %q (%s), want %q", st.name, got.Verdict, got.Detail, st.wantVerdict)
			}
		}
		if got := h.payment(p).Status; got != st.wantPayment {
			t.Errorf("%s: payment is %s, want %s", st.name, got, st.wantPayment)
		}
		if st.wantTimes != "" && !strings.Contains(h.timeline(p), st.wantTimes) {
			t.Errorf("%s: the timeline does not say %q:\n%s", st.name, st.wantTimes, h.timeline(p))
		}
	}
}

func TestBPCWebhookVerdicts(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(bpc.Name, spec{variant: 8}) // hosted, manual capture, authorised
	object := func() json.RawMessage {
		raw, err := h.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
		if err != nil {
			t.Fatal(err)
		}
		var env providers.Envelope
		json.Unmarshal(raw, &env)
		return env.Payment
	}
	older := bpcBody("payment.updated", object())
	if err := h.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	good := bpcBody("payment.succeeded", object())
	unknown := bpcBody("refund.updated", json.RawMessage(`{"id":"re_nowhere","amount":500,"currency":"EUR","paymentId":"p_nowhere","status":"succeeded"}`))
	post := func(body []byte, sig string) func() (int, string) {
		return func() (int, string) {
			return send(t, wa.url, "/webhooks/bpc", "application/json", body, map[string]string{"X-Signature": sig, "API-Request-Id": "req_1"})
		}
	}
	signed := func(body []byte) func() (int, string) { return post(body, hmacHex(bpcWebhookSecret, body)) }

	runWebhookSteps(t, h, p, []webhookStep{
		{name: "bad signature", send: post(good, hmacHex("another-secret", good)), wantStatus: 401, wantVerdict: "bad_signature", wantPayment: providers.StatusAuthorized},
		{name: "no signature", send: post(good, ""), wantStatus: 401, wantVerdict: "bad_signature", wantPayment: providers.StatusAuthorized},
		{name: "good", send: signed(good), wantStatus: 200, wantVerdict: "applied", wantPayment: providers.StatusPaid, wantTimes: "webhook: Updated by webhook: status authorised → paid"},
		{name: "duplicate", send: signed(good), wantStatus: 200, wantVerdict: "duplicate", wantPayment: providers.StatusPaid, wantTimes: "a duplicate of one already received"},
		{name: "out of order", send: signed(older), wantStatus: 200, wantVerdict: "stale", wantPayment: providers.StatusPaid, wantTimes: "received out of order"},
		{name: "unknown payment", send: signed(unknown), wantStatus: 200, wantVerdict: "unknown_payment", wantPayment: providers.StatusPaid},
		{name: "garbage", send: signed([]byte("{this is not json")), wantStatus: 400, wantVerdict: "malformed", wantPayment: providers.StatusPaid},
		{name: "signed, not an event", send: signed([]byte(`{"type":"payment.succeeded","data":{"object":{"id":"` + p.PaymentID + `","amount":"lots"}}}`)), wantStatus: 400, wantVerdict: "malformed", wantPayment: providers.StatusPaid},
		{name: "sha256= prefix and base64", send: post(bpcBody("payment.updated", object()), "sha256="+base64.StdEncoding.EncodeToString(mustHex(hmacHex(bpcWebhookSecret, bpcBody("payment.updated", object()))))), wantStatus: 200, wantVerdict: "applied", wantPayment: providers.StatusPaid},
	})

	// Stored raw, with the headers that are kept.
	list, _ := h.db.ListWebhooks(context.Background(), 100)
	var applied storage.WebhookEvent
	for _, e := range list {
		if e.Verdict == "applied" && bytes.Equal(e.Body, good) {
			applied = e
		}
	}
	if applied.ID == 0 {
		t.Fatal("the applied webhook is not stored raw")
	}
	if applied.PaymentID != p.ID || applied.EventType != "payment.succeeded" || !strings.Contains(string(applied.Headers), "req_1") {
		t.Errorf("stored webhook = payment %d, type %q, headers %s", applied.PaymentID, applied.EventType, applied.Headers)
	}

	// A refund made at BPC arrives by webhook and is counted.
	if err := h.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	refund := bpcBody("refund.updated", json.RawMessage(`{"id":"re_webhook1","amount":2500,"currency":"EUR","paymentId":"`+p.PaymentID+`","status":"succeeded","created":"2026-01-02T03:04:05Z"}`))
	if status, _ := signed(refund)(); status != 200 {
		t.Fatalf("refund webhook: %d", status)
	}
	if got := h.payment(p); got.Status != providers.StatusPartiallyRefunded || got.Refunded != 2500 {
		t.Errorf("after a refund webhook: %s, refunded %d; want partially refunded, 2500", got.Status, got.Refunded)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestTranzzoWebhookVerdicts(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(tranzzo.Name, spec{variant: tranzzo.VariantPurchasePending})
	mainTx := func() []byte {
		raw, err := h.tranzzo.Envelope(p.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		var env providers.Envelope
		json.Unmarshal(raw, &env)
		var txs []json.RawMessage
		json.Unmarshal(env.Transactions, &txs)
		return txs[0]
	}
	pending := mainTx()
	if err := h.tranzzo.SetStatus(p.OrderID, "success", "1000", "Payment completed"); err != nil {
		t.Fatal(err)
	}
	success := mainTx()
	var refundTx map[string]any
	json.Unmarshal(success, &refundTx)
	refundTx["method"], refundTx["order_id"], refundTx["payment_id"] = "refund", "no-such-order", "refund-tx-1"
	unknown, _ := json.Marshal(refundTx)
	post := func(body []byte) func() (int, string) {
		return func() (int, string) {
			return send(t, wa.url, "/webhooks/tranzzo", "application/x-www-form-urlencoded", body, nil)
		}
	}
	// docs/providers.md's test vector: a correct signature over data that is not a transaction.
	vector := []byte(url.Values{"data": {"eyJuYW1lIjoiSm9lIiwiYWdlIjoyMH0="}, "signature": {"Bcj3hb-h00HrEMIoJ5nPW5ZHlVQ="}}.Encode())

	runWebhookSteps(t, h, p, []webhookStep{
		{name: "bad signature", send: post(tranzzoBody("not-the-secret", success)), wantStatus: 401, wantVerdict: "bad_signature", wantPayment: providers.StatusProcessing},
		{name: "garbage body", send: post([]byte("%%%garbage")), wantStatus: 401, wantVerdict: "bad_signature", wantPayment: providers.StatusProcessing},
		{name: "good", send: post(tranzzoBody(tranzzoWebhookSecret, success)), wantStatus: 200, wantVerdict: "applied", wantPayment: providers.StatusPaid, wantTimes: "Updated by webhook: status processing → paid"},
		{name: "duplicate", send: post(tranzzoBody(tranzzoWebhookSecret, success)), wantStatus: 200, wantVerdict: "duplicate", wantPayment: providers.StatusPaid, wantTimes: "a duplicate"},
		{name: "out of order", send: post(tranzzoBody(tranzzoWebhookSecret, pending)), wantStatus: 200, wantVerdict: "stale", wantPayment: providers.StatusPaid, wantTimes: "out of order"},
		{name: "unknown payment", send: post(tranzzoBody(tranzzoWebhookSecret, unknown)), wantStatus: 200, wantVerdict: "unknown_payment", wantPayment: providers.StatusPaid},
		{name: "garbage, signed (test vector)", send: post(vector), wantStatus: 400, wantVerdict: "malformed", wantPayment: providers.StatusPaid},
	})

	// A payment transaction for an order Paydesk does not hold brings the payment in.
	raw, err := tranzzo.Demo{}.Envelope(providers.DemoSpec{Seq: 77, Name: "Grace Hopper", Email: "grace@example.com", Amount: 4200,
		Currency: "UAH", CreatedAt: h.clock.Now().Add(-time.Hour), Variant: tranzzo.VariantPurchaseSuccess, Reference: "NEW-77"})
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	json.Unmarshal(raw, &env)
	var txs []json.RawMessage
	json.Unmarshal(env.Transactions, &txs)
	if status, _ := post(tranzzoBody(tranzzoWebhookSecret, txs[0]))(); status != 200 {
		t.Fatalf("new order: %d", status)
	}
	created, err := h.db.PaymentByProviderID(context.Background(), tranzzo.Name, mustSnap(t, raw).OrderID)
	if err != nil || created.Status != providers.StatusPaid || created.Amount != 4200 {
		t.Errorf("the new order by webhook: %+v, %v", created.Status, err)
	} else if tl := h.timeline(created); !strings.Contains(tl, "Received by webhook from Tranzzo") {
		t.Errorf("timeline of the new payment:\n%s", tl)
	}
}

func mustSnap(t *testing.T, raw []byte) providers.Snapshot {
	t.Helper()
	s, err := tranzzo.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPowensWebhookVerdicts(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(powens.Name, spec{variant: 2}) // pending
	hint := func(state string) []byte {
		return []byte(`{"type":"PAYMENT_UPDATED","payment":{"id":` + p.PaymentID + `,"state":"` + state + `"}}`)
	}
	post := func(body []byte, sig string) func() (int, string) {
		return func() (int, string) {
			return send(t, wa.url, "/webhooks/powens", "application/json", body, map[string]string{"X-Powens-Signature": sig})
		}
	}
	signed := func(body []byte) func() (int, string) { return post(body, hmacHex(powensWebhookSecret, body)) }
	if err := h.powens.SetState(p.PaymentID, "done", "", ""); err != nil {
		t.Fatal(err)
	}
	runWebhookSteps(t, h, p, []webhookStep{
		{name: "bad signature", send: post(hint("done"), hmacHex("nope", hint("done"))), wantStatus: 401, wantVerdict: "bad_signature", wantPayment: providers.StatusProcessing},
		{name: "good (a hint: Powens is read)", send: signed(hint("done")), wantStatus: 200, wantVerdict: "applied", wantPayment: providers.StatusPaid, wantTimes: "Updated by webhook: status processing → paid"},
		{name: "duplicate", send: signed(hint("done")), wantStatus: 200, wantVerdict: "duplicate", wantPayment: providers.StatusPaid},
		// An old hint is only a hint: Powens is read again and says done.
		{name: "out of order", send: signed(hint("pending")), wantStatus: 200, wantVerdict: "applied", wantPayment: providers.StatusPaid, wantTimes: "nothing changed"},
		{name: "unknown payment", send: signed([]byte(`{"id":99999999}`)), wantStatus: 200, wantVerdict: "unknown_payment", wantPayment: providers.StatusPaid},
		{name: "garbage", send: signed([]byte("<html>oops</html>")), wantStatus: 400, wantVerdict: "malformed", wantPayment: providers.StatusPaid},
		{name: "an id that cannot be Powens'", send: signed([]byte(`{"id":"../../auth/token"}`)), wantStatus: 400, wantVerdict: "malformed", wantPayment: providers.StatusPaid},
	})

	// A payment Powens has and Paydesk does not comes in by its hint.
	raw, err := powens.Demo{}.Envelope(providers.DemoSpec{Seq: 88, Name: "Grace Hopper", Email: "grace@example.com", Amount: 4200,
		Currency: "EUR", CreatedAt: h.clock.Now().Add(-time.Hour), Variant: 7, Reference: "NEW-88"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.powens.Load(raw); err != nil {
		t.Fatal(err)
	}
	newID := powens.DemoPaymentID(88)
	if status, _ := signed([]byte(`{"id":` + newID + `}`))(); status != 200 {
		t.Fatalf("hint for a new payment: %d", status)
	}
	if created, err := h.db.PaymentByProviderID(context.Background(), powens.Name, newID); err != nil || created.Status != providers.StatusPaid {
		t.Errorf("the new payment by hint: %v, %v", created.Status, err)
	}

	// Powens down: nothing is decided, Powens is asked to send it again.
	h.powens.FailNext(3, simfault.Unavailable)
	runWebhookSteps(t, h, p, []webhookStep{
		{name: "Powens unreachable", send: signed(hint("done-again")), wantStatus: 503, wantPayment: providers.StatusPaid, wantTimes: "could not be read"},
	})
	h.powens.ClearFaults()
}

func TestWebhookLimits(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	big := bytes.Repeat([]byte("x"), 65<<10)
	before := h.webhookCount()
	for _, path := range []string{"/webhooks/bpc", "/webhooks/tranzzo", "/webhooks/powens"} {
		status, answer := send(t, wa.url, path, "application/json", big, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, big)})
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(answer, "nothing stored") {
			t.Errorf("%s with 65 KiB: %d %q, want 413", path, status, answer)
		}
	}
	if h.webhookCount() != before {
		t.Errorf("oversized webhooks were recorded")
	}

	// Without secrets (the harness's own app), BPC and Tranzzo webhooks are refused with
	// 503 so the provider sends them again once Paydesk is configured.
	for _, path := range []string{"/webhooks/bpc", "/webhooks/tranzzo"} {
		status, _ := send(t, h.srv.URL, path, "application/json", []byte(`{}`), nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s unconfigured: %d, want 503", path, status)
		}
		if v := h.lastWebhook(); v.Verdict != "bad_signature" || !strings.Contains(v.Detail, "not configured") {
			t.Errorf("%s unconfigured recorded as %q (%s)", path, v.Verdict, v.Detail)
		}
	}
}
