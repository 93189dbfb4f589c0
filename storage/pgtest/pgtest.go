// Package pgtest gives tests a PostgreSQL database: a fresh, empty one per test, or a
// fast clone of a template the package migrated once.
//
// The server is PAYDESK_TEST_POSTGRES when set (a postgres:// URL of a server where the
// user may CREATE DATABASE); otherwise the first call starts a private server for this
// test binary, in its own temporary directory, listening only on a unix socket there,
// with the durability settings off (a test database never has to survive a crash).
// Each package's test binary starts its own, so `go test ./...` runs several side by side.
//
// A package that uses it stops the server at the end of TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.Stop()
//		os.Exit(code)
//	}
//
// A binary that dies without reaching Stop (a panic, a timeout, a kill) does not leave the
// server running: the kernel sends it SIGQUIT when the test binary exits, and the next
// start removes the directories of test binaries that are gone.
//
// pgtest must not import storage: storage's own tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EngineEnv names the variable that picks the database engine of the tests.
const EngineEnv = "PAYDESK_TEST_ENGINE"

// ServerEnv names the variable holding the URL of an existing server to use instead of
// starting one.
const ServerEnv = "PAYDESK_TEST_POSTGRES"

// adminTimeout bounds one CREATE or DROP DATABASE: a hung server fails the test rather
// than the whole binary's timeout.
const adminTimeout = 60 * time.Second

// Engine is the database engine the tests run on: "postgres" when PAYDESK_TEST_ENGINE is
// postgres, else "sqlite".
func Engine() string {
	if strings.EqualFold(strings.TrimSpace(os.Getenv(EngineEnv)), "postgres") {
		return "postgres"
	}
	return "sqlite"
}

// NewDatabase creates a fresh, empty database and returns its postgres:// URL. The
// database is dropped, whoever is still connected, when the test ends. A server that
// cannot start fails the test: PostgreSQL is required, never skipped.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "")
}

// NewDatabaseFrom is NewDatabase with a copy of template (a name Template returned) in
// place of an empty database. Nobody may be connected to template while it is copied.
func NewDatabaseFrom(t testing.TB, template string) string {
	t.Helper()
	if template == "" {
		t.Fatal("pgtest: NewDatabaseFrom needs a template name (from pgtest.Template)")
	}
	return newDatabase(t, template)
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	srv, err := current()
	if err != nil {
		t.Fatal(err)
	}
	name := srv.nextName()
	if err := srv.create(name, template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.drop(name); err != nil {
			t.Error(err)
		}
	})
	return srv.urlFor(name)
}

// templateName keeps a template's name a plain identifier, short enough for the suffix
// that makes it unique on a shared server.
var templateName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,29}$`)

// Template creates the database named name once per process (later calls wait for the
// first and return its result), calls setup with its URL — setup opens it, migrates or
// fills it, and closes every connection — and returns the name to pass to
// NewDatabaseFrom. The name returned carries this process's suffix, so test binaries
// sharing one server (PAYDESK_TEST_POSTGRES) never collide. name is lower-case letters,
// digits and underscores.
func Template(name string, setup func(url string) error) (string, error) {
	if !templateName.MatchString(name) {
		return "", fmt.Errorf("pgtest: template name %q: want lower-case letters, digits and _ (at most 30)", name)
	}
	srv, err := current()
	if err != nil {
		return "", err
	}
	srv.mu.Lock()
	tpl := srv.templates[name]
	if tpl == nil {
		tpl = &template{name: name + "_" + processToken()}
		srv.templates[name] = tpl
	}
	srv.mu.Unlock()
	tpl.once.Do(func() {
		if err := srv.create(tpl.name, ""); err != nil {
			tpl.err = err
			return
		}
		if err := setup(srv.urlFor(tpl.name)); err != nil {
			tpl.err = fmt.Errorf("pgtest: template %s: %w", name, err)
			_ = srv.drop(tpl.name)
		}
	})
	if tpl.err != nil {
		return "", tpl.err
	}
	return tpl.name, nil
}

// AdminURL is the URL of the server's maintenance database (postgres on the server this
// process started, PAYDESK_TEST_POSTGRES as given otherwise), for tests that create
// databases themselves.
func AdminURL() (string, error) {
	srv, err := current()
	if err != nil {
		return "", err
	}
	return srv.adminURL, nil
}

// Stop stops the server this process started and removes its directory; on a server
// given by PAYDESK_TEST_POSTGRES it only drops the templates. Safe to call when nothing
// started; a later call to the package starts a new server.
func Stop() {
	state.mu.Lock()
	srv := state.srv
	state.srv, state.err = nil, nil
	state.mu.Unlock()
	if srv != nil {
		srv.stop()
	}
}

// state is the process's server, started on first use.
var state struct {
	mu  sync.Mutex
	srv *server
	err error // why the server did not start; kept so each test fails fast
}

func current() (*server, error) {
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.srv == nil && state.err == nil {
		if url := os.Getenv(ServerEnv); url != "" {
			state.srv, state.err = useExternal(url)
		} else {
			state.srv, state.err = startLocal()
		}
	}
	return state.srv, state.err
}

// template is one database made once per process and copied by NewDatabaseFrom.
type template struct {
	once sync.Once
	name string
	err  error
}

var (
	tokenOnce sync.Once
	token     string
	counter   atomic.Int64
)

// processToken is the pid and a random part: unique among the test binaries sharing a
// server, even on different machines.
func processToken() string {
	tokenOnce.Do(func() {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		token = fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b))
	})
	return token
}

func (s *server) nextName() string {
	return fmt.Sprintf("paydesk_t%s_%d", processToken(), counter.Add(1))
}

// create runs CREATE DATABASE on the admin connection, copying template when given.
func (s *server) create(name, template string) error {
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if err := s.admin(sql); err != nil {
		if template != "" {
			return fmt.Errorf("pgtest: create database %s from %s (is something still connected to it?): %w", name, template, err)
		}
		return fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return nil
}

// drop removes a database, ending the sessions a test left open. A private server that
// stopped took its databases with it.
func (s *server) drop(name string) error {
	if s.dir != "" && s.stopped.Load() {
		return nil
	}
	if err := s.admin("DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// admin runs one statement on the maintenance database. One connection, one statement
// at a time: CREATE DATABASE cannot run in a transaction or share a session anyway.
func (s *server) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.conn == nil || s.conn.IsClosed() {
		conn, err := pgx.Connect(ctx, s.adminURL)
		if err != nil {
			return err
		}
		s.conn = conn
	}
	_, err := s.conn.Exec(ctx, sql)
	return err
}
