package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"paydesk/providers"
	"paydesk/storage"
)

// webhookBPC receives BPC's webhooks: JSON {"created","data":{"object":{…}},"type"} signed
// with an HMAC of the raw body in X-Signature (providers.md §2). The object — a session, a
// payment or a refund, as BPC's API returns them — replaces its part of the stored
// payment, which is then decoded by BPC's own parser; an older state never replaces a
// newer one. Payments Paydesk does not hold are not created from a BPC webhook: a session
// and its payment arrive separately and could not be told to be one payment.
func (s *Server) webhookBPC(w http.ResponseWriter, r *http.Request) {
	s.receiveWebhook(w, r, webhookSource{
		provider: providers.BPC,
		headers:  []string{"X-Signature", "X-Version", "API-Request-Id"},
		verify:   s.verifyBPC,
		decode:   s.decodeBPC,
	})
}

// verifyBPC checks X-Signature: HMAC(secret, raw body) with the configured algorithm.
func (s *Server) verifyBPC(r *http.Request, body []byte) error {
	cfg := s.cfg.Webhooks
	if len(cfg.BPCSecret) == 0 || s.cfg.Parsers[providers.BPC] == nil {
		return fmt.Errorf("%w: BPC webhooks need PAYDESK_BPC_WEBHOOK_SECRET", errNotConfigured)
	}
	sig := r.Header.Get("X-Signature")
	if sig == "" {
		return fmt.Errorf("%w: no X-Signature header", errBadSignature)
	}
	if !verifyHMAC(webhookHash(cfg.BPCAlgorithm), cfg.BPCSecret, body, sig) {
		return fmt.Errorf("%w: X-Signature is not the HMAC-%s of the body", errBadSignature, strings.ToUpper(cfg.BPCAlgorithm))
	}
	return nil
}

// bpcWebhook is BPC's webhook body.
type bpcWebhook struct {
	Created json.RawMessage `json:"created"`
	Type    string          `json:"type"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// bpcObject is what Paydesk reads of the object before BPC's parser reads the rest.
type bpcObject struct {
	ID        string `json:"id"`
	PaymentID string `json:"paymentId"`
}

// decodeBPC reads the event: which kind of object it carries and whose payment it is.
func (s *Server) decodeBPC(_ *http.Request, body []byte) (webhookEvent, error) {
	var wh bpcWebhook
	if err := json.Unmarshal(body, &wh); err != nil {
		return webhookEvent{}, fmt.Errorf("%w: not BPC's webhook JSON: %v", errMalformed, err)
	}
	kind, _, _ := strings.Cut(wh.Type, ".")
	if wh.Type == "" || len(wh.Type) > 100 {
		return webhookEvent{}, fmt.Errorf("%w: no event type", errMalformed)
	}
	var obj bpcObject
	if len(wh.Data.Object) == 0 || json.Unmarshal(wh.Data.Object, &obj) != nil {
		return webhookEvent{}, fmt.Errorf("%w: %s carries no data.object", errMalformed, wh.Type)
	}
	ev := webhookEvent{Type: wh.Type, Key: bodyKey(body)}
	obj.ID, obj.PaymentID = strings.TrimSpace(obj.ID), strings.TrimSpace(obj.PaymentID)
	find := func(ids ...string) func(ctx context.Context) (storage.Payment, error) {
		return func(ctx context.Context) (storage.Payment, error) {
			for _, id := range ids {
				if id == "" {
					continue
				}
				p, err := s.db.PaymentByProviderID(ctx, providers.BPC, id)
				if err == nil || !isNotFound(err) {
					return p, err
				}
			}
			return storage.Payment{}, fmt.Errorf("bpc %s: %w", ev.Ref, storage.ErrNotFound)
		}
	}
	switch kind {
	case "payment":
		if obj.ID == "" {
			return ev, fmt.Errorf("%w: %s: the payment has no id", errMalformed, wh.Type)
		}
		ev.Ref, ev.Find = obj.ID, find(obj.ID)
	case "session":
		if obj.ID == "" {
			return ev, fmt.Errorf("%w: %s: the session has no id", errMalformed, wh.Type)
		}
		ev.Ref, ev.Find = obj.ID, find(obj.ID, obj.PaymentID)
	case "refund":
		if obj.ID == "" || obj.PaymentID == "" {
			return ev, fmt.Errorf("%w: %s: the refund needs an id and a paymentId", errMalformed, wh.Type)
		}
		ev.Ref, ev.Find = obj.PaymentID, find(obj.PaymentID)
	default:
		return ev, fmt.Errorf("%w: event type %q is not one Paydesk reads", errMalformed, wh.Type)
	}
	object := wh.Data.Object
	ev.Snapshot = func(_ context.Context, stored *storage.Payment) (providers.Snapshot, error) {
		if stored == nil {
			return providers.Snapshot{}, fmt.Errorf("%w: BPC %s is not in Paydesk (import it to follow it)", errUnknownPayment, ev.Ref)
		}
		env, err := mergeEnvelope(providers.BPC, stored)
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
		switch kind {
		case "payment":
			env.Payment = object
		case "session":
			env.Session = object
		case "refund":
			if len(env.Payment) == 0 {
				return providers.Snapshot{}, fmt.Errorf("%w: BPC refund %s is for payment %s, which Paydesk holds only as a session", errUnknownPayment, obj.ID, obj.PaymentID)
			}
			var list []json.RawMessage
			if len(env.Refunds) > 0 {
				if err := json.Unmarshal(env.Refunds, &list); err != nil {
					return providers.Snapshot{}, fmt.Errorf("%w: stored refunds: %v", errMalformed, err)
				}
			}
			merged, err := json.Marshal(replaceByID(list, "id", obj.ID, object))
			if err != nil {
				return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
			}
			env.Refunds = merged
		}
		return s.parseEnvelope(env)
	}
	return ev, nil
}
