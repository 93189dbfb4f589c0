package bpc

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/simfault"
	"paydesk/providers/simshape"
)

// ListShape is the envelope the simulator uses for GET /payments/{id}/refunds. BPC does
// not document it [I]; the client accepts all three.
type ListShape int

// The list shapes.
const (
	// ListData answers {"data":[…]} (the default).
	ListData ListShape = iota
	// ListArray answers a bare array.
	ListArray
	// ListRefunds answers {"refunds":[…]}.
	ListRefunds
)

// String names the shape.
func (l ListShape) String() string {
	switch l {
	case ListData:
		return "data"
	case ListArray:
		return "array"
	case ListRefunds:
		return "refunds"
	}
	return "shape " + strconv.Itoa(int(l))
}

// Events passed to SimConfig.OnChange: BPC's webhook types [D], plus payment.updated and
// session.updated for changes made through the scenario controls that BPC names no
// event for.
const (
	EventSessionCompleted = "session.completed"
	EventSessionExpired   = "session.expired"
	EventSessionUpdated   = "session.updated"
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentCanceled  = "payment.canceled"
	EventPaymentUpdated   = "payment.updated"
	EventRefundUpdated    = "refund.updated"
)

// DefaultSlowDelay is how long simfault.Slow holds an answer when SimConfig.SlowDelay is zero:
// longer than the client's default timeout.
const DefaultSlowDelay = 30 * time.Second

// SimConfig configures a Simulator.
type SimConfig struct {
	// APIKey is the only X-Api-Key accepted for every call. Empty refuses every call.
	APIKey string
	// ReadOnlyKey, when set, is a key that may read but gets 403 {"message":"Access
	// denied"} on every POST (a restricted key, to exercise BPC's 403 [I]).
	ReadOnlyKey string
	// Version is the only X-Version accepted; empty means DefaultVersion.
	Version string
	// PublicURL is where the simulator is reachable (its root); sessions' paymentUrl is
	// built from it (PublicURL/pay/{id}, a tiny page the simulator serves).
	PublicURL string
	// Now is the simulator's clock; nil means time.Now.
	Now func() time.Time
	// SlowDelay is how long simfault.Slow holds an answer; zero means DefaultSlowDelay.
	SlowDelay time.Duration
	// OnChange, when set, is called after every state change with the event (one of the
	// Event constants) and the payment's import envelope as it now stands, outside the
	// simulator's lock. Webhooks will hang off it. Load does not call it.
	OnChange func(event string, envelope []byte)
	// Shapes chooses how much of each object the answers carry: simshape.Full (the default) or
	// exactly what BPC's document shows (simshape.Documented).
	Shapes simshape.Shape
	// ExtraFields adds fields BPC does not document to every object answered, nested ones
	// included, as a newer API version might: the client must ignore them.
	ExtraFields bool
}

// How much of each object the answers carry (SimConfig.Shapes): simshape.Full (the
// default) answers every field the simulator knows, the undocumented ones included: a
// session's paymentId (the link to its payment [I]) and paymentUrl. simshape.Documented
// answers exactly the fields BPC's document shows for each object: a session without
// paymentId or paymentUrl (the document's session has neither), so a session never names
// its payment.

// Simulator is a strict, stateful stand-in for the BPC eCommerce API v2, served relative
// to its own root (behind httptest.NewServer or http.StripPrefix). It refuses what the
// real API would refuse, with the error shapes and statuses the client reads: 401 for a
// missing or wrong X-Api-Key, 403 for a read-only key on a POST, 400 for a missing or
// unsupported X-Version, 404 for unknown ids, 400 for ineligible states, over-refunds and
// malformed bodies. It is safe for concurrent use.
type Simulator struct {
	cfg SimConfig
	mux *http.ServeMux

	mu             sync.Mutex
	sessions       map[string]*session
	payments       map[string]*payment
	refunds        map[string]*refund
	paymentRefunds map[string][]string // payment id → refund ids, oldest first
	paymentSession map[string]string   // payment id → session id
	faults         simfault.Queue
	nextRefund     string
	listShape      ListShape
	idSeq          uint64
	requests       []string
}

