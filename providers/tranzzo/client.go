package tranzzo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/providers/apicall"
)

// DefaultTimeout bounds every call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody caps how much of an answer is read: an order's transactions are a few KiB.
const maxBody = 1 << 20

// Config is what the client needs to speak to Tranzzo.
type Config struct {
	// BaseURL is the API root, e.g. https://cpay.tranzzo.com/api/v1 (or a simulator's URL).
	BaseURL string
	// POSID is the merchant's point of sale (a UUID); it is part of every path and body.
	POSID string
	// APIKey and APISecret make the X-API-Auth header; EndpointsKey is X-API-Key.
	APIKey       string
	APISecret    string
	EndpointsKey string
	// Timeout bounds each call, reading the answer included; zero means DefaultTimeout.
	Timeout time.Duration
}

// Validate reports the first thing wrong with cfg, in words an operator can act on.
func (cfg Config) Validate() error {
	if cfg.BaseURL == "" {
		return errors.New("tranzzo: config: base URL is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return fmt.Errorf("tranzzo: config: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("tranzzo: config: base URL %q must be an absolute http or https URL", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("tranzzo: config: base URL %q must not have a query or fragment", cfg.BaseURL)
	}
	if !isUUID(cfg.POSID) {
		return fmt.Errorf("tranzzo: config: POS ID %q must be a UUID", cfg.POSID)
	}
	for _, f := range []struct{ name, value string }{
		{"API key", cfg.APIKey}, {"API secret", cfg.APISecret}, {"endpoints key", cfg.EndpointsKey},
	} {
		if f.value == "" {
			return fmt.Errorf("tranzzo: config: %s is required", f.name)
		}
		// The values go into headers; never echo them in the message.
		if strings.ContainsFunc(f.value, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("tranzzo: config: %s must not contain spaces or control characters", f.name)
		}
	}
	if strings.Contains(cfg.APIKey, ":") {
		return errors.New("tranzzo: config: API key must not contain ':' (it separates key and secret in X-API-Auth)")
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("tranzzo: config: timeout %s must not be negative", cfg.Timeout)
	}
	return nil
}

// Client calls Tranzzo's API. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	// http sends the calls with Tranzzo's credential headers.
	http *apicall.Caller
}

// The capabilities Paydesk uses: read, cancel (or void), refund.
var (
	_ providers.Provider  = (*Client)(nil)
	_ providers.Canceller = (*Client)(nil)
	_ providers.Refunder  = (*Client)(nil)
)

// New returns a client for cfg. A nil hc means a new http.Client; the timeout is applied
// per call through the context, not through hc.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	const unknown = ", so the outcome is unknown: read the order before doing anything else."
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: &apicall.Caller{
		Provider: Name,
		HTTP:     hc,
		Timeout:  timeout,
		MaxBody:  maxBody,
		Header: http.Header{
			"X-Api-Auth": {"CPAY " + cfg.APIKey + ":" + cfg.APISecret},
			"X-Api-Key":  {cfg.EndpointsKey},
		},
		Words: apicall.Words{
			Build:       "Paydesk could not build the request; nothing was sent to Tranzzo.",
			Timeout:     "Tranzzo did not answer in time" + unknown,
			Cancelled:   "The request to Tranzzo was interrupted" + unknown,
			Unreachable: "Tranzzo could not be reached or the connection broke" + unknown,
			TooLarge:    "Tranzzo answered with something Paydesk could not read" + unknown,
		},
	}}, nil
}

// Name is Name.
func (c *Client) Name() providers.Name { return Name }

// Fetch reads the order's transactions (GET /pos/{pos}/orders/{order}) and returns the
// payment they describe, with Raw set to the import envelope of what was read. An order
// Tranzzo does not know gives an error wrapping providers.ErrNotFound.
func (c *Client) Fetch(ctx context.Context, ref providers.Ref) (providers.Snapshot, error) {
	if ref.OrderID == "" {
		return providers.Snapshot{}, &providers.Error{Provider: Name,
			Safe: "This payment has no Tranzzo order id, so it cannot be read from Tranzzo."}
	}
	path := "/pos/" + url.PathEscape(c.cfg.POSID) + "/orders/" + url.PathEscape(ref.OrderID)
	body, pe := c.call(ctx, http.MethodGet, path, nil)
	if pe != nil {
		return providers.Snapshot{}, pe
	}
	list, err := transactionList(body)
	if errors.Is(err, errNoTransactions) {
		return providers.Snapshot{}, &providers.Error{Provider: Name, Status: http.StatusOK,
			Safe:   fmt.Sprintf("Tranzzo has no transactions for order %s.", ref.OrderID),
			Detail: "GET " + path + ": " + apicall.Excerpt(body),
			Err:    fmt.Errorf("%w: %w", errNoTransactions, providers.ErrNotFound)}
	}
	if err != nil {
		return providers.Snapshot{}, unreadable(http.MethodGet, path, body, err)
	}
	snap, err := snapshotOf(list)
	if err != nil {
		return providers.Snapshot{}, unreadable(http.MethodGet, path, body, err)
	}
	if snap.OrderID != ref.OrderID {
		return providers.Snapshot{}, unreadable(http.MethodGet, path, body,
			fmt.Errorf("tranzzo: asked for order %q, got %q", ref.OrderID, snap.OrderID))
	}
	return snap, nil
}

