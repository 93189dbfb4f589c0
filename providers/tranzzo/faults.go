package tranzzo

import (
	"net/http"
	"time"

	"paydesk/providers/simfault"
)

// DefaultSlowDelay is simfault.Slow's wait when SimConfig.SlowDelay is zero: longer than the
// client's default timeout.
const DefaultSlowDelay = 30 * time.Second

// FailNext makes the next n requests, whatever their endpoint, fail with mode (package
// simfault says what each fault does). Calls add up: FailNext(1, simfault.Unavailable)
// then FailNext(1, simfault.DropAnswer) fails the next request with 503 and the one after
// by dropping its answer. n <= 0 does nothing.
func (s *Simulator) FailNext(n int, mode simfault.Fault) { s.faults.Add("", n, mode) }

// ClearFaults forgets every fault not yet used.
func (s *Simulator) ClearFaults() { s.faults.Clear() }

// PendingFaults is how many injected faults are still waiting for a request.
func (s *Simulator) PendingFaults() int { return s.faults.Pending() }

// faultAnswers is what the fault injector needs from the simulator.
func (s *Simulator) faultAnswers() simfault.Answers {
	return simfault.Answers{SlowDelay: s.cfg.SlowDelay, Error: faultError}
}

// faultError is Tranzzo's error body for an injected 500 or 503.
func faultError(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		writeJSON(w, status, simError("Service temporarily unavailable", simCodeUnavailable))
		return
	}
	writeJSON(w, status, simError("Internal server error", simCodeServer))
}
