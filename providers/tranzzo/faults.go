package tranzzo

import (
	"fmt"
	"net/http"
	"time"
)

// Fault is a way for the simulator to misbehave on a coming request, so tests and the
// demo can show what Paydesk does when Tranzzo fails.
type Fault int

// The faults FailNext can inject.
const (
	// Fault500 answers HTTP 500 with Tranzzo's error body; the request is not performed.
	Fault500 Fault = iota + 1
	// Fault503 answers HTTP 503 with Tranzzo's error body; the request is not performed.
	Fault503
	// FaultSlow waits SimConfig.SlowDelay (or until the client hangs up) and then performs
	// the request normally: a client with a shorter timeout sees no answer although the
	// action happened.
	FaultSlow
	// FaultMalformed performs the request and answers its normal status with the JSON body
	// cut in half, as if the connection had been truncated.
	FaultMalformed
	// FaultHTML answers HTTP 502 with an HTML error page from a proxy in front of the API;
	// the request is not performed.
	FaultHTML
	// FaultDrop performs the request (the money moves) and then answers HTTP 500, as if the
	// answer had been lost: the case reconciliation exists for.
	FaultDrop
)

// String names the fault for test output.
func (f Fault) String() string {
	switch f {
	case Fault500:
		return "500"
	case Fault503:
		return "503"
	case FaultSlow:
		return "slow"
	case FaultMalformed:
		return "malformed"
	case FaultHTML:
		return "html"
	case FaultDrop:
		return "drop"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// DefaultSlowDelay is FaultSlow's wait when SimConfig.SlowDelay is zero: longer than the
// client's default timeout.
const DefaultSlowDelay = 30 * time.Second

// htmlErrorPage is what a proxy in front of the API answers when the API is down.
const htmlErrorPage = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

// FailNext makes the next n requests, whatever their endpoint, fail with mode (see each
// Fault for what it does). Calls add up: FailNext(1, Fault503) then FailNext(1, FaultDrop)
// fails the next request with 503 and the one after by dropping its answer. n <= 0 does
// nothing.
func (s *Simulator) FailNext(n int, mode Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, mode)
	}
}

// ClearFaults forgets every fault not yet used.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults is how many injected faults are still waiting for a request.
func (s *Simulator) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// nextFault pops the fault for the request being served, if any. Callers hold s.mu.
func (s *Simulator) nextFault() Fault {
	if len(s.faults) == 0 {
		return 0
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f
}

// sleep waits d or until the client hangs up.
func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
