package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
)

// WebhookConfig says how each provider's webhooks are verified (providers.md).
type WebhookConfig struct {
	// BPCSecret is the key of BPC's X-Signature HMAC. Without it every BPC webhook is
	// refused (503, so BPC delivers it again once Paydesk is configured).
	BPCSecret []byte
	// BPCAlgorithm is the HMAC's hash: sha256 (the default), sha512 or sha1.
	BPCAlgorithm string
	// PowensSecret, when set, is checked as an HMAC-SHA256 of the raw body in
	// PowensHeader. A Powens webhook is only a hint (Paydesk re-reads the payment from
	// Powens before changing anything), so without a secret it is accepted unsigned.
	PowensSecret []byte
	// PowensHeader is the header carrying the Powens signature (default X-Signature).
	PowensHeader string
	// TranzzoSecret is Tranzzo's API secret, the key of its webhook signature. Without it
	// every Tranzzo webhook is refused (503).
	TranzzoSecret []byte
}

// check validates the configuration and fills in the defaults.
func (c *WebhookConfig) check() error {
	c.BPCAlgorithm = strings.ToLower(strings.TrimSpace(c.BPCAlgorithm))
	if c.BPCAlgorithm == "" {
		c.BPCAlgorithm = "sha256"
	}
	if webhookHash(c.BPCAlgorithm) == nil {
		return fmt.Errorf("web: BPC webhook algorithm %q: use sha256, sha512 or sha1 (PAYDESK_BPC_WEBHOOK_ALGORITHM)", c.BPCAlgorithm)
	}
	c.PowensHeader = strings.TrimSpace(c.PowensHeader)
	if c.PowensHeader == "" {
		c.PowensHeader = "X-Signature"
	}
	return nil
}

// webhookHash returns the hash constructor for an algorithm name, nil when unknown.
func webhookHash(alg string) func() hash.Hash {
	switch alg {
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	case "sha1":
		return sha1.New
	}
	return nil
}

// The ways a webhook can fail before it is applied; each maps to a verdict and a status.
var (
	// errNotConfigured: Paydesk cannot verify or apply this provider's webhooks.
	errNotConfigured = errors.New("webhooks not configured")
	// errBadSignature: the signature is missing or wrong.
	errBadSignature = errors.New("bad signature")
	// errMalformed: signed (or unsigned where allowed) but not what the provider sends.
	errMalformed = errors.New("malformed webhook")
	// errUnknownPayment: the webhook is about a payment Paydesk does not hold and cannot
	// create from it.
	errUnknownPayment = errors.New("unknown payment")
	// errProviderUnavailable: the provider could not be read to act on a hint.
	errProviderUnavailable = errors.New("provider unavailable")
)

// webhookEvent is a verified, decoded webhook, ready to apply.
type webhookEvent struct {
	// Type is the provider's event type (BPC type, Tranzzo method/status, Powens type).
	Type string
	// Key is the dedupe key: a hash of the raw body, so a delivery repeated byte for byte
	// is recognised whatever headers it comes with.
	Key string
	// Ref is the provider's id the event is about, for people and the log.
	Ref string
	// Find returns the stored payment the event concerns (an error wrapping
	// storage.ErrNotFound when Paydesk does not hold it).
	Find func(ctx context.Context) (storage.Payment, error)
	// Snapshot builds the payment to store from the stored one (nil when Paydesk does
	// not hold it yet). It returns errUnknownPayment when the event cannot make a payment
	// by itself, errProviderUnavailable when a hint could not be followed, errMalformed
	// when the data does not make a valid payment.
	Snapshot func(ctx context.Context, stored *storage.Payment) (providers.Snapshot, error)
}

// webhookSource is one provider's side of webhooks: how to verify and decode them.
type webhookSource struct {
	provider providers.Name
	// headers are kept with the raw body (none of them secret).
	headers []string
	// verify returns nil, or an error wrapping errNotConfigured or errBadSignature.
	verify func(r *http.Request, body []byte) error
	// decode returns the event, or an error wrapping errMalformed.
	decode func(r *http.Request, body []byte) (webhookEvent, error)
}

// webhookAnswer is what a webhook was answered and recorded with.
type webhookAnswer struct {
	verdict string
	status  int
	detail  string
}

