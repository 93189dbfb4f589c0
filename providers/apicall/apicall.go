// Package apicall is the HTTP plumbing the provider clients share: building a request,
// sending it once within a time bound, reading a capped answer, and turning a call that
// got no answer into a *providers.Error whose outcome is unknown. It also cuts body
// excerpts for logs without splitting a UTF-8 character, and decodes JSON answers with
// errors that say what came instead (an HTML page, nothing, broken JSON).
//
// What stays in each client is what differs between providers: the wire structs, the
// authentication headers, how an error body is read and the sentences shown to staff
// (given here as Words).
//
// Nothing here retries: a read is retried by the resilient guard's transport, the one
// retry layer, and a call that may move money is never retried anywhere
// (docs/architecture.md).
package apicall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"paydesk/providers"
)

// DefaultMaxBody is how much of an answer is read when Caller.MaxBody is zero: the
// providers' objects are a few kilobytes.
const DefaultMaxBody = 1 << 20

// ErrNotSent is wrapped by the error of a request that could not be built, so nothing
// went out.
var ErrNotSent = errors.New("apicall: request not sent")

// ErrTooLarge is wrapped by the error of an answer longer than Caller.MaxBody.
var ErrTooLarge = errors.New("apicall: answer too large")

// Words are one provider's sentences for what the plumbing reports, shown to staff as
// providers.Error.Safe. Each client words them its own way (and its tests check them).
type Words struct {
	// Build: the request could not be built, so nothing was sent.
	Build string
	// Timeout: no answer within the time bound (the client's or the caller's deadline).
	Timeout string
	// Cancelled: the caller gave up (its context was cancelled) before the answer came.
	Cancelled string
	// Unreachable: no connection, or it broke before the answer was read.
	Unreachable string
	// TooLarge: the answer was longer than Caller.MaxBody.
	TooLarge string
}

// Caller sends one provider's requests. Its fields are set once, when the client is
// made; it is safe for concurrent use.
type Caller struct {
	// Provider names the provider in errors.
	Provider providers.Name
	// HTTP sends the requests (the resilient guard's transport sits inside it).
	HTTP *http.Client
	// Timeout bounds each call, reading the answer included; zero means the caller's
	// context alone bounds it.
	Timeout time.Duration
	// MaxBody caps how much of an answer is read; zero means DefaultMaxBody.
	MaxBody int
	// Header is sent with every request (credentials, API version): never logged.
	Header http.Header
	// Words are the provider's sentences for failures.
	Words Words
}

// Request is one call to a provider's API.
type Request struct {
	// Method and URL say what to call.
	Method string
	URL    string
	// Op names the call in logs ("GET /payments/8"); empty means Method and URL.
	Op string
	// Header adds to Caller.Header for this call (a bearer token).
	Header http.Header
	// JSON, when not nil, is sent as the body, marshalled as JSON.
	JSON any
	// Form, when not nil (and JSON is nil), is sent as a form-encoded body.
	Form url.Values
}

// op is the name of the call for logs.
func (r Request) op() string {
	if r.Op != "" {
		return r.Op
	}
	return r.Method + " " + r.URL
}

// Answer is a provider's HTTP answer, read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports whether the status is 2xx.
func (a Answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// HTML reports whether the answer is a web page (a proxy's error page, a login page)
// rather than the JSON the APIs speak.
func (a Answer) HTML() bool {
	if strings.Contains(strings.ToLower(a.Header.Get("Content-Type")), "html") {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(a.Body), []byte("<"))
}

// Do sends r once, bounded by c.Timeout and ctx, and reads the whole answer, whatever its
// status: judging the status is the client's job. The error is a *providers.Error: with
// ErrNotSent when the request could not be built; with Unknown set when no complete
// answer came (timeout, cancelled, unreachable) or the answer was too large to read.
func (c *Caller) Do(ctx context.Context, r Request) (Answer, error) {
	op := r.op()
	attempt, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		attempt, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()
	req, err := c.build(attempt, r)
	if err != nil {
		return Answer{}, &providers.Error{Provider: c.Provider, Safe: c.Words.Build, Detail: op,
			Err: fmt.Errorf("%w: %w", ErrNotSent, err)}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Answer{}, c.noAnswer(ctx, attempt, op, err)
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return Answer{}, c.noAnswer(ctx, attempt, op, err)
	}
	if len(body) > limit {
		return Answer{}, &providers.Error{Provider: c.Provider, Status: resp.StatusCode, Unknown: true,
			Safe:   c.Words.TooLarge,
			Detail: fmt.Sprintf("%s: HTTP %d: more than %d bytes", op, resp.StatusCode, limit), Err: ErrTooLarge}
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// build makes the HTTP request: the caller's and the request's headers, Accept JSON, and
// the body with its Content-Type.
func (c *Caller) build(ctx context.Context, r Request) (*http.Request, error) {
	var body io.Reader
	contentType := ""
	switch {
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case r.Form != nil:
		body, contentType = strings.NewReader(r.Form.Encode()), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range []http.Header{c.Header, r.Header} {
		for k, v := range h {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	return req, nil
}

// noAnswer describes a call that got no complete answer: whether the provider acted is
// unknown. parent is the caller's context, attempt the one bounded by c.Timeout.
func (c *Caller) noAnswer(parent, attempt context.Context, op string, err error) *providers.Error {
	e := &providers.Error{Provider: c.Provider, Unknown: true, Detail: op, Err: err}
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		e.Safe = c.Words.Cancelled
	case attempt.Err() != nil || isTimeout(err):
		e.Safe = c.Words.Timeout
	case errors.Is(err, context.Canceled):
		e.Safe = c.Words.Cancelled
	default:
		e.Safe = c.Words.Unreachable
	}
	return e
}

// isTimeout reports whether err is a deadline rather than a refused or broken connection.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
