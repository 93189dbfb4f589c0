package tranzzo

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"paydesk/providers"
)

// Webhooks receives Tranzzo's webhooks: a form with data (base64url of one transaction's
// JSON) and signature (base64url of SHA-1(secret + data + secret)), docs/providers.md.
// The transaction replaces its namesake in the stored order (or joins it), and
// ParseEnvelope reads the order again; an older state never replaces a newer one (the web
// layer refuses it). A payment transaction for an order Paydesk does not hold creates the
// payment (the order id is Tranzzo's one key); any other transaction needs the order.
type Webhooks struct {
	// Secret is Tranzzo's API secret, the key of its webhook signature. Without it every
	// webhook is refused (503).
	Secret []byte
}

var _ providers.WebhookReceiver = Webhooks{}

// Headers: Tranzzo's webhooks carry everything in the body.
func (Webhooks) Headers() []string { return nil }

// Signature is Tranzzo's signature of data: base64url (padded) of the raw SHA-1 digest of
// secret + data + secret.
func Signature(secret []byte, data string) string {
	h := sha1.New()
	h.Write(secret)
	h.Write([]byte(data))
	h.Write(secret)
	return base64.URLEncoding.EncodeToString(h.Sum(nil))
}

// SignatureOK reports whether sig is Tranzzo's signature of data, in constant time. The
// signature is compared as bytes, so padding and the base64 alphabet do not matter.
func SignatureOK(secret []byte, data, sig string) bool {
	want, _ := base64.URLEncoding.DecodeString(Signature(secret, data))
	ok := false
	for _, got := range providers.DecodeSignature(sig) {
		ok = subtle.ConstantTimeCompare(got, want) == 1 || ok
	}
	return ok
}

// webhookForm reads the webhook's form fields from the raw body.
func webhookForm(body []byte) (data, signature string, err error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", fmt.Errorf("%w: not a form: %v", providers.ErrMalformedWebhook, err)
	}
	return strings.TrimSpace(v.Get("data")), strings.TrimSpace(v.Get("signature")), nil
}

// Verify checks the signature against data.
func (w Webhooks) Verify(_ http.Header, body []byte) error {
	if len(w.Secret) == 0 {
		return fmt.Errorf("%w: Tranzzo webhooks need PAYDESK_TRANZZO_API_SECRET", providers.ErrWebhookNotConfigured)
	}
	data, sig, err := webhookForm(body)
	if err != nil {
		return fmt.Errorf("%w: %v", providers.ErrBadSignature, err)
	}
	if data == "" || sig == "" {
		return fmt.Errorf("%w: the form needs both data and signature", providers.ErrBadSignature)
	}
	if !SignatureOK(w.Secret, data, sig) {
		return fmt.Errorf("%w: signature does not match data", providers.ErrBadSignature)
	}
	return nil
}

// DecodeData decodes data: base64url with its padding kept (any base64 is accepted).
func DecodeData(data string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(data); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: data is not base64", providers.ErrMalformedWebhook)
}

// Decode reads the transaction the webhook carries.
func (w Webhooks) Decode(_ http.Header, body []byte) (providers.WebhookEvent, error) {
	data, _, err := webhookForm(body)
	if err != nil {
		return providers.WebhookEvent{}, err
	}
	raw, err := DecodeData(data)
	if err != nil {
		return providers.WebhookEvent{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return providers.WebhookEvent{}, fmt.Errorf("%w: data is not a JSON object: %v", providers.ErrMalformedWebhook, err)
	}
	tx := struct{ paymentID, orderID, method, status string }{
		providers.IDOf(fields["payment_id"]), providers.IDOf(fields["order_id"]), providers.IDOf(fields["method"]), providers.IDOf(fields["status"]),
	}
	if tx.orderID == "" || tx.paymentID == "" || tx.method == "" || tx.status == "" {
		return providers.WebhookEvent{}, fmt.Errorf("%w: data is not a Tranzzo transaction (payment_id, order_id, method and status are required)", providers.ErrMalformedWebhook)
	}
	var compact json.RawMessage
	if compact, err = json.Marshal(json.RawMessage(raw)); err != nil {
		return providers.WebhookEvent{}, fmt.Errorf("%w: %v", providers.ErrMalformedWebhook, err)
	}
	return providers.WebhookEvent{
		Type: tx.method + "/" + tx.status,
		// The data, not the whole form: the same transaction state is the same event.
		Key: providers.BodyKey([]byte(data)),
		Ref: tx.orderID,
		IDs: []string{tx.orderID},
		Snapshot: func(_ context.Context, stored *providers.Snapshot) (providers.Snapshot, error) {
			if stored == nil && tx.method != "purchase" && tx.method != "auth" {
				return providers.Snapshot{}, fmt.Errorf("%w: Tranzzo %s transaction %s is for order %s, which is not in Paydesk",
					providers.ErrUnknownPayment, tx.method, tx.paymentID, tx.orderID)
			}
			env, err := providers.MergeEnvelope(Name, stored)
			if err != nil {
				return providers.Snapshot{}, fmt.Errorf("%w: %v", providers.ErrMalformedWebhook, err)
			}
			var list []json.RawMessage
			if len(env.Transactions) > 0 {
				if err := json.Unmarshal(env.Transactions, &list); err != nil {
					return providers.Snapshot{}, fmt.Errorf("%w: stored transactions: %v", providers.ErrMalformedWebhook, err)
				}
			}
			merged, err := json.Marshal(providers.ReplaceByID(list, "payment_id", tx.paymentID, compact))
			if err != nil {
				return providers.Snapshot{}, fmt.Errorf("%w: %v", providers.ErrMalformedWebhook, err)
			}
			env.Transactions = merged
			return providers.ParseMerged(env, ParseEnvelope)
		},
	}, nil
}

// demoWebhook is the webhook Tranzzo would send for a transaction the simulator changed:
// the transaction, base64url-encoded, with its SHA-1 sandwich signature.
func (w Webhooks) demoWebhook(transaction []byte) providers.DemoWebhook {
	data := base64.URLEncoding.EncodeToString(transaction)
	body := url.Values{"data": {data}, "signature": {Signature(w.Secret, data)}}.Encode()
	return providers.DemoWebhook{Path: providers.WebhookPath(Name), ContentType: "application/x-www-form-urlencoded", Body: []byte(body), Header: http.Header{}}
}