// receiveWebhook is the one path every webhook takes: read the body (capped), verify,
// decode, then — one webhook at a time — recognise duplicates, find the payment, build
// what the provider says and store it, refusing an older state than the one stored.
// Every webhook read in full is recorded raw with its verdict; one about a known payment
// also leaves a line on its timeline.
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request, src webhookSource) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("webhook refused", "request_id", requestID(r.Context()), "provider", src.provider, "err", err)
			s.metrics.webhook(src.provider, "too_large")
			webhookReply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body larger than %d bytes: refused, nothing stored", tooBig.Limit))
			return
		}
		s.log.Warn("webhook unreadable", "request_id", requestID(r.Context()), "provider", src.provider, "err", err)
		webhookReply(w, http.StatusBadRequest, "webhook body could not be read: nothing stored")
		return
	}
	rec := storage.WebhookEvent{Provider: string(src.provider), Body: body, Headers: keptHeaders(r, src.headers)}
	ans, ev, p := s.handleWebhook(r, src, body, &rec)
	rec.Verdict, rec.Detail = ans.verdict, ans.detail
	if ans.verdict != "" {
		if _, err := s.db.RecordWebhook(r.Context(), rec); err != nil {
			s.log.Error("record webhook", "request_id", requestID(r.Context()), "provider", src.provider, "err", err)
			webhookReply(w, http.StatusInternalServerError, "webhook could not be recorded; send it again")
			return
		}
	}
	verdict := ans.verdict
	if verdict == "" {
		verdict = "retry_later"
	}
	s.metrics.webhook(src.provider, verdict)
	s.log.Info("webhook", "request_id", requestID(r.Context()), "provider", src.provider, "type", ev.Type, "ref", ev.Ref,
		"payment", p.PublicID, "verdict", verdict, "status", ans.status, "detail", ans.detail)
	webhookReply(w, ans.status, verdict)
}

// handleWebhook decides a webhook's verdict and applies it; it fills rec's event fields
// and returns the payment it concerned (zero when none). A verdict of "" means nothing
// was decided (the provider should send it again) and nothing is recorded.
func (s *Server) handleWebhook(r *http.Request, src webhookSource, body []byte, rec *storage.WebhookEvent) (webhookAnswer, webhookEvent, storage.Payment) {
	ctx := r.Context()
	var none storage.Payment
	if err := src.verify(r, body); err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, errNotConfigured) {
			status = http.StatusServiceUnavailable
		}
		return webhookAnswer{"bad_signature", status, err.Error()}, webhookEvent{}, none
	}
	ev, err := src.decode(r, body)
	if err != nil {
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, none
	}
	rec.EventKey, rec.EventType = ev.Key, ev.Type

	// One at a time per provider: a duplicate arriving while its twin is applied is still
	// a duplicate, and two events about one payment merge one after the other.
	mu, _ := s.webhooks.LoadOrStore(src.provider, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	var stored *storage.Payment
	p, err := ev.Find(ctx)
	switch {
	case err == nil:
		stored = &p
		rec.PaymentID = p.ID
	case !errors.Is(err, storage.ErrNotFound):
		s.log.Error("webhook: find payment", "provider", src.provider, "ref", ev.Ref, "err", err)
		return webhookAnswer{"", http.StatusServiceUnavailable, "payment lookup failed"}, ev, none
	}
	label := src.provider.Label() + " webhook " + ev.Type
	seen, err := s.db.WebhookSeen(ctx, string(src.provider), ev.Key)
	if err != nil {
		s.log.Error("webhook: seen", "provider", src.provider, "err", err)
		return webhookAnswer{"", http.StatusServiceUnavailable, "dedupe lookup failed"}, ev, none
	}
	if seen {
		s.webhookTimeline(ctx, stored, label+" received again: a duplicate of one already applied; nothing changed")
		return webhookAnswer{"duplicate", http.StatusOK, "the same webhook was applied before"}, ev, p
	}
	snap, err := ev.Snapshot(ctx, stored)
	switch {
	case errors.Is(err, errUnknownPayment):
		s.webhookTimeline(ctx, stored, label+" received about something Paydesk does not hold; nothing changed")
		return webhookAnswer{"unknown_payment", http.StatusOK, err.Error()}, ev, p
	case errors.Is(err, errNotConfigured):
		return webhookAnswer{"", http.StatusServiceUnavailable, err.Error()}, ev, p
	case errors.Is(err, errProviderUnavailable):
		s.webhookTimeline(ctx, stored, label+" received, but "+src.provider.Label()+" could not be read to follow it; it will be sent again")
		return webhookAnswer{"", http.StatusServiceUnavailable, err.Error()}, ev, p
	case err != nil:
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, p
	}
	after, change, err := s.db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	switch {
	case errors.Is(err, storage.ErrInvalidSnapshot):
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, p
	case err != nil:
		s.log.Error("webhook: store", "provider", src.provider, "ref", ev.Ref, "err", err)
		return webhookAnswer{"", http.StatusServiceUnavailable, "the payment could not be stored"}, ev, p
	}
	rec.PaymentID = after.ID
	if change.Stale {
		s.webhookTimeline(ctx, &after, fmt.Sprintf("%s received out of order: it says %s, Paydesk already has %s; nothing changed",
			label, providers.Normalise(snap).Label(), after.Status.Label()))
		return webhookAnswer{"stale", http.StatusOK, fmt.Sprintf("older than the stored state (%s < %s)", providers.Normalise(snap), after.Status)}, ev, after
	}
	detail := "applied"
	if !change.Changed {
		detail = "applied; nothing changed"
		s.webhookTimeline(ctx, &after, label+" received: nothing changed")
	}
	s.desk.SettlePayerLinks(ctx, after.ID, snap, "webhook")
	s.desk.SettleUnknownActions(ctx, after, snap)
	return webhookAnswer{"applied", http.StatusOK, detail}, ev, after
}

