// Package bpc speaks to the BPC eCommerce API v2 (card payments through hosted sessions):
// a client with one method per remote call, the import envelope parser, a strict stateful
// simulator of the API for tests and the demo, and the demo payment maker.
//
// Amounts are BPC's integer minor units everywhere [D]. The client sends every call once:
// reads are retried by the resilient guard's transport, a call that may move money is
// never retried.
package bpc

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
	"unicode"

	"paydesk/providers"
	"paydesk/providers/apicall"
)

// DefaultVersion is the API version sent in X-Version when Config.Version is empty [D].
const DefaultVersion = "2023-10-31"

// DefaultTimeout bounds every call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody caps how much of an answer is read: BPC's objects are a few kilobytes.
const maxBody = 1 << 20

// Config is what the client needs to reach BPC.
type Config struct {
	// BaseURL is the API root, e.g. https://dev.bpcbt.com/api2 (the sandbox) or a
	// simulator's URL.
	BaseURL string
	// APIKey is sent as X-Api-Key. Secret: never logged.
	APIKey string
	// Version is sent as X-Version; empty means DefaultVersion.
	Version string
	// Timeout bounds each call, reading the answer included; zero means DefaultTimeout.
	Timeout time.Duration
}

// Client calls the BPC API. It is safe for concurrent use.
type Client struct {
	base    string
	version string
	// http sends the calls with the API key and version headers.
	http *apicall.Caller
}

// The capabilities BPC has: read, cancel a payment, expire a session, refund.
var (
	_ providers.Provider  = (*Client)(nil)
	_ providers.Canceller = (*Client)(nil)
	_ providers.Expirer   = (*Client)(nil)
	_ providers.Refunder  = (*Client)(nil)
)

// New validates cfg and returns a client using hc (a new http.Client when nil).
func New(cfg Config, hc *http.Client) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return nil, errors.New("bpc: config: BaseURL is required (e.g. https://dev.bpcbt.com/api2)")
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bpc: config: BaseURL %q: %w", cfg.BaseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bpc: config: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bpc: config: BaseURL %q must not have a query or fragment", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("bpc: config: APIKey is required")
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, errors.New("bpc: config: APIKey must be a single line")
	}
	version := cfg.Version
	if version == "" {
		version = DefaultVersion
	}
	if strings.ContainsAny(version, " \t\r\n") {
		return nil, fmt.Errorf("bpc: config: Version %q must not contain spaces", version)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("bpc: config: Timeout %s must not be negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// A copy of hc that does not follow redirects: Go would turn a redirected POST into a
	// GET elsewhere, and BPC documents no redirects; a 3xx is reported as unreadable.
	var own http.Client
	if hc != nil {
		own = *hc
	}
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: base, version: version, http: &apicall.Caller{
		Provider: Name,
		HTTP:     &own,
		Timeout:  timeout,
		MaxBody:  maxBody,
		Header:   http.Header{"X-Api-Key": {cfg.APIKey}, "X-Version": {version}},
		Words: apicall.Words{
			Build:       "Paydesk could not build the request to BPC.",
			Timeout:     "BPC did not answer in time; whether it acted is unknown.",
			Cancelled:   "The request to BPC was interrupted; whether it acted is unknown.",
			Unreachable: "BPC could not be reached or dropped the connection; whether it acted is unknown.",
			TooLarge:    "BPC gave an answer Paydesk could not read; whether it acted is unknown.",
		},
	}}, nil
}

// Name returns Name.
func (c *Client) Name() providers.Name { return Name }

