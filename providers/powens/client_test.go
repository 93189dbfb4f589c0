package powens

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/simfault"
	"paydesk/providers/simshape"
)

func TestNewConfig(t *testing.T) {
	good := Config{BaseURL: "https://acme.biapi.pro/2.0/", ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
		webview string
	}{
		{"defaults", func(*Config) {}, "", "https://acme.biapi.pro/2.0/auth/webview"},
		{"lang", func(c *Config) { c.Lang = "en" }, "", "https://acme.biapi.pro/2.0/auth/webview/en"},
		{"webview", func(c *Config) { c.WebviewURL = "https://webview.powens.com/" }, "", "https://webview.powens.com"},
		{"webview and lang", func(c *Config) { c.WebviewURL = "https://webview.powens.com"; c.Lang = "fr" }, "", "https://webview.powens.com/fr"},
		{"no base", func(c *Config) { c.BaseURL = "" }, "powens: config: base URL: is required", ""},
		{"relative base", func(c *Config) { c.BaseURL = "/2.0" }, "not an absolute http(s) URL", ""},
		{"ftp base", func(c *Config) { c.BaseURL = "ftp://x/2.0" }, "not an absolute http(s) URL", ""},
		{"base with query", func(c *Config) { c.BaseURL = "https://x/2.0?a=1" }, "must not have a query", ""},
		{"no client id", func(c *Config) { c.ClientID = " " }, "powens: config: client id is required", ""},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "powens: config: client secret is required", ""},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout -1s is negative", ""},
		{"bad webview", func(c *Config) { c.WebviewURL = "webview" }, "powens: config: webview URL", ""},
		{"bad lang", func(c *Config) { c.Lang = "en/../x" }, `language "en/../x"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			c, err := New(cfg, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), cfg.ClientSecret) && cfg.ClientSecret != "" {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.webviewURL != tt.webview {
				t.Errorf("webview: got %q, want %q", c.webviewURL, tt.webview)
			}
			if c.http.Timeout != DefaultTimeout || c.http.HTTP == nil || c.baseURL != "https://acme.biapi.pro/2.0" {
				t.Errorf("defaults: timeout %s, hc %v, base %q", c.http.Timeout, c.http.HTTP, c.baseURL)
			}
			if c.Name() != Name {
				t.Errorf("Name: got %q", c.Name())
			}
		})
	}
}

func TestFetch(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.sim.Load(readFile(t, "envelope_seed_payment.json"))
		got, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "4242"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		want, _ := ParseEnvelope(readFile(t, "envelope_seed_payment.json"))
		if !equalSnapshots(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if got.Amount != 5090 || got.RawStatus != "pending" || providers.Normalise(got) != providers.StatusProcessing {
			t.Errorf("got amount %d status %q (%s)", got.Amount, got.RawStatus, providers.Normalise(got))
		}
		// Raw is the envelope of what was just read: it parses back to the same payment.
		back, err := ParseEnvelope(got.Raw)
		if err != nil || !equalSnapshots(back, want) {
			t.Errorf("Raw parses to %+v, %v", back, err)
		}
		// The service token is cached.
		if _, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "4242"}); err != nil {
			t.Fatal(err)
		}
		if got, want := e.sim.Calls(RouteToken), 1; got != want {
			t.Errorf("token requests: got %d, want %d", got, want)
		}
		if got, want := e.sim.Calls(RouteGetPayment), 2; got != want {
			t.Errorf("payment reads: got %d, want %d", got, want)
		}
	})
}

func TestFetchUnknownStatusIsKept(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.load(t, testPayment("5", "processing_v2", "something_new", "first_open_day"))
		s, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "5"})
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if s.RawStatus != "processing_v2" || s.StateDetail != "something_new" || providers.Normalise(s) != providers.StatusUnknown {
			t.Errorf("got %q/%q normalised %s", s.RawStatus, s.StateDetail, providers.Normalise(s))
		}
	})
}

func TestFetchErrors(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		_, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "404"})
		pe := providerError(t, err)
		if !errors.Is(err, providers.ErrNotFound) || pe.Code != "notFound" || pe.Status != 404 || pe.Unknown || pe.Safe != "Payment not found." {
			t.Errorf("unknown id: got %+v", pe)
		}
		if !strings.HasPrefix(err.Error(), "powens: ") {
			t.Errorf("error %q is not prefixed", err)
		}
		_, err = e.client.Fetch(t.Context(), providers.Ref{})
		if pe := providerError(t, err); pe.Safe == "" {
			t.Errorf("empty id: got %+v", pe)
		}
		if got := e.sim.Calls(RouteGetPayment); got != 1 {
			t.Errorf("an empty id reached Powens: %d reads", got)
		}
	})
}

// Every fault of a read ends in an Unknown error with a safe message; none panics or hangs.
func TestFetchFaults(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		tests := []struct {
			fault    simfault.Fault
			safe     string
			status   int
			maxCalls int
		}{
			{simfault.Internal, "Internal server error.", 500, 1},
			{simfault.Unavailable, "The service is temporarily unavailable.", 503, 1},
			{simfault.HTMLPage, "Powens answered with an error page (HTTP 502).", 502, 1},
			{simfault.Malformed, "Powens answered with a payment Paydesk could not read.", 200, 1},
			{simfault.Slow, "Powens did not answer within 150ms.", 0, 1},
		}
		for _, tt := range tests {
			t.Run(tt.fault.String(), func(t *testing.T) {
				e := newShapedEnv(t, sh, func(c *Config) { c.Timeout = 150 * time.Millisecond })
				e.load(t, testPayment("8", "pending", "", "first_open_day"))
				e.adminToken(t)
				e.client.Fetch(t.Context(), providers.Ref{PaymentID: "8"}) // warm the token
				before := e.sim.Calls(RouteGetPayment)
				e.sim.FailNextOn(RouteGetPayment, 1, tt.fault)
				start := time.Now()
				_, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "8"})
				if time.Since(start) > time.Second {
					t.Errorf("took %s", time.Since(start))
				}
				pe := providerError(t, err)
				if !pe.Unknown || pe.Safe != tt.safe || pe.Status != tt.status {
					t.Errorf("got unknown=%v safe=%q status=%d, want unknown, %q, %d", pe.Unknown, pe.Safe, pe.Status, tt.safe, tt.status)
				}
				if strings.Contains(pe.Safe, "<") || strings.Contains(providers.SafeMessage(err), "nginx") {
					t.Errorf("safe message shows the page: %q", pe.Safe)
				}
				if got := e.sim.Calls(RouteGetPayment) - before; got > tt.maxCalls {
					t.Errorf("reads: got %d, want at most %d", got, tt.maxCalls)
				}
				// The next read works again.
				if _, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "8"}); err != nil {
					t.Errorf("read after the fault: %v", err)
				}
			})
		}
	})
}

// A read is repeated once after a connection error; when the connection keeps failing it
// gives up. The client sends each call once: the retry is the guard's transport, as
// cmd/paydesk wires every client.
func TestFetchRetriesOnConnectionError(t *testing.T) {
	e := newEnv(t, nil)
	e.guard()
	e.load(t, testPayment("8", "pending", "", "first_open_day"))
	e.sim.FailNextOn(RouteGetPayment, 1, simfault.HangUp)
	if _, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "8"}); err != nil {
		t.Fatalf("Fetch after one dropped connection: %v", err)
	}
	if got := e.sim.Calls(RouteGetPayment); got != 2 {
		t.Errorf("reads: got %d, want 2", got)
	}

	e.sim.FailNextOn(RouteGetPayment, 10, simfault.HangUp)
	_, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "8"})
	if pe := providerError(t, err); !pe.Unknown || pe.Safe != "Powens could not be reached." {
		t.Errorf("got %+v", pe)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(Config{BaseURL: srv.URL, ClientID: "a", ClientSecret: "b", Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Fetch(t.Context(), providers.Ref{PaymentID: "1"})
	if pe := providerError(t, err); !pe.Unknown || pe.Status != 0 || pe.Safe != "Powens could not be reached." {
		t.Errorf("Fetch: got %+v", pe)
	}
	// No request could go out: the cancellation is definitively not made.
	out := c.Cancel(t.Context(), providers.Ref{PaymentID: "1"}, providers.CancelRequest{})
	if out.Kind != providers.Refused || !strings.Contains(out.Message, "was not sent") {
		t.Errorf("Cancel: got %s %q", out.Kind, out.Message)
	}
}

func TestCancelScenarios(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		tests := []struct {
			scenario  CancelScenario
			execType  string
			state     string
			kind      providers.OutcomeKind
			simState  string
			simDetail string
			simError  string
			linkKind  string
		}{
			{CancelDone, "first_open_day", "pending", providers.Done, "rejected", "", "cancelledByUser", ""},
			{CancelDone, "instant", "created", providers.Done, "rejected", "", "cancelledByUser", ""},
			{CancelDone, "deferred", "pending", providers.Done, "rejected", "", "cancelledByUser", ""},
			{CancelNeedsPayerWebview, "first_open_day", "pending", providers.NeedsPayer, "pending", "cancelling_webauth", "", "webview"},
			{CancelNeedsPayerValidateURI, "first_open_day", "created", providers.NeedsPayer, "pending", "cancelling", "", "validate_uri"},
			{CancelNotSupported, "first_open_day", "pending", providers.NotSupported, "pending", "", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.scenario.String()+"/"+tt.state+"/"+tt.execType, func(t *testing.T) {
				e := newShapedEnv(t, sh, nil)
				e.load(t, testPayment("31", tt.state, "", tt.execType))
				e.sim.SetCancelScenario("31", tt.scenario)
				out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "31"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
				if out.Kind != tt.kind {
					t.Fatalf("kind: got %s (%s; %s), want %s", out.Kind, out.Message, out.Detail, tt.kind)
				}
				if out.Message == "" || !json.Valid(out.Raw) {
					t.Errorf("message %q raw %s", out.Message, out.Raw)
				}
				sim := e.snap(t, "31")
				if sim.RawStatus != tt.simState || sim.StateDetail != tt.simDetail || sim.ErrorCode != tt.simError {
					t.Errorf("simulator: got %s/%s/%s, want %s/%s/%s", sim.RawStatus, sim.StateDetail, sim.ErrorCode, tt.simState, tt.simDetail, tt.simError)
				}
				if got, want := e.sim.Calls(RouteCancelPayment), 1; got != want {
					t.Errorf("cancel calls: got %d, want %d", got, want)
				}
				// A whole payment in the answer is enough; the guide's partial answer
				// makes the client read the payment once, never cancel again.
				partial := sh.shapes == simshape.Documented && tt.kind != providers.NotSupported
				if tt.kind != providers.NotSupported && partial == strings.Contains(string(out.Raw), `"instructions"`) {
					t.Errorf("answer %s: partial %v", out.Raw, partial)
				}
				wantReads := 0
				if partial {
					wantReads = 1
				}
				if got := e.sim.Calls(RouteGetPayment); got != wantReads {
					t.Errorf("payment reads: got %d, want %d", got, wantReads)
				}
				switch tt.kind {
				case providers.NotSupported:
					if out.Message != "Bad request, please check your request parameters." || out.Snapshot != nil || out.Link != nil {
						t.Errorf("not supported: got %+v", out)
					}
					if got := len(e.changes.all()); got != 0 {
						t.Errorf("OnChange calls: got %d, want 0", got)
					}
					return
				case providers.Done:
					if out.Snapshot == nil || providers.Normalise(*out.Snapshot) != providers.StatusCancelled || out.Link != nil {
						t.Errorf("done: got %+v", out)
					}
				case providers.NeedsPayer:
					if out.Snapshot == nil || providers.Normalise(*out.Snapshot) != providers.StatusCancelling {
						t.Errorf("needs payer snapshot: got %+v", out.Snapshot)
					}
					checkLink(t, e, out.Link, tt.linkKind, "31")
				}
				// The cancel call carried Paydesk's return URL and state.
				var p payment
				json.Unmarshal(envelopePayment(t, e, "31"), &p)
				if p.ClientRedirectURI != testReturnURL || p.ClientState != testState {
					t.Errorf("stored redirect: got %q %q", p.ClientRedirectURI, p.ClientState)
				}
				if got := len(e.changes.all()); got != 1 {
					t.Errorf("OnChange calls: got %d, want 1", got)
				}
			})
		}
	})
}

// checkLink checks a payer link built for payment id.
func checkLink(t *testing.T, e *env, link *providers.PayerLink, kind, id string) {
	t.Helper()
	if link == nil {
		t.Fatal("no link")
	}
	if link.Kind != kind {
		t.Errorf("link kind: got %q, want %q", link.Kind, kind)
	}
	switch kind {
	case "webview":
		u, err := url.Parse(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.Scheme+"://"+u.Host+u.Path, e.srv.URL+"/auth/webview/payment"; got != want {
			t.Errorf("webview: got %q, want %q", got, want)
		}
		q := u.Query()
		if q.Get("client_id") != testClientID || q.Get("redirect_uri") != testReturnURL || q.Get("state") != testState ||
			q.Get("payment_id") != id || q.Get("code") == "" {
			t.Errorf("webview query: got %v", q)
		}
		if !strings.Contains(link.URL, "state="+url.QueryEscape(testState)) {
			t.Errorf("state is not encoded in %q", link.URL)
		}
		if want := testNow.Add(604800 * time.Second); !link.ExpiresAt.Equal(want) {
			t.Errorf("expires: got %v, want %v", link.ExpiresAt, want)
		}
	case "validate_uri":
		if want := e.srv.URL + "/bank/validate/" + id; link.URL != want {
			t.Errorf("validate_uri: got %q, want %q", link.URL, want)
		}
		if want := testNow.Add(7 * 24 * time.Hour); !link.ExpiresAt.Equal(want) {
			t.Errorf("expires: got %v, want %v", link.ExpiresAt, want)
		}
	}
}

// envelopePayment is the simulator's payment JSON.
func envelopePayment(t *testing.T, e *env, id string) []byte {
	t.Helper()
	b, err := e.sim.Envelope(id)
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return env.Payment
}

// The simulator refuses what Powens would refuse; the client reports Refused with
// Powens' words and nothing changes.
func TestCancelRefused(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		tests := []struct {
			name, state, detail, execType, id string
			code, message                     string
		}{
			{"done", "done", "", "first_open_day", "40", "invalidState", "Only created or pending payments can be cancelled; this payment is done."},
			{"validating", "validating", "", "first_open_day", "40", "invalidState", "Only created or pending payments can be cancelled; this payment is validating."},
			{"rejected", "rejected", "", "first_open_day", "40", "invalidState", "Only created or pending payments can be cancelled; this payment is rejected."},
			{"pending instant", "pending", "", "instant", "40", "invalidState", "A pending payment with an instant instruction cannot be cancelled."},
			{"already cancelling", "pending", "cancelling_webauth", "first_open_day", "40", "invalidState", "A cancellation of this payment is already waiting for the payer's validation."},
			{"unknown id", "pending", "", "first_open_day", "41", "notFound", "Payment not found."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newShapedEnv(t, sh, nil)
				e.load(t, testPayment("40", tt.state, tt.detail, tt.execType))
				e.sim.SetDefaultCancelScenario(CancelDone)
				before := envelopePayment(t, e, "40")
				out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: tt.id}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
				if out.Kind != providers.Refused || out.Message != tt.message {
					t.Errorf("got %s %q, want refused %q", out.Kind, out.Message, tt.message)
				}
				var eb errorBody
				if err := json.Unmarshal(out.Raw, &eb); err != nil || eb.Code != tt.code {
					t.Errorf("raw: got %s, want code %s", out.Raw, tt.code)
				}
				if !strings.Contains(out.Detail, "HTTP 4") {
					t.Errorf("detail %q lacks the status", out.Detail)
				}
				if after := envelopePayment(t, e, "40"); string(after) != string(before) {
					t.Errorf("payment changed:\n%s\n%s", before, after)
				}
				if got := len(e.changes.all()); got != 0 {
					t.Errorf("OnChange calls: got %d", got)
				}
			})
		}
		e := newShapedEnv(t, sh, nil)
		if out := e.client.Cancel(t.Context(), providers.Ref{}, providers.CancelRequest{}); out.Kind != providers.Refused || e.sim.Calls(RouteToken) != 0 {
			t.Errorf("empty id: got %s, token calls %d", out.Kind, e.sim.Calls(RouteToken))
		}
	})
}

// A money-moving call is never repeated: every fault is Unknown after exactly one call,
// whether the simulator did the work or not.
func TestCancelFaults(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		tests := []struct {
			fault     simfault.Fault
			performed bool
			message   string
		}{
			{simfault.Internal, false, "Internal server error."},
			{simfault.Unavailable, false, "The service is temporarily unavailable."},
			{simfault.HTMLPage, false, "Powens answered with an error page (HTTP 502)."},
			{simfault.HangUp, false, "Powens could not be reached."},
			{simfault.Malformed, true, "Powens answered the cancellation with something Paydesk could not read"},
			{simfault.DropAnswer, true, "Internal server error."},
			{simfault.Slow, true, "Powens did not answer within 150ms."},
		}
		for _, tt := range tests {
			t.Run(tt.fault.String(), func(t *testing.T) {
				e := newShapedEnv(t, sh, func(c *Config) { c.Timeout = 150 * time.Millisecond })
				e.load(t, testPayment("60", "pending", "", "first_open_day"))
				e.sim.SetCancelScenario("60", CancelDone)
				e.client.Fetch(t.Context(), providers.Ref{PaymentID: "60"}) // warm the connection and the token
				e.sim.FailNextOn(RouteCancelPayment, 1, tt.fault)
				start := time.Now()
				out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "60"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
				if d := time.Since(start); d > time.Second {
					t.Errorf("took %s", d)
				}
				if out.Kind != providers.Unknown {
					t.Fatalf("kind: got %s (%s)", out.Kind, out.Message)
				}
				if !strings.HasPrefix(out.Message, tt.message) || strings.Contains(out.Message, "<") {
					t.Errorf("message: got %q, want it to start with %q", out.Message, tt.message)
				}
				if out.Detail == "" {
					t.Error("no detail for the log")
				}
				if got := e.sim.Calls(RouteCancelPayment); got != 1 {
					t.Errorf("cancel calls: got %d, want 1 (never retried)", got)
				}
				want := "pending"
				if tt.performed {
					want = "rejected"
				}
				waitFor(t, func() bool { return e.snap(t, "60").RawStatus == want })
			})
		}
	})
}

// waitFor polls briefly: a slow answer's work may finish just after the client gave up.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Error("condition not met")
}

func TestWrongCredentials(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, func(c *Config) { c.ClientSecret = "wrong" })
		e.load(t, testPayment("70", "pending", "", "first_open_day"))
		_, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "70"})
		pe := providerError(t, err)
		if pe.Code != "invalidClient" || pe.Status != 401 || pe.Unknown || pe.Safe != "Invalid client_id or client_secret." {
			t.Errorf("Fetch: got %+v", pe)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error %q shows the secret", err)
		}
		out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "70"}, providers.CancelRequest{})
		if out.Kind != providers.Refused || out.Message != "Invalid client_id or client_secret. The cancellation was not sent." {
			t.Errorf("Cancel: got %s %q", out.Kind, out.Message)
		}
		if e.sim.Calls(RouteCancelPayment) != 0 || e.snap(t, "70").RawStatus != "pending" {
			t.Error("the cancellation reached the simulator")
		}
		if _, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "70"}, providers.CancelRequest{}); providerError(t, err).Code != "invalidClient" {
			t.Errorf("PayerLink: got %v", err)
		}
	})
}

// A 401 on an API call fetches a new token once and repeats the call once, even a cancel.
func TestTokenRenewedOn401(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.load(t, testPayment("80", "pending", "", "first_open_day"))
		e.sim.SetCancelScenario("80", CancelDone)
		if _, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "80"}); err != nil {
			t.Fatal(err)
		}
		e.sim.RevokeTokens()
		if _, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "80"}); err != nil {
			t.Fatalf("Fetch after revocation: %v", err)
		}
		if got := [2]int{e.sim.Calls(RouteToken), e.sim.Calls(RouteGetPayment)}; got != [2]int{2, 3} {
			t.Errorf("token, read calls: got %v, want [2 3]", got)
		}
		e.sim.RevokeTokens()
		out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "80"}, providers.CancelRequest{})
		if out.Kind != providers.Done {
			t.Fatalf("Cancel after revocation: got %s %q", out.Kind, out.Message)
		}
		if got := [2]int{e.sim.Calls(RouteToken), e.sim.Calls(RouteCancelPayment)}; got != [2]int{3, 2} {
			t.Errorf("token, cancel calls: got %v, want [3 2]", got)
		}
		if got := len(e.changes.all()); got != 1 {
			t.Errorf("state changes: got %d, want 1", got)
		}

		// A second 401 in a row is not retried again.
		e2 := newShapedEnv(t, sh, nil)
		e2.load(t, testPayment("81", "pending", "", "first_open_day"))
		e2.client.Fetch(t.Context(), providers.Ref{PaymentID: "81"})
		handler := e2.sim
		alwaysRevoke := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/auth/token" {
				handler.RevokeTokens()
			}
			handler.ServeHTTP(w, r)
		})
		srv := httptest.NewServer(alwaysRevoke)
		defer srv.Close()
		c, _ := New(Config{BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret}, nil)
		out = c.Cancel(t.Context(), providers.Ref{PaymentID: "81"}, providers.CancelRequest{})
		if out.Kind != providers.Refused || !strings.Contains(out.Message, "The token is invalid or expired.") {
			t.Errorf("twice 401: got %s %q", out.Kind, out.Message)
		}
		if got := e2.sim.Calls(RouteCancelPayment); got != 2 {
			t.Errorf("cancel calls: got %d, want 2", got)
		}
	})
}

// Some integrations answer access_token instead of token.
func TestAccessTokenField(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("90", "pending", "", "first_open_day"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/token" {
			e.sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, r)
		var ans tokenAnswer
		json.Unmarshal(rec.Body.Bytes(), &ans)
		writeJSON(w, http.StatusOK, map[string]string{"access_token": ans.Token, "scope": ans.Scope})
	}))
	defer srv.Close()
	c, _ := New(Config{BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret}, nil)
	if _, err := c.Fetch(t.Context(), providers.Ref{PaymentID: "90"}); err != nil {
		t.Errorf("Fetch with access_token: %v", err)
	}
}

// Token answers that cannot be read are Unknown and never show the token in the log.
func TestTokenFaults(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		for _, f := range []simfault.Fault{simfault.Malformed, simfault.Internal, simfault.HTMLPage} {
			t.Run(f.String(), func(t *testing.T) {
				e := newShapedEnv(t, sh, nil)
				e.sim.FailNextOn(RouteToken, 1, f)
				_, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "1"})
				pe := providerError(t, err)
				if !pe.Unknown {
					t.Errorf("got %+v, want unknown", pe)
				}
				if strings.Contains(err.Error(), `"token"`) {
					t.Errorf("error shows the token answer: %q", err)
				}
			})
		}
	})
}

func TestPayerLink(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, func(c *Config) { c.Lang = "en" })
		e.load(t, testPayment("100", "pending", "cancelling_webauth", "first_open_day"))
		p := testPayment("101", "pending", "cancelling", "first_open_day")
		p.ValidateURI = "https://bank.example/validate/101"
		e.load(t, p)
		e.load(t, testPayment("102", "done", "", "first_open_day"))
		e.load(t, testPayment("103", "pending", "cancelling", "first_open_day"))
		req := providers.CancelRequest{ReturnURL: testReturnURL, State: testState}

		link, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "100"}, req)
		if err != nil {
			t.Fatalf("webview: %v", err)
		}
		u, _ := url.Parse(link.URL)
		if link.Kind != "webview" || u.Path != "/auth/webview/en/payment" || u.Query().Get("payment_id") != "100" || u.Query().Get("code") == "" {
			t.Errorf("webview link: got %+v", link)
		}
		// The link opens the simulator's webview in that language.
		status, _, body := e.do(t, "GET", strings.TrimPrefix(link.URL, e.srv.URL), "", nil)
		if status != 200 || !strings.Contains(string(body), "Confirm the cancellation of payment 100?") {
			t.Errorf("webview page: got %d %s", status, body)
		}
		// Each call makes a new scoped token.
		again, _ := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "100"}, req)
		if again.URL == link.URL || e.sim.Calls(RouteScopedToken) != 2 {
			t.Errorf("second link: same URL %v, scoped token calls %d", again.URL == link.URL, e.sim.Calls(RouteScopedToken))
		}

		link, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "101"}, req)
		if err != nil || link.Kind != "validate_uri" || link.URL != "https://bank.example/validate/101" || !link.ExpiresAt.Equal(testNow.Add(ValidateURILifetime)) {
			t.Errorf("validate_uri link: got %+v, %v", link, err)
		}

		_, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "102"}, req)
		if !errors.Is(err, ErrNotWaitingForPayer) || providerError(t, err).Safe != "The payment no longer waits for the payer to confirm a cancellation (Powens state done)." {
			t.Errorf("done payment: got %v", err)
		}
		_, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "103"}, req)
		if err == nil || !strings.Contains(providers.SafeMessage(err), "gave no link") {
			t.Errorf("cancelling without validate_uri: got %v", err)
		}
		_, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "999"}, req)
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("unknown id: got %v", err)
		}
		e.sim.FailNextOn(RouteScopedToken, 1, simfault.Internal)
		_, err = e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "100"}, req)
		if pe := providerError(t, err); !pe.Unknown || pe.Status != 500 {
			t.Errorf("scoped token 500: got %+v", pe)
		}
	})
}

// The cancellation waits for the payer even when the link cannot be made at once.
func TestCancelWebviewLinkFails(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.load(t, testPayment("110", "pending", "", "first_open_day"))
		e.sim.SetCancelScenario("110", CancelNeedsPayerWebview)
		e.sim.FailNextOn(RouteScopedToken, 1, simfault.Unavailable)
		out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "110"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
		if out.Kind != providers.NeedsPayer || out.Link != nil || !strings.HasSuffix(out.Message, "Make a new payer link.") {
			t.Errorf("got %s link %v %q", out.Kind, out.Link, out.Message)
		}
		link, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "110"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
		if err != nil {
			t.Fatalf("PayerLink afterwards: %v", err)
		}
		checkLink(t, e, &link, "webview", "110")
	})
}

// An answer about another payment, or in a state that says nothing, is Unknown.
func TestCancelOddAnswers(t *testing.T) {
	tests := []struct {
		name, answer, message string
	}{
		{"other payment", `{"id":2,"state":"rejected","error_code":"cancelledByUser","instructions":[{"amount":1,"currency":"EUR"}]}`, "could not read"},
		{"still pending", `{"id":1,"state":"pending","instructions":[{"amount":1,"currency":"EUR"}]}`, "Powens answered the cancellation with state pending; Paydesk cannot tell whether it took effect."},
		{"cancelling without link", `{"id":1,"state":"pending","state_detail":"cancelling","instructions":[{"amount":1,"currency":"EUR"}]}`, "gave no link"},
		{"html 200", `<html>oops</html>`, "Powens answered with a web page instead of JSON."},
		{"404 html", ``, "Powens answered with an error page (HTTP 404)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/auth/token" {
					writeJSON(w, 200, tokenAnswer{Token: "t"})
					return
				}
				if tt.answer == "" {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(404)
					w.Write([]byte("<h1>Not Found</h1>"))
					return
				}
				w.Write([]byte(tt.answer))
			}))
			defer srv.Close()
			c, _ := New(Config{BaseURL: srv.URL, ClientID: "a", ClientSecret: "b"}, nil)
			out := c.Cancel(t.Context(), providers.Ref{PaymentID: "1"}, providers.CancelRequest{})
			want := providers.Unknown
			if tt.name == "cancelling without link" {
				want = providers.NeedsPayer
			}
			if out.Kind != want || !strings.Contains(out.Message, tt.message) {
				t.Errorf("got %s %q, want %s containing %q", out.Kind, out.Message, want, tt.message)
			}
		})
	}
}

func TestList(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		for i := 1; i <= 25; i++ {
			p := testPayment(itoa(1000+i), "done", "", "first_open_day")
			p.RegisterDate = time.Date(2024, 3, i, 10, 0, 0, 0, time.UTC).Format("2006-01-02 15:04:05")
			e.load(t, p)
		}
		all, err := e.client.List(t.Context(), ListOptions{Limit: 10})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(all) != 25 || all[0].PaymentID != "1001" || all[24].PaymentID != "1025" || e.sim.Calls(RouteListPayments) != 3 {
			t.Fatalf("got %d payments (%s…), %d pages", len(all), all[0].PaymentID, e.sim.Calls(RouteListPayments))
		}
		if all[3].Amount != 5090 || all[3].Captured != 5090 || len(all[3].Raw) == 0 {
			t.Errorf("list item: got %+v", all[3])
		}
		got, err := e.client.List(t.Context(), ListOptions{Limit: 5, Reverse: true, MinDate: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), MaxDate: time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if ids := idsOf(got); ids != "1012,1011,1010" {
			t.Errorf("filtered, reversed: got %s", ids)
		}
		if _, err := e.client.List(t.Context(), ListOptions{Filter: "bogus"}); err == nil {
			t.Error("bad filter: no error")
		}
		e.sim.FailNextOn(RouteListPayments, 1, simfault.Malformed)
		if _, err := e.client.List(t.Context(), ListOptions{}); err == nil || !providerError(t, err).Unknown {
			t.Errorf("malformed list: got %v", err)
		}
	})
}

func TestListTolerance(t *testing.T) {
	item := `{"id":%d,"state":"done","instructions":[{"amount":1,"currency":"EUR"}]}`
	tests := []struct {
		name    string
		pages   map[string]string
		wantIDs string
		wantErr string
	}{
		{"bare array", map[string]string{"": "[" + sprintf(item, 1) + "," + sprintf(item, 2) + "]"}, "1,2", ""},
		{"relative next", map[string]string{"": `{"payments":[` + sprintf(item, 1) + `],"_links":{"next":{"href":"payments?offset=1"}}}`, "offset=1": `{"payments":[` + sprintf(item, 2) + `]}`}, "1,2", ""},
		{"next elsewhere", map[string]string{"": `{"payments":[],"_links":{"next":{"href":"https://evil.example/payments"}}}`}, "", "next-page link"},
		{"no payments key", map[string]string{"": `{"items":[]}`}, "", "payment list"},
		{"bad item", map[string]string{"": `[{"id":1}]`}, "", "in a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/auth/token" {
					writeJSON(w, 200, tokenAnswer{Token: "t"})
					return
				}
				if r.Header.Get("Authorization") != "Bearer t" {
					w.WriteHeader(401)
					return
				}
				w.Write([]byte(tt.pages[r.URL.RawQuery]))
			}))
			defer srv.Close()
			c, _ := New(Config{BaseURL: srv.URL, ClientID: "a", ClientSecret: "b"}, nil)
			got, err := c.List(t.Context(), ListOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(providers.SafeMessage(err), tt.wantErr) {
					t.Errorf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || idsOf(got) != tt.wantIDs {
				t.Errorf("got %s, %v; want %s", idsOf(got), err, tt.wantIDs)
			}
		})
	}
}

func idsOf(ss []providers.Snapshot) string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.PaymentID)
	}
	return strings.Join(ids, ",")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func sprintf(format string, n int) string { return strings.Replace(format, "%d", itoa(n), 1) }

// Concurrent calls share one token and one payment is cancelled exactly once.
func TestConcurrentCancels(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.load(t, testPayment("120", "pending", "", "first_open_day"))
		e.sim.SetCancelScenario("120", CancelDone)
		var wg sync.WaitGroup
		outs := make([]providers.Outcome, 8)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = e.client.Cancel(t.Context(), providers.Ref{PaymentID: "120"}, providers.CancelRequest{})
			}()
		}
		wg.Wait()
		count := map[providers.OutcomeKind]int{}
		for _, o := range outs {
			count[o.Kind]++
		}
		if count[providers.Done] != 1 || count[providers.Refused] != 7 {
			t.Errorf("outcomes: got %v, want 1 done and 7 refused", count)
		}
		if got := e.sim.Calls(RouteToken); got != 1 {
			t.Errorf("token requests: got %d, want 1", got)
		}
		if got := len(e.changes.all()); got != 1 {
			t.Errorf("state changes: got %d, want 1", got)
		}
	})
}
