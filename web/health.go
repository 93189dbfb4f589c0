package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"paydesk/storage"
)

// healthz answers while the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when the database answers, 503 otherwise. Its body also says which
// background jobs this instance runs and, on PostgreSQL, whether it hears the other
// instances' commits. Not hearing them does not fail readiness: the instance then keeps no
// page in its cache (every page is read from the database), so what it serves is still
// current, only slower — taking every instance out of the load balancer because
// notifications hiccup would turn a slowdown into an outage (docs/postgres.md).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.db.Ping(ctx); err != nil {
		s.log.Error("readyz", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	var b strings.Builder
	b.WriteString("ready\n")
	if s.jobs != nil {
		held := s.jobs.Held()
		if len(held) == 0 {
			held = []string{"none (another instance runs them)"}
		}
		b.WriteString("jobs: " + strings.Join(held, ", ") + "\n")
	}
	if s.db.Engine() == storage.Postgres {
		if s.db.Listening() {
			b.WriteString("changes: listening\n")
		} else {
			b.WriteString("changes: not listening (other instances' commits unheard: page cache bypassed)\n")
		}
	}
	w.Write([]byte(b.String()))
}

// WatchJobs makes the background jobs l runs visible: in readiness and in the metrics
// (paydesk_background_job_held). Call it before l runs anything.
func (s *Server) WatchJobs(l *storage.JobLeader) {
	s.jobs = l
	l.OnChange = s.metrics.JobHeld
}