// Fetch reads a payment back: the session when ref.SessionID is set, the payment
// (ref.PaymentID, else the session's paymentId) and the payment's refunds. The Snapshot's
// Raw is the import envelope built from the objects just read. Errors are *providers.Error.
func (c *Client) Fetch(ctx context.Context, ref providers.Ref) (providers.Snapshot, error) {
	if ref.SessionID == "" && ref.PaymentID == "" {
		return providers.Snapshot{}, &providers.Error{Provider: Name,
			Safe: "BPC needs a session or payment id to read a payment."}
	}
	var sessRaw, payRaw json.RawMessage
	var refunds []json.RawMessage
	paymentID := ref.PaymentID
	if ref.SessionID != "" {
		s, raw, err := c.getSession(ctx, ref.SessionID)
		if err != nil {
			return providers.Snapshot{}, err
		}
		sessRaw = raw
		if paymentID == "" {
			paymentID = s.PaymentID
		}
	}
	if paymentID != "" {
		_, raw, err := c.getPayment(ctx, paymentID)
		if err != nil {
			return providers.Snapshot{}, err
		}
		payRaw = raw
		if refunds, err = c.listRefunds(ctx, paymentID); err != nil {
			return providers.Snapshot{}, err
		}
	}
	snap, err := snapshotOf(sessRaw, payRaw, refunds)
	if err != nil {
		return providers.Snapshot{}, unreadable(0, "bpc: fetch", nil, err)
	}
	return snap, nil
}

// Cancel cancels a payment that has not been captured (POST /payments/{id}/cancel). Done
// carries the payment as BPC answered it (with the session re-read when ref has one).
func (c *Client) Cancel(ctx context.Context, ref providers.Ref, _ providers.CancelRequest) providers.Outcome {
	if ref.PaymentID == "" {
		return providers.Outcome{Kind: providers.NotSupported,
			Message: "BPC cancels payments, and this session has none; expire the session instead.",
			Detail:  "bpc: cancel: not sent: no payment id"}
	}
	p, body, err := c.cancelPayment(ctx, ref.PaymentID)
	if err != nil {
		return outcomeOf(err, body)
	}
	var sessRaw json.RawMessage
	detail := "bpc: cancel: HTTP 200"
	if ref.SessionID != "" {
		if _, raw, err := c.getSession(ctx, ref.SessionID); err == nil {
			sessRaw = raw
		} else {
			detail += "; session not re-read: " + err.Error()
		}
	}
	snap, err := snapshotOf(sessRaw, body, nil)
	if err != nil {
		return providers.Outcome{Kind: providers.Unknown, Raw: body,
			Message: "BPC accepted the cancellation but its answer could not be read; check the payment before doing anything else.",
			Detail:  "bpc: cancel: " + err.Error()}
	}
	if p.Status != "canceled" {
		return providers.Outcome{Kind: providers.Unknown, Raw: body, Snapshot: &snap,
			Message: fmt.Sprintf("BPC answered the cancellation but the payment is %s, not canceled.", p.Status),
			Detail:  detail}
	}
	return providers.Outcome{Kind: providers.Done, Message: "BPC cancelled the payment.", Detail: detail, Raw: body, Snapshot: &snap}
}

// Expire expires an open hosted-page session (POST /sessions/{id}/expire).
func (c *Client) Expire(ctx context.Context, ref providers.Ref) providers.Outcome {
	if ref.SessionID == "" {
		return providers.Outcome{Kind: providers.NotSupported,
			Message: "BPC expires hosted-page sessions, and this payment has none.",
			Detail:  "bpc: expire: not sent: no session id"}
	}
	s, body, err := c.expireSession(ctx, ref.SessionID)
	if err != nil {
		return outcomeOf(err, body)
	}
	detail := "bpc: expire: HTTP 200"
	var payRaw json.RawMessage
	var refunds []json.RawMessage
	// A session that already has a payment keeps it in the snapshot.
	if pid := firstNonEmpty(ref.PaymentID, s.PaymentID); pid != "" {
		_, raw, err := c.getPayment(ctx, pid)
		if err == nil {
			refunds, err = c.listRefunds(ctx, pid)
		}
		if err == nil {
			payRaw = raw
		} else {
			refunds = nil
			detail += "; payment not re-read: " + err.Error()
		}
	}
	snap, err := snapshotOf(body, payRaw, refunds)
	if err != nil {
		return providers.Outcome{Kind: providers.Unknown, Raw: body,
			Message: "BPC accepted the expiry but its answer could not be read; check the session before doing anything else.",
			Detail:  "bpc: expire: " + err.Error()}
	}
	if s.Status != "expired" {
		return providers.Outcome{Kind: providers.Unknown, Raw: body, Snapshot: &snap,
			Message: fmt.Sprintf("BPC answered the expiry but the session is %s, not expired.", s.Status),
			Detail:  detail}
	}
	return providers.Outcome{Kind: providers.Done, Message: "BPC expired the session.", Detail: detail, Raw: body, Snapshot: &snap}
}

