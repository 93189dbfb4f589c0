package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadinessAndMetricsShowJobs: readiness says which background jobs this instance
// runs, and the metrics carry paydesk_background_job_held per job.
func TestReadinessAndMetricsShowJobs(t *testing.T) {
	h := newHarness(t)
	jobs := h.db.JobLeader(time.Hour, slog.New(slog.DiscardHandler))
	h.app.WatchJobs(jobs)
	b := h.browser()
	if r := b.get("/readyz"); r.status != 200 || !strings.Contains(r.body, "jobs: none") {
		t.Errorf("readyz before any job: %d %q", r.status, r.body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		jobs.Run(ctx, "reconciler", func(ctx context.Context) { close(started); <-ctx.Done() })
	}()
	<-started
	if r := b.get("/readyz"); r.status != 200 || !strings.Contains(r.body, "jobs: reconciler\n") {
		t.Errorf("readyz while the reconciler runs here: %d %q", r.status, r.body)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		h.app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		out, _ := io.ReadAll(rec.Body)
		return string(out)
	}
	if got := scrape(); !strings.Contains(got, `paydesk_background_job_held{job="reconciler"} 1`) {
		t.Errorf("metrics lack the held reconciler")
	}
	cancel()
	<-done
	if got := scrape(); !strings.Contains(got, `paydesk_background_job_held{job="reconciler"} 0`) {
		t.Errorf("metrics still show the reconciler held after it stopped")
	}
}
