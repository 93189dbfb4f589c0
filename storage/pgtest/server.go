package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds how long a new server may take to accept connections: seconds
// normally, longer on a machine busy with other test binaries.
const startTimeout = 60 * time.Second

// server is where the databases live: a private one this process started (dir and cmd
// set) or one given by PAYDESK_TEST_POSTGRES.
type server struct {
	adminURL string
	base     url.URL // adminURL; urlFor swaps its path for a database's name

	dir    string        // the private server's directory ("" when external)
	cmd    *exec.Cmd     // the private server's postmaster
	exited chan struct{} // closed when the postmaster has exited

	mu        sync.Mutex
	templates map[string]*template
	stopped   atomic.Bool // Stop was called

	adminMu sync.Mutex
	conn    *pgx.Conn // the admin connection, to adminURL
}

// urlFor is the URL of database name on this server.
func (s *server) urlFor(name string) string {
	u := s.base
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// useExternal checks that the server at raw answers and adopts it.
func useExternal(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("pgtest: %s must be a postgres:// URL", ServerEnv)
	}
	s := &server{adminURL: raw, base: *u, templates: map[string]*template{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.conn, err = pgx.Connect(ctx, raw); err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s: %w", ServerEnv, err)
	}
	return s, nil
}

// startLocal starts a private server: initdb into a new temporary directory, then the
// postmaster as a child of this process, listening only on a socket in that directory.
func startLocal() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	parent := socketParent()
	sweepOrphans(parent)
	dir, err := os.MkdirTemp(parent, dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &server{dir: dir, templates: map[string]*template{}}
	if err := s.start(bin); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) start(bin string) error {
	// The owner's pid lets a later start tell a directory in use from one left behind.
	if err := os.WriteFile(filepath.Join(s.dir, ownerFile), fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	cred, err := serverUser(s.dir)
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	if err := initdb(bin, s.dir, data, cred); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close() // the child holds its own copy
	s.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-k", s.dir, // the socket lives in the private directory...
		"-c", "listen_addresses=", // ...and nowhere else: no TCP port to collide on
		// A test database never outlives its test: skip everything that only makes
		// data survive a crash.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// Parallel tests each hold a pool of connections.
		"-c", "max_connections=300",
		"-c", "shared_buffers=128MB",
	)
	s.cmd.Dir = s.dir
	s.cmd.Env = serverEnv()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// When the test binary dies without calling Stop (panic, timeout, kill), the
		// kernel tells the postmaster to shut down at once. The signal follows the thread
		// that started the child; Go keeps its threads alive unless a goroutine exits
		// while locked to one, which tests do not do.
		Pdeathsig: syscall.SIGQUIT,
		// Its own process group: a Ctrl-C meant for go test reaches the server only
		// through Stop or the signal above.
		Setpgid: true,
	}
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	s.base = url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Path:     "/postgres",
		RawQuery: "host=" + strings.ReplaceAll(url.QueryEscape(s.dir), "%2F", "/"),
	}
	s.adminURL = s.base.String()
	return s.waitReady()
}

// waitReady polls until the server accepts a connection, keeping it as the admin one.
func (s *server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited at start:\n%s", s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.adminURL)
		cancel()
		if err == nil {
			s.conn = conn
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres did not accept connections within %s: %v\n%s", startTimeout, err, s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends the server: a private one is shut down and its directory removed; on an
// external one only the templates are dropped (the tests dropped their databases).
func (s *server) stop() {
	s.stopped.Store(true)
	if s.dir == "" {
		s.mu.Lock()
		var names []string
		for _, tpl := range s.templates {
			names = append(names, tpl.name)
		}
		s.mu.Unlock()
		for _, name := range names {
			_ = s.drop(name)
		}
	}
	s.adminMu.Lock()
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
	s.adminMu.Unlock()
	if s.dir == "" {
		return
	}
	if s.cmd != nil {
		// Immediate shutdown: the data is about to be deleted, nothing needs a checkpoint.
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	_ = os.RemoveAll(s.dir)
}

// logTail is the end of the server's log, to explain a failed start.
func (s *server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// initdb creates the cluster: trust authentication (only this process's socket reaches
// it), superuser postgres, UTF-8. C.UTF-8 sorts by code point like SQLite's BINARY
// collation and still knows the case of non-ASCII letters; plain C is the fallback where
// that locale is missing.
func initdb(bin, dir, data string, cred *syscall.Credential) error {
	var firstErr error
	for _, locale := range []string{"C.UTF-8", "C"} {
		cmd := exec.Command(filepath.Join(bin, "initdb"),
			"-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
			"--locale="+locale, "--no-sync", "--no-instructions")
		cmd.Dir = dir
		cmd.Env = serverEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
		}
		_ = os.RemoveAll(data)
	}
	return firstErr
}

// serverEnv is this process's environment without the PG* variables, which would point
// initdb and postgres at another cluster.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// socketParent is where the private directory goes: the temporary directory, unless its
// path is too long for a unix socket (about 100 bytes with the socket's name).
func socketParent() string {
	parent := os.TempDir()
	if len(parent)+len("/"+dirPrefix+"1234567890/.s.PGSQL.5432") > 100 {
		return "/tmp"
	}
	return parent
}

// errNoBinaries says what to do when the server cannot be found.
var errNoBinaries = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found: install PostgreSQL " +
	"(apt-get install postgresql), set PAYDESK_POSTGRES_BIN to their directory, " +
	"or set " + ServerEnv + " to the URL of a server where you may CREATE DATABASE")