// Refund refunds req.Amount minor units of a captured payment (POST /refunds). BPC has no
// "full refund" form: the amount is always sent. A succeeded refund is Done with the
// payment re-read; a pending one is Unknown with RefundID set (reconcile it with
// RefundByID); a failed one is Refused.
func (c *Client) Refund(ctx context.Context, ref providers.Ref, req providers.RefundRequest) providers.Outcome {
	if ref.PaymentID == "" {
		return providers.Outcome{Kind: providers.NotSupported,
			Message: "BPC refunds payments, and this session has none.",
			Detail:  "bpc: refund: not sent: no payment id"}
	}
	if req.Amount <= 0 {
		return providers.Outcome{Kind: providers.Refused,
			Message: fmt.Sprintf("The refund amount must be more than zero (got %d minor units).", req.Amount),
			Detail:  "bpc: refund: not sent: amount must be positive"}
	}
	r, body, err := c.createRefund(ctx, ref.PaymentID, req.Amount)
	if err != nil {
		return outcomeOf(err, body)
	}
	if r.ID == "" {
		return providers.Outcome{Kind: providers.Unknown, Raw: body,
			Message: "BPC answered the refund without a refund id; check the payment's refunds before doing anything else.",
			Detail:  "bpc: refund: answer has no id"}
	}
	out := providers.Outcome{RefundID: r.ID, Raw: body, Detail: fmt.Sprintf("bpc: refund %s: status %q", r.ID, r.Status)}
	amount := providers.FormatMoney(int64(r.Amount), strings.ToUpper(firstNonEmpty(r.Currency, ref.Currency)))
	switch r.Status {
	case "succeeded":
		out.Kind = providers.Done
		out.Message = fmt.Sprintf("BPC refunded %s.", amount)
		if snap, err := c.Fetch(ctx, ref); err == nil {
			out.Snapshot = &snap
		} else {
			out.Detail += "; payment not re-read: " + err.Error()
		}
	case "pending":
		out.Kind = providers.Unknown
		out.Message = "BPC accepted the refund but it is still pending; it will be settled by reading the refund back."
	case "failed", "canceled":
		out.Kind = providers.Refused
		out.Message = fmt.Sprintf("BPC could not refund %s (refund %s is %s).", amount, r.ID, r.Status)
	default:
		out.Kind = providers.Unknown
		out.Message = fmt.Sprintf("BPC answered the refund with status %q, which Paydesk does not know; it will be settled by reading the refund back.", r.Status)
	}
	return out
}