// NewSimulator returns an empty simulator.
func NewSimulator(cfg SimConfig) *Simulator {
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = DefaultSlowDelay
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Simulator{
		cfg:            cfg,
		sessions:       map[string]*session{},
		payments:       map[string]*payment{},
		refunds:        map[string]*refund{},
		paymentRefunds: map[string][]string{},
		paymentSession: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sessions/{id}", s.getSession)
	mux.HandleFunc("POST /sessions/{id}/expire", s.expireSession)
	mux.HandleFunc("GET /payments/{id}", s.getPayment)
	mux.HandleFunc("POST /payments/{id}/cancel", s.cancelPayment)
	mux.HandleFunc("GET /payments/{id}/refunds", s.listRefunds)
	mux.HandleFunc("POST /refunds", s.createRefund)
	mux.HandleFunc("GET /refunds/{id}", s.getRefund)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	s.mux = mux
	return s
}

// --- scenario controls -------------------------------------------------------------

// NextRefundStatus makes the next refund created get status (pending, failed, or any
// string) instead of succeeded. A pending refund can be settled with SettleRefund.
func (s *Simulator) NextRefundStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextRefund = status
}

// SetRefundListShape chooses the envelope of GET /payments/{id}/refunds.
func (s *Simulator) SetRefundListShape(shape ListShape) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listShape = shape
}

// SetPaymentStatus moves a payment to status, as the payer or the bank would (paying,
// authorising, failing). succeeded takes the whole amount (amountReceived = amount);
// requiresCapture holds it (amountCapturable = amount). It calls OnChange.
func (s *Simulator) SetPaymentStatus(id, status string) error {
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("bpc simulator: payment %s: %w", id, providers.ErrNotFound)
	}
	p.Status = status
	switch status {
	case "succeeded":
		p.AmountReceived, p.AmountCapturable = p.Amount, 0
	case "requiresCapture":
		p.AmountCapturable = p.Amount
	case "canceled":
		p.AmountCapturable = 0
		p.CanceledAt = s.nowString()
	}
	event := EventPaymentUpdated
	switch status {
	case "succeeded":
		event = EventPaymentSucceeded
	case "canceled":
		event = EventPaymentCanceled
	}
	env := s.envelopeLocked("", id)
	s.mu.Unlock()
	s.notify(event, env)
	return nil
}

// SetSessionStatus moves a session to status (completed when the payer paid on the
// hosted page, expired when its time ran out). It calls OnChange.
func (s *Simulator) SetSessionStatus(id, status string) error {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("bpc simulator: session %s: %w", id, providers.ErrNotFound)
	}
	sess.Status = status
	event := EventSessionUpdated
	switch status {
	case "completed":
		event = EventSessionCompleted
		sess.PaymentStatus = "paid"
	case "expired":
		event = EventSessionExpired
	}
	env := s.envelopeLocked(id, "")
	s.mu.Unlock()
	s.notify(event, env)
	return nil
}

// SettleRefund moves a refund (typically pending) to status (succeeded or failed). It
// calls OnChange.
func (s *Simulator) SettleRefund(id, status string) error {
	s.mu.Lock()
	r, ok := s.refunds[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("bpc simulator: refund %s: %w", id, providers.ErrNotFound)
	}
	r.Status = status
	env := s.envelopeLocked("", r.PaymentID)
	s.mu.Unlock()
	s.notify(EventRefundUpdated, env)
	return nil
}

