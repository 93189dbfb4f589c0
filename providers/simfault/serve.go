package simfault

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// Answers is what the injector needs from a simulator.
type Answers struct {
	// Error writes the provider's own error body with status (500 or 503); the injector
	// has already set Retry-After when the fault asks for it.
	Error func(w http.ResponseWriter, status int)
	// SlowDelay is how long Slow holds an answer.
	SlowDelay time.Duration
}

// ErrorPage is the page HTMLPage answers with: what a proxy in front of an API that is
// down sends.
const ErrorPage = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n" +
	"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"

// Serve answers r with h, spoiled by f as f's documentation says. With None it is
// h.ServeHTTP(w, r). Faults that act run h against a buffer first, so that the answer can
// be held, cut or replaced after the state has changed.
func Serve(w http.ResponseWriter, r *http.Request, f Fault, a Answers, h http.Handler) {
	switch f {
	case None:
		h.ServeHTTP(w, r)
		return
	case Internal:
		a.Error(w, http.StatusInternalServerError)
		return
	case Unavailable:
		w.Header().Set("Retry-After", "1")
		a.Error(w, http.StatusServiceUnavailable)
		return
	case HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(ErrorPage))
		return
	case HangUp:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}

	buf := &buffered{header: http.Header{}}
	h.ServeHTTP(buf, r)
	switch f {
	case Slow:
		t := time.NewTimer(a.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the client hung up: nobody to answer
		}
		buf.send(w, buf.body.Bytes())
	case Malformed:
		b := buf.body.Bytes()
		buf.send(w, b[:len(b)/2])
	case DropAnswer:
		a.Error(w, http.StatusInternalServerError)
	default:
		http.Error(w, "simfault: unknown fault "+f.String(), http.StatusInternalServerError)
	}
}

// buffered holds a handler's answer so that a fault can delay, cut or replace it.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header is the held answer's header.
func (b *buffered) Header() http.Header { return b.header }

// WriteHeader records the first status written.
func (b *buffered) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// Write records the body (status 200 unless one was written).
func (b *buffered) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// send writes the held header and status to w, with body.
func (b *buffered) send(w http.ResponseWriter, body []byte) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(max(b.status, http.StatusOK))
	w.Write(body)
}
