package bpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/simfault"
)

// send makes a raw request to the fixture's simulator and returns the status and the
// error message of the body.
func send(t *testing.T, f *fixture, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	var e errorBody
	json.Unmarshal(raw, &e)
	return resp.StatusCode, e.Message
}

func authed(extra ...string) map[string]string {
	h := map[string]string{"X-Api-Key": testKey, "X-Version": DefaultVersion}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

func TestSimulatorHeaderRules(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, variantSucceeded, 1, "EUR", 5000)
	get := "/payments/" + paid.PaymentID
	tests := []struct {
		name       string
		method     string
		header     map[string]string
		wantStatus int
		wantMsg    string
	}{
		{"no key", "GET", map[string]string{"X-Version": DefaultVersion}, 401, "Invalid API key"},
		{"wrong key", "GET", map[string]string{"X-Api-Key": "nope", "X-Version": DefaultVersion}, 401, "Invalid API key"},
		{"key in another header", "GET", map[string]string{"Authorization": "Bearer " + testKey, "X-Version": DefaultVersion}, 401, "Invalid API key"},
		{"no version", "GET", map[string]string{"X-Api-Key": testKey}, 400, "X-Version header is required"},
		{"wrong version", "GET", map[string]string{"X-Api-Key": testKey, "X-Version": "2022-01-01"}, 400, `unsupported X-Version "2022-01-01"`},
		{"read-only key reads", "GET", map[string]string{"X-Api-Key": testReadOnly, "X-Version": DefaultVersion}, 200, ""},
		{"read-only key cannot act", "POST", map[string]string{"X-Api-Key": testReadOnly, "X-Version": DefaultVersion}, 403, "Access denied"},
		{"good", "GET", authed(), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := get
			if tt.method == "POST" {
				path = get + "/cancel"
			}
			status, msg := send(t, f, tt.method, path, tt.header, "")
			if status != tt.wantStatus || msg != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}
	if s := f.state(t, providers.RefOf(paid)); s.RawStatus != "succeeded" {
		t.Errorf("payment is %s, want succeeded", s.RawStatus)
	}
}

func TestSimulatorEmptyKeyRefusesEverything(t *testing.T) {
	f := newFixture(t, func(sc *SimConfig, _ *Config) { sc.APIKey, sc.ReadOnlyKey = "", "" })
	if status, msg := send(t, f, "GET", "/payments/p_1", map[string]string{"X-Api-Key": "", "X-Version": DefaultVersion}, ""); status != 401 || msg != "Invalid API key" {
		t.Errorf("got %d %q, want 401 Invalid API key", status, msg)
	}
}

func TestSimulatorRefundBodyRules(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, variantSucceeded, 1, "EUR", 5000)
	tests := []struct {
		name       string
		header     map[string]string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"no content type", authed(), `{"amount":100,"paymentId":"` + paid.PaymentID + `"}`, 400, "Content-Type must be application/json"},
		{"form content type", authed("Content-Type", "application/x-www-form-urlencoded"), `amount=100`, 400, "Content-Type must be application/json"},
		{"malformed JSON", authed("Content-Type", "application/json"), `{"amount":100,`, 400, "Invalid JSON body"},
		{"not an object", authed("Content-Type", "application/json"), `[1,2]`, 400, "Invalid JSON body"},
		{"no amount", authed("Content-Type", "application/json"), `{"paymentId":"` + paid.PaymentID + `"}`, 400, "amount is required"},
		{"amount as string", authed("Content-Type", "application/json"), `{"amount":"100","paymentId":"` + paid.PaymentID + `"}`, 400, "amount must be a positive integer in minor units"},
		{"decimal amount", authed("Content-Type", "application/json"), `{"amount":1.5,"paymentId":"` + paid.PaymentID + `"}`, 400, "amount must be a positive integer in minor units"},
		{"zero amount", authed("Content-Type", "application/json"), `{"amount":0,"paymentId":"` + paid.PaymentID + `"}`, 400, "amount must be a positive integer in minor units"},
		{"negative amount", authed("Content-Type", "application/json"), `{"amount":-5,"paymentId":"` + paid.PaymentID + `"}`, 400, "amount must be a positive integer in minor units"},
		{"no payment id", authed("Content-Type", "application/json"), `{"amount":100}`, 400, "paymentId is required"},
		{"unknown payment", authed("Content-Type", "application/json"), `{"amount":100,"paymentId":"p_nope"}`, 404, "Payment p_nope not found"},
		{"over the captured amount", authed("Content-Type", "application/json"), `{"amount":5001,"paymentId":"` + paid.PaymentID + `"}`, 400, "Refund amount exceeds the refundable amount of payment " + paid.PaymentID + ": 5001 requested, 5000 left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := send(t, f, "POST", "/refunds", tt.header, tt.body)
			if status != tt.wantStatus || !strings.HasPrefix(msg, tt.wantMsg) {
				t.Errorf("got %d %q, want %d %q", status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}
	if s := f.state(t, providers.RefOf(paid)); len(s.Refunds) != 0 {
		t.Errorf("%d refunds after refused requests, want 0", len(s.Refunds))
	}
	if got := f.eventNames(); len(got) != 0 {
		t.Errorf("events = %v, want none", got)
	}
	// The seed's own request body, with Content-Type charset, is accepted.
	seed := objectOf(t, readFixture(t, "seed_refund_request.json"))
	seed["paymentId"] = paid.PaymentID
	seed["amount"] = 700
	body, _ := json.Marshal(seed)
	if status, msg := send(t, f, "POST", "/refunds", authed("Content-Type", "application/json; charset=utf-8"), string(body)); status != 200 {
		t.Errorf("seed-shaped refund = %d %q, want 200", status, msg)
	}
}

func TestSimulatorUnknownRoutesAndIDs(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		method, path string
		wantMsg      string
	}{
		{"GET", "/nope", "Not found"},
		{"DELETE", "/payments/p_1", "Not found"},
		{"GET", "/refunds", "Not found"},
		{"PUT", "/refunds", "Not found"},
		{"GET", "/sessions/ps_nope", "Session ps_nope not found"},
		{"POST", "/sessions/ps_nope/expire", "Session ps_nope not found"},
		{"GET", "/payments/p_nope", "Payment p_nope not found"},
		{"POST", "/payments/p_nope/cancel", "Payment p_nope not found"},
		{"GET", "/payments/p_nope/refunds", "Payment p_nope not found"},
		{"GET", "/refunds/re_nope", "Refund re_nope not found"},
	}
	for _, tt := range tests {
		if status, msg := send(t, f, tt.method, tt.path, authed(), ""); status != 404 || msg != tt.wantMsg {
			t.Errorf("%s %s = %d %q, want 404 %q", tt.method, tt.path, status, msg, tt.wantMsg)
		}
	}
}

func TestSimulatorFailNextQueue(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, variantSucceeded, 1, "EUR", 5000)
	path := "/payments/" + paid.PaymentID
	f.sim.FailNext(2, simfault.Internal)
	f.sim.FailNext(1, simfault.Unavailable)
	for i, want := range []int{500, 500, 503, 200} {
		if status, _ := send(t, f, "GET", path, authed(), ""); status != want {
			t.Errorf("request %d = %d, want %d", i, status, want)
		}
	}
	f.sim.FailNext(3, simfault.Internal)
	f.sim.ClearFaults()
	if status, _ := send(t, f, "GET", path, authed(), ""); status != 200 {
		t.Errorf("after ClearFaults = %d, want 200", status)
	}
	// Faults hit before authentication, like an outage in front of the API.
	f.sim.FailNext(1, simfault.Unavailable)
	if status, _ := send(t, f, "GET", path, nil, ""); status != 503 {
		t.Errorf("unauthenticated during an outage = %d, want 503", status)
	}
	if got, want := len(f.sim.Requests()), 6; got != want {
		t.Errorf("Requests() has %d entries, want %d", got, want)
	}
}

