package powens

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
)

// The examples of Powens' guides (testdata/seed_*, repaired as fixed_* where the guide's
// JSON is invalid: testdata/README.md) replayed through the real client from a plain
// httptest server — no simulator, so nothing here shares the client's reading of the
// guides. The client is configured with the guides' own placeholders ({clientId},
// {redirectURL}, …), so that what it sends can be compared with the guides' requests
// as they are printed.

const (
	seedPaymentID = "4242" // what fixed_* put for {paymentId}
	seedClientID  = "{clientId}"
	seedSecret    = "{clientSecret}"
	seedRedirect  = "{redirectURL}"
	seedState     = "{optionalRedirectState}"
)

// seedServer answers with the guides' examples and records what the client sent.
type seedServer struct {
	srv *httptest.Server

	mu     sync.Mutex
	calls  map[string]int    // "POST /payments/4242" → count
	bodies map[string][]byte // the last body sent to each route
	auth   map[string]string // the last Authorization of each route

	cancelStatus int
	cancelBody   []byte
	getStatus    int
	getBody      []byte
}

// newSeedServer starts the server; cancel and get are the answers of POST and GET
// /payments/4242 (status, body).
func newSeedServer(t *testing.T, cancelStatus int, cancelBody []byte, getStatus int, getBody []byte) *seedServer {
	t.Helper()
	s := &seedServer{calls: map[string]int{}, bodies: map[string][]byte{}, auth: map[string]string{},
		cancelStatus: cancelStatus, cancelBody: cancelBody, getStatus: getStatus, getBody: getBody}
	tokenAnswer := readFile(t, "seed_token_answer.json")
	scopedAnswer := readFile(t, "fixed_scopedtoken_answer.json")
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.Method + " " + r.URL.Path
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls[route]++
		s.bodies[route] = body
		s.auth[route] = r.Header.Get("Authorization")
		s.mu.Unlock()
		answer := func(status int, b []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(b)
		}
		if route == "POST /auth/token" {
			answer(http.StatusOK, tokenAnswer)
			return
		}
		// The service token of seed_token_answer.json, and only it, opens the API.
		if r.Header.Get("Authorization") != "Bearer {accessToken}" {
			answer(http.StatusUnauthorized, []byte(`{"code":"invalidToken","description":"Bad token."}`))
			return
		}
		switch route {
		case "POST /payments/" + seedPaymentID:
			answer(s.cancelStatus, s.cancelBody)
		case "GET /payments/" + seedPaymentID:
			answer(s.getStatus, s.getBody)
		case "POST /payments/" + seedPaymentID + "/scopedtoken":
			answer(http.StatusOK, scopedAnswer)
		default:
			answer(http.StatusNotFound, []byte(`{"code":"notFound","description":"No such route."}`))
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// count is how many calls a route received.
func (s *seedServer) count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// body is the last body sent to a route.
func (s *seedServer) body(route string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[route]
}

// client is a real client pointed at the server, with the guides' placeholders as
// credentials and lang as the webview language.
func (s *seedServer) client(t *testing.T, lang string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: s.srv.URL, ClientID: seedClientID, ClientSecret: seedSecret, Lang: lang,
		Timeout: 2 * time.Second, Now: func() time.Time { return testNow }}, s.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seedPayment is the guide's payment as GET /payments/{id} would answer it: the fields of
// a payment request example (seed_payment_request_*), the created answer's
// (fixed_payment_created_answer.json) over them, then set over both.
func seedPayment(t *testing.T, request string, set map[string]any) []byte {
	t.Helper()
	obj := map[string]json.RawMessage{}
	for _, name := range []string{request, "fixed_payment_created_answer.json"} {
		var part map[string]json.RawMessage
		if err := json.Unmarshal(readFile(t, name), &part); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range part {
			obj[k] = v
		}
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		obj[k] = b
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON fails unless got and the fixture want hold the same JSON value.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: the client sent %q: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(readFile(t, want), &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: the client sent %s, the guide shows %s", what, got, readFile(t, want))
	}
}

// checkSeedWebview compares a webview link with the guide's URL form (fixture tmpl):
// the same path and the same parameters, in the same order, with the request's state
// and redirect_uri, the scoped token of fixed_scopedtoken_answer.json and the payment id.
func checkSeedWebview(t *testing.T, srvURL, lang, tmpl string, link *providers.PayerLink) {
	t.Helper()
	if link == nil {
		t.Fatal("no payer link")
	}
	form := strings.TrimSpace(string(readFile(t, tmpl)))
	form = strings.Replace(form, "https://{domain}.biapi.pro/2.0", srvURL, 1)
	form = strings.Replace(form, "{lang}", lang, 1)
	form = strings.Replace(form, "{paymentId}", seedPaymentID, 1)
	want, err := url.Parse(form)
	if err != nil {
		t.Fatalf("%s: %v", tmpl, err)
	}
	got, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scheme+"://"+got.Host+got.Path != want.Scheme+"://"+want.Host+want.Path {
		t.Errorf("webview: got %s, the guide gives %s", got.Path, want.Path)
	}
	if !reflect.DeepEqual(got.Query(), want.Query()) {
		t.Errorf("webview parameters: got %v, the guide gives %v", got.Query(), want.Query())
	}
	if names(got.RawQuery) != names(want.RawQuery) {
		t.Errorf("parameter order: got %s, the guide gives %s", names(got.RawQuery), names(want.RawQuery))
	}
	if link.Kind != "webview" || !link.ExpiresAt.Equal(testNow.Add(604800*time.Second)) {
		t.Errorf("link: kind %q, expires %v; want webview expiring with the scoped token's expires_in", link.Kind, link.ExpiresAt)
	}
}

// names lists a raw query's parameter names in order.
func names(rawQuery string) string {
	var out []string
	for _, kv := range strings.Split(rawQuery, "&") {
		name, _, _ := strings.Cut(kv, "=")
		out = append(out, name)
	}
	return strings.Join(out, ",")
}

// The three outcomes the cancellation guide shows, as it shows them.
func TestSeedCancelAnswers(t *testing.T) {
	const firstDay = "seed_payment_request_first_open_day.json"
	cancelledPayment := seedPayment(t, firstDay, map[string]any{"state": "rejected", "error_code": "cancelledByUser"})
	webauthPayment := seedPayment(t, firstDay, map[string]any{"state": "pending", "state_detail": "cancelling_webauth"})
	readFails := []byte(`{"code":"internalError","description":"Internal server error."}`)
	extra := func(name string) []byte {
		b, err := withExtraFields(readFile(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	tests := []struct {
		name         string
		cancelStatus int
		cancelBody   []byte
		getStatus    int
		getBody      []byte
		lang, tmpl   string

		kind     providers.OutcomeKind
		status   providers.Status // of the Snapshot; "" when there must be none
		reads    int
		scoped   int
		message  string
		wantLink bool
	}{
		{name: "done", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_done.json"), getStatus: 200, getBody: cancelledPayment,
			kind: providers.Done, status: providers.StatusCancelled, reads: 1, message: "Powens cancelled the payment."},
		{name: "done, the read back fails", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_done.json"), getStatus: 500, getBody: readFails,
			kind: providers.Done, reads: 1, message: "Powens cancelled the payment."},
		{name: "done, with unknown fields for the elision", cancelStatus: 200, cancelBody: extra("fixed_cancel_answer_done.json"), getStatus: 200, getBody: cancelledPayment,
			kind: providers.Done, status: providers.StatusCancelled, reads: 1, message: "Powens cancelled the payment."},
		{name: "webauth", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_webauth.json"), getStatus: 200, getBody: webauthPayment,
			lang: "en", tmpl: "seed_webview_url_cancel.txt",
			kind: providers.NeedsPayer, status: providers.StatusCancelling, reads: 1, scoped: 1, wantLink: true,
			message: "Powens asks the payer to confirm the cancellation; send them the payer link."},
		{name: "webauth, webview without a language", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_webauth.json"), getStatus: 200, getBody: webauthPayment,
			lang: "", tmpl: "seed_webview_url_payment.txt",
			kind: providers.NeedsPayer, status: providers.StatusCancelling, reads: 1, scoped: 1, wantLink: true,
			message: "Powens asks the payer to confirm the cancellation; send them the payer link."},
		{name: "webauth, the read back fails", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_webauth.json"), getStatus: 500, getBody: readFails,
			lang: "en", tmpl: "seed_webview_url_cancel.txt",
			kind: providers.NeedsPayer, reads: 1, scoped: 1, wantLink: true,
			message: "Powens asks the payer to confirm the cancellation; send them the payer link."},
		{name: "webauth, with unknown fields for the elision", cancelStatus: 200, cancelBody: extra("fixed_cancel_answer_webauth.json"), getStatus: 200, getBody: webauthPayment,
			lang: "en", tmpl: "seed_webview_url_cancel.txt",
			kind: providers.NeedsPayer, status: providers.StatusCancelling, reads: 1, scoped: 1, wantLink: true,
			message: "Powens asks the payer to confirm the cancellation; send them the payer link."},
		{name: "not supported as a 200", cancelStatus: 200, cancelBody: readFile(t, "fixed_cancel_answer_not_supported.json"),
			kind: providers.NotSupported, message: "Bad request, please check your request parameters."},
		{name: "not supported as a 400", cancelStatus: 400, cancelBody: readFile(t, "fixed_cancel_answer_not_supported.json"),
			kind: providers.NotSupported, message: "Bad request, please check your request parameters."},
		{name: "not supported, with unknown fields for the elision", cancelStatus: 200, cancelBody: extra("fixed_cancel_answer_not_supported.json"),
			kind: providers.NotSupported, message: "Bad request, please check your request parameters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSeedServer(t, tt.cancelStatus, tt.cancelBody, tt.getStatus, tt.getBody)
			c := s.client(t, tt.lang)
			req := providers.CancelRequest{ReturnURL: seedRedirect, State: seedState}
			out := c.Cancel(t.Context(), providers.Ref{PaymentID: seedPaymentID}, req)

			if out.Kind != tt.kind || out.Message != tt.message {
				t.Fatalf("got %s %q (%s), want %s %q", out.Kind, out.Message, out.Detail, tt.kind, tt.message)
			}
			if string(out.Raw) != strings.TrimSpace(string(tt.cancelBody)) {
				t.Errorf("raw: got %s", out.Raw)
			}
			switch {
			case tt.status == "" && out.Snapshot != nil:
				t.Errorf("snapshot: got %+v, want none", out.Snapshot)
			case tt.status != "" && out.Snapshot == nil:
				t.Errorf("no snapshot (%s)", out.Detail)
			case tt.status != "":
				got := out.Snapshot
				if providers.Normalise(*got) != tt.status || got.PaymentID != seedPaymentID || got.Amount != 5090 || got.Currency != "EUR" ||
					got.CustomerName != "Germaine Michu" {
					t.Errorf("snapshot: got %s %s %d %s %q", providers.Normalise(*got), got.PaymentID, got.Amount, got.Currency, got.CustomerName)
				}
			}
			if tt.status == "" && tt.reads > 0 && !strings.Contains(out.Detail, "read back after the cancellation failed") {
				t.Errorf("detail %q does not say the read failed", out.Detail)
			}
			if tt.wantLink {
				checkSeedWebview(t, s.srv.URL, tt.lang, tt.tmpl, out.Link)
			} else if out.Link != nil {
				t.Errorf("link: got %+v, want none", out.Link)
			}

			// What the client sent is what the guides print.
			sameJSON(t, "token request", s.body("POST /auth/token"), "fixed_token_request.json")
			sameJSON(t, "cancel request", s.body("POST /payments/"+seedPaymentID), "seed_cancel_request.json")
			if tt.scoped > 0 {
				sameJSON(t, "scoped token request", s.body("POST /payments/"+seedPaymentID+"/scopedtoken"), "seed_scopedtoken_request.json")
			}
			// The cancellation is sent once, never again; the payment is read at most once.
			if got := s.count("POST /payments/" + seedPaymentID); got != 1 {
				t.Errorf("cancel calls: got %d, want 1", got)
			}
			if got := s.count("GET /payments/" + seedPaymentID); got != tt.reads {
				t.Errorf("reads: got %d, want %d", got, tt.reads)
			}
			if got := s.count("POST /payments/" + seedPaymentID + "/scopedtoken"); got != tt.scoped {
				t.Errorf("scoped tokens: got %d, want %d", got, tt.scoped)
			}
			if got := s.count("POST /auth/token"); got != 1 {
				t.Errorf("token requests: got %d, want 1", got)
			}
		})
	}
}

// The one-time-payment guide's payment requests and identities, answered back as the
// created payment: each reads as a created payment of EUR 50.90.
func TestSeedPaymentsRead(t *testing.T) {
	individual := json.RawMessage(readFile(t, "seed_identity_individual.json"))
	corporate := json.RawMessage(readFile(t, "seed_identity_corporate.json"))
	tests := []struct {
		name, request string
		identity      json.RawMessage
		instant       bool
		customer      string
	}{
		{"first open day", "seed_payment_request_first_open_day.json", nil, false, "Germaine Michu"},
		{"instant", "seed_payment_request_instant.json", nil, true, "Germaine Michu"},
		{"deferred", "seed_payment_request_deferred.json", nil, false, "Germaine Michu"},
		{"individual identity", "seed_payment_request_first_open_day.json", individual, false, "Jean Dupont"},
		{"corporate identity", "seed_payment_request_first_open_day.json", corporate, false, "Powens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]any{}
			if tt.identity != nil {
				set["payer_identity"] = tt.identity
			}
			s := newSeedServer(t, 0, nil, 200, seedPayment(t, tt.request, set))
			got, err := s.client(t, "").Fetch(t.Context(), providers.Ref{PaymentID: seedPaymentID})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got.PaymentID != seedPaymentID || got.RawStatus != "created" || got.ErrorCode != "" || got.StateDetail != "" ||
				providers.Normalise(got) != providers.StatusAwaitingPayment {
				t.Errorf("state: got %s %q/%q/%q (%s)", got.PaymentID, got.RawStatus, got.StateDetail, got.ErrorCode, providers.Normalise(got))
			}
			if got.Amount != 5090 || got.Currency != "EUR" || got.Captured != 0 || got.Instant != tt.instant {
				t.Errorf("money: got %d %s captured %d instant %v", got.Amount, got.Currency, got.Captured, got.Instant)
			}
			if got.MerchantReference != seedState || got.Description != "Test" || got.CustomerName != tt.customer {
				t.Errorf("got reference %q description %q customer %q", got.MerchantReference, got.Description, got.CustomerName)
			}
			if d := Eligible(got).Cancel; !d.Allowed {
				t.Errorf("a created payment is cancellable, even an instant one: got %q", d.Reason)
			}
		})
	}

	// The created answer on its own has no instructions, so no amount: Paydesk refuses to
	// guess one, and the read is unreadable, not a payment of 0.
	s := newSeedServer(t, 0, nil, 200, readFile(t, "fixed_payment_created_answer.json"))
	_, err := s.client(t, "").Fetch(t.Context(), providers.Ref{PaymentID: seedPaymentID})
	if pe := providerError(t, err); !pe.Unknown || pe.Safe != "Powens answered with a payment Paydesk could not read." ||
		!strings.Contains(err.Error(), "no instructions") {
		t.Errorf("created answer alone: got %v", err)
	}
}

// The payer-link tokens the guides show are the ones used: the service token of
// seed_token_answer.json on every API call, the scoped token of fixed_scopedtoken_answer.json
// in the link, with its expires_in.
func TestSeedTokensUsed(t *testing.T) {
	s := newSeedServer(t, 200, readFile(t, "fixed_cancel_answer_webauth.json"), 200,
		seedPayment(t, "seed_payment_request_first_open_day.json", map[string]any{"state": "pending", "state_detail": "cancelling_webauth"}))
	c := s.client(t, "en")
	link, err := c.PayerLink(t.Context(), providers.Ref{PaymentID: seedPaymentID}, providers.CancelRequest{ReturnURL: seedRedirect, State: seedState})
	if err != nil {
		t.Fatalf("PayerLink: %v", err)
	}
	checkSeedWebview(t, s.srv.URL, "en", "seed_webview_url_cancel.txt", &link)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, route := range []string{"GET /payments/" + seedPaymentID, "POST /payments/" + seedPaymentID + "/scopedtoken"} {
		if got := s.auth[route]; got != "Bearer {accessToken}" {
			t.Errorf("%s: Authorization %q", route, got)
		}
	}
	if got := s.auth["POST /auth/token"]; got != "" {
		t.Errorf("token request: Authorization %q, want none", got)
	}
}
