package auth

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The throttle remembers at most maxFailureSources addresses, whatever the flood sends,
// and what a forgotten address had waiting is still audited.
func TestFailureThrottleBounded(t *testing.T) {
	th := newFailureThrottle()
	now := time.Unix(1_700_000_000, 0)
	waiting := 0
	for i := range maxFailureSources + 500 {
		src := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		for range 2 { // the second failure waits for its minute's summary
			_, due := th.record(src, now, "bogus", false)
			for _, s := range due {
				waiting += s.more
			}
		}
	}
	if n := len(th.sources); n > maxFailureSources {
		t.Errorf("sources remembered: got %d; want at most %d", n, maxFailureSources)
	}
	if waiting < 500 {
		t.Errorf("counts of forgotten sources returned: got %d; want at least 500", waiting)
	}
}

// IPv6 addresses of one /64 count as one source.
func TestSourceOfIPv6(t *testing.T) {
	a := sourceOf(&http.Request{RemoteAddr: "[2001:db8:1:2::1]:443"})
	b := sourceOf(&http.Request{RemoteAddr: "[2001:db8:1:2:ffff::9]:443"})
	c := sourceOf(&http.Request{RemoteAddr: "[2001:db8:1:3::1]:443"})
	if a != b || a == c {
		t.Errorf("sourceOf: got %q, %q, %q; want one /64 as one source", a, b, c)
	}
}
