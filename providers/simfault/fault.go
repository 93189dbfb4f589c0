// Package simfault is the one vocabulary of failures the provider simulators inject, and
// the injector that applies them around a simulator's handler. Each simulator keeps its
// own error body (each provider words its errors differently) and passes it in
// as Answers.Error; what a fault does — answer or not, act or not, how the answer is
// spoiled — is decided here, the same way for every provider.
//
// Some faults answer without doing anything; the others perform the request and then
// spoil the answer, which is the case a client must never retry blindly and the
// reconciler exists for (docs/providers.md).
package simfault

import "strconv"

// Fault is a failure a simulator injects into one answer of its API.
type Fault int

// The faults. Those that "act" perform the request (the simulator's state changes, its
// OnChange hook is called) before the answer goes wrong; the others change nothing.
const (
	// None answers normally.
	None Fault = iota
	// Internal answers 500 with the provider's error body; nothing changes.
	Internal
	// Unavailable answers 503 with the provider's error body and Retry-After: 1; nothing
	// changes.
	Unavailable
	// Slow acts, then holds the answer for the simulator's slow delay (or until the client
	// hangs up): a provider that did the work but answered too late.
	Slow
	// Malformed acts, then sends its answer with the JSON body cut in half, as a truncated
	// connection would.
	Malformed
	// HTMLPage answers 502 with an HTML error page, as a proxy in front of the API would;
	// nothing changes.
	HTMLPage
	// DropAnswer acts, then answers 500 with the provider's error body as if it had failed:
	// the lost answer of crash and reconcile tests.
	DropAnswer
	// HangUp closes the connection without answering; nothing changes.
	HangUp
)

// String names the fault, for test output.
func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case Internal:
		return "500"
	case Unavailable:
		return "503"
	case Slow:
		return "slow"
	case Malformed:
		return "malformed"
	case HTMLPage:
		return "html"
	case DropAnswer:
		return "drop"
	case HangUp:
		return "hang-up"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Acts reports whether the fault lets the request change the simulator's state before
// spoiling the answer.
func (f Fault) Acts() bool {
	return f == Slow || f == Malformed || f == DropAnswer
}