// Requests returns "METHOD /path" for every request received so far, oldest first.
func (s *Simulator) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Load adds or replaces a payment (its session, payment and refunds) from an import
// envelope, after checking it with ParseEnvelope. The demo and a restarted app rebuild
// the simulator this way. The payment's refunds are replaced by the envelope's.
func (s *Simulator) Load(envelope []byte) error {
	snap, err := ParseEnvelope(envelope)
	if err != nil {
		return fmt.Errorf("bpc simulator: load: %w", err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(snap.Raw, &env); err != nil {
		return fmt.Errorf("bpc simulator: load: %w", err)
	}
	var sess *session
	var pay *payment
	var refunds []*refund
	if snap.SessionID != "" {
		sess = new(session)
		if err := json.Unmarshal(env.Session, sess); err != nil {
			return fmt.Errorf("bpc simulator: load: session: %w", err)
		}
		sess.Currency = snap.Currency
	}
	if snap.PaymentID != "" {
		pay = new(payment)
		if err := json.Unmarshal(env.Payment, pay); err != nil {
			return fmt.Errorf("bpc simulator: load: payment: %w", err)
		}
		pay.Currency = snap.Currency
		if err := json.Unmarshal(env.Refunds, &refunds); err != nil {
			return fmt.Errorf("bpc simulator: load: refunds: %w", err)
		}
		for _, r := range refunds {
			r.PaymentID = pay.ID
			r.Currency = strings.ToUpper(firstNonEmpty(r.Currency, snap.Currency))
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if pay != nil {
		for _, r := range refunds {
			if old, ok := s.refunds[r.ID]; ok && old.PaymentID != pay.ID {
				return fmt.Errorf("bpc simulator: load: refund %s already belongs to payment %s", r.ID, old.PaymentID)
			}
		}
		for _, id := range s.paymentRefunds[pay.ID] {
			delete(s.refunds, id)
		}
		ids := make([]string, 0, len(refunds))
		for _, r := range refunds {
			s.refunds[r.ID] = r
			ids = append(ids, r.ID)
		}
		s.paymentRefunds[pay.ID] = ids
		s.payments[pay.ID] = pay
	}
	if sess != nil {
		if pay != nil {
			sess.PaymentID = pay.ID
		}
		if sess.PaymentID != "" {
			s.paymentSession[sess.PaymentID] = sess.ID
		}
		s.sessions[sess.ID] = sess
	}
	return nil
}

// Envelope returns the import envelope of the payment ref points at (by session id or
// payment id), exactly as Fetch would build it from the simulator's answers.
func (s *Simulator) Envelope(ref providers.Ref) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := s.envelopeLocked(ref.SessionID, ref.PaymentID)
	if env == nil {
		return nil, fmt.Errorf("bpc simulator: %+v: %w", ref, providers.ErrNotFound)
	}
	return env, nil
}

// Snapshot returns the simulator's current view of a payment, decoded like Fetch does.
func (s *Simulator) Snapshot(ref providers.Ref) (providers.Snapshot, error) {
	env, err := s.Envelope(ref)
	if err != nil {
		return providers.Snapshot{}, err
	}
	return ParseEnvelope(env)
}

// --- HTTP --------------------------------------------------------------------------

// ServeHTTP serves the API relative to the simulator's root, and GET /pay/{id}: the
// hosted payment page a session's paymentUrl points to (no credentials, like the real one).
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/pay/") {
		s.payPage(w, r)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	simfault.Serve(w, r, s.faults.Take(""), s.faultAnswers(), http.HandlerFunc(s.serveAPI))
}

// serveAPI checks the credentials and the version, then routes.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Api-Key")
	switch {
	case equal(key, s.cfg.APIKey):
	case equal(key, s.cfg.ReadOnlyKey):
		if r.Method != http.MethodGet {
			writeError(w, http.StatusForbidden, "Access denied")
			return
		}
	default:
		writeError(w, http.StatusUnauthorized, "Invalid API key")
		return
	}
	switch v := r.Header.Get("X-Version"); {
	case v == "":
		writeError(w, http.StatusBadRequest, "X-Version header is required")
		return
	case v != s.cfg.Version:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unsupported X-Version %q", v))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Simulator) getSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	sess, ok := s.sessions[id]
	var body []byte
	if ok {
		body = s.sessionJSON(sess)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Session %s not found", id))
		return
	}
	writeBody(w, http.StatusOK, body)
}

// expireSession expires an open session [D]. Refusing other states with 400 and a
// message is inferred [I]: BPC documents only that expiry needs status open.
func (s *Simulator) expireSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("Session %s not found", id))
		return
	}
	if sess.Status != "open" {
		st := sess.Status
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Session %s cannot be expired: its status is %s (only open sessions can be expired)", id, st))
		return
	}
	sess.Status = "expired"
	body := s.sessionJSON(sess)
	env := s.envelopeLocked(id, "")
	s.mu.Unlock()
	s.notify(EventSessionExpired, env)
	writeBody(w, http.StatusOK, body)
}

func (s *Simulator) getPayment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	p, ok := s.payments[id]
	var body []byte
	if ok {
		body = s.paymentJSON(p)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Payment %s not found", id))
		return
	}
	writeBody(w, http.StatusOK, body)
}

// cancelPayment cancels a payment before capture [D]; refusing other states with 400 is
// inferred [I].
func (s *Simulator) cancelPayment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("Payment %s not found", id))
		return
	}
	switch p.Status {
	case "requiresPaymentMethod", "requiresAction", "requiresCapture":
	default:
		st := p.Status
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Payment %s cannot be canceled: its status is %s (only requiresPaymentMethod, requiresAction or requiresCapture payments can be canceled)", id, st))
		return
	}
	// Cancelling in requiresCapture releases the held amount to the customer [D].
	p.Status = "canceled"
	p.AmountCapturable = 0
	p.CanceledAt = s.nowString()
	body := s.paymentJSON(p)
	env := s.envelopeLocked("", id)
	s.mu.Unlock()
	s.notify(EventPaymentCanceled, env)
	writeBody(w, http.StatusOK, body)
}

