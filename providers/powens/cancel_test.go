package powens

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/simfault"
)

// One state belongs to the whole cancellation: the cancel request carries it, and every
// link of the cancellation — the first and each fresh one — carries the same state and
// redirect_uri, each with a new scoped token. A payer coming back through any of the
// links comes back with that state.
func TestCancellationStateOnEveryLink(t *testing.T) {
	eachShape(t, func(t *testing.T, sh simShape) {
		e := newShapedEnv(t, sh, nil)
		e.load(t, testPayment("300", "pending", "", "first_open_day"))
		e.sim.SetCancelScenario("300", CancelNeedsPayerWebview)
		req := providers.CancelRequest{ReturnURL: testReturnURL, State: "the-cancellation's-state"}
		out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "300"}, req)
		if out.Kind != providers.NeedsPayer || out.Link == nil {
			t.Fatalf("got %s %+v (%s)", out.Kind, out.Link, out.Detail)
		}
		var stored payment
		if err := json.Unmarshal(envelopePayment(t, e, "300"), &stored); err != nil {
			t.Fatal(err)
		}
		if stored.ClientState != req.State || stored.ClientRedirectURI != req.ReturnURL {
			t.Fatalf("the cancel request carried %q %q", stored.ClientRedirectURI, stored.ClientState)
		}
		links := []string{out.Link.URL}
		for range 2 {
			l, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "300"}, req)
			if err != nil {
				t.Fatalf("PayerLink: %v", err)
			}
			links = append(links, l.URL)
		}
		codes := map[string]bool{}
		for i, l := range links {
			q := mustQuery(t, l)
			if q.Get("state") != stored.ClientState || q.Get("redirect_uri") != stored.ClientRedirectURI {
				t.Errorf("link %d: state %q redirect_uri %q, want the cancel request's", i+1, q.Get("state"), q.Get("redirect_uri"))
			}
			codes[q.Get("code")] = true
		}
		if len(codes) != 3 || e.sim.Calls(RouteScopedToken) != 3 {
			t.Errorf("scoped tokens: %d distinct codes, %d calls; want a new one per link", len(codes), e.sim.Calls(RouteScopedToken))
		}
		if e.sim.Calls(RouteCancelPayment) != 1 {
			t.Errorf("cancel calls: got %d, want 1", e.sim.Calls(RouteCancelPayment))
		}
		// The payer confirms on the last link and comes back with the cancellation's state.
		path := strings.TrimPrefix(links[2], e.srv.URL)
		_, _, page := e.do(t, "GET", path, "", nil)
		status, hdr, _ := submit(t, e, links[2], page, "confirm")
		if status != http.StatusSeeOther {
			t.Fatalf("confirm: got %d", status)
		}
		if back := mustQuery(t, hdr.Get("Location")); back.Get("state") != req.State || back.Get("id_payment") != "300" {
			t.Errorf("payer sent back with %v", back)
		}
	})
}

// As the guide's callback section says, the documented simulator sends the payer back to
// the redirect URL and state configured on the payment, whatever the link said.
func TestDocumentedWebviewReturnsThePaymentsState(t *testing.T) {
	e := newShapedEnv(t, simShapes[1], nil)
	e.load(t, testPayment("301", "pending", "", "first_open_day"))
	e.sim.SetCancelScenario("301", CancelNeedsPayerWebview)
	req := providers.CancelRequest{ReturnURL: testReturnURL, State: "cancellation-state"}
	if out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "301"}, req); out.Kind != providers.NeedsPayer {
		t.Fatalf("got %s", out.Kind)
	}
	other := providers.CancelRequest{ReturnURL: "https://elsewhere.example/back", State: "another-state"}
	link, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "301"}, other)
	if err != nil {
		t.Fatal(err)
	}
	_, _, page := e.do(t, "GET", strings.TrimPrefix(link.URL, e.srv.URL), "", nil)
	_, hdr, _ := submit(t, e, link.URL, page, "abandon")
	loc, _ := url.Parse(hdr.Get("Location"))
	if loc.Host != "paydesk.example" || loc.Query().Get("state") != req.State || loc.Query().Get("error") != "cancelled" {
		t.Errorf("payer sent back to %s, want the payment's redirect and state", loc)
	}
	// The full simulator keeps sending the payer to the link's own redirect_uri and state.
	f := newEnv(t, nil)
	f.load(t, testPayment("302", "pending", "", "first_open_day"))
	f.sim.SetCancelScenario("302", CancelNeedsPayerWebview)
	f.client.Cancel(t.Context(), providers.Ref{PaymentID: "302"}, req)
	link, _ = f.client.PayerLink(t.Context(), providers.Ref{PaymentID: "302"}, other)
	_, _, page = f.do(t, "GET", strings.TrimPrefix(link.URL, f.srv.URL), "", nil)
	_, hdr, _ = submit(t, f, link.URL, page, "abandon")
	if loc, _ := url.Parse(hdr.Get("Location")); loc.Host != "elsewhere.example" || loc.Query().Get("state") != other.State {
		t.Errorf("full simulator: payer sent back to %s", loc)
	}
}