// webhookTimeline writes a timeline line for a webhook about a known payment.
func (s *Server) webhookTimeline(ctx context.Context, p *storage.Payment, msg string) {
	if p == nil || p.ID == 0 {
		return
	}
	if _, err := s.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "webhook", Kind: "webhook", Message: msg}); err != nil {
		s.log.Error("webhook timeline", "payment", p.PublicID, "err", err)
	}
}

// webhookReply answers a webhook in plain text.
func webhookReply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// keptHeaders is the JSON object of the headers kept with a webhook.
func keptHeaders(r *http.Request, names []string) json.RawMessage {
	kept := map[string]string{}
	for _, n := range append([]string{"Content-Type", "User-Agent"}, names...) {
		if v := r.Header.Get(n); v != "" {
			kept[http.CanonicalHeaderKey(n)] = truncateRunes(v, 500)
		}
	}
	b, _ := json.Marshal(kept)
	return b
}

// truncateRunes shortens s to at most n bytes without splitting a character.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// bodyKey is the dedupe key of a webhook body.
func bodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// verifyHMAC checks a signature header against HMAC(secret, body): hex or base64
// (standard or URL-safe, padded or not), optionally prefixed with "<algorithm>=". The
// comparison is in constant time.
func verifyHMAC(newHash func() hash.Hash, secret, body []byte, header string) bool {
	header = strings.TrimSpace(header)
	if i := strings.IndexByte(header, '='); i > 0 && i < 8 && webhookHash(strings.ToLower(header[:i])) != nil {
		header = header[i+1:]
	}
	if header == "" {
		return false
	}
	m := hmac.New(newHash, secret)
	m.Write(body)
	want := m.Sum(nil)
	for _, got := range decodeSignature(header) {
		if hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// decodeSignature returns every reading of a signature: hex and the base64 alphabets.
func decodeSignature(s string) [][]byte {
	var out [][]byte
	if b, err := hex.DecodeString(s); err == nil {
		out = append(out, b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// mergeEnvelope decodes a stored payment's import envelope (an empty one when it has
// none) so a webhook's object can replace its part of it.
func mergeEnvelope(provider providers.Name, stored *storage.Payment) (providers.Envelope, error) {
	env := providers.Envelope{Provider: provider}
	if stored == nil || len(stored.Raw) == 0 {
		return env, nil
	}
	if err := json.Unmarshal(stored.Raw, &env); err != nil {
		return env, fmt.Errorf("the stored payment's provider data cannot be read: %v", err)
	}
	env.Provider = provider
	return env, nil
}

// parseEnvelope runs the provider's own envelope parser on a merged envelope.
func (s *Server) parseEnvelope(env providers.Envelope) (providers.Snapshot, error) {
	parse := s.cfg.Parsers[env.Provider]
	if parse == nil {
		return providers.Snapshot{}, fmt.Errorf("no %s parser: %w", env.Provider, errNotConfigured)
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	snap, err := parse(raw)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return snap, nil
}

// replaceByID returns list with the object whose key field equals id replaced by obj, or
// obj appended when there is none.
func replaceByID(list []json.RawMessage, key, id string, obj json.RawMessage) []json.RawMessage {
	for i, item := range list {
		var fields map[string]json.RawMessage
		if json.Unmarshal(item, &fields) != nil {
			continue
		}
		if idOf(fields[key]) == id {
			out := append([]json.RawMessage(nil), list...)
			out[i] = obj
			return out
		}
	}
	return append(append([]json.RawMessage(nil), list...), obj)
}

// idOf reads an id that may be a JSON string or number; "" otherwise.
func idOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// isNotFound reports whether err says a row does not exist.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
