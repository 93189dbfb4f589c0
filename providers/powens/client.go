// Package powens speaks to Powens Pay, the open-banking payment initiation API
// (docs/providers.md#powens): a client (one method per remote call), the wire structs, the import
// format, a strict simulator of the API and of the payer's confirmation pages, and the
// demo payments.
//
// Powens has no refund and no expire: the client implements providers.Provider,
// providers.Canceller and providers.PayerLinker only.
package powens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
	"paydesk/providers/apicall"
)

// Compile-time checks: what the client implements, and only that.
var (
	_ providers.Provider    = (*Client)(nil)
	_ providers.Canceller   = (*Client)(nil)
	_ providers.PayerLinker = (*Client)(nil)
)

const (
	// DefaultTimeout bounds each remote call when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// ValidateURILifetime is how long a validate_uri link is taken to work: Powens does not
	// say, so it is the lifetime of its scoped tokens (604800 s) [I].
	ValidateURILifetime = 7 * 24 * time.Hour

	// adminScope is the scope of the service token.
	adminScope = "payments:admin"
	// validateScope is the scope of the payer's token.
	validateScope = "payments:validate"
	// scopedTokenLifetime is the documented expires_in, used if an answer omits it.
	scopedTokenLifetime = 604800 * time.Second
	// maxBody caps what is read of an answer.
	maxBody = 1 << 20
	// maxListPages stops List following next links forever.
	maxListPages = 100
)

// ErrNotWaitingForPayer is wrapped by PayerLink's error when the payment no longer waits
// for the payer to confirm a cancellation.
var ErrNotWaitingForPayer = errors.New("powens: payment does not wait for the payer")

// Config is what the client needs to reach one Powens domain.
type Config struct {
	// BaseURL is the API root, e.g. https://{domain}.biapi.pro/2.0 (or a simulator's URL).
	BaseURL string
	// ClientID and ClientSecret are the domain client's credentials (a secret: never logged).
	ClientID     string
	ClientSecret string
	// WebviewURL is the webview root; empty means BaseURL + "/auth/webview".
	WebviewURL string
	// Lang, when set (e.g. "en"), puts the webview in that language:
	// {WebviewURL}/{Lang}/payment instead of {WebviewURL}/payment.
	Lang string
	// Timeout bounds each remote call; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used for link expiries; nil means time.Now.
	Now func() time.Time
}

// Client is a Powens Pay client. It is safe for concurrent use.
type Client struct {
	baseURL      string
	base         *url.URL
	webviewURL   string
	clientID     string
	clientSecret string
	now          func() time.Time
	// http sends the calls, each bounded by the configured timeout.
	http *apicall.Caller

	// tokenMu is held while a service token is fetched, so that concurrent calls wait for
	// one fetch instead of each asking Powens for a token.
	tokenMu sync.Mutex
	mu      sync.Mutex // guards token
	token   string
}