func (s *Simulator) listRefunds(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.payments[id]
	list := providers.JSONList(s.refundsJSON(s.refundsLocked(id)))
	shape := s.listShape
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Payment %s not found", id))
		return
	}
	var body []byte
	switch shape {
	case ListArray:
		body = list
	case ListRefunds:
		body = s.shaped(mustJSON(map[string]any{"refunds": list}))
	default:
		body = s.shaped(mustJSON(map[string]any{"data": list, "hasMore": false}))
	}
	writeBody(w, http.StatusOK, body)
}

// createRefund refunds a succeeded payment [D]. The 400 answers and their messages are
// inferred [I]. Pending refunds count against what is left, like succeeded ones, so that
// settling them can never refund more than was captured.
func (s *Simulator) createRefund(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body")
		return
	}
	var req struct {
		Amount    json.RawMessage `json:"amount"`
		PaymentID *string         `json:"paymentId"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON body: "+err.Error())
		return
	}
	if isNull(req.Amount) {
		writeError(w, http.StatusBadRequest, "amount is required")
		return
	}
	amount, ok := positiveInteger(req.Amount)
	if !ok {
		writeError(w, http.StatusBadRequest, "amount must be a positive integer in minor units")
		return
	}
	if req.PaymentID == nil || *req.PaymentID == "" {
		writeError(w, http.StatusBadRequest, "paymentId is required")
		return
	}
	pid := *req.PaymentID

	s.mu.Lock()
	p, ok := s.payments[pid]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("Payment %s not found", pid))
		return
	}
	if p.Status != "succeeded" {
		st := p.Status
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Payment %s cannot be refunded: its status is %s (only succeeded payments can be refunded)", pid, st))
		return
	}
	left := int64(p.AmountReceived)
	for _, rid := range s.paymentRefunds[pid] {
		if st := s.refunds[rid].Status; st == "succeeded" || st == "pending" {
			left -= int64(s.refunds[rid].Amount)
		}
	}
	if amount > left {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Refund amount exceeds the refundable amount of payment %s: %d requested, %d left", pid, amount, max(left, 0)))
		return
	}
	status := "succeeded"
	if s.nextRefund != "" {
		status, s.nextRefund = s.nextRefund, ""
	}
	ref := &refund{
		ID:        s.newRefundIDLocked(),
		Amount:    minorUnits(amount),
		Created:   s.nowString(),
		Currency:  p.Currency,
		PaymentID: pid,
		Status:    status,
	}
	s.refunds[ref.ID] = ref
	s.paymentRefunds[pid] = append(s.paymentRefunds[pid], ref.ID)
	body := s.shaped(mustJSON(ref))
	env := s.envelopeLocked("", pid)
	s.mu.Unlock()
	s.notify(EventRefundUpdated, env)
	writeBody(w, http.StatusOK, body)
}

func (s *Simulator) getRefund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	ref, ok := s.refunds[id]
	var body []byte
	if ok {
		body = s.shaped(mustJSON(ref))
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Refund %s not found", id))
		return
	}
	writeBody(w, http.StatusOK, body)
}

var payPageTemplate = template.Must(template.New("pay").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>BPC simulator: hosted payment page</title></head>
<body><h1>BPC simulator</h1>
<p>Hosted payment page of session <code>{{.ID}}</code>: {{.Amount}}, status <strong>{{.Status}}</strong>.</p>
<p>This simulator takes no card details; tests and the demo move payments with its controls.</p>
</body></html>
`))

