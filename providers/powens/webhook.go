package powens

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"paydesk/providers"
)

// Webhooks receives Powens' PAYMENT_UPDATED webhooks. Their signing scheme is not
// published, so a webhook is only a hint (docs/providers.md): Paydesk takes the payment id
// from it and reads the payment from Powens before changing anything. When a secret is
// configured the body must carry its HMAC-SHA256 in the configured header. A payment
// Powens has and Paydesk does not is created, as Powens describes it.
type Webhooks struct {
	// Secret, when set, is checked as an HMAC-SHA256 of the raw body in Header. Without it
	// a webhook is accepted unsigned (it is only a hint).
	Secret []byte
	// Header carries the signature; empty means X-Signature.
	Header string
	// Client reads the payment a hint names; without it every webhook is refused (503).
	Client providers.Provider
}

var _ providers.WebhookReceiver = Webhooks{}

func (w Webhooks) header() string {
	if w.Header == "" {
		return "X-Signature"
	}
	return w.Header
}

// Headers keeps the signature header with the body.
func (w Webhooks) Headers() []string { return []string{w.header()} }

// Verify checks the HMAC when a secret is configured.
func (w Webhooks) Verify(h http.Header, body []byte) error {
	if w.Client == nil {
		return fmt.Errorf("%w: Powens is not configured in this Paydesk", providers.ErrWebhookNotConfigured)
	}
	if len(w.Secret) == 0 {
		return nil
	}
	sig := h.Get(w.header())
	if sig == "" {
		return fmt.Errorf("%w: no %s header", providers.ErrBadSignature, w.header())
	}
	if !providers.VerifyHMAC(sha256.New, w.Secret, body, sig) {
		return fmt.Errorf("%w: %s is not the HMAC-SHA256 of the body", providers.ErrBadSignature, w.header())
	}
	return nil
}

// Decode reads the hint; the payment itself comes from Powens.
func (w Webhooks) Decode(_ http.Header, body []byte) (providers.WebhookEvent, error) {
	id, typ, err := HintID(body)
	if err != nil {
		return providers.WebhookEvent{}, err
	}
	return providers.WebhookEvent{Type: typ, Key: providers.BodyKey(body), Ref: id, IDs: []string{id},
		Snapshot: func(ctx context.Context, _ *providers.Snapshot) (providers.Snapshot, error) {
			snap, err := w.Client.Fetch(ctx, providers.Ref{PaymentID: id})
			switch {
			case errors.Is(err, providers.ErrNotFound):
				return snap, fmt.Errorf("%w: Powens does not know payment %s", providers.ErrUnknownPayment, id)
			case err != nil:
				return snap, fmt.Errorf("%w: %s", providers.ErrProviderUnavailable, providers.SafeMessage(err))
			}
			return snap, nil
		},
	}, nil
}

// HintID finds the payment id in a Powens webhook: the payment itself ({"id"}), wrapped
// ({"payment":{"id"}} or {"data":{"id"}}), or {"id_payment"}. Ids may be numbers. Errors
// wrap providers.ErrMalformedWebhook.
func HintID(body []byte) (id, typ string, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", "", fmt.Errorf("%w: not a JSON object: %v", providers.ErrMalformedWebhook, err)
	}
	typ = "PAYMENT_UPDATED"
	for _, k := range []string{"type", "event"} {
		if t := providers.IDOf(fields[k]); t != "" && len(t) <= 100 {
			typ = t
			break
		}
	}
	for _, wrap := range []string{"payment", "data"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(fields[wrap], &inner) == nil {
			if id := providers.IDOf(inner["id"]); id != "" {
				return id, typ, validHintID(id)
			}
		}
	}
	for _, k := range []string{"id_payment", "id"} {
		if id := providers.IDOf(fields[k]); id != "" {
			return id, typ, validHintID(id)
		}
	}
	return "", typ, fmt.Errorf("%w: no payment id (id, id_payment or payment.id)", providers.ErrMalformedWebhook)
}

// validHintID refuses ids that cannot be Powens' (they go into a URL path).
func validHintID(id string) error {
	if len(id) > 64 {
		return fmt.Errorf("%w: payment id longer than 64 characters", providers.ErrMalformedWebhook)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("%w: payment id %q has characters Powens ids do not", providers.ErrMalformedWebhook, id)
		}
	}
	return nil
}

// demoWebhook is the webhook Powens would send for a change the simulator made: a
// PAYMENT_UPDATED hint carrying the payment, signed with the receiver's secret.
func (w Webhooks) demoWebhook(envelope []byte) (providers.DemoWebhook, bool) {
	var env providers.Envelope
	if json.Unmarshal(envelope, &env) != nil || len(env.Payment) == 0 {
		return providers.DemoWebhook{}, false
	}
	body, _ := json.Marshal(map[string]any{"type": "PAYMENT_UPDATED", "payment": env.Payment})
	m := hmac.New(sha256.New, w.Secret)
	m.Write(body)
	h := http.Header{}
	h.Set(w.header(), hex.EncodeToString(m.Sum(nil)))
	return providers.DemoWebhook{Path: providers.WebhookPath(Name), ContentType: "application/json", Body: body, Header: h}, true
}