func TestSimulatorLoad(t *testing.T) {
	f := newFixture(t, nil)
	paid := f.load(t, variantPartlyRefunded, 1, "EUR", 40000)

	t.Run("bad envelopes change nothing", func(t *testing.T) {
		before := f.sim.PaymentIDs()
		for _, raw := range []string{
			`{"provider":"tranzzo","transactions":[]}`,
			`{"provider":"bpc","payment":{"id":"p_x","amount":1.5,"currency":"EUR","status":"succeeded"}}`,
			`not json`,
		} {
			if err := f.sim.Load([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), "bpc simulator: load: bpc: ") {
				t.Errorf("Load(%s) = %v, want a bpc simulator: load: error", raw, err)
			}
		}
		if after := f.sim.PaymentIDs(); len(after) != len(before) {
			t.Errorf("payments = %v, want %v", after, before)
		}
	})

	t.Run("replace a payment and its refunds", func(t *testing.T) {
		env := objectOf(t, paid.Raw)
		pay := env["payment"].(map[string]any)
		pay["description"] = "replaced"
		env["refunds"] = []any{}
		raw, _ := json.Marshal(env)
		if err := f.sim.Load(raw); err != nil {
			t.Fatal(err)
		}
		s := f.state(t, providers.RefOf(paid))
		if s.Description != "replaced" || len(s.Refunds) != 0 || s.Refunded != 0 {
			t.Errorf("after replace: %q, %d refunds, %d refunded; want replaced, 0, 0", s.Description, len(s.Refunds), s.Refunded)
		}
		for _, r := range paid.Refunds {
			if status, _ := send(t, f, "GET", "/refunds/"+r.ID, authed(), ""); status != 404 {
				t.Errorf("old refund %s still served (%d)", r.ID, status)
			}
		}
		if got := f.eventNames(); len(got) != 0 {
			t.Errorf("Load reported events %v, want none", got)
		}
	})

	t.Run("a refund id cannot move to another payment", func(t *testing.T) {
		other := f.load(t, variantSucceeded, 2, "EUR", 9000)
		first := f.load(t, variantPartlyRefunded, 3, "EUR", 9000)
		env := objectOf(t, other.Raw)
		env["refunds"] = []any{map[string]any{"id": first.Refunds[0].ID, "amount": 1, "status": "succeeded"}}
		raw, _ := json.Marshal(env)
		if err := f.sim.Load(raw); err == nil || !strings.Contains(err.Error(), "already belongs to payment "+first.PaymentID) {
			t.Errorf("Load = %v, want a conflict naming %s", err, first.PaymentID)
		}
	})

	t.Run("new refund ids skip loaded ones", func(t *testing.T) {
		g := newFixture(t, nil)
		p := g.load(t, variantSucceeded, 4, "EUR", 9000)
		taken := hashedID("re_", "bpc-simulator-refund:1")
		env := objectOf(t, p.Raw)
		env["refunds"] = []any{map[string]any{"id": taken, "amount": 100, "status": "succeeded"}}
		raw, _ := json.Marshal(env)
		if err := g.sim.Load(raw); err != nil {
			t.Fatal(err)
		}
		out := g.c.Refund(t.Context(), providers.RefOf(p), providers.RefundRequest{Amount: 100})
		if out.Kind != providers.Done || out.RefundID == taken || out.RefundID == "" {
			t.Errorf("refund = %s %q, want done with an id other than %s", out.Kind, out.RefundID, taken)
		}
		if s := g.state(t, providers.RefOf(p)); len(s.Refunds) != 2 || s.Refunded != 200 {
			t.Errorf("refunds = %d for %d, want 2 for 200", len(s.Refunds), s.Refunded)
		}
	})
}

