package powens

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

func TestSimulatorToken(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"good", `{"grant_type":"client_credentials","client_id":"client-123","client_secret":"s3cret-xyz","scope":"payments:admin"}`, 200, ""},
		{"wrong secret", `{"grant_type":"client_credentials","client_id":"client-123","client_secret":"nope","scope":"payments:admin"}`, 401, "invalidClient"},
		{"wrong client", `{"grant_type":"client_credentials","client_id":"other","client_secret":"s3cret-xyz","scope":"payments:admin"}`, 401, "invalidClient"},
		{"no credentials", `{"grant_type":"client_credentials","scope":"payments:admin"}`, 401, "invalidClient"},
		{"grant type", `{"grant_type":"password","client_id":"client-123","client_secret":"s3cret-xyz","scope":"payments:admin"}`, 400, "unsupportedGrantType"},
		{"scope", `{"grant_type":"client_credentials","client_id":"client-123","client_secret":"s3cret-xyz","scope":"payments:validate"}`, 400, "invalidScope"},
		{"seed trailing comma", string(readFile(t, "seed_token_request.txt")), 400, "badRequest"},
		{"not an object", `["client_credentials"]`, 400, "badRequest"},
		{"empty", ``, 400, "badRequest"},
	}
	e := newEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do(t, "POST", "/auth/token", tt.body, map[string]string{"Content-Type": "application/json"})
			if status != tt.status {
				t.Fatalf("status: got %d, want %d (%s)", status, tt.status, body)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Errorf("code: got %q, want %q", got, tt.code)
				}
				return
			}
			var ans tokenAnswer
			if err := json.Unmarshal(body, &ans); err != nil || ans.Token == "" || ans.Scope != "payments:admin" {
				t.Errorf("answer: got %s", body)
			}
		})
	}
}

// Every admin endpoint requires a valid payments:admin service token of this client.
func TestSimulatorAuth(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("7", "pending", "", "first_open_day"))
	admin := e.adminToken(t)

	// A token of another client (another simulator, other secret) and a payer's token.
	otherSim := NewSimulator(SimConfig{ClientID: testClientID, ClientSecret: "another-secret"})
	otherToken := otherSim.sign(tokenClaims{Client: testClientID, Scope: adminScope, Expires: testNow.Add(time.Hour).Unix()})
	scoped := e.sim.sign(tokenClaims{Client: testClientID, Scope: validateScope, Payment: "7", Expires: testNow.Add(time.Hour).Unix()})
	expired := e.sim.sign(tokenClaims{Client: testClientID, Scope: adminScope, Expires: testNow.Add(-time.Second).Unix()})
	foreignClient := e.sim.sign(tokenClaims{Client: "someone-else", Scope: adminScope, Expires: testNow.Add(time.Hour).Unix()})

	endpoints := []struct{ method, path, body string }{
		{"GET", "/payments/7", ""},
		{"POST", "/payments/7", `{"cancel":true}`},
		{"POST", "/payments/7/scopedtoken", `{"scope":["payments:validate"]}`},
		{"GET", "/payments", ""},
	}
	auths := []struct {
		name, header string
		status       int
		code         string
	}{
		{"missing", "", 401, "invalidToken"},
		{"basic", "Basic " + admin, 401, "invalidToken"},
		{"bearer empty", "Bearer ", 401, "invalidToken"},
		{"garbage", "Bearer abc.def", 401, "invalidToken"},
		{"other client's secret", "Bearer " + otherToken, 401, "invalidToken"},
		{"other client id", "Bearer " + foreignClient, 401, "invalidToken"},
		{"expired", "Bearer " + expired, 401, "invalidToken"},
		{"scoped token", "Bearer " + scoped, 403, "insufficientScope"},
	}
	for _, ep := range endpoints {
		for _, a := range auths {
			t.Run(ep.method+" "+ep.path+"/"+a.name, func(t *testing.T) {
				h := map[string]string{}
				if a.header != "" {
					h["Authorization"] = a.header
				}
				status, hdr, body := e.do(t, ep.method, ep.path, ep.body, h)
				if status != a.status || errorCode(t, body) != a.code {
					t.Errorf("got %d %s, want %d %s", status, body, a.status, a.code)
				}
				if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: %v", hdr)
				}
			})
		}
	}
	if got := e.snap(t, "7").RawStatus; got != "pending" {
		t.Errorf("a refused call changed the payment: %s", got)
	}
	status, _, _ := e.do(t, "GET", "/payments/7", "", map[string]string{"Authorization": "Bearer " + admin})
	if status != 200 {
		t.Errorf("valid token: got %d", status)
	}
	e.sim.RevokeTokens()
	status, _, _ = e.do(t, "GET", "/payments/7", "", map[string]string{"Authorization": "Bearer " + admin})
	if status != 401 {
		t.Errorf("revoked token: got %d", status)
	}
}

