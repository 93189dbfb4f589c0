package providers

import (
	"bytes"
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
)

// The ways a webhook can fail before it is applied. Receivers wrap them; the ops Desk
// maps each to a verdict, which web answers with an HTTP status (docs/providers.md).
var (
	// ErrWebhookNotConfigured: Paydesk cannot verify or apply this provider's webhooks.
	ErrWebhookNotConfigured = errors.New("webhooks not configured")
	// ErrBadSignature: the signature is missing or wrong.
	ErrBadSignature = errors.New("bad signature")
	// ErrMalformedWebhook: signed (or unsigned where allowed) but not what the provider
	// sends.
	ErrMalformedWebhook = errors.New("malformed webhook")
	// ErrUnknownPayment: the webhook is about a payment Paydesk does not hold and cannot
	// create from it.
	ErrUnknownPayment = errors.New("unknown payment")
	// ErrProviderUnavailable: the provider could not be read to act on a hint.
	ErrProviderUnavailable = errors.New("provider unavailable")
)

// WebhookEvent is a verified, decoded webhook, ready to apply.
type WebhookEvent struct {
	// Type is the provider's event type.
	Type string
	// Key is the dedupe key: a hash of what makes the event (BodyKey), so a delivery
	// repeated byte for byte is recognised whatever headers it comes with.
	Key string
	// Ref is the provider's id the event is about, for people and the log.
	Ref string
	// IDs are the provider ids that may name the stored payment, tried in order.
	IDs []string
	// Snapshot builds the payment to store from the stored one (nil when Paydesk does not
	// hold it yet). It returns an error wrapping ErrUnknownPayment when the event cannot
	// make a payment by itself, ErrProviderUnavailable when a hint could not be followed,
	// ErrWebhookNotConfigured when it cannot be followed at all, anything else when the
	// data does not make a valid payment.
	Snapshot func(ctx context.Context, stored *Snapshot) (Snapshot, error)
}

// WebhookReceiver is one provider's side of webhooks: how they are verified and decoded.
// The ops Desk does the rest, the same for every provider: reading, recording,
// duplicates, storing, the timeline and the answer.
type WebhookReceiver interface {
	// Headers are the request headers kept with the raw body (none of them secret).
	Headers() []string
	// Verify returns nil, or an error wrapping ErrWebhookNotConfigured or ErrBadSignature.
	Verify(h http.Header, body []byte) error
	// Decode returns the event, or an error wrapping ErrMalformedWebhook.
	Decode(h http.Header, body []byte) (WebhookEvent, error)
}

// WebhookPath is where Paydesk receives a provider's webhooks.
func WebhookPath(n Name) string { return "/webhooks/" + string(n) }

// HMACHash returns the hash constructor for an algorithm name (sha256, sha512, sha1), nil
// when unknown.
func HMACHash(alg string) func() hash.Hash {
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

// BodyKey is the dedupe key of a webhook body.
func BodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// VerifyHMAC checks a signature header against HMAC(secret, body): hex or base64
// (standard or URL-safe, padded or not), optionally prefixed with "<algorithm>=". The
// comparison is in constant time.
func VerifyHMAC(newHash func() hash.Hash, secret, body []byte, header string) bool {
	header = strings.TrimSpace(header)
	if i := strings.IndexByte(header, '='); i > 0 && i < 8 && HMACHash(strings.ToLower(header[:i])) != nil {
		header = header[i+1:]
	}
	if header == "" {
		return false
	}
	m := hmac.New(newHash, secret)
	m.Write(body)
	want := m.Sum(nil)
	for _, got := range DecodeSignature(header) {
		if hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// DecodeSignature returns every reading of a signature: hex and the base64 alphabets.
func DecodeSignature(s string) [][]byte {
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

// MergeEnvelope decodes a stored payment's import envelope (an empty one when it has
// none) so a webhook's object can replace its part of it.
func MergeEnvelope(provider Name, stored *Snapshot) (Envelope, error) {
	env := Envelope{Provider: provider}
	if stored == nil || len(stored.Raw) == 0 {
		return env, nil
	}
	if err := json.Unmarshal(stored.Raw, &env); err != nil {
		return env, fmt.Errorf("the stored payment's provider data cannot be read: %v", err)
	}
	env.Provider = provider
	return env, nil
}

// ParseMerged runs a provider's envelope parser on a merged envelope; its errors wrap
// ErrMalformedWebhook.
func ParseMerged(env Envelope, parse func([]byte) (Snapshot, error)) (Snapshot, error) {
	raw, err := json.Marshal(env)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrMalformedWebhook, err)
	}
	snap, err := parse(raw)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrMalformedWebhook, err)
	}
	return snap, nil
}

// ReplaceByID returns list with the object whose key field equals id replaced by obj, or
// obj appended when there is none.
func ReplaceByID(list []json.RawMessage, key, id string, obj json.RawMessage) []json.RawMessage {
	for i, item := range list {
		var fields map[string]json.RawMessage
		if json.Unmarshal(item, &fields) != nil {
			continue
		}
		if IDOf(fields[key]) == id {
			out := append([]json.RawMessage(nil), list...)
			out[i] = obj
			return out
		}
	}
	return append(append([]json.RawMessage(nil), list...), obj)
}

// IDOf reads an id that may be a JSON string or number; "" otherwise.
func IDOf(raw json.RawMessage) string {
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

// PeekJSON decodes the request's JSON body into v and puts the body back for whoever
// reads it next (a simulator). A body that is not JSON decodes to nothing.
func PeekJSON(r *http.Request, v any) {
	if r.Body == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err == nil {
		json.Unmarshal(body, v)
	}
}

// PathSegments splits a request path into its segments; At returns "" past the end.
type PathSegments []string

// SegmentsOf returns the segments of r's path.
func SegmentsOf(r *http.Request) PathSegments {
	return strings.Split(strings.Trim(r.URL.Path, "/"), "/")
}

// At returns segment i, or "".
func (p PathSegments) At(i int) string {
	if i < len(p) {
		return p[i]
	}
	return ""
}
