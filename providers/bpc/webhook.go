package bpc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

// Webhooks receives BPC's webhooks: JSON {"created","data":{"object":{…}},"type"} signed
// with an HMAC of the raw body in X-Signature (docs/providers.md). The object — a session,
// a payment or a refund, as BPC's API returns them — replaces its part of the stored
// payment, which is then decoded by ParseEnvelope; an older state never replaces a newer
// one (the web layer refuses it). Payments Paydesk does not hold are not created from a
// BPC webhook: a session and its payment arrive separately and could not be told to be
// one payment.
type Webhooks struct {
	// Secret is the key of the X-Signature HMAC. Without it every webhook is refused (503,
	// so BPC delivers it again once Paydesk is configured).
	Secret []byte
	// Algorithm is the HMAC's hash: sha256 (the default), sha512 or sha1.
	Algorithm string
}

var _ providers.WebhookReceiver = Webhooks{}

// hash returns the HMAC's hash (sha256 when the algorithm is empty or unknown; the
// settings refuse an unknown one).
func (w Webhooks) hash() (string, func() hash.Hash) {
	alg := strings.ToLower(strings.TrimSpace(w.Algorithm))
	if h := providers.HMACHash(alg); h != nil {
		return alg, h
	}
	return "sha256", providers.HMACHash("sha256")
}

// Headers keeps the signature, the API version and BPC's request id with the body.
func (Webhooks) Headers() []string { return []string{"X-Signature", "X-Version", "API-Request-Id"} }

// Verify checks X-Signature: HMAC(secret, raw body) with the configured algorithm.
func (w Webhooks) Verify(h http.Header, body []byte) error {
	if len(w.Secret) == 0 {
		return fmt.Errorf("%w: BPC webhooks need PAYDESK_BPC_WEBHOOK_SECRET", providers.ErrWebhookNotConfigured)
	}
	sig := h.Get("X-Signature")
	if sig == "" {
		return fmt.Errorf("%w: no X-Signature header", providers.ErrBadSignature)
	}
	alg, newHash := w.hash()
	if !providers.VerifyHMAC(newHash, w.Secret, body, sig) {
		return fmt.Errorf("%w: X-Signature is not the HMAC-%s of the body", providers.ErrBadSignature, strings.ToUpper(alg))
	}
	return nil
}