// New checks cfg and returns a client. A nil hc means a new http.Client; the client bounds
// every call with cfg.Timeout through its context, not through hc.Timeout.
func New(cfg Config, hc *http.Client) (*Client, error) {
	base, err := checkURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("powens: config: base URL: %w", err)
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("powens: config: client id is required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("powens: config: client secret is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("powens: config: timeout %s is negative", cfg.Timeout)
	}
	webview := strings.TrimRight(cfg.BaseURL, "/") + "/auth/webview"
	if cfg.WebviewURL != "" {
		if _, err := checkURL(cfg.WebviewURL); err != nil {
			return nil, fmt.Errorf("powens: config: webview URL: %w", err)
		}
		webview = strings.TrimRight(cfg.WebviewURL, "/")
	}
	if cfg.Lang != "" {
		if !validLang(cfg.Lang) {
			return nil, fmt.Errorf("powens: config: language %q is not a language tag such as en or fr", cfg.Lang)
		}
		webview += "/" + cfg.Lang
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{
		baseURL:      strings.TrimRight(cfg.BaseURL, "/"),
		base:         base,
		webviewURL:   webview,
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		now:          cfg.Now,
		http: &apicall.Caller{
			Provider: Name,
			HTTP:     hc,
			Timeout:  timeout,
			MaxBody:  maxBody,
			Header:   http.Header{"User-Agent": {"paydesk"}},
			Words: apicall.Words{
				Build:       "Paydesk could not build the request.",
				Timeout:     fmt.Sprintf("Powens did not answer within %s.", timeout),
				Cancelled:   "The request to Powens was cancelled before it answered.",
				Unreachable: "Powens could not be reached.",
				TooLarge:    "Powens gave an answer too large to read.",
			},
		},
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// checkURL accepts an absolute http(s) URL without query or fragment.
func checkURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", s)
	}
	return u, nil
}

// validLang accepts short language tags: en, fr, en-GB.
func validLang(s string) bool {
	if len(s) < 2 || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}

// Name is Name.
func (c *Client) Name() providers.Name { return Name }

// Fetch reads the payment with GET /payments/{id}. The Snapshot's Raw is the import
// envelope of the payment just read.
func (c *Client) Fetch(ctx context.Context, ref providers.Ref) (providers.Snapshot, error) {
	if ref.PaymentID == "" {
		return providers.Snapshot{}, &providers.Error{Provider: Name,
			Safe: "Paydesk has no Powens payment id for this payment.", Detail: "fetch: empty payment id"}
	}
	return c.payment(ctx, ref.PaymentID)
}

// payment is GET /payments/{id}.
func (c *Client) payment(ctx context.Context, id string) (providers.Snapshot, error) {
	op := "GET /payments/" + id
	rep, _, err := c.api(ctx, op, http.MethodGet, c.url("/payments/"+url.PathEscape(id)), nil)
	if err != nil {
		return providers.Snapshot{}, err
	}
	s, err := decodePayment(rep.Body)
	if err != nil {
		return providers.Snapshot{}, unreadable(op, "a payment Paydesk could not read", rep, err)
	}
	if s.PaymentID != id {
		return providers.Snapshot{}, unreadable(op, "another payment than the one asked for", rep,
			fmt.Errorf("asked for %s, got %s", id, s.PaymentID))
	}
	return s, nil
}

// ListOptions narrows GET /payments. Zero values leave a parameter out.
type ListOptions struct {
	Limit   int
	Offset  int
	Reverse bool
	// Filter is the date MinDate and MaxDate apply to: "register_date" or "validate_date".
	Filter  string
	MinDate time.Time
	MaxDate time.Time
}

// List reads payments with GET /payments, following _links.next.href while Powens gives
// one (on the same host only, so the token goes nowhere else). Without next links it reads
// one page: a full page (len == Limit) means the caller may ask for the next offset.
func (c *Client) List(ctx context.Context, opts ListOptions) ([]providers.Snapshot, error) {
	q := url.Values{}
	if opts.Limit < 0 || opts.Offset < 0 {
		return nil, errors.New("powens: list: limit and offset must not be negative")
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Offset > 0 {
		q.Set("offset", strconv.Itoa(opts.Offset))
	}
	if opts.Reverse {
		q.Set("reverse", "true")
	}
	switch opts.Filter {
	case "", "register_date", "validate_date":
	default:
		return nil, fmt.Errorf("powens: list: filter %q is not register_date or validate_date", opts.Filter)
	}
	if opts.Filter != "" {
		q.Set("filter", opts.Filter)
	}
	if !opts.MinDate.IsZero() {
		q.Set("min_date", opts.MinDate.UTC().Format("2006-01-02"))
	}
	if !opts.MaxDate.IsZero() {
		q.Set("max_date", opts.MaxDate.UTC().Format("2006-01-02"))
	}
	next := c.url("/payments")
	if len(q) > 0 {
		next += "?" + q.Encode()
	}
	var out []providers.Snapshot
	for page := 0; next != "" && page < maxListPages; page++ {
		op := "GET " + strings.TrimPrefix(next, c.baseURL)
		rep, _, err := c.api(ctx, op, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		items, href, err := decodeList(rep.Body)
		if err != nil {
			return nil, unreadable(op, "a payment list Paydesk could not read", rep, err)
		}
		for _, raw := range items {
			s, err := decodePayment(raw)
			if err != nil {
				return nil, unreadable(op, "a payment Paydesk could not read in a list", rep, err)
			}
			out = append(out, s)
		}
		from := next
		next = ""
		if href != "" {
			if next, err = c.sameHost(from, href); err != nil {
				return nil, unreadable(op, "a next-page link Paydesk will not follow", rep, err)
			}
		}
	}
	return out, nil
}

// decodeList reads {"payments":[…],"_links":{"next":{"href":…}}} or a bare array.
func decodeList(body []byte) ([]json.RawMessage, string, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, "", fmt.Errorf("powens: payment list: %w", err)
		}
		return items, "", nil
	}
	var ans listAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, "", fmt.Errorf("powens: payment list: %w", err)
	}
	if ans.Payments == nil {
		return nil, "", errors.New(`powens: payment list has no "payments"`)
	}
	href := ""
	if ans.Links != nil && ans.Links.Next != nil {
		href = ans.Links.Next.Href
	}
	return ans.Payments, href, nil
}

