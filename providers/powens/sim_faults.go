package powens

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure the simulator injects into its API answers (never into the payer's
// pages). Some faults answer without doing anything; others do the work and then spoil
// the answer, which is the case a client must never retry blindly.
type Fault int

// The faults.
const (
	// Fault500 answers 500 {"code":"internalError"} without doing anything.
	Fault500 Fault = iota + 1
	// Fault503 answers 503 {"code":"serviceUnavailable"} with Retry-After, without doing anything.
	Fault503
	// FaultSlow does the work, then holds the answer for SlowDelay (or until the client
	// hangs up): the work is done but the client times out.
	FaultSlow
	// FaultMalformedJSON does the work, then answers 200 with the first half of the JSON.
	FaultMalformedJSON
	// FaultHTML answers a 502 HTML error page, as a proxy would, without doing anything.
	FaultHTML
	// FaultDropAnswer does the work, then answers 500 as if it had failed ("accepted but
	// the answer was lost"): the crash/reconcile case.
	FaultDropAnswer
	// FaultDropConnection closes the connection without answering, without doing anything.
	FaultDropConnection
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case Fault500:
		return "500"
	case Fault503:
		return "503"
	case FaultSlow:
		return "slow"
	case FaultMalformedJSON:
		return "malformed-json"
	case FaultHTML:
		return "html"
	case FaultDropAnswer:
		return "drop-answer"
	case FaultDropConnection:
		return "drop-connection"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// faultRule is a pending fault: the next n calls to route ("" for any API route).
type faultRule struct {
	route Route
	left  int
	fault Fault
}

// FailNext makes the next n API calls, whatever their route, fail with f. Rules queue up
// in the order they were added; the first one that matches a call is used.
func (s *Simulator) FailNext(n int, f Fault) { s.FailNextOn("", n, f) }

// FailNextOn makes the next n calls to route fail with f (e.g. only the cancel, not the
// token request before it).
func (s *Simulator) FailNextOn(route Route, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faultRule{route: route, left: n, fault: f})
}

// ClearFaults drops every pending fault.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFaultLocked uses up one call of the first rule matching route; s.mu is held.
func (s *Simulator) takeFaultLocked(route Route) Fault {
	for i := range s.faults {
		rule := &s.faults[i]
		if rule.route != "" && rule.route != route {
			continue
		}
		f := rule.fault
		rule.left--
		if rule.left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f
	}
	return 0
}

// api counts a call to route and applies any pending fault around h.
func (s *Simulator) api(route Route, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		f := s.takeFaultLocked(route)
		s.mu.Unlock()

		switch f {
		case Fault500:
			s.apiError(w, http.StatusInternalServerError, "internalError", "Internal server error.")
			return
		case Fault503:
			w.Header().Set("Retry-After", "1")
			s.apiError(w, http.StatusServiceUnavailable, "serviceUnavailable", "The service is temporarily unavailable.")
			return
		case FaultHTML:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<!doctype html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>\n"))
			return
		case FaultDropConnection:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // closes the connection when it cannot be hijacked
		}

		rec := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
		h(rec, r)
		switch f {
		case FaultSlow:
			wait(r.Context(), s.cfg.SlowDelay)
			rec.send(w)
		case FaultMalformedJSON:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			w.Write(rec.body.Bytes()[:rec.body.Len()/2])
		case FaultDropAnswer:
			s.apiError(w, http.StatusInternalServerError, "internalError", "Internal server error.")
		default:
			rec.send(w)
		}
	})
}

// wait sleeps for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// bufferedAnswer holds a handler's answer so a fault can change it before it is sent.
type bufferedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header is the answer's header.
func (b *bufferedAnswer) Header() http.Header { return b.header }

// WriteHeader records the status.
func (b *bufferedAnswer) WriteHeader(status int) { b.status = status }

// Write records the body.
func (b *bufferedAnswer) Write(p []byte) (int, error) { return b.body.Write(p) }

// send writes the held answer to w.
func (b *bufferedAnswer) send(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
