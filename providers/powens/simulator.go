package powens

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/simfault"
	"paydesk/providers/simshape"
)

// SimConfig configures a Simulator.
type SimConfig struct {
	// ClientID and ClientSecret are the only credentials POST /auth/token accepts (the
	// same the client is configured with). With either empty, every token is refused.
	ClientID     string
	ClientSecret string
	// PublicURL is where the simulator is reachable (e.g. the httptest server's URL, or
	// Paydesk's base URL + the mount prefix). It builds the links it hands out: the bank's
	// validate_uri and the next-page links of GET /payments.
	PublicURL string
	// Now is the simulator's clock; nil means time.Now.
	Now func() time.Time
	// SlowDelay is how long simfault.Slow holds an answer; zero means 15s, longer than the
	// client's default timeout. Tests set it a little above their client's timeout.
	SlowDelay time.Duration
	// TokenTTL is the lifetime of a service token; zero means one hour.
	TokenTTL time.Duration
	// OnChange, when set, is called with the payment's import envelope after every change
	// of a payment's state (cancel, payer confirmation, SetState), outside the simulator's
	// lock and in the goroutine that made the change. It is the hook for webhooks later.
	OnChange func(envelope []byte)
	// Shapes is how much of a payment the answers carry: simshape.Full (the zero value) or
	// simshape.Documented, exactly the fields Powens' guides show (sim_shapes.go).
	Shapes simshape.Shape
	// ExtraFields adds fields Paydesk does not know to every object of every API answer,
	// as the guides' "…" allows.
	ExtraFields bool
	// NotSupportedStatus is the HTTP status of the notSupported answer to a cancellation,
	// which the guide does not give; zero means 400.
	NotSupportedStatus int
}

// CancelScenario is how the simulator answers a valid cancellation of one payment.
type CancelScenario int

// The cancel scenarios, the three documented answers plus the refusal.
const (
	// CancelByID applies the default rule, DefaultCancelScenario(id).
	CancelByID CancelScenario = iota
	// CancelDone cancels at once: rejected + cancelledByUser.
	CancelDone
	// CancelNeedsPayerWebview answers pending + cancelling_webauth: the payer must confirm
	// in Powens' webview (scoped token).
	CancelNeedsPayerWebview
	// CancelNeedsPayerValidateURI answers pending + cancelling with a validate_uri
	// pointing at the simulated bank page, PublicURL + "/bank/validate/{id}".
	CancelNeedsPayerValidateURI
	// CancelNotSupported answers 400 {"code":"notSupported",…}: the connector cannot.
	CancelNotSupported
)

// String names the scenario.
func (c CancelScenario) String() string {
	switch c {
	case CancelByID:
		return "by-id"
	case CancelDone:
		return "done"
	case CancelNeedsPayerWebview:
		return "needs-payer-webview"
	case CancelNeedsPayerValidateURI:
		return "needs-payer-validate-uri"
	case CancelNotSupported:
		return "not-supported"
	}
	return "CancelScenario(" + strconv.Itoa(int(c)) + ")"
}

// DefaultCancelScenario is the rule used for a payment with no scenario set: it depends on
// the payment id only, so it is the same after a restart. A numeric id n gives, by n mod 4:
// 0 CancelDone, 1 CancelNeedsPayerWebview, 2 CancelNeedsPayerValidateURI,
// 3 CancelNotSupported. Another id uses its FNV-1a hash instead of n.
func DefaultCancelScenario(id string) CancelScenario {
	var n uint64
	if v, err := strconv.ParseUint(id, 10, 64); err == nil {
		n = v
	} else {
		h := fnv.New32a()
		h.Write([]byte(id))
		n = uint64(h.Sum32())
	}
	return []CancelScenario{CancelDone, CancelNeedsPayerWebview, CancelNeedsPayerValidateURI, CancelNotSupported}[n%4]
}

// Route names one endpoint of the simulated API, for fault targeting and call counts.
type Route string

// The API routes of the simulator (the payer-facing pages are not routes: faults never
// apply to them).
const (
	RouteToken         Route = "POST /auth/token"
	RouteListPayments  Route = "GET /payments"
	RouteGetPayment    Route = "GET /payments/{id}"
	RouteCancelPayment Route = "POST /payments/{id}"
	RouteScopedToken   Route = "POST /payments/{id}/scopedtoken"
)

