package storage

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Background jobs (the reconciler, maintenance, and every job added later) run on exactly
// one instance of those sharing a database, and another takes over when that instance
// dies (docs/postgres.md, "Several instances").
//
// On PostgreSQL a job is held by a session-level advisory lock, taken with
// pg_try_advisory_lock on a connection of its own (outside the pool, so a held job never
// costs the pages a connection, and named "paydesk job <job> <host>/<pid>" in
// pg_stat_activity). The lock lasts exactly as long as that connection: when the process
// dies, its connection closes and the lock is free at once. An instance that does not hold
// a job tries to take it every JobLeader retry interval; the holder asks its connection
// (and the pool: a closed DB gives its jobs up) at the same interval and, when it cannot,
// cancels the job's context and tries again as any other instance. The lock needs a
// direct connection or PgBouncer in session mode: transaction pooling would lose it.
//
// A holder cut off from the database may go on for up to one retry interval after the
// server freed its lock: every job must therefore stay safe when two rounds overlap, by
// claiming each item in a write transaction (the writers' lock makes them serial).
//
// On SQLite one process serves the file (two `paydesk serve` on one SQLite file are not
// supported: nothing would keep their jobs apart), so it always holds every job.

// jobsLockClass is the first key of every job's advisory lock (the second is the job
// name's hash): two-key locks never meet the single-key writers' and migrations' locks.
const jobsLockClass int32 = 0x70646a62 // "pdjb"

// defaultJobRetry is how often jobs are tried and checked when JobLeader is given no interval.
const defaultJobRetry = 5 * time.Second

// JobLeader runs background jobs on one instance at a time. It is safe for concurrent use;
// one JobLeader serves every job of an instance.
type JobLeader struct {
	db       *DB
	retry    time.Duration
	log      *slog.Logger
	instance string
	// OnChange, when set before the first Run, is told each time this instance takes or
	// loses a job (metrics).
	OnChange func(job string, held bool)

	mu   sync.Mutex
	held map[string]bool
}

// JobLeader returns the leader of this instance's background jobs. retry is how often an
// instance that does not hold a job tries to take it, and how often the holder checks it
// still holds it (5 s when not positive): a dead instance's jobs move within about that.
func (db *DB) JobLeader(retry time.Duration, log *slog.Logger) *JobLeader {
	if retry <= 0 {
		retry = defaultJobRetry
	}
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	return &JobLeader{db: db, retry: retry, log: log, instance: fmt.Sprintf("%s/%d", host, os.Getpid()), held: map[string]bool{}}
}

// Run runs fn whenever this instance holds job, until ctx ends, and returns when fn has
// returned. fn's context is cancelled when ctx ends or the job is lost; fn should then
// return soon. When fn returns by itself, Run releases the job and returns.
func (l *JobLeader) Run(ctx context.Context, job string, fn func(ctx context.Context)) {
	if l.db.Engine() != Postgres {
		l.set(job, true, nil)
		fn(ctx)
		l.set(job, false, nil)
		return
	}
	for ctx.Err() == nil {
		if done := l.contend(ctx, job, fn); done {
			return
		}
		l.wait(ctx)
	}
}

// Held returns the jobs this instance holds now, sorted.
func (l *JobLeader) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for j, h := range l.held {
		if h {
			out = append(out, j)
		}
	}
	slices.Sort(out)
	return out
}

// set records and logs a change of what this instance holds (why: the reason it lost it).
func (l *JobLeader) set(job string, held bool, why error) {
	l.mu.Lock()
	l.held[job] = held
	l.mu.Unlock()
	switch {
	case held:
		l.log.Info("background job taken: this instance runs it", "job", job, "instance", l.instance)
	case why != nil:
		l.log.Warn("background job lost: another instance may take it", "job", job, "instance", l.instance, "err", why)
	default:
		l.log.Info("background job released", "job", job, "instance", l.instance)
	}
	if l.OnChange != nil {
		l.OnChange(job, held)
	}
}

// wait sleeps one retry interval, or until ctx ends.
func (l *JobLeader) wait(ctx context.Context) {
	t := time.NewTimer(l.retry)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jobKey is the second key of job's advisory lock.
func jobKey(job string) int32 {
	h := fnv.New32a()
	h.Write([]byte(job))
	return int32(h.Sum32())
}

// contend opens a lock connection and tries to take job on it every retry interval; once
// taken, it runs fn until the job is lost or ctx ends. It reports whether Run is over (fn
// returned by itself, or ctx ended); false means try again on a new connection.
func (l *JobLeader) contend(ctx context.Context, job string, fn func(ctx context.Context)) bool {
	cfg := l.db.changes.cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "paydesk job " + job + " " + l.instance
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		l.log.Debug("background job: connect", "job", job, "err", err)
		return ctx.Err() != nil
	}
	// Closing the connection frees the lock, if held.
	defer conn.Close(context.Background())
	for ctx.Err() == nil {
		// A closed or unreachable DB does not take jobs it could not do.
		if err := l.check(ctx, nil); err != nil {
			return ctx.Err() != nil
		}
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", jobsLockClass, jobKey(job)).Scan(&got); err != nil {
			l.log.Debug("background job: try lock", "job", job, "err", err)
			return ctx.Err() != nil
		}
		if got {
			return l.lead(ctx, conn, job, fn)
		}
		l.wait(ctx)
	}
	return true
}

// lead runs fn while conn holds job's lock, checking it every retry interval. It reports
// whether Run is over (see contend).
func (l *JobLeader) lead(ctx context.Context, conn *pgx.Conn, job string, fn func(ctx context.Context)) bool {
	l.set(job, true, nil)
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(jctx)
	}()
	t := time.NewTicker(l.retry)
	defer t.Stop()
	for {
		select {
		case <-done:
			l.set(job, false, nil)
			return true
		case <-ctx.Done():
			<-done
			l.set(job, false, nil)
			return true
		case <-t.C:
		}
		if err := l.check(ctx, conn); err != nil {
			if ctx.Err() != nil {
				continue // ending anyway: the case above waits for fn
			}
			cancel()
			<-done
			l.set(job, false, err)
			return false
		}
	}
}

// check asks the lock connection (when given) and the pool, within one retry interval.
func (l *JobLeader) check(ctx context.Context, conn *pgx.Conn) error {
	cctx, cancel := context.WithTimeout(ctx, l.retry)
	defer cancel()
	if conn != nil {
		if _, err := conn.Exec(cctx, "SELECT 1"); err != nil {
			return fmt.Errorf("storage: job lock connection: %w", err)
		}
	}
	return l.db.Ping(cctx)
}
