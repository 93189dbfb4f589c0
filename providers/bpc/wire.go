package bpc

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"paydesk/providers"
)

// The wire structs below are BPC's own objects as its API returns them
// (docs/providers.md#bpc). The client decodes answers into them, the simulator keeps its
// state in them and the demo builds its payments with them, so the three share one wire
// format.
// Field order follows the API's answers (id first, then alphabetical).

// session is a hosted payment page session (ps_…).
type session struct {
	ID                  string          `json:"id"`
	Amount              minorUnits      `json:"amount"`
	Created             string          `json:"created,omitempty"`
	Currency            string          `json:"currency"`
	CustomerDetails     customerDetails `json:"customerDetails"`
	ExpiresAt           string          `json:"expiresAt,omitempty"`
	FailureURL          string          `json:"failureUrl,omitempty"`
	Locale              string          `json:"locale,omitempty"`
	MerchantReferenceID string          `json:"merchantReferenceId,omitempty"`
	Metadata            json.RawMessage `json:"metadata,omitempty"`
	PaymentData         *paymentData    `json:"paymentData,omitempty"`
	// PaymentID is not documented [I]: a session may carry the id of its payment. The
	// client uses it when present; the simulator sends it once a payment is linked.
	PaymentID     string `json:"paymentId,omitempty"`
	PaymentStatus string `json:"paymentStatus,omitempty"`
	PaymentURL    string `json:"paymentUrl,omitempty"`
	Status        string `json:"status"`
	SuccessURL    string `json:"successUrl,omitempty"`
}

type paymentData struct {
	CaptureMethod string `json:"captureMethod,omitempty"`
}

type customerDetails struct {
	Address *address `json:"address,omitempty"`
	Email   string   `json:"email,omitempty"`
	Name    string   `json:"name,omitempty"`
	Phone   string   `json:"phone,omitempty"`
}

type address struct {
	City       string `json:"city,omitempty"`
	Country    string `json:"country,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	State      string `json:"state,omitempty"`
}

// payment is a card payment (p_…).
type payment struct {
	ID                   string          `json:"id"`
	Amount               minorUnits      `json:"amount"`
	AmountCapturable     minorUnits      `json:"amountCapturable"`
	AmountReceived       minorUnits      `json:"amountReceived"`
	CanceledAt           string          `json:"canceledAt,omitempty"`
	CaptureMethod        string          `json:"captureMethod,omitempty"`
	Created              string          `json:"created,omitempty"`
	Currency             string          `json:"currency"`
	CustomerDetails      customerDetails `json:"customerDetails"`
	Description          string          `json:"description,omitempty"`
	MerchantCustomerID   string          `json:"merchantCustomerId,omitempty"`
	Metadata             json.RawMessage `json:"metadata,omitempty"`
	PaymentMethod        *paymentMethod  `json:"paymentMethod,omitempty"`
	PaymentMethodOptions json.RawMessage `json:"paymentMethodOptions,omitempty"`
	ReturnURL            string          `json:"returnUrl,omitempty"`
	SetupFutureUsage     json.RawMessage `json:"setupFutureUsage,omitempty"`
	Status               string          `json:"status"`
}

type paymentMethod struct {
	Card *card  `json:"card,omitempty"`
	Type string `json:"type,omitempty"`
}

// card keeps the expiry as raw JSON: it is not on the money path and an integration
// sending "12" instead of 12 must not make a payment unreadable.
type card struct {
	ExpiryMonth  json.RawMessage `json:"expiryMonth,omitempty"`
	ExpiryYear   json.RawMessage `json:"expiryYear,omitempty"`
	HolderName   string          `json:"holderName,omitempty"`
	MaskedNumber string          `json:"maskedNumber,omitempty"`
}

// refund is one refund of a payment (re_…).
type refund struct {
	ID        string     `json:"id"`
	Amount    minorUnits `json:"amount"`
	Created   string     `json:"created,omitempty"`
	Currency  string     `json:"currency,omitempty"`
	PaymentID string     `json:"paymentId,omitempty"`
	Status    string     `json:"status"`
}

// refundRequest is the body of POST /refunds.
type refundRequest struct {
	Amount    minorUnits `json:"amount"`
	PaymentID string     `json:"paymentId"`
}

// errorBody is the simulator's error shape. BPC's is not documented [I]; the client reads
// message, else error, else errors[0] (see providerMessage).
type errorBody struct {
	Message string `json:"message"`
}

// minorUnits is an amount in integer minor units, as BPC sends them [D]. Decoding is
// strict: a JSON integer (or a quoted integer, for tolerance); fractions, exponents and
// anything else are refused, never rounded.
type minorUnits int64

// UnmarshalJSON implements json.Unmarshaler.
func (m *minorUnits) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("%w: %s", providers.ErrAmount, s)
		}
		s = strings.TrimSpace(str)
	}
	if s == "" {
		return fmt.Errorf("%w: empty", providers.ErrAmount)
	}
	for i, r := range s {
		if (r < '0' || r > '9') && !(i == 0 && r == '-') {
			return fmt.Errorf("%w: %s is not a whole number of minor units", providers.ErrAmount, s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s: out of range", providers.ErrAmount, s)
	}
	*m = minorUnits(v)
	return nil
}

// decodeRefundList reads a list of refunds in any of the shapes BPC might use: a bare
// array, {"data":[…]} or {"refunds":[…]} (the list envelope is not documented [I]). It
// returns the raw refund objects.
func decodeRefundList(b []byte) ([]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	var list []json.RawMessage
	if b[0] == '[' {
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("bpc: refund list: %w", err)
		}
		return list, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("bpc: refund list: %w", err)
	}
	for _, key := range []string{"data", "refunds"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return nil, nil
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("bpc: refund list: %q: %w", key, err)
		}
		return list, nil
	}
	return nil, fmt.Errorf("bpc: refund list: expected an array, {\"data\":[…]} or {\"refunds\":[…]}")
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// hashedID returns prefix followed by the base58 form of SHA-256(seed): random-looking,
// stable for one seed, and in the style of BPC's ids (ps_2GRSigkh…, p_Hbtjsy…, re_PCPao…).
func hashedID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	n := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return prefix + string(out)
}