// Refunds lists a payment's refunds (GET /payments/{id}/refunds): how to find out whether
// a refund whose answer was lost did happen.
func (c *Client) Refunds(ctx context.Context, paymentID string) ([]providers.RefundSnapshot, error) {
	if paymentID == "" {
		return nil, &providers.Error{Provider: Name, Safe: "BPC needs a payment id to list refunds."}
	}
	list, err := c.listRefunds(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	out := make([]providers.RefundSnapshot, 0, len(list))
	for _, raw := range list {
		rs, _, err := refundSnapshotOf(raw, "")
		if err != nil {
			return nil, unreadable(http.StatusOK, "GET /payments/"+paymentID+"/refunds", raw, err)
		}
		out = append(out, rs)
	}
	return out, nil
}

// RefundByID reads one refund (GET /refunds/{id}).
func (c *Client) RefundByID(ctx context.Context, id string) (providers.RefundSnapshot, error) {
	if id == "" {
		return providers.RefundSnapshot{}, &providers.Error{Provider: Name, Safe: "BPC needs a refund id to read a refund."}
	}
	_, body, err := c.getRefund(ctx, id)
	if err != nil {
		return providers.RefundSnapshot{}, err
	}
	rs, _, err := refundSnapshotOf(body, "")
	if err != nil {
		return providers.RefundSnapshot{}, unreadable(http.StatusOK, "GET /refunds/"+id, body, err)
	}
	return rs, nil
}

// The remote calls, one method each. Each returns the decoded object, the raw answer
// body (also on errors, for the journal) and a *providers.Error.

func (c *Client) getSession(ctx context.Context, id string) (session, json.RawMessage, error) {
	var s session
	body, err := c.call(ctx, http.MethodGet, "/sessions/"+url.PathEscape(id), nil, &s)
	return s, body, err
}

func (c *Client) expireSession(ctx context.Context, id string) (session, json.RawMessage, error) {
	var s session
	body, err := c.call(ctx, http.MethodPost, "/sessions/"+url.PathEscape(id)+"/expire", nil, &s)
	return s, body, err
}

func (c *Client) getPayment(ctx context.Context, id string) (payment, json.RawMessage, error) {
	var p payment
	body, err := c.call(ctx, http.MethodGet, "/payments/"+url.PathEscape(id), nil, &p)
	return p, body, err
}

func (c *Client) cancelPayment(ctx context.Context, id string) (payment, json.RawMessage, error) {
	var p payment
	body, err := c.call(ctx, http.MethodPost, "/payments/"+url.PathEscape(id)+"/cancel", nil, &p)
	return p, body, err
}

func (c *Client) createRefund(ctx context.Context, paymentID string, amount int64) (refund, json.RawMessage, error) {
	var r refund
	body, err := c.call(ctx, http.MethodPost, "/refunds", refundRequest{Amount: minorUnits(amount), PaymentID: paymentID}, &r)
	return r, body, err
}

func (c *Client) getRefund(ctx context.Context, id string) (refund, json.RawMessage, error) {
	var r refund
	body, err := c.call(ctx, http.MethodGet, "/refunds/"+url.PathEscape(id), nil, &r)
	return r, body, err
}

func (c *Client) listRefunds(ctx context.Context, paymentID string) ([]json.RawMessage, error) {
	path := "/payments/" + url.PathEscape(paymentID) + "/refunds"
	body, err := c.call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	list, err := decodeRefundList(body)
	if err != nil {
		return nil, unreadable(http.StatusOK, "GET "+path, body, err)
	}
	return list, nil
}

// call sends one request, bounded by the client's timeout, and decodes a 2xx JSON answer
// into out (when not nil). The call is sent once: reads are retried by the resilient
// guard's transport, and a call that may move money is never repeated. It returns the
// answer body when there was one.
func (c *Client) call(ctx context.Context, method, path string, in, out any) (json.RawMessage, error) {
	what := method + " " + path
	ans, err := c.http.Do(ctx, apicall.Request{Method: method, URL: c.base + path, Op: what, JSON: in})
	if err != nil {
		return nil, err
	}
	body, html := ans.Body, ans.HTML()

	switch {
	case ans.OK():
		if err := apicall.DecodeJSON(ans, out); err != nil {
			return apicall.RawJSON(body), unreadable(ans.Status, what, body, err)
		}
		return body, nil
	case ans.Status >= 500:
		safe := fmt.Sprintf("BPC answered with a server error (HTTP %d); whether it acted is unknown.", ans.Status)
		if html {
			safe = fmt.Sprintf("BPC answered with an error web page (HTTP %d); whether it acted is unknown.", ans.Status)
		}
		return apicall.RawJSON(body), &providers.Error{Provider: Name, Status: ans.Status, Unknown: true,
			Code: providerCode(body), Safe: safe, Detail: detail(what, ans.Status, body)}
	}

	// 4xx: a refusal when the body is BPC's JSON (or empty); anything else is unknown.
	if ans.Status < 400 || html || (len(bytes.TrimSpace(body)) > 0 && !json.Valid(body)) {
		e := unreadable(ans.Status, what, body, nil)
		if html {
			e.Safe = fmt.Sprintf("BPC answered with an error web page (HTTP %d) instead of JSON; whether it acted is unknown.", ans.Status)
		}
		return nil, e
	}
	e := &providers.Error{Provider: Name, Status: ans.Status, Code: providerCode(body),
		Detail: detail(what, ans.Status, body)}
	msg := providerMessage(body)
	switch {
	case ans.Status == http.StatusNotFound:
		e.Err = providers.ErrNotFound
		e.Safe = "BPC does not know " + strings.TrimPrefix(path, "/") + "."
		if msg != "" {
			e.Safe = "BPC: " + msg
		}
	case msg != "":
		e.Safe = "BPC refused: " + msg
	case ans.Status == http.StatusUnauthorized:
		e.Safe = "BPC refused the API key (HTTP 401)."
	case ans.Status == http.StatusForbidden:
		e.Safe = "BPC denied access (HTTP 403)."
	default:
		e.Safe = fmt.Sprintf("BPC refused the request (HTTP %d).", ans.Status)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil
	}
	return body, e
}

// unreadable describes an answer that is not what BPC documents: always Unknown.
func unreadable(status int, what string, body []byte, err error) *providers.Error {
	return &providers.Error{Provider: Name, Status: status, Unknown: true,
		Safe:   "BPC gave an answer Paydesk could not read; whether it acted is unknown.",
		Detail: detail(what, status, body), Err: err}
}

// outcomeOf turns a failed action call into its Outcome: Unknown when nobody can tell
// whether BPC acted, Refused when BPC answered no.
func outcomeOf(err error, body json.RawMessage) providers.Outcome {
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return providers.Outcome{Kind: providers.Unknown, Message: providers.SafeMessage(err), Detail: err.Error()}
	}
	out := providers.Outcome{Kind: providers.Refused, Message: pe.Safe, Detail: pe.Error(), Raw: body}
	if pe.Unknown {
		out.Kind = providers.Unknown
	}
	return out
}

