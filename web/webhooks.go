package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
)

// webhookHandler receives one provider's webhooks at /webhooks/{provider}: the
// provider's receiver (web.Config.Webhooks) verifies and decodes them, receiveWebhook does
// the rest. Without a receiver every webhook is refused with 503, so the provider sends
// it again once Paydesk is configured.
func (s *Server) webhookHandler(provider providers.Name) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		recv := s.cfg.Webhooks[provider]
		if recv == nil {
			recv = notConfigured{provider}
		}
		s.receiveWebhook(w, r, provider, recv)
	}
}

// notConfigured is the receiver of a provider whose webhooks Paydesk cannot verify.
type notConfigured struct{ provider providers.Name }

func (notConfigured) Headers() []string { return nil }

func (n notConfigured) Verify(http.Header, []byte) error {
	return fmt.Errorf("%w: %s webhooks are not configured in this Paydesk", providers.ErrWebhookNotConfigured, n.provider.Label())
}

func (notConfigured) Decode(http.Header, []byte) (providers.WebhookEvent, error) {
	return providers.WebhookEvent{}, providers.ErrWebhookNotConfigured
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
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request, provider providers.Name, recv providers.WebhookReceiver) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Warn("webhook refused", "request_id", requestID(r.Context()), "provider", provider, "err", err)
			s.metrics.webhook(provider, "too_large")
			webhookReply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body larger than %d bytes: refused, nothing stored", tooBig.Limit))
			return
		}
		s.log.Warn("webhook unreadable", "request_id", requestID(r.Context()), "provider", provider, "err", err)
		webhookReply(w, http.StatusBadRequest, "webhook body could not be read: nothing stored")
		return
	}
	rec := storage.WebhookEvent{Provider: string(provider), Body: body, Headers: keptHeaders(r, recv.Headers())}
	ans, ev, p := s.handleWebhook(r, provider, recv, body, &rec)
	rec.Verdict, rec.Detail = ans.verdict, ans.detail
	if ans.verdict != "" {
		if _, err := s.db.RecordWebhook(r.Context(), rec); err != nil {
			s.log.Error("record webhook", "request_id", requestID(r.Context()), "provider", provider, "err", err)
			webhookReply(w, http.StatusInternalServerError, "webhook could not be recorded; send it again")
			return
		}
	}
	verdict := ans.verdict
	if verdict == "" {
		verdict = "retry_later"
	}
	s.metrics.webhook(provider, verdict)
	s.log.Info("webhook", "request_id", requestID(r.Context()), "provider", provider, "type", ev.Type, "ref", ev.Ref,
		"payment", p.PublicID, "verdict", verdict, "status", ans.status, "detail", ans.detail)
	webhookReply(w, ans.status, verdict)
}

// handleWebhook decides a webhook's verdict and applies it; it fills rec's event fields
// and returns the payment it concerned (zero when none). A verdict of "" means nothing
// was decided (the provider should send it again) and nothing is recorded.
func (s *Server) handleWebhook(r *http.Request, provider providers.Name, recv providers.WebhookReceiver, body []byte, rec *storage.WebhookEvent) (webhookAnswer, providers.WebhookEvent, storage.Payment) {
	ctx := r.Context()
	var none storage.Payment
	if err := recv.Verify(r.Header, body); err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, providers.ErrWebhookNotConfigured) {
			status = http.StatusServiceUnavailable
		}
		return webhookAnswer{"bad_signature", status, err.Error()}, providers.WebhookEvent{}, none
	}
	ev, err := recv.Decode(r.Header, body)
	if err != nil {
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, none
	}
	rec.EventKey, rec.EventType = ev.Key, ev.Type

	// One at a time per provider: a duplicate arriving while its twin is applied is still
	// a duplicate, and two events about one payment merge one after the other.
	mu, _ := s.webhooks.LoadOrStore(provider, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	var stored *storage.Payment
	p, err := s.findWebhookPayment(ctx, provider, ev)
	switch {
	case err == nil:
		stored = &p
		rec.PaymentID = p.ID
	case !errors.Is(err, storage.ErrNotFound):
		s.log.Error("webhook: find payment", "provider", provider, "ref", ev.Ref, "err", err)
		return webhookAnswer{"", http.StatusServiceUnavailable, "payment lookup failed"}, ev, none
	}
	label := provider.Label() + " webhook " + ev.Type
	seen, err := s.db.WebhookSeen(ctx, string(provider), ev.Key)
	if err != nil {
		s.log.Error("webhook: seen", "provider", provider, "err", err)
		return webhookAnswer{"", http.StatusServiceUnavailable, "dedupe lookup failed"}, ev, none
	}
	if seen {
		s.webhookTimeline(ctx, stored, label+" received again: a duplicate of one already applied; nothing changed")
		return webhookAnswer{"duplicate", http.StatusOK, "the same webhook was applied before"}, ev, p
	}
	var storedSnap *providers.Snapshot
	if stored != nil {
		storedSnap = &stored.Snapshot
	}
	snap, err := ev.Snapshot(ctx, storedSnap)
	switch {
	case errors.Is(err, providers.ErrUnknownPayment):
		s.webhookTimeline(ctx, stored, label+" received about something Paydesk does not hold; nothing changed")
		return webhookAnswer{"unknown_payment", http.StatusOK, err.Error()}, ev, p
	case errors.Is(err, providers.ErrWebhookNotConfigured):
		return webhookAnswer{"", http.StatusServiceUnavailable, err.Error()}, ev, p
	case errors.Is(err, providers.ErrProviderUnavailable):
		s.webhookTimeline(ctx, stored, label+" received, but "+provider.Label()+" could not be read to follow it; it will be sent again")
		return webhookAnswer{"", http.StatusServiceUnavailable, err.Error()}, ev, p
	case err != nil:
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, p
	}
	after, change, err := s.db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	switch {
	case errors.Is(err, storage.ErrInvalidSnapshot):
		return webhookAnswer{"malformed", http.StatusBadRequest, err.Error()}, ev, p
	case err != nil:
		s.log.Error("webhook: store", "provider", provider, "ref", ev.Ref, "err", err)
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

// findWebhookPayment returns the stored payment an event is about: the first of its ids
// Paydesk holds, or an error wrapping storage.ErrNotFound.
func (s *Server) findWebhookPayment(ctx context.Context, provider providers.Name, ev providers.WebhookEvent) (storage.Payment, error) {
	for _, id := range ev.IDs {
		if id == "" {
			continue
		}
		p, err := s.db.PaymentByProviderID(ctx, provider, id)
		if err == nil || !isNotFound(err) {
			return p, err
		}
	}
	return storage.Payment{}, fmt.Errorf("%s %s: %w", provider, ev.Ref, storage.ErrNotFound)
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

// isNotFound reports whether err says a row does not exist.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