// Cancel sends the cancellation Paydesk's eligibility chose from the stored payment
// (req.Op): a held authorisation (auth, success) is voided with Void; anything else goes
// to CancelUnpaid, the call Tranzzo documents, and Tranzzo's refusal comes back as Refused
// when the payment is no longer an unpaid hosted one. Nothing is read before: Tranzzo
// documents no read for this, and a read that fails or is refused must not stop the
// documented call (docs/providers.md#tranzzo-cancel). The order is read after, best effort.
func (c *Client) Cancel(ctx context.Context, ref providers.Ref, req providers.CancelRequest) providers.Outcome {
	if req.Op == providers.OpVoid {
		return c.Void(ctx, ref, req.Comment)
	}
	return c.CancelUnpaid(ctx, ref)
}

// CancelUnpaid cancels an unpaid hosted payment: POST /pos/{pos}/order/{order}/cancel, no
// body. Tranzzo answers the transaction with status failure and status_code 6007, which
// is Done; a refusal (the payment is not init, hosted, purchase or auth) is Refused with
// Tranzzo's words; no answer or an unreadable one is Unknown.
func (c *Client) CancelUnpaid(ctx context.Context, ref providers.Ref) providers.Outcome {
	if ref.OrderID == "" {
		return refusedLocally("This payment has no Tranzzo order id; nothing was sent to Tranzzo.")
	}
	path := "/pos/" + url.PathEscape(c.cfg.POSID) + "/order/" + url.PathEscape(ref.OrderID) + "/cancel"
	body, pe := c.call(ctx, http.MethodPost, path, nil)
	if pe != nil {
		out := failed(pe, body)
		if out.Kind == providers.Refused {
			// Tranzzo said no, typically because the payment is no longer unpaid: show
			// staff what it is now.
			c.readBack(ctx, ref, &out)
		}
		return out
	}
	t, err := answerTransaction(body, methodPurchase, methodAuth)
	if err != nil {
		return unreadableOutcome(http.MethodPost, path, body, err)
	}
	out := providers.Outcome{Raw: body, Detail: "POST " + path + ": " + apicall.Excerpt(body)}
	if t.Status == statusFailure && t.StatusCode == codeCancelled {
		out.Kind = providers.Done
		out.Message = "Tranzzo cancelled the unpaid payment."
		c.readBack(ctx, ref, &out)
		return out
	}
	out.Kind = providers.Unknown
	out.Message = fmt.Sprintf("Tranzzo answered the cancellation with status %s (code %s) instead of cancelled; read the order before doing anything else.",
		orNone(string(t.Status)), orNone(string(t.StatusCode)))
	return out
}

// Void releases a held authorisation in full: POST /void with pos_id, order_id,
// order_currency (ref.Currency) and the comment when not empty. Status success is Done,
// failure is Refused with Tranzzo's description, pending or no answer is Unknown.
func (c *Client) Void(ctx context.Context, ref providers.Ref, comment string) providers.Outcome {
	if ref.OrderID == "" {
		return refusedLocally("This payment has no Tranzzo order id; nothing was sent to Tranzzo.")
	}
	if !providers.ValidCurrency(ref.Currency) {
		return refusedLocally(fmt.Sprintf("The payment's currency %q is not a valid ISO 4217 code; nothing was sent to Tranzzo.", ref.Currency))
	}
	body, pe := c.call(ctx, http.MethodPost, "/void", voidRequest{
		POSID: c.cfg.POSID, OrderID: ref.OrderID, OrderCurrency: ref.Currency, Comment: comment,
	})
	if pe != nil {
		return failed(pe, body)
	}
	t, err := answerTransaction(body, methodVoid)
	if err != nil {
		return unreadableOutcome(http.MethodPost, "/void", body, err)
	}
	out := providers.Outcome{Raw: body, Detail: "POST /void: " + apicall.Excerpt(body)}
	switch t.Status {
	case statusSuccess:
		out.Kind = providers.Done
		out.Message = "Tranzzo voided the authorisation; the held amount goes back to the customer."
		c.readBack(ctx, ref, &out)
	case statusFailure:
		out.Kind = providers.Refused
		out.Message = describe(t, "Tranzzo refused to void the authorisation")
	case statusPending:
		out.Kind = providers.Unknown
		out.Message = "Tranzzo accepted the void but it is still pending; read the order to learn the result."
	default:
		out.Kind = providers.Unknown
		out.Message = fmt.Sprintf("Tranzzo answered the void with status %s; read the order before doing anything else.", orNone(string(t.Status)))
	}
	return out
}