func TestSimulatorControls(t *testing.T) {
	f := newFixture(t, nil)
	pending := f.load(t, variantRequiresAction, 1, "EUR", 3000)
	open := f.load(t, variantSessionOpen, 2, "EUR", 3000)

	if err := f.sim.SetPaymentStatus(pending.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	s := f.state(t, providers.RefOf(pending))
	if s.RawStatus != "succeeded" || s.Captured != 3000 {
		t.Errorf("after SetPaymentStatus: %s captured %d, want succeeded 3000", s.RawStatus, s.Captured)
	}
	if err := f.sim.SetSessionStatus(open.SessionID, "completed"); err != nil {
		t.Fatal(err)
	}
	if s := f.state(t, providers.RefOf(open)); s.SessionStatus != "completed" {
		t.Errorf("session is %s, want completed", s.SessionStatus)
	}
	if got, want := strings.Join(f.eventNames(), ","), EventPaymentSucceeded+","+EventSessionCompleted; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
	// The envelope passed to OnChange is the payment as it now stands.
	f.mu.Lock()
	first := f.events[0].Envelope
	f.mu.Unlock()
	snap, err := ParseEnvelope(first)
	if err != nil {
		t.Fatal(err)
	}
	if snap.PaymentID != pending.PaymentID || snap.RawStatus != "succeeded" {
		t.Errorf("event envelope = %s %s, want %s succeeded", snap.PaymentID, snap.RawStatus, pending.PaymentID)
	}

	for name, err := range map[string]error{
		"SetPaymentStatus": f.sim.SetPaymentStatus("p_nope", "succeeded"),
		"SetSessionStatus": f.sim.SetSessionStatus("ps_nope", "expired"),
		"SettleRefund":     f.sim.SettleRefund("re_nope", "succeeded"),
	} {
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("%s(unknown) = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := f.sim.Snapshot(providers.Ref{PaymentID: "p_nope"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Snapshot(unknown) = %v, want ErrNotFound", err)
	}
	if got := f.sim.SessionIDs(); len(got) != 1 || got[0] != open.SessionID {
		t.Errorf("SessionIDs = %v, want [%s]", got, open.SessionID)
	}
}

func TestSimulatorPayPage(t *testing.T) {
	f := newFixture(t, nil)
	open := f.load(t, variantSessionOpen, 1, "JPY", 1500)
	for _, tt := range []struct {
		path       string
		wantStatus int
		wantText   string
	}{
		{"/pay/" + open.SessionID, 200, "1,500 JPY"},
		{"/pay/ps_nope", 404, "no such session"},
	} {
		resp, err := http.Get(f.srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || !bytes.Contains(b, []byte(tt.wantText)) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, resp.StatusCode, b, tt.wantStatus, tt.wantText)
		}
	}
}
