//go:build linux && cgo

package main

/*
#include <malloc.h>

// limitArenas caps glibc's malloc arenas (elsewhere, a no-op).
static void limitArenas(int n) {
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, n);
#endif
}
*/
import "C"

// SQLite allocates with the C library's malloc from whichever thread runs a query.
// glibc then gives threads arenas of their own (up to eight per core), each keeping the
// memory it freed: under load that held 20 to 35 MB more than two arenas do, for no
// measurable speed (docs/benchmarks.md). Two arenas keep the resident memory under
// 150 MB. It runs before main, ahead of any query.
func init() { C.limitArenas(2) }
