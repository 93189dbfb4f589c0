package powens

import (
	"net/http"

	"paydesk/providers/simfault"
)

// Fault is a failure the simulator injects into its API answers (never into the payer's
// pages): the shared vocabulary of package simfault.
type Fault = simfault.Fault

// The faults under the names the Powens tests and callers have always used; each is the
// simfault value of the same meaning.
const (
	// Fault500 answers 500 {"code":"internalError"} without doing anything.
	Fault500 = simfault.Internal
	// Fault503 answers 503 {"code":"serviceUnavailable"} with Retry-After, without doing anything.
	Fault503 = simfault.Unavailable
	// FaultSlow does the work, then holds the answer for SlowDelay (or until the client
	// hangs up): the work is done but the client times out.
	FaultSlow = simfault.Slow
	// FaultMalformedJSON does the work, then answers with the first half of the JSON.
	FaultMalformedJSON = simfault.Malformed
	// FaultHTML answers a 502 HTML error page, as a proxy would, without doing anything.
	FaultHTML = simfault.HTMLPage
	// FaultDropAnswer does the work, then answers 500 as if it had failed ("accepted but
	// the answer was lost"): the crash/reconcile case.
	FaultDropAnswer = simfault.DropAnswer
	// FaultDropConnection closes the connection without answering, without doing anything.
	FaultDropConnection = simfault.HangUp
)

// FailNext makes the next n API calls, whatever their route, fail with f. Faults queue up
// in the order they were added; the first one that matches a call is used.
func (s *Simulator) FailNext(n int, f Fault) { s.FailNextOn("", n, f) }

// FailNextOn makes the next n calls to route fail with f (e.g. only the cancel, not the
// token request before it).
func (s *Simulator) FailNextOn(route Route, n int, f Fault) { s.faults.Add(string(route), n, f) }

// ClearFaults drops every pending fault.
func (s *Simulator) ClearFaults() { s.faults.Clear() }

// api counts a call to route and applies any pending fault around h.
func (s *Simulator) api(route Route, h http.HandlerFunc) http.Handler {
	answers := simfault.Answers{SlowDelay: s.cfg.SlowDelay, Error: s.faultError}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		s.mu.Unlock()
		simfault.Serve(w, r, s.faults.Take(string(route)), answers, h)
	})
}

// faultError is Powens' error body for an injected 500 or 503.
func (s *Simulator) faultError(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		s.apiError(w, status, "serviceUnavailable", "The service is temporarily unavailable.")
		return
	}
	s.apiError(w, status, "internalError", "Internal server error.")
}