// Simulator is a strict in-memory Powens Pay: the API (service token, payments, scoped
// tokens, list) and the payer's confirmation pages (Powens' webview and a bank page). It
// serves everything relative to its own root, so it works behind httptest.NewServer and
// mounted with http.StripPrefix. It is safe for concurrent use.
type Simulator struct {
	cfg SimConfig
	mux *http.ServeMux
	key []byte // signs tokens: they survive a restart with the same secret

	mu        sync.Mutex
	payments  map[string]*payment
	scenarios map[string]CancelScenario
	fallback  CancelScenario
	faults    simfault.Queue
	calls     map[Route]int
	epoch     int // service tokens of an older epoch are refused (RevokeTokens)
	requests  int
}

// NewSimulator returns an empty simulator; fill it with Load.
func NewSimulator(cfg SimConfig) *Simulator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 15 * time.Second
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	key := sha256.Sum256([]byte("paydesk powens simulator\x00" + cfg.ClientID + "\x00" + cfg.ClientSecret))
	s := &Simulator{
		cfg:       cfg,
		key:       key[:],
		payments:  map[string]*payment{},
		scenarios: map[string]CancelScenario{},
		calls:     map[Route]int{},
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/token", s.api(RouteToken, s.handleToken))
	mux.Handle("GET /payments", s.api(RouteListPayments, s.admin(s.handleList)))
	mux.Handle("GET /payments/{id}", s.api(RouteGetPayment, s.admin(s.handleGet)))
	mux.Handle("POST /payments/{id}", s.api(RouteCancelPayment, s.admin(s.handleCancel)))
	mux.Handle("POST /payments/{id}/scopedtoken", s.api(RouteScopedToken, s.admin(s.handleScopedToken)))
	mux.HandleFunc("GET /auth/webview/payment", s.handleWebview)
	mux.HandleFunc("POST /auth/webview/payment", s.handleWebview)
	mux.HandleFunc("GET /auth/webview/{lang}/payment", s.handleWebview)
	mux.HandleFunc("POST /auth/webview/{lang}/payment", s.handleWebview)
	mux.HandleFunc("GET /bank/validate/{id}", s.handleBank)
	mux.HandleFunc("POST /bank/validate/{id}", s.handleBank)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.apiError(w, http.StatusNotFound, "notFound", "No such endpoint.")
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the simulated API and pages.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Load adds or replaces a payment from an import envelope (the demo, or a restart
// rebuilding the simulator from the database). A relative validate_uri is resolved against
// PublicURL. Load is not a state change: OnChange is not called.
func (s *Simulator) Load(envelope []byte) error {
	snap, err := ParseEnvelope(envelope)
	if err != nil {
		return err
	}
	var env providers.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return fmt.Errorf("powens: envelope: %w", err)
	}
	var p payment
	if err := json.Unmarshal(env.Payment, &p); err != nil {
		return fmt.Errorf("powens: payment: %w", err)
	}
	if strings.HasPrefix(p.ValidateURI, "/") && s.cfg.PublicURL != "" {
		p.ValidateURI = s.cfg.PublicURL + p.ValidateURI
	}
	s.mu.Lock()
	s.payments[snap.PaymentID] = &p
	s.mu.Unlock()
	return nil
}

// Snapshot is the simulator's current view of a payment, decoded as the client would.
func (s *Simulator) Snapshot(id string) (providers.Snapshot, error) {
	env, err := s.Envelope(id)
	if err != nil {
		return providers.Snapshot{}, err
	}
	return ParseEnvelope(env)
}

// Envelope is a payment as an import envelope, as the simulator would serve it.
func (s *Simulator) Envelope(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return nil, fmt.Errorf("powens: simulator: payment %s: %w", id, providers.ErrNotFound)
	}
	return s.envelopeLocked(p)
}

// IDs lists the payments the simulator knows, in id order.
func (s *Simulator) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.payments))
	for id := range s.payments {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	return ids
}

// Calls is how many requests a route has received (faulty ones included).
func (s *Simulator) Calls(r Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[r]
}

// SetCancelScenario fixes how a payment's next cancellations are answered; CancelByID
// goes back to the default.
func (s *Simulator) SetCancelScenario(id string, c CancelScenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == CancelByID {
		delete(s.scenarios, id)
		return
	}
	s.scenarios[id] = c
}

// SetDefaultCancelScenario answers every payment without its own scenario with c;
// CancelByID goes back to DefaultCancelScenario.
func (s *Simulator) SetDefaultCancelScenario(c CancelScenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = c
}

// SetState moves a payment as the bank or Powens would (executed, rejected, expired…):
// state, state_detail and error_code are set as given (empty clears), and OnChange is
// called.
func (s *Simulator) SetState(id, state, detail, errorCode string) error {
	if state == "" {
		return errors.New("powens: simulator: state is required")
	}
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("powens: simulator: payment %s: %w", id, providers.ErrNotFound)
	}
	p.State, p.StateDetail, p.ErrorCode = state, detail, errorCode
	if detail != "cancelling" {
		p.ValidateURI = ""
	}
	env, err := s.envelopeLocked(p)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.changed(env)
	return nil
}

