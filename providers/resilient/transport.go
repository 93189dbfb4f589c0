package resilient

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Transport returns the http.RoundTripper to give the provider's client (base is
// http.DefaultTransport when nil). A read — a GET or HEAD without a body — is retried up
// to Options.Retries times after a connection error, a 5xx or a 429, waiting an
// exponential backoff with jitter, or the answer's Retry-After when it gives one and it
// is no longer than Options.MaxRetryAfter. A retry never outlives the request's own
// deadline: when the wait would, the last answer is returned as it is. Any other request
// goes out exactly once. A Retry-After on a 429 or 503, whatever the request, also holds
// every call through Wrap until it has passed.
func (g *Guard) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{g: g, base: base}
}

type transport struct {
	g    *Guard
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isRead(req) {
		resp, err := t.base.RoundTrip(req)
		t.g.hold(retryAfter(resp, t.g.opt.Now()))
		return resp, err
	}
	for n := 0; ; n++ {
		resp, err := t.base.RoundTrip(req)
		ra := retryAfter(resp, t.g.opt.Now())
		t.g.hold(ra)
		wait, reason := t.g.retryWait(req, resp, err, ra, n)
		if reason == "" {
			return resp, err
		}
		if deadline, ok := req.Context().Deadline(); ok && time.Until(deadline) <= wait {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then let the answer go.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.g.opt.OnRetry != nil {
			t.g.opt.OnRetry(t.g.name, reason)
		}
		if err := t.g.opt.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// isRead reports whether a request can be sent again without changing anything: a GET or
// HEAD with no body.
func isRead(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody
}

// retryWait decides whether attempt n of a read is retried, how long to wait first and
// why (reason "" means: return this answer).
func (g *Guard) retryWait(req *http.Request, resp *http.Response, err error, ra time.Duration, n int) (time.Duration, string) {
	if n >= g.opt.Retries || req.Context().Err() != nil {
		return 0, ""
	}
	if err != nil {
		return g.backoff(n), "connection"
	}
	reason := ""
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		reason = "rate_limited"
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		reason = "status_5xx"
	default:
		return 0, ""
	}
	if ra > 0 {
		if ra > g.opt.MaxRetryAfter {
			return 0, "" // honoured by the hold: every call fails fast until then
		}
		return ra, reason
	}
	return g.backoff(n), reason
}

// retryAfter reads the Retry-After of a 429 or 503 answer (seconds or an HTTP date); 0
// when there is none.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
