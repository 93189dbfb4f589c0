package main

import "runtime/debug"

// memoryLimit is the Go heap's budget when the environment does not choose (GOGC,
// GOMEMLIMIT): within it, the collector runs only when the heap nears the limit.
//
// Why: Paydesk keeps little alive between requests (pages render into pooled buffers,
// exports stream), but a page allocates ~200 KB of short-lived objects. With the default
// GOGC=100 the heap target stays near 4 MB and the collector ran about 50 times a second
// under load, stalling one request in ten by 10 ms or more on two cores: the list page's
// p99 was 33 ms. Collecting only near 64 MB brought it to 16 ms, and throughput up by
// half (docs/benchmarks.md). 64 MB plus SQLite's page caches stays within 150 MB.
const memoryLimit = 64 << 20

// tuneGC applies the memory-limited collector unless the environment chose otherwise.
// It is called from main only, so that tests keep Go's defaults.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(memoryLimit)
	debug.SetGCPercent(-1)
}