func TestSimulatorRequests(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("7", "pending", "", "first_open_day"))
	e.sim.SetDefaultCancelScenario(CancelDone)
	auth := map[string]string{"Authorization": "Bearer " + e.adminToken(t)}
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"cancel malformed", "POST", "/payments/7", `{"cancel":tru`, 400, "badRequest"},
		{"cancel not object", "POST", "/payments/7", `true`, 400, "badRequest"},
		{"cancel false", "POST", "/payments/7", `{"cancel":false}`, 400, "badRequest"},
		{"cancel missing", "POST", "/payments/7", `{"client_state":"x"}`, 400, "badRequest"},
		{"cancel wrong type", "POST", "/payments/7", `{"cancel":"yes"}`, 400, "badRequest"},
		{"cancel bad redirect", "POST", "/payments/7", `{"cancel":true,"client_redirect_uri":"javascript:alert(1)"}`, 400, "badRequest"},
		{"cancel unknown", "POST", "/payments/8", `{"cancel":true}`, 404, "notFound"},
		{"get unknown", "GET", "/payments/8", ``, 404, "notFound"},
		{"scoped unknown", "POST", "/payments/8/scopedtoken", `{"scope":["payments:validate"]}`, 404, "notFound"},
		{"scoped malformed", "POST", "/payments/7/scopedtoken", `{"scope":`, 400, "badRequest"},
		{"scoped wrong scope", "POST", "/payments/7/scopedtoken", `{"scope":["payments:admin"]}`, 400, "invalidScope"},
		{"scoped string scope", "POST", "/payments/7/scopedtoken", `{"scope":"payments:validate"}`, 400, "badRequest"},
		{"list limit 0", "GET", "/payments?limit=0", ``, 400, "badRequest"},
		{"list limit text", "GET", "/payments?limit=ten", ``, 400, "badRequest"},
		{"list limit big", "GET", "/payments?limit=1001", ``, 400, "badRequest"},
		{"list offset", "GET", "/payments?offset=-1", ``, 400, "badRequest"},
		{"list reverse", "GET", "/payments?reverse=maybe", ``, 400, "badRequest"},
		{"list filter", "GET", "/payments?filter=amount", ``, 400, "badRequest"},
		{"list min_date", "GET", "/payments?min_date=01/02/2024", ``, 400, "badRequest"},
		{"unknown endpoint", "GET", "/payouts", ``, 404, "notFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do(t, tt.method, tt.path, tt.body, auth)
			if status != tt.status || errorCode(t, body) != tt.code {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	if s := e.snap(t, "7"); s.RawStatus != "pending" || len(e.changes.all()) != 0 {
		t.Errorf("refused requests changed the payment: %s, %d changes", s.RawStatus, len(e.changes.all()))
	}
	// The scoped token answer has the documented shape.
	status, _, body := e.do(t, "POST", "/payments/7/scopedtoken", `{"scope":["payments:validate"]}`, auth)
	var raw map[string]any
	json.Unmarshal(body, &raw)
	if status != 200 || raw["scope"] != "payments:validate" || raw["expires_in"] != float64(604800) || raw["id_payment"] != float64(7) || raw["token"] == "" {
		t.Errorf("scoped token: got %d %s", status, body)
	}
}

func TestDefaultCancelScenario(t *testing.T) {
	tests := []struct {
		id   string
		want CancelScenario
	}{
		{"0", CancelDone}, {"1", CancelNeedsPayerWebview}, {"2", CancelNeedsPayerValidateURI}, {"3", CancelNotSupported},
		{"4", CancelDone}, {"480005", CancelNeedsPayerWebview}, {"18446744073709551615", CancelNotSupported},
	}
	for _, tt := range tests {
		if got := DefaultCancelScenario(tt.id); got != tt.want {
			t.Errorf("DefaultCancelScenario(%s): got %s, want %s", tt.id, got, tt.want)
		}
	}
	if a, b := DefaultCancelScenario("pay_abc"), DefaultCancelScenario("pay_abc"); a != b || a == CancelByID {
		t.Errorf("non-numeric id: got %s then %s", a, b)
	}

	// Per payment beats the default, which beats the rule.
	e := newEnv(t, nil)
	for _, id := range []string{"4", "5", "6"} {
		e.load(t, testPayment(id, "pending", "", "first_open_day"))
	}
	e.sim.SetDefaultCancelScenario(CancelNotSupported)
	e.sim.SetCancelScenario("5", CancelDone)
	e.sim.SetCancelScenario("6", CancelDone)
	e.sim.SetCancelScenario("6", CancelByID) // back to the default
	kinds := map[string]providers.OutcomeKind{}
	for _, id := range []string{"4", "5", "6"} {
		kinds[id] = e.client.Cancel(t.Context(), providers.Ref{PaymentID: id}, providers.CancelRequest{}).Kind
	}
	if kinds["4"] != providers.NotSupported || kinds["5"] != providers.Done || kinds["6"] != providers.NotSupported {
		t.Errorf("got %v", kinds)
	}
	e.sim.SetDefaultCancelScenario(CancelByID)
	e.load(t, testPayment("8", "pending", "", "first_open_day"))
	if got := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "8"}, providers.CancelRequest{}).Kind; got != providers.Done {
		t.Errorf("rule for 8: got %s, want done", got)
	}
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

