package web

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
	"paydesk/storage"
)

// webhookTranzzo receives Tranzzo's webhooks: a form with data (base64url of one
// transaction's JSON) and signature (base64url of SHA-1(secret + data + secret)),
// providers.md §3. The transaction replaces its namesake in the stored order (or joins
// it), and Tranzzo's own parser reads the order again; an older state never replaces a
// newer one. A payment transaction for an order Paydesk does not hold creates the
// payment (the order id is Tranzzo's one key); any other transaction needs the order.
func (s *Server) webhookTranzzo(w http.ResponseWriter, r *http.Request) {
	s.receiveWebhook(w, r, webhookSource{
		provider: providers.Tranzzo,
		verify:   s.verifyTranzzo,
		decode:   s.decodeTranzzo,
	})
}

// tranzzoSignature is Tranzzo's signature of data: base64url (padded) of the raw SHA-1
// digest of secret + data + secret.
func tranzzoSignature(secret []byte, data string) string {
	h := sha1.New()
	h.Write(secret)
	h.Write([]byte(data))
	h.Write(secret)
	return base64.URLEncoding.EncodeToString(h.Sum(nil))
}

// tranzzoForm reads the webhook's form fields from the raw body.
func tranzzoForm(body []byte) (data, signature string, err error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", fmt.Errorf("%w: not a form: %v", errMalformed, err)
	}
	return strings.TrimSpace(v.Get("data")), strings.TrimSpace(v.Get("signature")), nil
}

// verifyTranzzo checks the signature against data, in constant time. The signature is
// compared as bytes, so padding and the base64 alphabet do not matter.
func (s *Server) verifyTranzzo(_ *http.Request, body []byte) error {
	secret := s.cfg.Webhooks.TranzzoSecret
	if len(secret) == 0 || s.cfg.Parsers[providers.Tranzzo] == nil {
		return fmt.Errorf("%w: Tranzzo webhooks need PAYDESK_TRANZZO_API_SECRET", errNotConfigured)
	}
	data, sig, err := tranzzoForm(body)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadSignature, err)
	}
	if data == "" || sig == "" {
		return fmt.Errorf("%w: the form needs both data and signature", errBadSignature)
	}
	if !tranzzoSignatureOK(secret, data, sig) {
		return fmt.Errorf("%w: signature does not match data", errBadSignature)
	}
	return nil
}

// tranzzoSignatureOK reports whether sig is Tranzzo's signature of data.
func tranzzoSignatureOK(secret []byte, data, sig string) bool {
	want, _ := base64.URLEncoding.DecodeString(tranzzoSignature(secret, data))
	ok := false
	for _, got := range decodeSignature(sig) {
		ok = subtle.ConstantTimeCompare(got, want) == 1 || ok
	}
	return ok
}

// decodeTranzzoData decodes data: base64url with its padding kept (any base64 is accepted).
func decodeTranzzoData(data string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(data); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: data is not base64", errMalformed)
}

// decodeTranzzo reads the transaction the webhook carries.
func (s *Server) decodeTranzzo(_ *http.Request, body []byte) (webhookEvent, error) {
	data, _, err := tranzzoForm(body)
	if err != nil {
		return webhookEvent{}, err
	}
	raw, err := decodeTranzzoData(data)
	if err != nil {
		return webhookEvent{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return webhookEvent{}, fmt.Errorf("%w: data is not a JSON object: %v", errMalformed, err)
	}
	tx := struct{ paymentID, orderID, method, status string }{
		idOf(fields["payment_id"]), idOf(fields["order_id"]), idOf(fields["method"]), idOf(fields["status"]),
	}
	if tx.orderID == "" || tx.paymentID == "" || tx.method == "" || tx.status == "" {
		return webhookEvent{}, fmt.Errorf("%w: data is not a Tranzzo transaction (payment_id, order_id, method and status are required)", errMalformed)
	}
	var compact json.RawMessage
	if compact, err = json.Marshal(json.RawMessage(raw)); err != nil {
		return webhookEvent{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	ev := webhookEvent{
		Type: tx.method + "/" + tx.status,
		// The data, not the whole form: the same transaction state is the same event.
		Key: bodyKey([]byte(data)),
		Ref: tx.orderID,
		Find: func(ctx context.Context) (storage.Payment, error) {
			return s.db.PaymentByProviderID(ctx, providers.Tranzzo, tx.orderID)
		},
	}
	ev.Snapshot = func(_ context.Context, stored *storage.Payment) (providers.Snapshot, error) {
		if stored == nil && tx.method != "purchase" && tx.method != "auth" {
			return providers.Snapshot{}, fmt.Errorf("%w: Tranzzo %s transaction %s is for order %s, which is not in Paydesk",
				errUnknownPayment, tx.method, tx.paymentID, tx.orderID)
		}
		env, err := mergeEnvelope(providers.Tranzzo, stored)
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
		var list []json.RawMessage
		if len(env.Transactions) > 0 {
			if err := json.Unmarshal(env.Transactions, &list); err != nil {
				return providers.Snapshot{}, fmt.Errorf("%w: stored transactions: %v", errMalformed, err)
			}
		}
		merged, err := json.Marshal(replaceByID(list, "payment_id", tx.paymentID, compact))
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("%w: %v", errMalformed, err)
		}
		env.Transactions = merged
		return s.parseEnvelope(env)
	}
	return ev, nil
}
