package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"paydesk/web/auth"
)

// bogusCallback sends a callback nobody started, from addr.
func bogusCallback(tp *thirdParty, addr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/auth/callback?state=forged-state&code=forged-code", nil)
	req.RemoteAddr = addr
	w := httptest.NewRecorder()
	tp.auth.Callback(w, req)
	return w
}

func (l *auditLog) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// 200 bogus callbacks from one address: the same clear error page each time, 429 once the
// limit is spent, and a handful of audit rows — the first failure, then one row with the
// count when the minute is over — not 200.
func TestCallbackFlood(t *testing.T) {
	tp := newThirdParty(t, nil)
	statuses := map[int]int{}
	for i := range 200 {
		w := bogusCallback(tp, "203.0.113.7:40000")
		statuses[w.Code]++
		if !strings.Contains(w.Body.String(), `data-testid="signin-error"`) {
			t.Fatalf("hit %d: got %d %q; want the sign-in error page", i, w.Code, w.Body.String())
		}
	}
	if statuses[http.StatusBadRequest] == 0 || statuses[http.StatusTooManyRequests] == 0 || statuses[http.StatusBadRequest]+statuses[http.StatusTooManyRequests] != 200 {
		t.Errorf("statuses: got %v; want 400s, then 429s past the limit", statuses)
	}
	if statuses[http.StatusBadRequest] > 25 {
		t.Errorf("400s: got %d; want the limit to stop them after about 20", statuses[http.StatusBadRequest])
	}
	if n := tp.audits.count(auth.KindSignInFailed); n != 1 {
		t.Errorf("audit rows during the minute: got %d; want 1 (the first failure)", n)
	}

	// Another address is counted on its own: its first failure is audited, not limited.
	if w := bogusCallback(tp, "198.51.100.9:1234"); w.Code != http.StatusBadRequest {
		t.Errorf("another address: got %d; want 400", w.Code)
	}
	if e, _ := tp.audits.last(auth.KindSignInFailed); e.Remote != "198.51.100.9:1234" {
		t.Errorf("audit of another address: got %+v; want its own row", e)
	}

	// The minute ends; the next failure from the first address writes the count first.
	tp.clock.Advance(61 * time.Second)
	w := bogusCallback(tp, "203.0.113.7:40001")
	if w.Code != http.StatusBadRequest {
		t.Errorf("after a minute: got %d; want 400 (the limit refills)", w.Code)
	}
	var summary string
	tp.audits.mu.Lock()
	for _, e := range tp.audits.entries {
		if strings.Contains(e.Message, "199 more failed sign-ins from 203.0.113.7") {
			summary = e.Message
			if !strings.HasPrefix(e.Remote, "203.0.113.7:") || e.Actor != "anonymous" {
				t.Errorf("summary row: got %+v; want it from 203.0.113.7 by anonymous", e)
			}
		}
	}
	tp.audits.mu.Unlock()
	if summary == "" || !strings.Contains(summary, "429") || !strings.Contains(summary, "not started in this browser") {
		t.Errorf("summary: got %q; want 199 more failures, those refused with 429 and the last reason", summary)
	}
	if n := tp.audits.count(auth.KindSignInFailed); n >= 10 {
		t.Errorf("audit rows for 202 bogus callbacks: got %d; want fewer than 10", n)
	}
}

// A real sign-in from a throttled address waits too: 429 before anything is read.
func TestCallbackLimitedAddressGets429(t *testing.T) {
	tp := newThirdParty(t, nil)
	for range 40 {
		bogusCallback(tp, "192.0.2.1:1")
	}
	w := bogusCallback(tp, "192.0.2.1:2")
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "Too many failed sign-ins") {
		t.Errorf("limited address: got %d %q; want 429 with the explanation", w.Code, w.Body.String())
	}
}