// Refund refunds req.Amount (or everything left when req.Full) with POST /refund. The
// answer is one refund transaction: success is Done with its payment_id as RefundID,
// pending is Unknown with the RefundID, failure is Refused with Tranzzo's description.
// A refused request (over-refund, not captured…) is Refused with Tranzzo's message; no
// answer or an unreadable one is Unknown and must be reconciled by reading the order.
func (c *Client) Refund(ctx context.Context, ref providers.Ref, req providers.RefundRequest) providers.Outcome {
	if ref.OrderID == "" {
		return refusedLocally("This payment has no Tranzzo order id; nothing was sent to Tranzzo.")
	}
	if !providers.ValidCurrency(ref.Currency) {
		return refusedLocally(fmt.Sprintf("The payment's currency %q is not a valid ISO 4217 code; nothing was sent to Tranzzo.", ref.Currency))
	}
	body := refundRequest{POSID: c.cfg.POSID, OrderID: ref.OrderID, OrderCurrency: ref.Currency, Comment: req.Comment}
	if !req.Full {
		if req.Amount <= 0 {
			return refusedLocally("The refund amount must be more than zero; nothing was sent to Tranzzo.")
		}
		body.RefundAmount = json.RawMessage(providers.FormatMajor(req.Amount, ref.Currency))
	}
	answer, pe := c.call(ctx, http.MethodPost, "/refund", body)
	if pe != nil {
		return failed(pe, answer)
	}
	t, err := answerTransaction(answer, methodRefund)
	if err == nil && t.Method != methodRefund {
		err = fmt.Errorf("tranzzo: refund answered with a %q transaction", t.Method)
	}
	if err != nil {
		return unreadableOutcome(http.MethodPost, "/refund", answer, err)
	}
	out := providers.Outcome{Raw: answer, RefundID: string(t.PaymentID), Detail: "POST /refund: " + apicall.Excerpt(answer)}
	amount := "the amount"
	if v, err := providers.ParseMajorJSON(t.Amount, ref.Currency); err == nil {
		amount = providers.FormatMoney(v, ref.Currency)
	}
	switch t.Status {
	case statusSuccess:
		out.Kind = providers.Done
		out.Message = fmt.Sprintf("Tranzzo refunded %s.", amount)
		c.readBack(ctx, ref, &out)
	case statusFailure:
		out.Kind = providers.Refused
		out.Message = describe(t, "Tranzzo refused the refund")
	case statusPending:
		out.Kind = providers.Unknown
		out.Message = fmt.Sprintf("Tranzzo accepted the refund of %s (id %s) but it is still pending; read the order to learn whether it went through.", amount, orNone(out.RefundID))
	default:
		out.Kind = providers.Unknown
		out.Message = fmt.Sprintf("Tranzzo answered the refund with status %s (id %s); read the order before doing anything else.", orNone(string(t.Status)), orNone(out.RefundID))
	}
	return out
}

// readBack attaches the payment as it is after an action (a success, or a refusal whose
// reason the fresh state shows); a failed read only
// leaves a note for the log, the action itself is done.
func (c *Client) readBack(ctx context.Context, ref providers.Ref, out *providers.Outcome) {
	snap, err := c.Fetch(ctx, ref)
	if err != nil {
		out.Detail += "; reading the order back failed: " + err.Error()
		return
	}
	out.Snapshot = &snap
}

// call sends one request and returns the body of a 2xx answer, or a *providers.Error for
// anything else, the body included when there was one. The call, reading the answer
// included, is bounded by the client's timeout and sent once: reads are retried by the
// resilient guard's transport, a money-moving call is never sent twice.
func (c *Client) call(ctx context.Context, method, path string, payload any) ([]byte, *providers.Error) {
	ans, err := c.http.Do(ctx, apicall.Request{Method: method, URL: c.base + path, Op: method + " " + path, JSON: payload})
	if err != nil {
		var pe *providers.Error
		if !errors.As(err, &pe) {
			pe = &providers.Error{Provider: Name, Unknown: true, Safe: providers.SafeMessage(err), Err: err}
		}
		return nil, pe
	}
	if ans.OK() {
		return ans.Body, nil
	}
	return ans.Body, statusError(method, path, ans.Status, ans.Body)
}

