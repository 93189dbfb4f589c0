package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		orphanChild()
		return
	}
	code := m.Run()
	Stop()
	os.Exit(code)
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	admin, err := AdminURL()
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, admin)
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestEngine(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", "sqlite"}, {"sqlite", "sqlite"}, {"postgres", "postgres"}, {" Postgres ", "postgres"}, {"pg", "sqlite"},
	} {
		t.Setenv(EngineEnv, tc.env)
		if got := Engine(); got != tc.want {
			t.Errorf("%s=%q: Engine() = %q, want %q", EngineEnv, tc.env, got, tc.want)
		}
	}
}

// TestURLWorksWithPgx: the URL names the new database and pgx reaches it; on the private
// server only through the unix socket in its directory.
func TestURLWorksWithPgx(t *testing.T) {
	url := NewDatabase(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("pgx cannot parse %s: %v", url, err)
	}
	if os.Getenv(ServerEnv) == "" && !strings.HasPrefix(cfg.Host, "/") {
		t.Errorf("host %q: want the socket directory", cfg.Host)
	}
	var name string
	if err := connect(t, url).QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != cfg.Database || !strings.HasPrefix(name, "paydesk_t") {
		t.Errorf("connected to %q, URL names %q", name, cfg.Database)
	}
}

func TestDatabasesAreIndependent(t *testing.T) {
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("two databases, one URL %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	exec1(t, ca, "CREATE TABLE notes (body text)")
	exec1(t, ca, "INSERT INTO notes VALUES ('only in a')")
	if n := count(t, cb, "SELECT count(*) FROM pg_class WHERE relname = 'notes'"); n != 0 {
		t.Errorf("table made in a is in b")
	}
	exec1(t, cb, "CREATE TABLE notes (body text)") // same name, no clash
	if n := count(t, cb, "SELECT count(*) FROM notes"); n != 0 {
		t.Errorf("b's notes has %d rows, want 0", n)
	}
}

// TestDroppedAfterTest: the database goes when its test ends, even with a connection the
// test left open.
func TestDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("uses", func(t *testing.T) {
		url := NewDatabase(t)
		conn, err := pgx.Connect(context.Background(), url) // never closed
		if err != nil {
			t.Fatal(err)
		}
		name = conn.Config().Database
	})
	if databaseExists(t, name) {
		t.Errorf("database %s still exists after its test", name)
	}
}

func TestTemplateCloneCarriesData(t *testing.T) {
	setups := 0
	setup := func(url string) error {
		setups++
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('from the template')")
		return err
	}
	tpl, err := Template("pgtest_notes", setup)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Template("pgtest_notes", setup)
	if err != nil || again != tpl || setups != 1 {
		t.Errorf("second Template = %q, %v after %d setups; want %q, nil, 1", again, err, setups, tpl)
	}
	a, b := connect(t, NewDatabaseFrom(t, tpl)), connect(t, NewDatabaseFrom(t, tpl))
	var body string
	if err := a.QueryRow(context.Background(), "SELECT body FROM notes").Scan(&body); err != nil || body != "from the template" {
		t.Fatalf("clone reads %q, %v", body, err)
	}
	exec1(t, a, "INSERT INTO notes VALUES ('only in a')")
	if n := count(t, b, "SELECT count(*) FROM notes"); n != 1 {
		t.Errorf("second clone has %d notes, want 1 (its own copy)", n)
	}
}

func TestTemplateSetupError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Template("pgtest_broken", func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Template = %v, want the setup's error", err)
	}
	if _, err := Template("Bad-Name", func(string) error { return nil }); err == nil {
		t.Errorf("a name that needs quoting was accepted")
	}
}

func TestMissingBinariesSaysInstall(t *testing.T) {
	t.Setenv(BinEnv, t.TempDir())
	_, err := binDir()
	if err == nil || !strings.Contains(err.Error(), "install PostgreSQL") {
		t.Errorf("binDir() = %v, want a message to install PostgreSQL", err)
	}
}

// TestStopRemovesDir: Stop shuts the private server and removes its directory; the next
// use starts a new one.
func TestStopRemovesDir(t *testing.T) {
	Stop()
	t.Setenv(ServerEnv, "") // a private server even when the run uses an external one
	NewDatabase(t)
	srv, err := current()
	if err != nil {
		t.Fatal(err)
	}
	dir, exited := srv.dir, srv.exited
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("server directory: %v", err)
	}
	Stop()
	select {
	case <-exited:
	default:
		t.Error("postgres still running after Stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after Stop: %v, want it gone", dir, err)
	}
	Stop() // twice is harmless
	if url := NewDatabase(t); url == "" {
		t.Error("no database after a restart")
	}
}

// childEnv makes the test binary act as a test binary that dies without calling Stop.
const childEnv = "PGTEST_ORPHAN_CHILD"

// orphanChild starts a private server, prints its directory and waits to be killed.
func orphanChild() {
	os.Setenv(ServerEnv, "")
	srv, err := current()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("dir:", srv.dir)
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestOrphanedServerStops: a test binary killed outright does not leave its server
// running, and the next start removes its directory.
func TestOrphanedServerStops(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	dir, ok := strings.CutPrefix(strings.TrimSpace(line), "dir: ")
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	pm, ok := readPid(filepath.Join(dir, "data", "postmaster.pid"))
	if !ok || !alive(pm) {
		t.Fatalf("no running postmaster in %s", dir)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pm) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pm) {
		_ = syscall.Kill(pm, syscall.SIGKILL)
		t.Fatalf("postmaster %d still running after its test binary was killed", pm)
	}
	sweepOrphans(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		_ = os.RemoveAll(dir)
		t.Errorf("%s after a sweep: %v, want it gone", dir, err)
	}
}

// TestExternalServer: with PAYDESK_TEST_POSTGRES, databases are made on that server at
// URLs that keep its parameters, and Stop drops the templates but leaves the server up.
func TestExternalServer(t *testing.T) {
	admin, err := AdminURL()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := useExternal(admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := useExternal("host=/tmp dbname=x"); err == nil {
		t.Error("a key=value string was taken for a URL")
	}
	name := ext.nextName()
	if err := ext.create(name, ""); err != nil {
		t.Fatal(err)
	}
	url := ext.urlFor(name)
	want, _ := pgx.ParseConfig(admin)
	got, err := pgx.ParseConfig(url)
	if err != nil || got.Host != want.Host || got.Database != name {
		t.Fatalf("urlFor = %s (%v): want host %s, database %s", url, err, want.Host, name)
	}
	connect(t, url)
	ext.templates["kept"] = &template{name: name}
	ext.stop()
	if databaseExists(t, name) {
		t.Errorf("template %s survived Stop on an external server", name)
	}
	// The admin connection is closed but the server is up: drop reconnects.
	if err := ext.drop("anything"); err != nil {
		t.Errorf("drop after stop on an external server: %v", err)
	}
}
