package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"paydesk/storage"
	"paydesk/views"
	"paydesk/web/auth"
)

type ctxKey int

const (
	userKey ctxKey = iota
	requestIDKey
)

// userFrom returns the signed-in user a guarded handler runs for.
func userFrom(ctx context.Context) auth.User {
	u, _ := ctx.Value(userKey).(auth.User)
	return u
}

// requestID returns the id of the request, quoted on error pages and in logs.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusWriter records the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streamed responses (CSV) reach the client as they are written.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware is the chain every request goes through, outermost first: the client's
// address behind a trusted proxy, request id and log, panic recovery, security headers, body size cap, cross-origin protection (CSRF).
func (s *Server) middleware(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "Request refused", "This request came from another site and was refused to protect your account. Go back to Paydesk and try again.", fmt.Errorf("web: cross-origin request refused"))
	}))
	h := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = s.behindProxy(r)
		id := newID(8)
		ctx := storage.WithDataVersionMemo(context.WithValue(r.Context(), requestIDKey, id))
		r = withZone(r.WithContext(ctx)) // the person's time zone, for every time shown
		sw := &statusWriter{ResponseWriter: w}
		s.securityHeaders(sw, r)
		if r.Body != nil {
			limit := s.cfg.MaxBody
			if r.URL.Path == batchUploadPath && r.Method == http.MethodPost {
				limit = max(limit, maxBatchUpload) // a batch's CSV file (batches.go)
			}
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.renderError(sw, r, http.StatusInternalServerError, "Something went wrong", "Paydesk could not finish this request. Nothing was sent to a provider unless the payment page says so.")
				}
			}
			s.log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000)
			// r.Pattern is the route table's pattern, set by the mux: never a raw path.
			s.metrics.request(r.Pattern, sw.status, time.Since(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

// securityHeaders sets the headers every response carries. The Content-Security-Policy
// allows scripts and styles from Paydesk itself only: no inline script anywhere.
func (s *Server) securityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if r.TLS != nil || strings.HasPrefix(s.desk.BaseURL(), "https://") {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// guard enforces a route's access rule before its handler runs. Anonymous visitors are
// sent to sign in; signed-in users without the right role get a refusal, audited.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Access == Public {
			rt.Handler(w, r)
			return
		}
		u, ok := s.auth.CurrentUser(w, r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/auth/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, http.StatusUnauthorized, "Please sign in", "Your session has ended. Sign in again, then repeat what you were doing.")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey, u))
		if rt.Access != SignedIn && len(u.Roles) == 0 {
			s.audit(r, "refused", 0, fmt.Sprintf("no role: %s %s", r.Method, r.URL.Path), nil)
			w.WriteHeader(http.StatusForbidden)
			s.render(w, r, s.page(w, r, "No access", ""), views.NoAccess(u.Email))
			return
		}
		if !rt.Access.Allows(u) {
			s.audit(r, "refused", 0, fmt.Sprintf("role cannot %s: %s %s", rt.Access, r.Method, r.URL.Path), nil)
			s.renderError(w, r, http.StatusForbidden, "Not allowed", "Your role cannot do this. If you need to, ask a manager.")
			return
		}
		if s.turns != nil && r.Method == http.MethodGet && !strings.HasSuffix(rt.Pattern, ".csv") {
			if !s.turns.take(r.Context()) {
				return // the client left while waiting
			}
			defer s.turns.give()
		}
		rt.Handler(w, r)
	})
}

// newID returns n random bytes as hex.
func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// logAttrs are the attributes every handler log line carries.
func logAttrs(r *http.Request) []any {
	return []any{"request_id", requestID(r.Context()), "user", userFrom(r.Context()).Email}
}

var _ = slog.LevelInfo
