package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"paydesk/providers"
	"paydesk/providers/resilient"
	"paydesk/web"
)

// guarded puts a provider client behind its resilience guard: the guard's transport goes
// into the client's HTTP client (reads retried, Retry-After honoured), the guard's
// wrapper around the client (circuit breaker), both reporting to the metrics.
type guarded struct {
	guard *resilient.Guard
}

// newGuarded builds the guard of one provider, reporting to m (none when nil).
func newGuarded(n providers.Name, m *web.Metrics) guarded {
	opt := resilient.Options{}
	if m != nil {
		opt.Observe, opt.OnRetry, opt.OnState = m.ProviderCall, m.ProviderRetry, m.CircuitState
	}
	return guarded{guard: resilient.New(n, opt)}
}

// client returns the HTTP client the provider's client should use.
func (g guarded) client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: g.guard.Transport(nil)}
}

// background runs what a serving Paydesk runs besides HTTP: the reconciler (at once,
// then every c.ReconcileEvery), maintenance and, when c.MetricsAddr is set, the metrics
// listener. The reconciler and maintenance are background jobs: with several instances on
// one PostgreSQL database each runs on one instance at a time, and another takes it over
// within c.JobRetry when that one dies (storage.JobLeader; docs/postgres.md). Every job
// added later runs through jobs.Run the same way. The returned stop waits for all of them
// to end; call it before closing the database.
func background(ctx context.Context, c Config, srv *web.Server, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 5)
	running := 0
	if c.MetricsAddr != "" {
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("metrics: listen on %s: %w (PAYDESK_METRICS_ADDR)", c.MetricsAddr, err)
		}
		mux := metricsMux(srv.MetricsHandler(), c.Profiling)
		running++
		go func() {
			defer func() { done <- struct{}{} }()
			log.Info("metrics serving", "addr", ln.Addr().String(), "path", "/metrics")
			if err := serveHTTP(ctx, ln, mux, log); err != nil && !errors.Is(err, net.ErrClosed) {
				log.Error("metrics", "err", err)
			}
		}()
	}
	jobs := srv.Desk().Store().JobLeader(c.JobRetry, log)
	srv.WatchJobs(jobs)
	running++
	go func() {
		defer func() { done <- struct{}{} }()
		jobs.Run(ctx, "reconciler", func(ctx context.Context) { srv.Desk().RunReconciler(ctx, c.ReconcileEvery) })
	}()
	// The outbox's sender (docs/email.md): one instance sends.
	running++
	go func() {
		defer func() { done <- struct{}{} }()
		jobs.Run(ctx, "mailer", srv.Desk().RunMailer)
	}()
	// The batch worker (docs/batches.md): one instance runs batches.
	running++
	go func() {
		defer func() { done <- struct{}{} }()
		jobs.Run(ctx, "batches", func(ctx context.Context) { srv.Desk().RunBatches(ctx, time.Second) })
	}()
	// Expiry of unanswered approvals and payer links, sweeps.
	running++
	go func() {
		defer func() { done <- struct{}{} }()
		jobs.Run(ctx, "maintenance", func(ctx context.Context) { srv.Desk().RunMaintenance(ctx, time.Minute) })
	}()
	return func() {
		cancel()
		for range running {
			<-done
		}
	}, nil
}

// crashHook is the crash test's way in, and nothing else's: with PAYDESK_TEST_CRASH_AT
// set to a step of ops' runAction (before_call, before_store) or of its mail sender
// (mail_before_send, mail_after_send: after the SMTP server accepted, before "sent"), the
// process kills itself with SIGKILL when an action reaches that step — no deferred
// function runs, no answer is stored, as with a power cut or the OOM killer. The step
// alone kills at the first time it is reached; "step@N" (before_store@7) at the N-th
// time, counted across every action of the process (a batch's items run one action each,
// so before_store@7 kills while its seventh refund is made at the provider but not yet
// stored). Never set it in production.
func crashHook(at string, log *slog.Logger) func(string) {
	if at == "" {
		return nil
	}
	step, n, err := parseCrashAt(at)
	if err != nil {
		panic("crash hook: " + err.Error()) // loadConfig refuses it first
	}
	log.Warn(fmt.Sprintf("PAYDESK_TEST_CRASH_AT is set: this process will kill itself when actions reach the %s step for time number %d (crash tests only)", step, n), "step", step, "n", n)
	return crashHookAt(step, n, killSelf)
}

// crashHookAt calls kill the n-th time step is reached.
func crashHookAt(step string, n int, kill func()) func(string) {
	var reached atomic.Int64
	return func(s string) {
		if s == step && reached.Add(1) == int64(n) {
			kill()
		}
	}
}

// killSelf sends this process SIGKILL and waits for it.
func killSelf() {
	self, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = self.Kill()
	}
	if err != nil {
		panic("crash hook: " + err.Error())
	}
	select {} // the signal is on its way
}

// crashSteps are the steps PAYDESK_TEST_CRASH_AT may name.
var crashSteps = []string{"before_call", "before_store", "mail_before_send", "mail_after_send"}

// parseCrashAt reads PAYDESK_TEST_CRASH_AT: a step, or step@N with N from 1 (the N-th
// time the step is reached; the step alone is step@1).
func parseCrashAt(s string) (step string, n int, err error) {
	step, count, counted := strings.Cut(s, "@")
	if !slices.Contains(crashSteps, step) {
		return "", 0, fmt.Errorf("PAYDESK_TEST_CRASH_AT=%q: use %s, optionally followed by @N to crash the N-th time (crash tests only)", s, strings.Join(crashSteps, ", "))
	}
	n = 1
	if counted {
		if n, err = strconv.Atoi(count); err != nil || n < 1 || count != strconv.Itoa(n) {
			return "", 0, fmt.Errorf("PAYDESK_TEST_CRASH_AT=%q: after @ give how many times the step is reached before the crash, a whole number from 1 (crash tests only)", s)
		}
	}
	return step, n, nil
}

// metricsMux is the metrics listener's handler: GET /metrics and, when profiling is on
// (PAYDESK_PPROF=1), Go's CPU, heap and goroutine profiles under /debug/pprof/ for
// finding what limits a page under load (docs/benchmarks.md). Only this internal
// listener ever serves them.
func metricsMux(metrics http.Handler, profiling bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	if profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}