// RevokeTokens makes every service token issued so far invalid, as if it had expired: the
// next API call with one gets 401 invalidToken. Scoped (payer) tokens are not affected.
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
}

// envelopeLocked marshals a payment as an import envelope; s.mu is held.
func (s *Simulator) envelopeLocked(p *payment) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("powens: simulator: %w", err)
	}
	return envelopeOf(b)
}

// changed tells OnChange about a new state; s.mu must not be held.
func (s *Simulator) changed(env []byte) {
	if s.cfg.OnChange != nil && env != nil {
		s.cfg.OnChange(env)
	}
}

// scenarioLocked is the scenario for a payment; s.mu is held.
func (s *Simulator) scenarioLocked(id string) CancelScenario {
	if c, ok := s.scenarios[id]; ok {
		return c
	}
	if s.fallback != CancelByID {
		return s.fallback
	}
	return DefaultCancelScenario(id)
}

// --- API handlers -------------------------------------------------------------------

// handleToken is POST /auth/token: client credentials for a payments:admin token.
func (s *Simulator) handleToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.GrantType != "client_credentials" {
		s.apiError(w, http.StatusBadRequest, "unsupportedGrantType", "grant_type must be client_credentials.")
		return
	}
	if s.cfg.ClientID == "" || s.cfg.ClientSecret == "" ||
		subtle.ConstantTimeCompare([]byte(req.ClientID), []byte(s.cfg.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(s.cfg.ClientSecret)) != 1 {
		s.apiError(w, http.StatusUnauthorized, "invalidClient", "Invalid client_id or client_secret.")
		return
	}
	if req.Scope != adminScope {
		s.apiError(w, http.StatusBadRequest, "invalidScope", "This client may only ask for the payments:admin scope.")
		return
	}
	s.mu.Lock()
	epoch := s.epoch
	s.mu.Unlock()
	token := s.sign(tokenClaims{Client: req.ClientID, Scope: adminScope, Expires: s.cfg.Now().Add(s.cfg.TokenTTL).Unix(), Epoch: epoch})
	s.reply(w, http.StatusOK, tokenAnswer{Token: token, Scope: adminScope})
}

// handleGet is GET /payments/{id}.
func (s *Simulator) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	p, ok := s.payments[id]
	var b []byte
	var err error
	if ok {
		b, err = s.paymentAnswer(p)
	}
	s.mu.Unlock()
	if !ok {
		s.notFound(w)
		return
	}
	if err != nil {
		s.apiError(w, http.StatusInternalServerError, "internalError", "Internal server error.")
		return
	}
	s.replyRaw(w, http.StatusOK, b)
}

