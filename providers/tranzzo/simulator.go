package tranzzo

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/simfault"
	"paydesk/providers/simshape"
)

// Error codes the simulator puts in args.code. Only S-404 is documented [D]; the others
// are the simulator's own, in the same style [I].
const (
	simCodeCredentials = "S-404"
	simCodeNotFound    = "O-404"
	simCodeMethod      = "S-405"
	simCodeNotJSON     = "S-406"
	simCodeServer      = "S-500"
	simCodeUnavailable = "S-503"
	simCodeInvalid     = "V-400"
	simCodeIneligible  = "P-400"
	simCodeExceeds     = "R-400"
)

// msgCredentials is Tranzzo's documented answer to bad credentials or a foreign pos_id.
const msgCredentials = "Invalid pos_id field or credentials"

// SimConfig configures a Simulator. The credentials are the ones the client must send.
type SimConfig struct {
	// POSID, APIKey, APISecret and EndpointsKey are the only credentials accepted (the
	// client's Config); a foreign pos_id in a path or body is refused like bad credentials.
	POSID        string
	APIKey       string
	APISecret    string
	EndpointsKey string
	// PublicURL is where the simulator is reachable. The calls simulated here hand out no
	// link, so it is only kept for what comes later (hosted pages, webhooks).
	PublicURL string
	// Now is the clock for new transactions; nil means time.Now.
	Now func() time.Time
	// SlowDelay is how long simfault.Slow waits; zero means DefaultSlowDelay.
	SlowDelay time.Duration
	// OnChange, when set, is called after every change of state (cancel, void, refund,
	// SetStatus) with the transaction that changed or was created, as the API encodes it
	// (what a Tranzzo webhook carries), and the order's import envelope as it now stands.
	// It runs synchronously, outside the simulator's lock, before the answer is written.
	// Load does not call it. Webhooks will hang off it.
	OnChange func(transaction, envelope []byte)
	// Shapes chooses how the answers are written: simshape.Full (the default) or the way Tranzzo's
	// document writes them (simshape.Documented).
	Shapes simshape.Shape
	// ExtraFields adds fields Tranzzo does not document to every transaction answered:
	// the client must ignore them.
	ExtraFields bool
}

// How the answers are written (SimConfig.Shapes): simshape.Full (the default) writes
// every documented field of a transaction, amounts with all their minor digits (42.00),
// and answers /void and /refund with one transaction object; simshape.Documented writes
// what the document's only answer shows: every action answered with an array of
// transactions, amounts as plain numbers without trailing zeros (the document's
// "amount": 1).

// Request is one request the simulator received, for tests to count calls.
type Request struct {
	Method string
	Path   string
}

// Simulator is a stateful, strict imitation of Tranzzo's API for the calls Paydesk makes.
// It serves the API relative to its own root, so it works behind httptest.NewServer and
// under http.StripPrefix. It is safe for concurrent use.
type Simulator struct {
	cfg SimConfig

	mu         sync.Mutex
	orders     map[string][]transaction // by order_id, in the API's order
	orderIDs   []string                 // first loaded first
	usedIDs    map[string]bool          // every payment_id in use
	counter    int                      // source of new payment ids
	faults     simfault.Queue
	nextRefund *transaction // status, code and description for the next refund
	requests   []Request
}

var _ http.Handler = (*Simulator)(nil)

// NewSimulator returns an empty simulator. Requests must carry exactly cfg's credentials:
// with empty credentials nothing is ever accepted.
func NewSimulator(cfg SimConfig) *Simulator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = DefaultSlowDelay
	}
	return &Simulator{cfg: cfg, orders: map[string][]transaction{}, usedIDs: map[string]bool{}}
}