// submit posts the page's first form with the given decision, as a browser would.
func submit(t *testing.T, e *env, pageURL string, page []byte, decision string) (int, http.Header, []byte) {
	t.Helper()
	m := actionRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form in %s", page)
	}
	base, _ := url.Parse(pageURL)
	action, _ := url.Parse(string(unescapeHTML(m[1])))
	target := base.ResolveReference(action)
	form := url.Values{}
	// The two forms carry the same hidden fields: take the first set.
	seen := map[string]bool{}
	for _, h := range hiddenRE.FindAllSubmatch(page, -1) {
		name := string(h[1])
		if seen[name] {
			break
		}
		seen[name] = true
		form.Set(name, string(unescapeHTML(h[2])))
	}
	form.Set("decision", decision)
	return e.do(t, "POST", strings.TrimPrefix(target.String(), e.srv.URL), form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func unescapeHTML(b []byte) []byte {
	r := strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#61;", "=")
	return []byte(r.Replace(string(b)))
}

func TestWebviewConfirm(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("200", "pending", "", "first_open_day"))
	e.sim.SetCancelScenario("200", CancelNeedsPayerWebview)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "200"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Link == nil {
		t.Fatalf("no link: %+v", out)
	}
	path := strings.TrimPrefix(out.Link.URL, e.srv.URL)
	status, hdr, page := e.do(t, "GET", path, "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("page: got %d %s", status, hdr.Get("Content-Type"))
	}
	for _, want := range []string{
		"Confirm the cancellation of payment 200?", `data-testid="confirm-cancellation"`, `data-testid="abandon-cancellation"`,
		"50.90 EUR to ACME Corp.", `data-testid="powens-webview"`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "<script") {
		t.Error("page has a script")
	}
	if before := len(e.changes.all()); before != 1 {
		t.Fatalf("changes before confirming: %d", before)
	}

	status, hdr, _ = submit(t, e, out.Link.URL, page, "confirm")
	if status != http.StatusSeeOther {
		t.Fatalf("confirm: got %d", status)
	}
	loc, _ := url.Parse(hdr.Get("Location"))
	q := loc.Query()
	if loc.Host != "paydesk.example" || loc.Path != "/payer/return" || q.Get("from") != "powens" || q.Get("state") != testState ||
		q.Get("id_payment") != "200" || q.Get("error_code") != "cancelledByUser" || q.Get("payment_state") != "rejected" || q.Has("error") {
		t.Errorf("redirect: got %s", loc)
	}
	s := e.snap(t, "200")
	if s.RawStatus != "rejected" || s.ErrorCode != "cancelledByUser" || s.StateDetail != "" || providers.Normalise(s) != providers.StatusCancelled {
		t.Errorf("after confirm: %s/%s/%s", s.RawStatus, s.StateDetail, s.ErrorCode)
	}
	changes := e.changes.all()
	if len(changes) != 2 {
		t.Fatalf("OnChange calls: got %d, want 2", len(changes))
	}
	if last, _ := ParseEnvelope(changes[1]); last.RawStatus != "rejected" {
		t.Errorf("OnChange envelope: got %s", changes[1])
	}
	// The link is spent: the page now says there is nothing to confirm, with a way back.
	status, _, page = e.do(t, "GET", path, "", nil)
	if status != http.StatusConflict || !strings.Contains(string(page), "There is no cancellation to confirm for payment 200.") ||
		!strings.Contains(string(page), `data-testid="return-to-merchant"`) || strings.Contains(string(page), "confirm-cancellation") {
		t.Errorf("spent link: got %d %s", status, page)
	}
	status, _, _ = submit(t, e, out.Link.URL, []byte(`<form method="post" action="./payment">`+hiddenInputs(out.Link.URL)), "confirm")
	if status != http.StatusConflict || len(e.changes.all()) != 2 {
		t.Errorf("second confirm: got %d, %d changes", status, len(e.changes.all()))
	}
}