// sameHost resolves a next link against the page it came from and refuses another host.
func (c *Client) sameHost(from, href string) (string, error) {
	f, err := url.Parse(from)
	if err != nil {
		return "", err
	}
	h, err := url.Parse(href)
	if err != nil {
		return "", fmt.Errorf("powens: next link: %w", err)
	}
	u := f.ResolveReference(h)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", fmt.Errorf("powens: next link %q leaves %s", href, c.base.Host)
	}
	return u.String(), nil
}

// url is the absolute URL of an API path.
func (c *Client) url(path string) string { return c.baseURL + path }

// api makes one /payments* call with the service token: a 401 fetches a new token once
// and repeats the call once (a 401 means nothing was done). Nothing else is repeated
// here: reads are retried by the resilient guard's transport, money-moving calls never.
// Only a 2xx JSON answer comes back without an error. notSent is true when the call
// cannot have changed anything at Powens (no request went out, or Powens refused it with
// a 401).
func (c *Client) api(ctx context.Context, op, method, target string, in any) (rep apicall.Answer, notSent bool, err error) {
	token, err := c.serviceToken(ctx, "")
	if err != nil {
		return apicall.Answer{}, true, err
	}
	for renewed := false; ; renewed = true {
		rep, err = c.send(ctx, op, method, target, in, token)
		if err != nil {
			return apicall.Answer{}, errors.Is(err, apicall.ErrNotSent), err
		}
		if rep.Status == http.StatusUnauthorized && !renewed {
			if token, err = c.serviceToken(ctx, token); err != nil {
				return apicall.Answer{}, true, err
			}
			continue
		}
		if err := c.check(op, rep, false); err != nil {
			return rep, rep.Status == http.StatusUnauthorized, err
		}
		return rep, false, nil
	}
}

// serviceToken returns the cached service token, fetching one when there is none or when
// the cached one is stale (Powens refused it).
func (c *Client) serviceToken(ctx context.Context, stale string) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	if token != "" && token != stale {
		return token, nil
	}
	token, err := c.requestToken(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
	return token, nil
}

// requestToken is POST /auth/token with the client credentials.
func (c *Client) requestToken(ctx context.Context) (string, error) {
	const op = "POST /auth/token"
	in := tokenRequest{GrantType: "client_credentials", ClientID: c.clientID, ClientSecret: c.clientSecret, Scope: adminScope}
	rep, err := c.send(ctx, op, http.MethodPost, c.url("/auth/token"), in, "")
	if err != nil {
		return "", err
	}
	if err := c.check(op, rep, true); err != nil {
		return "", err
	}
	var ans tokenAnswer
	if err := apicall.DecodeJSON(rep, &ans); err != nil {
		return "", unreadableSecret(op, rep, fmt.Errorf("powens: token: %w", err))
	}
	token := ans.Token
	if token == "" {
		token = ans.AccessToken
	}
	if token == "" {
		return "", unreadableSecret(op, rep, errors.New("powens: token answer has no token"))
	}
	return token, nil
}

// send makes one HTTP request, bounded by the timeout, with the bearer token when there
// is one, and reads the whole answer.
func (c *Client) send(ctx context.Context, op, method, target string, in any, bearer string) (apicall.Answer, error) {
	r := apicall.Request{Method: method, URL: target, Op: op, JSON: in}
	if bearer != "" {
		r.Header = http.Header{"Authorization": {"Bearer " + bearer}}
	}
	return c.http.Do(ctx, r)
}

