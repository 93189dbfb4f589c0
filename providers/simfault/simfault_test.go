package simfault_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/providers/simfault"
)

func TestQueue(t *testing.T) {
	var q simfault.Queue
	if q.Take("any") != simfault.None || q.Pending() != 0 {
		t.Fatal("an empty queue gave a fault")
	}
	q.Add("", 1, simfault.Unavailable)
	q.Add("POST /refund", 2, simfault.DropAnswer)
	q.Add("", 0, simfault.HTMLPage) // nothing
	q.Add("", 1, simfault.Internal)
	if got := q.Pending(); got != 4 {
		t.Fatalf("Pending = %d, want 4", got)
	}
	steps := []struct {
		route string
		want  simfault.Fault
	}{
		{"GET /order", simfault.Unavailable},  // the first rule takes any route
		{"GET /order", simfault.Internal},     // the refund rule does not match a read
		{"POST /refund", simfault.DropAnswer}, // aimed at the refund
		{"GET /order", simfault.None},
		{"POST /refund", simfault.DropAnswer},
		{"POST /refund", simfault.None},
	}
	for i, s := range steps {
		if got := q.Take(s.route); got != s.want {
			t.Errorf("step %d (%s): got %s, want %s", i, s.route, got, s.want)
		}
	}
	q.Add("", 5, simfault.Slow)
	q.Clear()
	if q.Pending() != 0 || q.Take("") != simfault.None {
		t.Error("Clear left faults")
	}
}

func TestNames(t *testing.T) {
	names := map[simfault.Fault]string{simfault.None: "none", simfault.Internal: "500", simfault.Unavailable: "503",
		simfault.Slow: "slow", simfault.Malformed: "malformed", simfault.HTMLPage: "html", simfault.DropAnswer: "drop",
		simfault.HangUp: "hang-up", simfault.Fault(99): "Fault(99)"}
	for f, want := range names {
		if f.String() != want {
			t.Errorf("String: got %q, want %q", f.String(), want)
		}
	}
}

// TestServe runs every fault against a handler that counts what it did.
func TestServe(t *testing.T) {
	var acted atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"r_1","status":"succeeded"}`))
	})
	answers := simfault.Answers{SlowDelay: 100 * time.Millisecond, Error: func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"message":"provider error"}`))
	}}
	var fault atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		simfault.Serve(w, r, simfault.Fault(fault.Load()), answers, h)
	}))
	defer srv.Close()

	tests := []struct {
		fault      simfault.Fault
		status     int    // 0: no answer
		body       string // the answer starts with this
		retryAfter string
		acts       bool
		timeout    time.Duration
	}{
		{simfault.None, 201, `{"id":"r_1","status":"succeeded"}`, "", true, time.Second},
		{simfault.Internal, 500, `{"message":"provider error"}`, "", false, time.Second},
		{simfault.Unavailable, 503, `{"message":"provider error"}`, "1", false, time.Second},
		{simfault.HTMLPage, 502, "<!DOCTYPE html>", "", false, time.Second},
		{simfault.HangUp, 0, "", "", false, time.Second},
		{simfault.Slow, 201, `{"id":"r_1","status":"succeeded"}`, "", true, time.Second},
		{simfault.Slow, 0, "", "", true, 30 * time.Millisecond}, // the client gives up first
		{simfault.Malformed, 201, `{"id":"r_1","st`, "", true, time.Second},
		{simfault.DropAnswer, 500, `{"message":"provider error"}`, "", true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			fault.Store(int32(tt.fault))
			before := acted.Load()
			hc := &http.Client{Timeout: tt.timeout}
			start := time.Now()
			resp, err := hc.Post(srv.URL, "application/json", strings.NewReader(`{}`))
			if tt.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || !strings.HasPrefix(string(b), tt.body) || resp.Header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("got %d %q Retry-After %q, want %d %q… %q", resp.StatusCode, b, resp.Header.Get("Retry-After"), tt.status, tt.body, tt.retryAfter)
				}
				if tt.fault == simfault.Malformed && json.Valid(b) {
					t.Errorf("malformed answer %q is valid JSON", b)
				}
				if tt.fault == simfault.Slow && time.Since(start) < answers.SlowDelay {
					t.Errorf("slow answer came after %s, want at least %s", time.Since(start), answers.SlowDelay)
				}
			}
			if got := acted.Load() - before; (got == 1) != tt.acts || tt.fault.Acts() != (tt.acts && tt.fault != simfault.None) {
				t.Errorf("handler ran %d times, want acts=%v", got, tt.acts)
			}
		})
	}
}