// hiddenInputs renders a link's query as the hidden inputs of a form.
func hiddenInputs(link string) string {
	u, _ := url.Parse(link)
	var b strings.Builder
	for k, v := range u.Query() {
		b.WriteString(`<input type="hidden" name="` + k + `" value="` + v[0] + `">`)
	}
	return b.String()
}

func TestWebviewAbandon(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Lang = "fr" })
	e.load(t, testPayment("201", "pending", "", "deferred"))
	e.sim.SetCancelScenario("201", CancelNeedsPayerWebview)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "201"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Link == nil || !strings.Contains(out.Link.URL, "/auth/webview/fr/payment?") {
		t.Fatalf("link: %+v", out.Link)
	}
	_, _, page := e.do(t, "GET", strings.TrimPrefix(out.Link.URL, e.srv.URL), "", nil)
	status, hdr, _ := submit(t, e, out.Link.URL, page, "abandon")
	loc, _ := url.Parse(hdr.Get("Location"))
	if status != http.StatusSeeOther || loc.Query().Get("error") != "cancelled" || loc.Query().Get("state") != testState || loc.Query().Get("id_payment") != "201" || loc.Query().Has("error_code") {
		t.Errorf("abandon: got %d %s", status, loc)
	}
	if s := e.snap(t, "201"); s.RawStatus != "pending" || s.StateDetail != "cancelling_webauth" {
		t.Errorf("after abandon: %s/%s", s.RawStatus, s.StateDetail)
	}
	// Still waiting: a new link works, the old one too.
	link, err := e.client.PayerLink(t.Context(), providers.Ref{PaymentID: "201"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{out.Link.URL, link.URL} {
		if status, _, _ := e.do(t, "GET", strings.TrimPrefix(l, e.srv.URL), "", nil); status != 200 {
			t.Errorf("link %s: got %d", l, status)
		}
	}
	status, _, _ = submit(t, e, out.Link.URL, page, "maybe")
	if status != http.StatusBadRequest {
		t.Errorf("unknown decision: got %d", status)
	}
}

// The webview refuses links that are not valid for the payment.
func TestWebviewRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("300", "pending", "", "first_open_day"))
	e.load(t, testPayment("301", "pending", "cancelling_webauth", "first_open_day"))
	e.sim.SetCancelScenario("300", CancelNeedsPayerWebview)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "300"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Link == nil {
		t.Fatal("no link")
	}
	good, _ := url.Parse(out.Link.URL)
	expired := NewSimulator(SimConfig{ClientID: testClientID, ClientSecret: testClientSecret, Now: func() time.Time { return testNow.Add(-8 * 24 * time.Hour) }})
	tests := []struct {
		name   string
		mod    func(url.Values)
		status int
		text   string
	}{
		{"wrong client", func(q url.Values) { q.Set("client_id", "other") }, 400, "Unknown client_id."},
		{"no redirect", func(q url.Values) { q.Del("redirect_uri") }, 400, "redirect_uri must be an absolute http(s) URL."},
		{"relative redirect", func(q url.Values) { q.Set("redirect_uri", "/back") }, 400, "redirect_uri must be an absolute http(s) URL."},
		{"bad code", func(q url.Values) { q.Set("code", "forged") }, 403, "This link is invalid or has expired."},
		{"admin token as code", func(q url.Values) { q.Set("code", e.adminToken(t)) }, 403, "This link is invalid or has expired."},
		{"code of another payment", func(q url.Values) { q.Set("payment_id", "301") }, 403, "This link is invalid or has expired."},
		{"expired code", func(q url.Values) {
			q.Set("code", expired.sign(tokenClaims{Client: testClientID, Scope: validateScope, Payment: "300", Expires: testNow.Add(-time.Hour).Unix()}))
		}, 403, "This link is invalid or has expired."},
		{"unknown payment", func(q url.Values) {
			q.Set("payment_id", "999")
			q.Set("code", e.sim.sign(tokenClaims{Client: testClientID, Scope: validateScope, Payment: "999", Expires: testNow.Add(time.Hour).Unix()}))
		}, 404, "Payment not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := good.Query()
			tt.mod(q)
			for _, method := range []string{"GET", "POST"} {
				path, body := good.Path+"?"+q.Encode(), ""
				h := map[string]string{}
				if method == "POST" {
					q.Set("decision", "confirm")
					path, body = good.Path, q.Encode()
					h["Content-Type"] = "application/x-www-form-urlencoded"
				}
				status, _, page := e.do(t, method, path, body, h)
				if status != tt.status || !strings.Contains(string(page), tt.text) {
					t.Errorf("%s: got %d %s, want %d %q", method, status, page, tt.status, tt.text)
				}
			}
		})
	}
	if s := e.snap(t, "300"); s.RawStatus != "pending" || s.StateDetail != "cancelling_webauth" {
		t.Errorf("a refused page changed the payment: %s/%s", s.RawStatus, s.StateDetail)
	}
}

