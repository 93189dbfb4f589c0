package storage

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paydesk/storage/pgtest"
)

// jobProbe counts, per instance, the runs of a job in progress.
type jobProbe struct {
	mu      sync.Mutex
	running map[string]int
	started map[string]int
}

func newJobProbe() *jobProbe {
	return &jobProbe{running: map[string]int{}, started: map[string]int{}}
}

// fn is the job of instance name: running until its context ends.
func (p *jobProbe) fn(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		p.mu.Lock()
		p.running[name]++
		p.started[name]++
		p.mu.Unlock()
		<-ctx.Done()
		p.mu.Lock()
		p.running[name]--
		p.mu.Unlock()
	}
}

// runners returns the instances running the job now.
func (p *jobProbe) runners() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for n, c := range p.running {
		for range c {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// TestJobLeaderSQLiteRunsTheJob: on SQLite the one process always holds its jobs; the
// job's context ends with Run's.
func TestJobLeaderSQLiteRunsTheJob(t *testing.T) {
	// SQLite whatever the run's engine: this is SQLite's case.
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "paydesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := db.JobLeader(time.Hour, slog.New(slog.DiscardHandler))
	var changes []string
	l.OnChange = func(job string, held bool) {
		changes = append(changes, job+map[bool]string{true: "+", false: "-"}[held])
	}
	p := newJobProbe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, "reconciler", p.fn("a")) }()
	if !waitFor(time.Second, func() bool { return len(p.runners()) == 1 }) {
		t.Fatal("the job does not run on SQLite")
	}
	if got := l.Held(); !slices.Equal(got, []string{"reconciler"}) {
		t.Errorf("Held = %v, want [reconciler]", got)
	}
	cancel()
	<-done
	if len(p.runners()) != 0 || len(l.Held()) != 0 {
		t.Errorf("after Run: running %v, held %v", p.runners(), l.Held())
	}
	if !slices.Equal(changes, []string{"reconciler+", "reconciler-"}) {
		t.Errorf("OnChange saw %v", changes)
	}
}

// startLeader runs job on db's leader until the test ends (or stop is called).
func startLeader(t *testing.T, db *DB, retry time.Duration, job string, fn func(context.Context)) (l *JobLeader, stop func()) {
	t.Helper()
	l = db.JobLeader(retry, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, job, fn) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return l, stop
}

// TestJobLeaderOneInstanceAndTakeover: two instances on one PostgreSQL database run a job
// on one of them only; when that one's database is closed, or its lock connection dies
// with its process, the other takes the job within the retry interval, and the one that
// lost it has its job's context cancelled.
func TestJobLeaderOneInstanceAndTakeover(t *testing.T) {
	url := postgresTestURL(t)
	const retry = 100 * time.Millisecond
	open := func() *DB {
		db, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b, c := open(), open(), open()
	p := newJobProbe()
	la, _ := startLeader(t, a, retry, "reconciler", p.fn("a"))
	lb, _ := startLeader(t, b, retry, "reconciler", p.fn("b"))
	// Another job is held independently of the first.
	other := newJobProbe()
	startLeader(t, a, retry, "maintenance", other.fn("a"))
	if !waitFor(2*time.Second, func() bool { return len(p.runners()) == 1 }) {
		t.Fatalf("running %v, want one instance", p.runners())
	}
	time.Sleep(5 * retry) // the other instance tried several times meanwhile
	first := p.runners()
	if len(first) != 1 {
		t.Fatalf("running %v, want exactly one instance", first)
	}
	if !waitFor(2*time.Second, func() bool { return len(other.runners()) == 1 }) {
		t.Fatal("a second job does not run beside the first")
	}
	lh, lr := la, lb
	if first[0] == "b" {
		lh, lr = lb, la
	}
	if !slices.Contains(lh.Held(), "reconciler") || slices.Contains(lr.Held(), "reconciler") {
		t.Errorf("Held: holder %v, other %v", lh.Held(), lr.Held())
	}

	// The holder's lock connection dies, as with its process (SIGKILL, a lost machine).
	var killed int
	err := c.db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name LIKE 'paydesk job reconciler %' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ? AND objid = ?)`,
		int64(jobsLockClass), int64(uint32(jobKey("reconciler")))).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the holder's lock connection: %d, %v", killed, err)
	}
	took := time.Now()
	if !waitFor(2*time.Second, func() bool { r := p.runners(); return len(r) == 1 && r[0] != first[0] }) {
		t.Fatalf("after the holder's connection died: running %v, want the other instance alone", p.runners())
	}
	if d := time.Since(took); d > 4*retry {
		t.Errorf("takeover took %v, want within a few retry intervals of %v", d, retry)
	}

	// Now the new holder's database is closed: the job comes back to the first instance.
	second := p.runners()[0]
	newHolder := map[string]*DB{"a": a, "b": b}[second]
	took = time.Now()
	newHolder.Close()
	if !waitFor(2*time.Second, func() bool { r := p.runners(); return len(r) == 1 && r[0] == first[0] }) {
		t.Fatalf("after closing the holder's database: running %v, want %s alone", p.runners(), first[0])
	}
	if d := time.Since(took); d > 4*retry {
		t.Errorf("takeover after close took %v, want within a few retry intervals of %v", d, retry)
	}
}

// TestJobLeaderStopReleasesAtOnce: an instance that stops (rolling restart) frees its job
// for the next: the other takes it at its next try.
func TestJobLeaderStopReleasesAtOnce(t *testing.T) {
	url := postgresTestURL(t)
	const retry = 100 * time.Millisecond
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var runs [2]atomic.Int32
	var stops [2]func()
	for i := range dbs {
		_, stops[i] = startLeader(t, dbs[i], retry, "outbox", func(ctx context.Context) {
			runs[i].Add(1)
			<-ctx.Done()
		})
	}
	if !waitFor(2*time.Second, func() bool { return runs[0].Load()+runs[1].Load() == 1 }) {
		t.Fatal("no instance runs the job")
	}
	first := 0
	if runs[1].Load() == 1 {
		first = 1
	}
	stops[first]()
	if !waitFor(3*retry, func() bool { return runs[1-first].Load() == 1 }) {
		t.Fatalf("the other instance did not take the job within %v of the stop", 3*retry)
	}
}

// postgresTestURL is a fresh PostgreSQL database, whatever the run's engine: leases are
// PostgreSQL's concern (pgtest starts a server when the run has none).
func postgresTestURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t)
}