// Load adds the payment held in an import envelope, or replaces the order with the same
// order_id. The envelope must parse with ParseEnvelope. Loading is not a change of state
// at Tranzzo, so OnChange is not called.
func (s *Simulator) Load(envelope []byte) error {
	snap, err := ParseEnvelope(envelope)
	if err != nil {
		return fmt.Errorf("tranzzo: simulator: load: %w", err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(snap.Raw, &env); err != nil {
		return fmt.Errorf("tranzzo: simulator: load: %w", err)
	}
	var txs []transaction
	if err := json.Unmarshal(env.Transactions, &txs); err != nil {
		return fmt.Errorf("tranzzo: simulator: load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[snap.OrderID]; !ok {
		s.orderIDs = append(s.orderIDs, snap.OrderID)
	}
	s.orders[snap.OrderID] = txs
	for _, t := range txs {
		s.usedIDs[string(t.PaymentID)] = true
	}
	return nil
}

// Orders lists the order ids the simulator knows, first loaded first.
func (s *Simulator) Orders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.orderIDs...)
}

// Snapshot is the payment of orderID as the simulator holds it; the error wraps
// providers.ErrNotFound for an unknown order.
func (s *Simulator) Snapshot(orderID string) (providers.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, ok := s.orders[orderID]
	if !ok {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: simulator: order %q: %w", orderID, providers.ErrNotFound)
	}
	return snapshotOf(s.present(txs))
}

// Envelope is the import envelope of orderID as the simulator holds it.
func (s *Simulator) Envelope(orderID string) (json.RawMessage, error) {
	snap, err := s.Snapshot(orderID)
	if err != nil {
		return nil, err
	}
	return snap.Raw, nil
}

// Requests returns every request received so far, oldest first.
func (s *Simulator) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// SetStatus changes the status of orderID's payment transaction (the latest purchase,
// auth or capture), as if the payer or the bank had acted: e.g. "success", "1000",
// "Success" when the payer pays a hosted payment. It calls OnChange.
func (s *Simulator) SetStatus(orderID, status, code, description string) error {
	s.mu.Lock()
	txs, ok := s.orders[orderID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("tranzzo: simulator: order %q: %w", orderID, providers.ErrNotFound)
	}
	i, _, err := mainOf(txs)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("tranzzo: simulator: %w", err)
	}
	txs[i].Status, txs[i].StatusCode, txs[i].StatusDescription = text(status), text(code), text(description)
	txs[i].ProcessedAt = text(formatTime(s.cfg.Now()))
	tx := s.presentOne(txs[i])
	env, err := s.envelopeOf(txs)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("tranzzo: simulator: %w", err)
	}
	s.changed(tx, env)
	return nil
}

// NextRefundStatus makes the next accepted refund end with status, status_code and
// status_description (e.g. "pending", "1001", "Refund is processing" or "failure",
// "2104", "Refund declined by issuer") instead of success. A pending refund still counts
// against what is left to refund; a failed one does not.
func (s *Simulator) NextRefundStatus(status, code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextRefund = &transaction{Status: text(status), StatusCode: text(code), StatusDescription: text(description)}
}

// ServeHTTP serves Tranzzo's API relative to the simulator's root:
//
//	GET  /pos/{pos_id}/orders/{order_id}
//	POST /pos/{pos_id}/order/{order_id}/cancel
//	POST /void
//	POST /refund
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: net/http notices a client hanging up (and cancels r.Context,
	// which ends simfault.Slow's wait) only once the body has been consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		body = nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path})
	s.mu.Unlock()
	simfault.Serve(w, r, s.faults.Take(""), s.faultAnswers(), http.HandlerFunc(s.serveAPI))
}

// serveAPI answers one request from the state, telling OnChange when it changed.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	status, out, change := s.handle(r)
	if change != nil {
		s.changed(change.tx, change.env)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// change is what OnChange is told: the transaction and the order's envelope.
type change struct {
	tx, env []byte
}

// changed tells OnChange about a new state.
func (s *Simulator) changed(tx, env []byte) {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(tx, env)
	}
}

// handle runs one request against the state and returns the answer, plus what changed
// when the state did.
func (s *Simulator) handle(r *http.Request) (int, []byte, *change) {
	if !s.authorised(r) {
		return answer(http.StatusUnauthorized, simError(msgCredentials, simCodeCredentials))
	}
	segs, err := segments(r.URL)
	if err != nil {
		return answer(http.StatusNotFound, simError("Resource not found", simCodeNotFound))
	}
	var allowed string
	switch {
	case len(segs) == 4 && segs[0] == "pos" && segs[2] == "orders":
		allowed = http.MethodGet
		if r.Method == allowed {
			return s.getOrder(segs[1], segs[3])
		}
	case len(segs) == 5 && segs[0] == "pos" && segs[2] == "order" && segs[4] == "cancel":
		allowed = http.MethodPost
		if r.Method == allowed {
			return s.cancel(segs[1], segs[3])
		}
	case len(segs) == 1 && segs[0] == "void":
		allowed = http.MethodPost
		if r.Method == allowed {
			return s.void(r)
		}
	case len(segs) == 1 && segs[0] == "refund":
		allowed = http.MethodPost
		if r.Method == allowed {
			return s.refund(r)
		}
	default:
		return answer(http.StatusNotFound, simError("Resource not found", simCodeNotFound))
	}
	return answer(http.StatusMethodNotAllowed, simError(fmt.Sprintf("Method %s is not allowed here; use %s", r.Method, allowed), simCodeMethod))
}