// check turns a non-2xx or non-JSON answer into an Error. secret marks an answer whose
// 2xx body holds a token, so that none of it reaches the detail.
func (c *Client) check(op string, rep apicall.Answer, secret bool) error {
	html := rep.HTML()
	if rep.Status >= 200 && rep.Status < 300 {
		if !html {
			return nil
		}
		e := &providers.Error{Provider: Name, Status: rep.Status, Unknown: true,
			Safe: "Powens answered with a web page instead of JSON.", Detail: fmt.Sprintf("%s: HTTP %d: %s", op, rep.Status, apicall.Excerpt(rep.Body))}
		if secret {
			e.Detail = fmt.Sprintf("%s: HTTP %d: %d bytes of HTML", op, rep.Status, len(rep.Body))
		}
		return e
	}
	e := &providers.Error{Provider: Name, Status: rep.Status,
		Detail: fmt.Sprintf("%s: HTTP %d: %s", op, rep.Status, apicall.Excerpt(rep.Body))}
	var eb errorBody
	readable := !html && json.Unmarshal(rep.Body, &eb) == nil && (eb.Code != "" || eb.Description != "" || eb.Message != "")
	if readable {
		e.Code = eb.Code
		e.Safe = eb.Description
		if e.Safe == "" {
			e.Safe = eb.Message
		}
		if eb.RequestID != "" {
			e.Detail += " (request_id " + string(eb.RequestID) + ")"
		}
	}
	switch {
	case rep.Status == http.StatusTooManyRequests:
		// Too many requests: the call was turned away before it did anything, whether a
		// proxy or the API said so, with or without Powens' body.
		if e.Safe == "" {
			e.Safe = "Powens is receiving too many requests; try again later."
		}
		if ra := rep.Header.Get("Retry-After"); ra != "" {
			e.Detail += " (Retry-After " + ra + ")"
		}
	case rep.Status >= 500:
		e.Unknown = true
		if e.Safe == "" {
			e.Safe = fmt.Sprintf("Powens had an internal error (HTTP %d).", rep.Status)
		}
		if html {
			e.Safe = fmt.Sprintf("Powens answered with an error page (HTTP %d).", rep.Status)
		}
	case !readable:
		// A 4xx without Powens' error body did not come from the API as documented (a
		// proxy, a wrong base URL): nothing says what happened.
		e.Unknown = true
		e.Safe = fmt.Sprintf("Powens answered HTTP %d with something Paydesk could not read.", rep.Status)
		if html {
			e.Safe = fmt.Sprintf("Powens answered with an error page (HTTP %d).", rep.Status)
		}
	case rep.Status == http.StatusNotFound:
		e.Err = providers.ErrNotFound
		if e.Safe == "" {
			e.Safe = "Powens does not know this payment."
		}
	}
	if e.Safe == "" {
		e.Safe = fmt.Sprintf("Powens refused the request (HTTP %d).", rep.Status)
	}
	return e
}

// unreadable is the error for a 2xx answer that does not decode as expected.
func unreadable(op, what string, rep apicall.Answer, err error) error {
	return &providers.Error{Provider: Name, Status: rep.Status, Unknown: true,
		Safe:   "Powens answered with " + what + ".",
		Detail: fmt.Sprintf("%s: HTTP %d: %s", op, rep.Status, apicall.Excerpt(rep.Body)), Err: err}
}

// unreadableSecret is unreadable for an answer that holds a token: no body excerpt.
func unreadableSecret(op string, rep apicall.Answer, err error) error {
	return &providers.Error{Provider: Name, Status: rep.Status, Unknown: true,
		Safe:   "Powens answered with a token Paydesk could not read.",
		Detail: fmt.Sprintf("%s: HTTP %d: %d bytes (not logged: may hold a token)", op, rep.Status, len(rep.Body)), Err: err}
}

// failed is the outcome of an action whose call returned an error.
func failed(action string, rep apicall.Answer, notSent bool, err error) providers.Outcome {
	var pe *providers.Error
	if !errors.As(err, &pe) {
		pe = &providers.Error{Provider: Name, Unknown: true, Safe: providers.SafeMessage(err), Err: err}
	}
	out := providers.Outcome{Message: pe.Safe, Detail: err.Error(), Raw: apicall.RawJSON(rep.Body)}
	switch {
	case notSent:
		out.Kind = providers.Refused
		out.Message = pe.Safe + " The " + action + " was not sent."
	case pe.Code == notSupportedCode:
		// Recognised by its body whatever the status: the guide gives it none, and the
		// body says plainly that nothing can be done (a 501 would say the same).
		out.Kind = providers.NotSupported
		out.Message = notSupportedMessage(pe.Safe, "")
	case pe.Unknown:
		out.Kind = providers.Unknown
		out.Message = pe.Safe + " The outcome of the " + action + " is unknown: read the payment from Powens before trying again."
	default:
		out.Kind = providers.Refused
	}
	return out
}