// providerMessage reads BPC's error words: message, else error, else errors[0] (a string
// or an object with a message) — the shape is not documented [I].
func providerMessage(body []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	for _, key := range []string{"message", "error"} {
		if s := textOf(fields[key]); s != "" {
			return safeText(s)
		}
	}
	var list []json.RawMessage
	if json.Unmarshal(fields["errors"], &list) == nil && len(list) > 0 {
		return safeText(textOf(list[0]))
	}
	return ""
}

// providerCode reads an error code when BPC gives one: code, or error.code, or errors[0].code.
func providerCode(body []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(fields["code"], &s) == nil && s != "" {
		return safeText(s)
	}
	var obj struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(fields["error"], &obj) == nil && obj.Code != "" {
		return safeText(obj.Code)
	}
	var list []struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(fields["errors"], &list) == nil && len(list) > 0 {
		return safeText(list[0].Code)
	}
	return ""
}

// textOf returns raw as a string, or the message of an object.
func textOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Message     string `json:"message"`
		Description string `json:"description"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return strings.TrimSpace(firstNonEmpty(obj.Message, obj.Description))
	}
	return ""
}

// safeText keeps a provider's words printable and short enough for a page.
func safeText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return apicall.Cut(strings.TrimSpace(s), 300)
}

// detail is the log line of an answer: what was called, the status and a body excerpt.
func detail(what string, status int, body []byte) string {
	d := what
	if status != 0 {
		d += fmt.Sprintf(": HTTP %d", status)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		d += ": " + apicall.Excerpt(body)
	}
	return d
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
