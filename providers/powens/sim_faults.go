package powens

import (
	"net/http"

	"paydesk/providers/simfault"
)

// FailNext makes the next n API calls, whatever their route, fail with f. Faults queue up
// in the order they were added; the first one that matches a call is used.
func (s *Simulator) FailNext(n int, f simfault.Fault) { s.FailNextOn("", n, f) }

// FailNextOn makes the next n calls to route fail with f (e.g. only the cancel, not the
// token request before it).
func (s *Simulator) FailNextOn(route Route, n int, f simfault.Fault) {
	s.faults.Add(string(route), n, f)
}

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
