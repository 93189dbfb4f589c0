package web

import "context"

// turns lets at most cap(t) signed-in pages be worked out at once; the others wait their
// turn in the order they came (goroutines blocked sending on a channel are served first
// come, first served).
//
// Why: a page is mostly SQLite, run by cgo on threads the operating system shares out,
// and database/sql hands a freed connection to a waiter picked at random. With 16
// requests at once on two cores, most pages finished in 3 ms and some waited 150 ms
// (refund history, page cache off: p99 152 ms; with one page per core at a time, 28 ms,
// for the same throughput; docs/benchmarks.md). Exports stream for seconds and provider
// calls (POST) wait on the network: neither takes a turn.
type turns chan struct{}

// take waits for a turn; false if ctx ended first (the client left).
func (t turns) take(ctx context.Context) bool {
	select {
	case t <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// give hands the turn back.
func (t turns) give() { <-t }