// handleCancel is POST /payments/{id} with {"cancel":true,"client_redirect_uri","client_state"}.
func (s *Simulator) handleCancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req struct {
		Cancel            *bool   `json:"cancel"`
		ClientRedirectURI *string `json:"client_redirect_uri"`
		ClientState       *string `json:"client_state"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Cancel == nil || !*req.Cancel {
		s.apiError(w, http.StatusBadRequest, "badRequest", `This simulator only updates a payment to cancel it: send {"cancel": true}.`)
		return
	}
	if req.ClientRedirectURI != nil && *req.ClientRedirectURI != "" && !absoluteHTTP(*req.ClientRedirectURI) {
		s.apiError(w, http.StatusBadRequest, "badRequest", "client_redirect_uri must be an absolute http(s) URL.")
		return
	}

	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		s.notFound(w)
		return
	}
	// Eligibility as Powens' cancellation guide states it: created, or pending with no
	// instant instruction. The error code and the refusal of a cancellation already waiting
	// for the payer are inferred [I]: the guide does not say how Powens refuses.
	if why := cancelRefusal(p); why != "" {
		s.mu.Unlock()
		s.apiError(w, http.StatusBadRequest, "invalidState", why)
		return
	}
	sc := s.scenarioLocked(id)
	if sc == CancelNotSupported {
		s.mu.Unlock()
		s.apiError(w, s.notSupportedStatus(), notSupportedCode, "Bad request, please check your request parameters.")
		return
	}
	// POST /payments/{id} updates the payment: the payer will come back to these [D].
	if req.ClientRedirectURI != nil {
		p.ClientRedirectURI = *req.ClientRedirectURI
	}
	if req.ClientState != nil {
		p.ClientState = *req.ClientState
	}
	switch sc {
	case CancelNeedsPayerWebview:
		p.State, p.StateDetail, p.ValidateURI = "pending", "cancelling_webauth", ""
	case CancelNeedsPayerValidateURI:
		p.State, p.StateDetail = "pending", "cancelling"
		p.ValidateURI = s.cfg.PublicURL + "/bank/validate/" + url.PathEscape(id)
	default:
		cancelled(p)
	}
	b, err := json.Marshal(p)
	var env, ans []byte
	if err == nil {
		env, err = envelopeOf(b)
	}
	if err == nil {
		ans, err = s.cancelAnswerOf(p)
	}
	s.mu.Unlock()
	if err != nil {
		s.apiError(w, http.StatusInternalServerError, "internalError", "Internal server error.")
		return
	}
	s.changed(env)
	s.replyRaw(w, http.StatusOK, ans)
}

// cancelRefusal says why a payment cannot be cancelled, or "" when it can.
func cancelRefusal(p *payment) string {
	switch p.State {
	case "created":
		return ""
	case "pending":
		if p.StateDetail == "cancelling_webauth" || p.StateDetail == "cancelling" {
			return "A cancellation of this payment is already waiting for the payer's validation."
		}
		for _, in := range p.Instructions {
			if in.ExecutionDateType == "instant" {
				return "A pending payment with an instant instruction cannot be cancelled."
			}
		}
		return ""
	}
	return fmt.Sprintf("Only created or pending payments can be cancelled; this payment is %s.", p.State)
}

// cancelled applies a confirmed cancellation.
func cancelled(p *payment) {
	p.State, p.StateDetail, p.ValidateURI = "rejected", "", ""
	p.ErrorCode, p.ErrorDescription = "cancelledByUser", "The payment was cancelled."
}

// handleScopedToken is POST /payments/{id}/scopedtoken {"scope":["payments:validate"]}.
func (s *Simulator) handleScopedToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req scopedTokenRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if len(req.Scope) != 1 || req.Scope[0] != validateScope {
		s.apiError(w, http.StatusBadRequest, "invalidScope", `scope must be ["payments:validate"].`)
		return
	}
	s.mu.Lock()
	p, ok := s.payments[id]
	var pid flexID
	if ok {
		pid = p.ID
	}
	s.mu.Unlock()
	if !ok {
		s.notFound(w)
		return
	}
	life := int64(scopedTokenLifetime / time.Second)
	token := s.sign(tokenClaims{Client: s.cfg.ClientID, Scope: validateScope, Payment: id, Expires: s.cfg.Now().Unix() + life})
	s.reply(w, http.StatusOK, scopedTokenAnswer{Token: token, Scope: validateScope, ExpiresIn: life, IDPayment: pid})
}

// handleList is GET /payments with limit (default 10, at most 1000 [I]), offset, reverse,
// filter=register_date|validate_date, min_date and max_date (YYYY-MM-DD, inclusive).
// Payments are in register_date order, then id; a next link is given while more remain.
func (s *Simulator) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 10)
	if err != nil || limit < 1 || limit > 1000 {
		s.apiError(w, http.StatusBadRequest, "badRequest", "limit must be a number from 1 to 1000.")
		return
	}
	offset, err := intParam(q, "offset", 0)
	if err != nil || offset < 0 {
		s.apiError(w, http.StatusBadRequest, "badRequest", "offset must be a number, 0 or more.")
		return
	}
	reverse := false
	if v := q.Get("reverse"); v != "" {
		if reverse, err = strconv.ParseBool(v); err != nil {
			s.apiError(w, http.StatusBadRequest, "badRequest", "reverse must be true or false.")
			return
		}
	}
	filter := q.Get("filter")
	if filter == "" {
		filter = "register_date"
	}
	if filter != "register_date" && filter != "validate_date" {
		s.apiError(w, http.StatusBadRequest, "badRequest", "filter must be register_date or validate_date.")
		return
	}
	var bounds [2]string
	for i, name := range []string{"min_date", "max_date"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			s.apiError(w, http.StatusBadRequest, "badRequest", name+" must be a date, YYYY-MM-DD.")
			return
		}
		bounds[i] = v
	}

	type row struct {
		at time.Time
		id string
		b  []byte
	}
	var rows []row
	s.mu.Lock()
	for id, p := range s.payments {
		date := p.RegisterDate
		if filter == "validate_date" {
			date = p.ValidateDate
		}
		at, _ := parseTime(date)
		day := at.Format("2006-01-02")
		if (bounds[0] != "" || bounds[1] != "") && at.IsZero() {
			continue
		}
		if bounds[0] != "" && day < bounds[0] || bounds[1] != "" && day > bounds[1] {
			continue
		}
		b, err := s.paymentAnswer(p)
		if err != nil {
			continue
		}
		rows = append(rows, row{at: at, id: id, b: b})
	}
	s.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at) != reverse
		}
		return idLess(rows[i].id, rows[j].id) != reverse
	})

	ans := listAnswer{Payments: []json.RawMessage{}}
	total := len(rows)
	ans.Total = &total
	for i := offset; i < len(rows) && i < offset+limit; i++ {
		ans.Payments = append(ans.Payments, rows[i].b)
	}
	if offset+limit < len(rows) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("limit", strconv.Itoa(limit))
		next.Set("offset", strconv.Itoa(offset+limit))
		href := "payments?" + next.Encode()
		if s.cfg.PublicURL != "" {
			href = s.cfg.PublicURL + "/" + href
		}
		ans.Links = &listLinks{Next: &listLink{Href: href}}
	}
	s.reply(w, http.StatusOK, ans)
}

// intParam reads an integer query parameter.
func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// idLess orders ids numerically when both are numbers.
func idLess(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return a < b
}

// --- auth ---------------------------------------------------------------------------

// tokenClaims is what a simulator token carries. Tokens are signed rather than stored so
// that they stay valid across a restart of the demo (same secret, same key).
type tokenClaims struct {
	Client  string `json:"c"`
	Scope   string `json:"s"`
	Payment string `json:"p,omitempty"`
	Expires int64  `json:"e"`
	Epoch   int    `json:"g,omitempty"`
	Nonce   string `json:"n"`
}

// sign makes a token: base64url(claims) "." base64url(HMAC-SHA256).
func (s *Simulator) sign(c tokenClaims) string {
	var n [9]byte
	rand.Read(n[:])
	c.Nonce = base64.RawURLEncoding.EncodeToString(n[:])
	payload, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify checks a token's signature and expiry and returns its claims.
func (s *Simulator) verify(token string) (tokenClaims, bool) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return tokenClaims{}, false
	}
	want := hmac.New(sha256.New, s.key)
	want.Write([]byte(p))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return tokenClaims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return tokenClaims{}, false
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return tokenClaims{}, false
	}
	if s.cfg.Now().Unix() >= c.Expires || c.Client != s.cfg.ClientID {
		return tokenClaims{}, false
	}
	return c, true
}

// admin requires a valid payments:admin service token of this client.
func (s *Simulator) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="powens"`)
			s.apiError(w, http.StatusUnauthorized, "invalidToken", "Missing or malformed Authorization header: a Bearer token is required.")
			return
		}
		c, ok := s.verify(strings.TrimSpace(token))
		s.mu.Lock()
		epoch := s.epoch
		s.mu.Unlock()
		if !ok || c.Scope == adminScope && c.Epoch != epoch {
			w.Header().Set("WWW-Authenticate", `Bearer realm="powens", error="invalid_token"`)
			s.apiError(w, http.StatusUnauthorized, "invalidToken", "The token is invalid or expired.")
			return
		}
		// A scoped (payer) token is a valid token without the admin scope [I].
		if c.Scope != adminScope {
			s.apiError(w, http.StatusForbidden, "insufficientScope", "This token does not grant the payments:admin scope.")
			return
		}
		h(w, r)
	}
}

