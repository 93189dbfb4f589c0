package bpc

import (
	"net/http"

	"paydesk/providers/simfault"
)

// Fault is a failure the simulator injects into its next answers (see FailNext): the
// shared vocabulary of package simfault.
type Fault = simfault.Fault

// The faults under the names the BPC tests and callers have always used; each is the
// simfault value of the same meaning. Those marked "acts" perform the request (the state
// changes, OnChange is called) before the answer goes wrong; the others change nothing.
const (
	// FaultNone answers normally.
	FaultNone = simfault.None
	// FaultInternal answers 500 {"message":"Internal server error"}; nothing changes.
	FaultInternal = simfault.Internal
	// FaultUnavailable answers 503 {"message":"Service unavailable"} with Retry-After;
	// nothing changes.
	FaultUnavailable = simfault.Unavailable
	// FaultSlow acts, then holds the answer for SimConfig.SlowDelay (or until the client
	// hangs up): a provider that did the work but answered too late.
	FaultSlow = simfault.Slow
	// FaultMalformed acts, then sends the answer cut in the middle of its JSON.
	FaultMalformed = simfault.Malformed
	// FaultHTML answers 502 with an HTML error page, as a proxy in front of the API
	// would; nothing changes.
	FaultHTML = simfault.HTMLPage
	// FaultDropAnswer acts, then answers 500 as if it had failed: the lost answer that
	// crash and reconcile tests need.
	FaultDropAnswer = simfault.DropAnswer
	// FaultHangUp closes the connection without answering; nothing changes.
	FaultHangUp = simfault.HangUp
)

// FailNext makes the next n requests (any endpoint, before authentication) fail with f;
// calls queue up, oldest first.
func (s *Simulator) FailNext(n int, f Fault) { s.faults.Add("", n, f) }

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