// The bank's variant answered as the guide shows the others (no validate_uri in the
// answer): the link comes from the payment read back; if that read fails, the
// cancellation still waits for the payer and the message says the link is missing.
func TestCancelValidateURIFromTheReadBack(t *testing.T) {
	e := newShapedEnv(t, simShapes[1], nil)
	e.load(t, testPayment("310", "created", "", "first_open_day"))
	e.sim.SetCancelScenario("310", CancelNeedsPayerValidateURI)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "310"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if strings.Contains(string(out.Raw), "validate_uri") {
		t.Fatalf("the documented answer carries validate_uri: %s", out.Raw)
	}
	checkLink(t, e, out.Link, "validate_uri", "310")

	e.load(t, testPayment("311", "created", "", "first_open_day"))
	e.sim.SetCancelScenario("311", CancelNeedsPayerValidateURI)
	e.sim.FailNextOn(RouteGetPayment, 1, simfault.Internal)
	out = e.client.Cancel(t.Context(), providers.Ref{PaymentID: "311"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Kind != providers.NeedsPayer || out.Snapshot != nil || out.Link != nil || !strings.Contains(out.Message, "gave no link") {
		t.Errorf("read back fails: got %s %q snapshot %v link %v", out.Kind, out.Message, out.Snapshot != nil, out.Link)
	}
}

// notSupported is read from the body whatever the status; a 429 is a refusal (nothing was
// done) with or without Powens' body; other odd answers stay unknown.
func TestCancelAnswerStatuses(t *testing.T) {
	const notSupported = `{"code":"notSupported","description":"Bad request, please check your request parameters."}`
	tests := []struct {
		name        string
		status      int
		ctype, body string
		retryAfter  string
		kind        providers.OutcomeKind
		message     string
	}{
		{"notSupported 200", 200, "application/json", notSupported, "", providers.NotSupported, "Bad request, please check your request parameters."},
		{"notSupported 202", 202, "application/json", notSupported, "", providers.NotSupported, "Bad request, please check your request parameters."},
		{"notSupported 400", 400, "application/json", notSupported, "", providers.NotSupported, "Bad request, please check your request parameters."},
		{"notSupported 403", 403, "application/json", notSupported, "", providers.NotSupported, "Bad request, please check your request parameters."},
		{"notSupported 501", 501, "application/json", notSupported, "", providers.NotSupported, "Bad request, please check your request parameters."},
		{"notSupported without words", 200, "application/json", `{"code":"notSupported"}`, "", providers.NotSupported, "Powens cannot cancel this payment at the payer's bank (notSupported)."},
		{"429 with the error body", 429, "application/json", `{"code":"tooManyRequests","description":"Slow down."}`, "3", providers.Refused, "Slow down."},
		{"429 without a body", 429, "", ``, "3", providers.Refused, "Powens is receiving too many requests; try again later."},
		{"429 page", 429, "text/html", `<html>rate limited</html>`, "", providers.Refused, "Powens is receiving too many requests; try again later."},
		{"another code at 200", 200, "application/json", `{"code":"invalidState","description":"No."}`, "", providers.Unknown, "could not read"},
		{"400 page", 400, "text/html", `<html>bad</html>`, "", providers.Unknown, "Powens answered with an error page (HTTP 400)."},
		{"500 with the error body", 500, "application/json", `{"code":"internalError","description":"Oops."}`, "", providers.Unknown, "Oops."},
		{"no state", 200, "application/json", `{"id":1}`, "", providers.Unknown, "could not read"},
		{"an array", 200, "application/json", `[{"id":1,"state":"rejected","error_code":"cancelledByUser"}]`, "", providers.Unknown, "could not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cancels, reads int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/auth/token":
					writeJSON(w, 200, tokenAnswer{Token: "t"})
					return
				case r.Method == http.MethodGet:
					reads++
					w.WriteHeader(500)
					return
				}
				cancels++
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := New(Config{BaseURL: srv.URL, ClientID: "a", ClientSecret: "b"}, nil)
			out := c.Cancel(t.Context(), providers.Ref{PaymentID: "1"}, providers.CancelRequest{})
			if out.Kind != tt.kind || !strings.Contains(out.Message, tt.message) {
				t.Errorf("got %s %q, want %s containing %q", out.Kind, out.Message, tt.kind, tt.message)
			}
			if tt.retryAfter != "" && !strings.Contains(out.Detail, "Retry-After "+tt.retryAfter) {
				t.Errorf("detail %q lacks Retry-After", out.Detail)
			}
			if cancels != 1 || reads != 0 {
				t.Errorf("cancel calls %d, reads %d; want 1 and 0", cancels, reads)
			}
		})
	}
}

// A read turned away with 429 is a refusal too, not an unknown outcome.
func TestFetch429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/token" {
			writeJSON(w, 200, tokenAnswer{Token: "t"})
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, _ := New(Config{BaseURL: srv.URL, ClientID: "a", ClientSecret: "b"}, nil)
	_, err := c.Fetch(t.Context(), providers.Ref{PaymentID: "1"})
	if pe := providerError(t, err); pe.Unknown || pe.Status != 429 || pe.Safe != "Powens is receiving too many requests; try again later." {
		t.Errorf("got %+v", pe)
	}
}

// mustQuery is the query of a URL.
func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
