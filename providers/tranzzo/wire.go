// Package tranzzo speaks to Tranzzo's card gateway (https://cpay.tranzzo.com/api/v1): it
// reads an order's transactions, cancels unpaid hosted payments, voids held authorisations
// and refunds captured payments. It also holds a strict simulator of that API for tests and
// the demo, and the demo's payments in Tranzzo's own JSON.
package tranzzo

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Tranzzo's wire vocabulary (docs/providers.md#tranzzo-statuses).
const (
	methodPurchase = "purchase"
	methodAuth     = "auth"
	methodCapture  = "capture"
	methodVoid     = "void"
	methodRefund   = "refund"

	statusInit    = "init"
	statusPending = "pending"
	statusSuccess = "success"
	statusFailure = "failure"

	modeHosted = "hosted"
	modeDirect = "direct"

	// codeOK is the status_code of a successful purchase, capture, void or refund; codeAuthOK
	// of a successful auth [I]; codeCancelled of a cancelled unpaid payment [D].
	codeOK        = "1000"
	codeAuthOK    = "1002"
	codeCancelled = "6007"

	descCancelled = "Payment has cancelled"
)

// transaction is one element of the GET /pos/{pos}/orders/{order} array and the answer of
// /refund and /void, with every documented field in the documented order (docs/providers.md#tranzzo-order). Amount is
// kept as the JSON number token so it is converted exactly (never through float64).
type transaction struct {
	PaymentID          text            `json:"payment_id"`
	OrderID            text            `json:"order_id"`
	GatewayOrderID     text            `json:"gateway_order_id"`
	BillingOrderID     text            `json:"billing_order_id"`
	POSID              text            `json:"pos_id"`
	Mode               text            `json:"mode"`
	Method             text            `json:"method"`
	Amount             json.RawMessage `json:"amount"`
	Currency           text            `json:"currency"`
	Description        text            `json:"description"`
	Status             text            `json:"status"`
	StatusCode         text            `json:"status_code"`
	StatusDescription  text            `json:"status_description"`
	UserActionRequired bool            `json:"user_action_required"`
	UserActionURL      text            `json:"user_action_url"`
	ECI                text            `json:"eci"`
	MCC                text            `json:"mcc"`
	Options3DS         text            `json:"options_3ds"`
	CCMask             text            `json:"cc_mask"`
	CCToken            text            `json:"cc_token"`
	CCTokenExpiration  text            `json:"cc_token_expiration"`
	CustomerID         text            `json:"customer_id"`
	CustomerIP         text            `json:"customer_ip"`
	CustomerFName      text            `json:"customer_fname"`
	CustomerLName      text            `json:"customer_lname"`
	CustomerEmail      text            `json:"customer_email"`
	CustomerPhone      text            `json:"customer_phone"`
	CustomerCountry    text            `json:"customer_country"`
	CustomerCity       text            `json:"customer_city"`
	CustomerBirthday   text            `json:"customer_birthday"`
	ResultURL          text            `json:"result_url"`
	CreatedAt          text            `json:"created_at"`
	ProcessedAt        text            `json:"processed_at"`
	Payload            text            `json:"payload"`
	CustomerPatronym   text            `json:"customer_patronym"`
}

// cancelRequest is nothing: POST /pos/{pos}/order/{order}/cancel takes no body [D].

// voidRequest is the body of POST /void.
type voidRequest struct {
	POSID         string `json:"pos_id"`
	OrderID       string `json:"order_id"`
	OrderCurrency string `json:"order_currency"`
	Comment       string `json:"comment,omitempty"`
}

// refundRequest is the body of POST /refund. RefundAmount is a JSON number in major units
// (providers.FormatMajor); absent means "refund everything left".
type refundRequest struct {
	POSID         string          `json:"pos_id"`
	OrderID       string          `json:"order_id"`
	OrderCurrency string          `json:"order_currency"`
	RefundAmount  json.RawMessage `json:"refund_amount,omitempty"`
	Comment       string          `json:"comment,omitempty"`
	ServerURL     string          `json:"server_url,omitempty"`
}

// errorBody is Tranzzo's error answer: {"message":"…","args":{"code":"…"}}, where args may
// also be an array [D/I].
type errorBody struct {
	Message string          `json:"message"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// code digs the provider's error code out of args, whichever shape it has: an object with
// "code", or an array whose first object with a "code" wins. Empty when there is none.
func (e errorBody) code() string {
	raw := bytes.TrimSpace(e.Args)
	if len(raw) == 0 {
		return ""
	}
	var obj struct {
		Code text `json:"code"`
	}
	if raw[0] == '{' {
		if json.Unmarshal(raw, &obj) == nil {
			return string(obj.Code)
		}
		return ""
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return ""
	}
	for _, item := range list {
		item = bytes.TrimSpace(item)
		if len(item) > 0 && item[0] == '{' && json.Unmarshal(item, &obj) == nil && obj.Code != "" {
			return string(obj.Code)
		}
	}
	return ""
}

// text is a nullable, loosely typed JSON scalar: it reads a string, a number (Tranzzo sends
// status_code as "6007" in Tranzzo's documentation; integrations also see 6007) or null, and writes null
// when empty so an encoded transaction looks like the API's.
type text string

// UnmarshalJSON accepts a string, a number, a boolean or null.
func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		if !json.Valid(b) {
			return fmt.Errorf("tranzzo: invalid number %q", b)
		}
		*t = text(b)
	case string(b) == "true" || string(b) == "false":
		*t = text(b)
	default:
		return fmt.Errorf("tranzzo: expected a string, got %.20s", b)
	}
	return nil
}

// MarshalJSON writes null for an empty value and a JSON string otherwise.
func (t text) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(t))
}