func TestBankPage(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("400", "pending", "", "first_open_day"))
	e.load(t, testPayment("401", "pending", "", "first_open_day"))
	e.sim.SetDefaultCancelScenario(CancelNeedsPayerValidateURI)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "400"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Link == nil || out.Link.URL != e.srv.URL+"/bank/validate/400" {
		t.Fatalf("link: %+v", out.Link)
	}
	status, _, page := e.do(t, "GET", "/bank/validate/400", "", nil)
	if status != 200 || !strings.Contains(string(page), "Confirm the cancellation of payment 400?") || !strings.Contains(string(page), `data-testid="bank-validate"`) {
		t.Fatalf("bank page: got %d %s", status, page)
	}
	status, hdr, _ := submit(t, e, out.Link.URL, page, "confirm")
	loc, _ := url.Parse(hdr.Get("Location"))
	q := loc.Query()
	if status != 303 || loc.Path != "/payer/return" || q.Get("state") != testState || q.Get("id_payment") != "400" || q.Get("payment_state") != "rejected" || q.Get("error_code") != "cancelledByUser" {
		t.Errorf("confirm: got %d %s", status, loc)
	}
	if s := e.snap(t, "400"); s.RawStatus != "rejected" || s.ErrorCode != "cancelledByUser" || s.ValidateURI != "" {
		t.Errorf("after confirm: %+v", s)
	}

	out = e.client.Cancel(t.Context(), providers.Ref{PaymentID: "401"}, providers.CancelRequest{ReturnURL: testReturnURL, State: "s2"})
	_, _, page = e.do(t, "GET", "/bank/validate/401", "", nil)
	status, hdr, _ = submit(t, e, out.Link.URL, page, "abandon")
	loc, _ = url.Parse(hdr.Get("Location"))
	if status != 303 || loc.Query().Get("error") != "cancelled" || loc.Query().Get("state") != "s2" || loc.Query().Get("payment_state") != "pending" {
		t.Errorf("abandon: got %d %s", status, loc)
	}
	if s := e.snap(t, "401"); s.RawStatus != "pending" || s.StateDetail != "cancelling" {
		t.Errorf("after abandon: %s/%s", s.RawStatus, s.StateDetail)
	}

	// A payment loaded in that state without a redirect (the demo) ends on a page.
	e.load(t, testPayment("402", "pending", "cancelling", "first_open_day"))
	_, _, page = e.do(t, "GET", "/bank/validate/402", "", nil)
	status, _, body := submit(t, e, e.srv.URL+"/bank/validate/402", page, "confirm")
	if status != 200 || !strings.Contains(string(body), "The cancellation is confirmed.") || e.snap(t, "402").RawStatus != "rejected" {
		t.Errorf("no redirect: got %d %s", status, body)
	}
	if status, _, _ := e.do(t, "GET", "/bank/validate/999", "", nil); status != 404 {
		t.Errorf("unknown payment: got %d", status)
	}
	if status, _, body := e.do(t, "GET", "/bank/validate/400", "", nil); status != 409 || strings.Contains(string(body), "confirm-cancellation") {
		t.Errorf("already cancelled: got %d", status)
	}
}