// statusError turns a non-2xx answer into an Error. Tranzzo's documented error body gives
// the safe message and the code; 5xx, and any answer that is not that body (an HTML page,
// broken JSON), leave the outcome unknown.
func statusError(method, path string, status int, body []byte) *providers.Error {
	pe := &providers.Error{Provider: Name, Status: status,
		Detail: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, status, apicall.Excerpt(body))}
	var eb errorBody
	readable := json.Unmarshal(body, &eb) == nil && strings.TrimSpace(eb.Message) != ""
	if readable {
		pe.Code = eb.code()
	}
	switch {
	case status >= 500:
		pe.Unknown = true
		pe.Safe = fmt.Sprintf("Tranzzo had a server error (HTTP %d), so the outcome is unknown: read the order before doing anything else.", status)
		if readable {
			pe.Safe = fmt.Sprintf("Tranzzo had a server error (HTTP %d: %s), so the outcome is unknown: read the order before doing anything else.", status, strings.TrimSpace(eb.Message))
		}
	case readable:
		pe.Safe = strings.TrimSpace(eb.Message)
	case status == http.StatusTooManyRequests:
		pe.Safe = "Tranzzo is receiving too many requests; try again in a moment."
	default:
		pe.Unknown = true
		pe.Safe = fmt.Sprintf("Tranzzo answered HTTP %d with something Paydesk could not read, so the outcome is unknown: read the order before doing anything else.", status)
	}
	if status == http.StatusNotFound {
		pe.Err = providers.ErrNotFound
	}
	return pe
}

// unreadable is the error for a 2xx answer that does not make sense.
func unreadable(method, path string, body []byte, err error) *providers.Error {
	return &providers.Error{Provider: Name, Status: http.StatusOK, Unknown: true, Err: err,
		Safe:   "Tranzzo answered with something Paydesk could not read, so the outcome is unknown: read the order before doing anything else.",
		Detail: method + " " + path + ": " + apicall.Excerpt(body)}
}

// unreadableOutcome is the Unknown outcome of an action whose 2xx answer makes no sense.
func unreadableOutcome(method, path string, body []byte, err error) providers.Outcome {
	return failed(unreadable(method, path, body, err), body)
}

// failed turns an Error into the outcome of an action: Unknown when the provider may have
// acted, Refused when it definitively answered no.
func failed(pe *providers.Error, body []byte) providers.Outcome {
	out := providers.Outcome{Kind: providers.Refused, Message: pe.Safe, Detail: pe.Error()}
	if pe.Unknown {
		out.Kind = providers.Unknown
	}
	if json.Valid(body) {
		out.Raw = body
	}
	return out
}

// refusedLocally is the outcome of a request Paydesk would not send.
func refusedLocally(msg string) providers.Outcome {
	return providers.Outcome{Kind: providers.Refused, Message: msg, Detail: "tranzzo: not sent: " + msg}
}

// answerTransaction decodes the transaction an action answered with: a single object, or
// an array from which the last transaction of one of the given methods is taken (the last
// element when none matches).
func answerTransaction(body []byte, methods ...string) (transaction, error) {
	body = bytes.TrimSpace(body)
	var t transaction
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &t); err != nil {
			return t, fmt.Errorf("tranzzo: answer: %w", err)
		}
		return t, nil
	}
	var list []transaction
	if err := json.Unmarshal(body, &list); err != nil {
		return t, fmt.Errorf("tranzzo: answer: %w", err)
	}
	if len(list) == 0 {
		return t, errors.New("tranzzo: answer: empty array")
	}
	t = list[len(list)-1]
	for _, item := range list {
		for _, m := range methods {
			if string(item.Method) == m {
				t = item
			}
		}
	}
	return t, nil
}

// describe is Tranzzo's description of a failed transaction, with its code.
func describe(t transaction, fallback string) string {
	msg := strings.TrimSpace(string(t.StatusDescription))
	if msg == "" {
		msg = fallback
	}
	if t.StatusCode != "" {
		msg += " (code " + string(t.StatusCode) + ")"
	}
	return msg
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// isUUID reports whether s has the 8-4-4-4-12 hexadecimal shape of a UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
