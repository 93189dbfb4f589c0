package bpc

import (
	"net/http"

	"paydesk/providers/simfault"
)

// FailNext makes the next n requests (any endpoint, before authentication) fail with f;
// calls queue up, oldest first.
func (s *Simulator) FailNext(n int, f simfault.Fault) { s.faults.Add("", n, f) }

// ClearFaults drops every queued fault.
func (s *Simulator) ClearFaults() { s.faults.Clear() }

// faultAnswers is what the fault injector needs from the simulator.
func (s *Simulator) faultAnswers() simfault.Answers {
	return simfault.Answers{SlowDelay: s.cfg.SlowDelay, Error: faultError}
}

// faultError is BPC's error body for an injected 500 or 503.
func faultError(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		writeError(w, status, "Service unavailable")
		return
	}
	writeError(w, status, "Internal server error")
}