// --- answers ------------------------------------------------------------------------

// decodeBody reads a JSON object body; it answers 400 and returns false when it cannot.
func (s *Simulator) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, 64<<10)
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(body); err != nil {
		s.apiError(w, http.StatusBadRequest, "badRequest", "The request body could not be read.")
		return false
	}
	b := bytes.TrimSpace(buf.Bytes())
	if len(b) == 0 || b[0] != '{' {
		s.apiError(w, http.StatusBadRequest, "badRequest", "The request body must be a JSON object.")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		s.apiError(w, http.StatusBadRequest, "badRequest", "Malformed JSON body.")
		return false
	}
	return true
}

// notFound answers 404 for an unknown payment.
func (s *Simulator) notFound(w http.ResponseWriter) {
	s.apiError(w, http.StatusNotFound, "notFound", "Payment not found.")
}

// apiError answers Powens' error body.
func (s *Simulator) apiError(w http.ResponseWriter, status int, code, description string) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	eb := errorBody{Code: code, Description: description, RequestID: flexID("sim-" + strconv.Itoa(n))}
	if s.cfg.Shapes == simshape.Documented {
		eb.RequestID = "" // the guide's error body has code and description only
	}
	s.reply(w, status, eb)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

// writeRaw answers a JSON body.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// absoluteHTTP reports whether s is an absolute http(s) URL.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