// Mounted under a prefix with http.StripPrefix, as the app will do.
func TestSimulatorMounted(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	public := srv.URL + "/sim/powens"
	sim := NewSimulator(SimConfig{ClientID: testClientID, ClientSecret: testClientSecret, PublicURL: public + "/"})
	mux.Handle("/sim/powens/", http.StripPrefix("/sim/powens", sim))
	demo := Demo{}
	envl, err := demo.Envelope(providers.DemoSpec{Seq: 5, Name: "Ana Lima", Email: "ana@example.com", Amount: 1234, Currency: "EUR", CreatedAt: testNow, Variant: 5, Reference: "R-5"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Load(envl); err != nil {
		t.Fatal(err)
	}
	c, _ := New(Config{BaseURL: public, ClientID: testClientID, ClientSecret: testClientSecret}, srv.Client())
	id := DemoPaymentID(5)
	s, err := c.Fetch(t.Context(), providers.Ref{PaymentID: id})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	// The demo's relative validate_uri was resolved against the public URL.
	if want := public + "/bank/validate/" + id; s.ValidateURI != want {
		t.Errorf("validate_uri: got %q, want %q", s.ValidateURI, want)
	}
	resp, err := srv.Client().Get(s.ValidateURI)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("bank page: got %d", resp.StatusCode)
	}
	// A webview link works through the prefix too.
	sim.SetState(id, "pending", "cancelling_webauth", "")
	link, err := c.PayerLink(t.Context(), providers.Ref{PaymentID: id}, providers.CancelRequest{ReturnURL: testReturnURL, State: "x"})
	if err != nil || !strings.HasPrefix(link.URL, public+"/auth/webview/payment?") {
		t.Fatalf("link: %+v, %v", link, err)
	}
	resp, err = srv.Client().Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("webview page: got %d", resp.StatusCode)
	}
	all, err := c.List(t.Context(), ListOptions{})
	if err != nil || len(all) != 1 {
		t.Errorf("List: %d, %v", len(all), err)
	}
}

