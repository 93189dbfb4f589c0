package tranzzo

import (
	"net/http"
	"time"

	"paydesk/providers/simfault"
)

// Fault is a way for the simulator to misbehave on a coming request, so tests and the
// demo can show what Paydesk does when Tranzzo fails: the shared vocabulary of package
// simfault.
type Fault = simfault.Fault

// The faults under the names the Tranzzo tests and callers have always used; each is the
// simfault value of the same meaning.
const (
	// Fault500 answers HTTP 500 with Tranzzo's error body; the request is not performed.
	Fault500 = simfault.Internal
	// Fault503 answers HTTP 503 with Tranzzo's error body; the request is not performed.
	Fault503 = simfault.Unavailable
	// FaultSlow performs the request and holds the answer for SimConfig.SlowDelay (or
	// until the client hangs up): a client with a shorter timeout sees no answer although
	// the action happened.
	FaultSlow = simfault.Slow
	// FaultMalformed performs the request and answers its normal status with the JSON body
	// cut in half, as if the connection had been truncated.
	FaultMalformed = simfault.Malformed
	// FaultHTML answers HTTP 502 with an HTML error page from a proxy in front of the API;
	// the request is not performed.
	FaultHTML = simfault.HTMLPage
	// FaultDrop performs the request (the money moves) and then answers HTTP 500, as if the
	// answer had been lost: the case reconciliation exists for.
	FaultDrop = simfault.DropAnswer
)

// DefaultSlowDelay is FaultSlow's wait when SimConfig.SlowDelay is zero: longer than the
// client's default timeout.
const DefaultSlowDelay = 30 * time.Second

// FailNext makes the next n requests, whatever their endpoint, fail with mode (see each
// Fault for what it does). Calls add up: FailNext(1, Fault503) then FailNext(1, FaultDrop)
// fails the next request with 503 and the one after by dropping its answer. n <= 0 does
// nothing.
func (s *Simulator) FailNext(n int, mode Fault) { s.faults.Add("", n, mode) }

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