// payPage is the page a session's paymentUrl points to.
func (s *Simulator) payPage(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/pay/")
	s.mu.Lock()
	sess, ok := s.sessions[id]
	var data struct{ ID, Amount, Status string }
	if ok {
		data.ID, data.Status = sess.ID, sess.Status
		data.Amount = providers.FormatMoney(int64(sess.Amount), strings.ToUpper(sess.Currency))
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "BPC simulator: no such session", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	payPageTemplate.Execute(w, data)
}

// --- state helpers (s.mu held) -------------------------------------------------------

// sessionJSON renders a session as the API answers it, its paymentUrl pointing at this
// simulator.
func (s *Simulator) sessionJSON(sess *session) []byte {
	out := *sess
	if s.cfg.PublicURL != "" {
		out.PaymentURL = s.cfg.PublicURL + "/pay/" + sess.ID
	}
	if s.cfg.Shapes == simshape.Documented {
		out.PaymentID, out.PaymentURL = "", ""
		if len(out.Metadata) == 0 {
			out.Metadata = json.RawMessage(`{}`) // the document shows it, empty
		}
	}
	return s.shaped(mustJSON(&out))
}

// paymentJSON renders a payment as the API answers it.
func (s *Simulator) paymentJSON(p *payment) []byte {
	out := *p
	if s.cfg.Shapes == simshape.Documented && len(out.Metadata) == 0 {
		out.Metadata = json.RawMessage(`{}`)
	}
	return s.shaped(mustJSON(&out))
}

// refundsJSON renders refunds as the API answers them, one JSON object each.
func (s *Simulator) refundsJSON(list []*refund) []json.RawMessage {
	out := make([]json.RawMessage, len(list))
	for i, r := range list {
		out[i] = s.shaped(mustJSON(r))
	}
	return out
}

// shaped adds the undocumented extra fields to an answer when SimConfig.ExtraFields asks.
func (s *Simulator) shaped(body []byte) []byte {
	if !s.cfg.ExtraFields {
		return body
	}
	if more, err := simshape.WithFields(body, map[string]any{
		"simUnknownField":  "a field this version of the API added",
		"simUnknownObject": map[string]any{"items": []any{json.Number("1"), "two"}},
	}); err == nil {
		return more
	}
	return body
}

func (s *Simulator) refundsLocked(paymentID string) []*refund {
	ids := s.paymentRefunds[paymentID]
	list := make([]*refund, 0, len(ids))
	for _, id := range ids {
		list = append(list, s.refunds[id])
	}
	return list
}

// envelopeLocked builds the import envelope of the payment a session or payment id points
// at, nil when neither is known.
func (s *Simulator) envelopeLocked(sessionID, paymentID string) []byte {
	if sessionID == "" && paymentID != "" {
		sessionID = s.paymentSession[paymentID]
	}
	sess := s.sessions[sessionID]
	if paymentID == "" && sess != nil {
		paymentID = sess.PaymentID
	}
	pay := s.payments[paymentID]
	if sess == nil && pay == nil {
		return nil
	}
	env := providers.Envelope{Provider: Name}
	if sess != nil {
		env.Session = s.sessionJSON(sess)
	}
	if pay != nil {
		env.Payment = s.paymentJSON(pay)
		env.Refunds = providers.JSONList(s.refundsJSON(s.refundsLocked(pay.ID)))
	}
	return mustJSON(env)
}

// newRefundIDLocked returns a new, unused, random-looking refund id. The counter restarts
// with the process, so ids already loaded from the database are skipped.
func (s *Simulator) newRefundIDLocked() string {
	for {
		s.idSeq++
		id := hashedID("re_", "bpc-simulator-refund:"+strconv.FormatUint(s.idSeq, 10))
		if _, taken := s.refunds[id]; !taken {
			return id
		}
	}
}

func (s *Simulator) nowString() string {
	return s.cfg.Now().UTC().Format(time.RFC3339)
}

func (s *Simulator) notify(event string, env []byte) {
	if s.cfg.OnChange != nil && env != nil {
		s.cfg.OnChange(event, env)
	}
}

// SessionIDs returns the ids of every session the simulator holds, sorted.
func (s *Simulator) SessionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// PaymentIDs returns the ids of every payment the simulator holds, sorted.
func (s *Simulator) PaymentIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.payments))
	for id := range s.payments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// --- small HTTP helpers --------------------------------------------------------------

func writeError(w http.ResponseWriter, status int, msg string) {
	writeBody(w, status, mustJSON(errorBody{Message: msg}))
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the simulator's own structs are marshalled: a failure is a programming error.
		panic(fmt.Sprintf("bpc simulator: %v", err))
	}
	return b
}

// equal compares a presented credential with a configured one in constant time; an
// empty configured credential matches nothing.
func equal(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// positiveInteger accepts a bare JSON integer above zero, as BPC's minor units are.
func positiveInteger(raw json.RawMessage) (int64, bool) {
	t := string(bytes.TrimSpace(raw))
	if t == "" {
		return 0, false
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

var _ http.Handler = (*Simulator)(nil)