// A restarted simulator rebuilt from envelopes behaves as before, payer links included.
func TestSimulatorRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("500", "pending", "", "first_open_day"))
	e.sim.SetCancelScenario("500", CancelNeedsPayerWebview)
	out := e.client.Cancel(t.Context(), providers.Ref{PaymentID: "500"}, providers.CancelRequest{ReturnURL: testReturnURL, State: testState})
	if out.Link == nil || out.Snapshot == nil {
		t.Fatalf("cancel: %+v", out)
	}
	// Paydesk stored out.Snapshot.Raw; the process restarts.
	restarted := NewSimulator(SimConfig{ClientID: testClientID, ClientSecret: testClientSecret, PublicURL: e.srv.URL, Now: func() time.Time { return testNow }})
	if err := restarted.Load(out.Snapshot.Raw); err != nil {
		t.Fatalf("Load: %v", err)
	}
	srv := httptest.NewServer(restarted)
	defer srv.Close()
	u, _ := url.Parse(out.Link.URL)
	resp, err := srv.Client().Get(srv.URL + u.Path + "?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("old link after restart: got %d", resp.StatusCode)
	}
	// The client's cached token is still accepted (same secret); the payment is unchanged.
	c, _ := New(Config{BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret}, nil)
	s, err := c.Fetch(t.Context(), providers.Ref{PaymentID: "500"})
	if err != nil || s.StateDetail != "cancelling_webauth" || s.RawStatus != "pending" {
		t.Errorf("after restart: %+v, %v", s, err)
	}
}

func TestSimulatorLoad(t *testing.T) {
	sim := NewSimulator(SimConfig{ClientID: "a", ClientSecret: "b"})
	bad := []string{
		`{"provider":"bpc","payment":{"id":1}}`,
		`{"provider":"powens","payment":{"id":1,"state":"done","instructions":[{"amount":"x","currency":"EUR"}]}}`,
		`not json`,
	}
	for _, b := range bad {
		if err := sim.Load([]byte(b)); err == nil {
			t.Errorf("Load(%s): no error", b)
		}
	}
	if ids := sim.IDs(); len(ids) != 0 {
		t.Errorf("bad loads added %v", ids)
	}
	for _, f := range []string{"envelope_seed_payment.json", "envelope_gbp_two_instructions.json", "envelope_cancelling_validate_uri.json"} {
		if err := sim.Load(readFile(t, f)); err != nil {
			t.Errorf("Load(%s): %v", f, err)
		}
	}
	if got := strings.Join(sim.IDs(), ","); got != "77,4242,9001" {
		t.Errorf("IDs: got %s", got)
	}
	// Load replaces.
	sim.Load([]byte(`{"provider":"powens","payment":{"id":77,"state":"done","instructions":[{"amount":1,"currency":"EUR"}]}}`))
	if s, _ := sim.Snapshot("77"); s.RawStatus != "done" || s.Amount != 100 {
		t.Errorf("replaced: got %+v", s)
	}
	if _, err := sim.Snapshot("1"); err == nil {
		t.Error("Snapshot of an unknown id: no error")
	}
	if err := sim.SetState("1", "done", "", ""); err == nil {
		t.Error("SetState of an unknown id: no error")
	}
	if err := sim.SetState("77", "", "", ""); err == nil {
		t.Error("SetState without state: no error")
	}
}

func TestSetStateNotifies(t *testing.T) {
	e := newEnv(t, nil)
	e.load(t, testPayment("600", "pending", "", "first_open_day"))
	if n := len(e.changes.all()); n != 0 {
		t.Fatalf("Load notified %d times", n)
	}
	if err := e.sim.SetState("600", "done", "", ""); err != nil {
		t.Fatal(err)
	}
	ch := e.changes.all()
	if len(ch) != 1 {
		t.Fatalf("changes: %d", len(ch))
	}
	s, err := ParseEnvelope(ch[0])
	if err != nil || s.RawStatus != "done" || s.Captured != 5090 {
		t.Errorf("notified %+v, %v", s, err)
	}
}