// authorised checks both headers in constant time.
func (s *Simulator) authorised(r *http.Request) bool {
	wantAuth := "CPAY " + s.cfg.APIKey + ":" + s.cfg.APISecret
	okAuth := s.cfg.APIKey != "" && s.cfg.APISecret != "" &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Auth")), []byte(wantAuth)) == 1
	okKey := s.cfg.EndpointsKey != "" &&
		subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(s.cfg.EndpointsKey)) == 1
	return okAuth && okKey
}

func (s *Simulator) ourPOS(posID string) bool {
	return s.cfg.POSID != "" && posID == s.cfg.POSID
}

// getOrder answers GET /pos/{pos_id}/orders/{order_id}.
func (s *Simulator) getOrder(posID, orderID string) (int, []byte, *change) {
	if !s.ourPOS(posID) {
		return answer(http.StatusUnauthorized, simError(msgCredentials, simCodeCredentials))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, ok := s.orders[orderID]
	if !ok {
		return answer(http.StatusNotFound, simError("Order not found", simCodeNotFound))
	}
	return http.StatusOK, providers.JSONList(s.present(txs)), nil
}

// cancel answers POST /pos/{pos_id}/order/{order_id}/cancel: only an unpaid hosted
// purchase or auth (status init) is cancelled.
func (s *Simulator) cancel(posID, orderID string) (int, []byte, *change) {
	if !s.ourPOS(posID) {
		return answer(http.StatusUnauthorized, simError(msgCredentials, simCodeCredentials))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, ok := s.orders[orderID]
	if !ok {
		return answer(http.StatusNotFound, simError("Order not found", simCodeNotFound))
	}
	i, _, err := mainOf(txs)
	if err != nil {
		return answer(http.StatusBadRequest, simError("Payment cannot be cancelled: "+err.Error(), simCodeIneligible))
	}
	m := txs[i]
	if (m.Method != methodPurchase && m.Method != methodAuth) || m.Status != statusInit || m.Mode != modeHosted {
		return answer(http.StatusBadRequest, simError(fmt.Sprintf(
			"Payment cannot be cancelled: only an unpaid hosted purchase or auth (status init) can be; this one is %s %s %s",
			orNone(string(m.Mode)), orNone(string(m.Method)), orNone(string(m.Status))), simCodeIneligible))
	}
	now := text(formatTime(s.cfg.Now()))
	txs[i].Status, txs[i].StatusCode, txs[i].StatusDescription = statusFailure, codeCancelled, descCancelled
	txs[i].UserActionRequired, txs[i].UserActionURL = false, ""
	txs[i].ProcessedAt = now
	return s.answerChanged(txs, txs[i], []transaction{txs[i]})
}

// void answers POST /void: only a successful auth not voided yet, always in full.
func (s *Simulator) void(r *http.Request) (int, []byte, *change) {
	var req voidRequest
	if status, body := decodeBody(r, &req); status != 0 {
		return status, body, nil
	}
	if !s.ourPOS(req.POSID) {
		return answer(http.StatusUnauthorized, simError(msgCredentials, simCodeCredentials))
	}
	if status, body := requireFields(req.OrderID, req.OrderCurrency); status != 0 {
		return status, body, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, ok := s.orders[req.OrderID]
	if !ok {
		return answer(http.StatusNotFound, simError("Order not found", simCodeNotFound))
	}
	i, snap, err := mainOf(txs)
	if err != nil {
		return answer(http.StatusBadRequest, simError("Payment cannot be voided: "+err.Error(), simCodeIneligible))
	}
	if req.OrderCurrency != snap.Currency {
		return answer(http.StatusBadRequest, simErrorField(fmt.Sprintf("order_currency %s does not match the order's currency %s", req.OrderCurrency, snap.Currency), "order_currency"))
	}
	m := txs[i]
	if m.Method != methodAuth || m.Status != statusSuccess {
		return answer(http.StatusBadRequest, simError(fmt.Sprintf("Only a successful auth can be voided; this payment is %s %s", orNone(string(m.Method)), orNone(string(m.Status))), simCodeIneligible))
	}
	if snap.Voided {
		return answer(http.StatusBadRequest, simError("Authorisation is already voided", simCodeIneligible))
	}
	t := s.newTransaction(m, methodVoid, snap.Amount, snap.Currency)
	t.Status, t.StatusCode, t.StatusDescription = statusSuccess, codeOK, "Success"
	txs = append(txs, t)
	s.orders[req.OrderID] = txs
	return s.answerChanged(txs, t, t)
}

// refund answers POST /refund: only a successful purchase or capture, never above what was
// captured minus the refunds that succeeded or are pending.
func (s *Simulator) refund(r *http.Request) (int, []byte, *change) {
	var req refundRequest
	if status, body := decodeBody(r, &req); status != 0 {
		return status, body, nil
	}
	if !s.ourPOS(req.POSID) {
		return answer(http.StatusUnauthorized, simError(msgCredentials, simCodeCredentials))
	}
	if status, body := requireFields(req.OrderID, req.OrderCurrency); status != 0 {
		return status, body, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, ok := s.orders[req.OrderID]
	if !ok {
		return answer(http.StatusNotFound, simError("Order not found", simCodeNotFound))
	}
	i, snap, err := mainOf(txs)
	if err != nil {
		return answer(http.StatusBadRequest, simError("Payment cannot be refunded: "+err.Error(), simCodeIneligible))
	}
	if req.OrderCurrency != snap.Currency {
		return answer(http.StatusBadRequest, simErrorField(fmt.Sprintf("order_currency %s does not match the order's currency %s", req.OrderCurrency, snap.Currency), "order_currency"))
	}
	m := txs[i]
	if (m.Method != methodPurchase && m.Method != methodCapture) || m.Status != statusSuccess {
		return answer(http.StatusBadRequest, simError(fmt.Sprintf("Only a successful purchase or capture can be refunded; this payment is %s %s", orNone(string(m.Method)), orNone(string(m.Status))), simCodeIneligible))
	}
	available := snap.Captured
	for _, rf := range snap.Refunds {
		if rf.Succeeded || rf.Status == statusPending {
			available -= rf.Amount
		}
	}
	amount := available
	if raw := bytes.TrimSpace(req.RefundAmount); len(raw) > 0 && string(raw) != "null" {
		if raw[0] == '"' {
			return answer(http.StatusBadRequest, simErrorField("refund_amount must be a number", "refund_amount"))
		}
		v, err := providers.ParseMajorJSON(raw, snap.Currency)
		if err != nil {
			return answer(http.StatusBadRequest, simErrorField(fmt.Sprintf("refund_amount %s is not a valid %s amount", raw, snap.Currency), "refund_amount"))
		}
		if v <= 0 {
			return answer(http.StatusBadRequest, simErrorField("refund_amount must be greater than zero", "refund_amount"))
		}
		amount = v
	}
	if available <= 0 {
		return answer(http.StatusBadRequest, simError("Nothing left to refund: the payment is fully refunded", simCodeExceeds))
	}
	if amount > available {
		return answer(http.StatusBadRequest, simError("Refund amount exceeds available amount", simCodeExceeds))
	}
	t := s.newTransaction(m, methodRefund, amount, snap.Currency)
	t.Status, t.StatusCode, t.StatusDescription = statusSuccess, codeOK, "Success"
	if s.nextRefund != nil {
		t.Status, t.StatusCode, t.StatusDescription = s.nextRefund.Status, s.nextRefund.StatusCode, s.nextRefund.StatusDescription
		s.nextRefund = nil
	}
	txs = append(txs, t)
	s.orders[req.OrderID] = txs
	return s.answerChanged(txs, t, t)
}

// newTransaction derives a void or refund from the payment transaction m. Callers hold s.mu.
func (s *Simulator) newTransaction(m transaction, method string, amount int64, currency string) transaction {
	t := m
	t.PaymentID = text(s.newPaymentID())
	t.Method = text(method)
	t.Amount = json.RawMessage(providers.FormatMajor(amount, currency))
	t.Currency = text(currency)
	t.UserActionRequired, t.UserActionURL = false, ""
	now := text(formatTime(s.cfg.Now()))
	t.CreatedAt, t.ProcessedAt = now, now
	return t
}

// newPaymentID returns the next UUID-like id that is not in use. Callers hold s.mu.
func (s *Simulator) newPaymentID() string {
	for {
		s.counter++
		id := fmt.Sprintf("5100c0de-0000-4000-8000-%012d", s.counter)
		if !s.usedIDs[id] {
			s.usedIDs[id] = true
			return id
		}
	}
}

// answerChanged encodes the answer to an action and what changed. Callers hold s.mu.
func (s *Simulator) answerChanged(txs []transaction, changed transaction, v any) (int, []byte, *change) {
	env, err := s.envelopeOf(txs)
	if err != nil {
		// Cannot happen with transactions the simulator built; say so loudly.
		return answer(http.StatusInternalServerError, simError("Simulator error: "+err.Error(), simCodeServer))
	}
	var body []byte
	switch x := v.(type) {
	case []transaction:
		body = providers.JSONList(s.present(x))
	case transaction:
		body = s.presentOne(x)
		if s.cfg.Shapes == simshape.Documented {
			body = providers.JSONList([]json.RawMessage{body})
		}
	}
	return http.StatusOK, body, &change{tx: s.presentOne(changed), env: env}
}

// present writes transactions as the API answers them, in the simulator's shape.
func (s *Simulator) present(txs []transaction) []json.RawMessage {
	out := make([]json.RawMessage, len(txs))
	for i, t := range txs {
		out[i] = s.presentOne(t)
	}
	return out
}

// presentOne writes one transaction as the API answers it, in the simulator's shape.
func (s *Simulator) presentOne(t transaction) json.RawMessage {
	if s.cfg.Shapes == simshape.Documented {
		t.Amount = plainNumber(t.Amount)
	}
	b, err := json.Marshal(t)
	if err != nil {
		// Only the simulator's own transactions are written: a programming error.
		panic(fmt.Sprintf("tranzzo: simulator: %v", err))
	}
	if s.cfg.ExtraFields {
		b = withExtraFields(b)
	}
	return b
}

// envelopeOf is the import envelope of an order as the simulator answers it.
func (s *Simulator) envelopeOf(txs []transaction) ([]byte, error) {
	snap, err := snapshotOf(s.present(txs))
	if err != nil {
		return nil, err
	}
	return snap.Raw, nil
}

// mainOf finds the payment transaction of an order (the one the Snapshot is built from)
// and the order's snapshot, through the same code as Fetch and ParseEnvelope.
func mainOf(txs []transaction) (int, providers.Snapshot, error) {
	snap, err := snapshotOfTxs(txs)
	if err != nil {
		return 0, snap, err
	}
	for i := len(txs) - 1; i >= 0; i-- {
		t := txs[i]
		if string(t.PaymentID) == snap.PaymentID && (t.Method == methodPurchase || t.Method == methodAuth || t.Method == methodCapture) {
			return i, snap, nil
		}
	}
	return 0, snap, errors.New("the order has no payment transaction")
}

// snapshotOfTxs encodes the simulator's transactions and reads them back as Fetch would.
func snapshotOfTxs(txs []transaction) (providers.Snapshot, error) {
	list := make([]json.RawMessage, len(txs))
	for i, t := range txs {
		b, err := json.Marshal(t)
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: simulator: %w", err)
		}
		list[i] = b
	}
	return snapshotOf(list)
}

// segments splits the request path into unescaped segments.
func segments(u *url.URL) ([]string, error) {
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, errors.New("empty path segment")
		}
		parts[i] = v
	}
	return parts, nil
}

// decodeBody reads a JSON object body; anything else is Tranzzo's 406 [D].
func decodeBody(r *http.Request, v any) (int, []byte) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	b = bytes.TrimSpace(b)
	if err != nil || len(b) == 0 || b[0] != '{' || json.Unmarshal(b, v) != nil {
		status, body, _ := answer(http.StatusNotAcceptable, simError("Request body must be a JSON object", simCodeNotJSON))
		return status, body
	}
	return 0, nil
}

// requireFields checks the fields every POST body needs besides pos_id.
func requireFields(orderID, currency string) (int, []byte) {
	var msg, field string
	switch {
	case orderID == "":
		msg, field = "order_id is required", "order_id"
	case currency == "":
		msg, field = "order_currency is required", "order_currency"
	case !providers.ValidCurrency(currency):
		msg, field = fmt.Sprintf("order_currency %q is not an ISO 4217 code", currency), "order_currency"
	default:
		return 0, nil
	}
	status, body, _ := answer(http.StatusBadRequest, simErrorField(msg, field))
	return status, body
}

// simError is Tranzzo's error body with args as an object.
func simError(message, code string) any {
	return map[string]any{"message": message, "args": map[string]string{"code": code}}
}

// simErrorField is Tranzzo's error body for a bad field, with args as an array (the other
// shape integrations see).
func simErrorField(message, field string) any {
	return map[string]any{"message": message, "args": []map[string]string{{"code": simCodeInvalid, "field": field}}}
}

// answer encodes v as the body of an answer that changes nothing.
func answer(status int, v any) (int, []byte, *change) {
	b, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, []byte(`{"message":"Simulator error","args":{"code":"S-500"}}`), nil
	}
	return status, b, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	_, body, _ := answer(status, v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