// webhookBody is BPC's webhook body.
type webhookBody struct {
	Created json.RawMessage `json:"created"`
	Type    string          `json:"type"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// webhookObject is what Paydesk reads of the object before ParseEnvelope reads the rest.
type webhookObject struct {
	ID        string `json:"id"`
	PaymentID string `json:"paymentId"`
}

// Decode reads the event: which kind of object it carries and whose payment it is.
func (w Webhooks) Decode(_ http.Header, body []byte) (providers.WebhookEvent, error) {
	var wh webhookBody
	if err := json.Unmarshal(body, &wh); err != nil {
		return providers.WebhookEvent{}, fmt.Errorf("%w: not BPC's webhook JSON: %v", providers.ErrMalformedWebhook, err)
	}
	kind, _, _ := strings.Cut(wh.Type, ".")
	if wh.Type == "" || len(wh.Type) > 100 {
		return providers.WebhookEvent{}, fmt.Errorf("%w: no event type", providers.ErrMalformedWebhook)
	}
	var obj webhookObject
	if len(wh.Data.Object) == 0 || json.Unmarshal(wh.Data.Object, &obj) != nil {
		return providers.WebhookEvent{}, fmt.Errorf("%w: %s carries no data.object", providers.ErrMalformedWebhook, wh.Type)
	}
	ev := providers.WebhookEvent{Type: wh.Type, Key: providers.BodyKey(body)}
	obj.ID, obj.PaymentID = strings.TrimSpace(obj.ID), strings.TrimSpace(obj.PaymentID)
	switch kind {
	case "payment":
		if obj.ID == "" {
			return ev, fmt.Errorf("%w: %s: the payment has no id", providers.ErrMalformedWebhook, wh.Type)
		}
		ev.Ref, ev.IDs = obj.ID, []string{obj.ID}
	case "session":
		if obj.ID == "" {
			return ev, fmt.Errorf("%w: %s: the session has no id", providers.ErrMalformedWebhook, wh.Type)
		}
		ev.Ref, ev.IDs = obj.ID, []string{obj.ID, obj.PaymentID}
	case "refund":
		if obj.ID == "" || obj.PaymentID == "" {
			return ev, fmt.Errorf("%w: %s: the refund needs an id and a paymentId", providers.ErrMalformedWebhook, wh.Type)
		}
		ev.Ref, ev.IDs = obj.PaymentID, []string{obj.PaymentID}
	default:
		return ev, fmt.Errorf("%w: event type %q is not one Paydesk reads", providers.ErrMalformedWebhook, wh.Type)
	}
	object, ref := wh.Data.Object, ev.Ref
	ev.Snapshot = func(_ context.Context, stored *providers.Snapshot) (providers.Snapshot, error) {
		if stored == nil {
			return providers.Snapshot{}, fmt.Errorf("%w: BPC %s is not in Paydesk (import it to follow it)", providers.ErrUnknownPayment, ref)
		}
		env, err := providers.MergeEnvelope(Name, stored)
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("%w: %v", providers.ErrMalformedWebhook, err)
		}
		switch kind {
		case "payment":
			env.Payment = object
		case "session":
			env.Session = object
		case "refund":
			if len(env.Payment) == 0 {
				return providers.Snapshot{}, fmt.Errorf("%w: BPC refund %s is for payment %s, which Paydesk holds only as a session", providers.ErrUnknownPayment, obj.ID, obj.PaymentID)
			}
			var list []json.RawMessage
			if len(env.Refunds) > 0 {
				if err := json.Unmarshal(env.Refunds, &list); err != nil {
					return providers.Snapshot{}, fmt.Errorf("%w: stored refunds: %v", providers.ErrMalformedWebhook, err)
				}
			}
			merged, err := json.Marshal(providers.ReplaceByID(list, "id", obj.ID, object))
			if err != nil {
				return providers.Snapshot{}, fmt.Errorf("%w: %v", providers.ErrMalformedWebhook, err)
			}
			env.Refunds = merged
		}
		return providers.ParseMerged(env, ParseEnvelope)
	}
	return ev, nil
}

// demoSender turns the simulator's changes into the webhooks BPC sends: the event with
// the object it concerns; for refund.updated, one event per refund whose status changed
// since the last one sent.
type demoSender struct {
	hooks Webhooks
	send  func(providers.DemoWebhook)

	mu      sync.Mutex
	refunds map[string]string // refund id → status last sent
}

// onChange is the simulator's OnChange.
func (d *demoSender) onChange(event string, envelope []byte) {
	var env providers.Envelope
	if json.Unmarshal(envelope, &env) != nil {
		return
	}
	var objects []json.RawMessage
	switch kind, _, _ := strings.Cut(event, "."); kind {
	case "session":
		objects = append(objects, env.Session)
	case "payment":
		objects = append(objects, env.Payment)
	case "refund":
		var list []json.RawMessage
		json.Unmarshal(env.Refunds, &list)
		d.mu.Lock()
		for _, r := range list {
			var f struct{ ID, Status string }
			if json.Unmarshal(r, &f) == nil && f.ID != "" && d.refunds[f.ID] != f.Status {
				d.refunds[f.ID] = f.Status
				objects = append(objects, r)
			}
		}
		d.mu.Unlock()
	}
	_, newHash := d.hooks.hash()
	for _, obj := range objects {
		if len(obj) == 0 {
			continue
		}
		body, _ := json.Marshal(map[string]any{"created": time.Now().UTC().Format(time.RFC3339), "type": event, "data": map[string]any{"object": obj}})
		m := hmac.New(newHash, d.hooks.Secret)
		m.Write(body)
		id := make([]byte, 16)
		rand.Read(id)
		h := http.Header{}
		h.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
		h.Set("X-Version", DefaultVersion)
		h.Set("API-Request-Id", "req_"+hex.EncodeToString(id))
		d.send(providers.DemoWebhook{Path: providers.WebhookPath(Name), ContentType: "application/json", Body: body, Header: h})
	}
}
