// Command paydesk is Paydesk's single binary: serve (production), demo (the embedded
// default), migrate, import and audit verify.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: paydesk COMMAND

Commands:
  serve          run Paydesk against real OpenID Connect and provider APIs (configured by PAYDESK_* variables)
  demo           run the embedded demo: SQLite file, demo payments, provider simulators, local OpenID provider
                 (flags: --payments N, --db FILE, --addr HOST:PORT)
  migrate        apply database migrations and print the schema version
                 (--to postgres://…: copy the SQLite database into an empty PostgreSQL one and verify it;
                 --from FILE, --verify to only compare)
  import FILE    import provider payments from a JSON-lines file ("-" for standard input)
  backup FILE    write a consistent copy of the database to FILE while Paydesk runs (flag: --db FILE)
  audit verify   check the audit log's hash chain and name the first broken entry (flag: --db FILE)

Configuration: see README.md (every PAYDESK_* variable, its default, which are secrets).
`

func main() {
	tuneGC(os.Getenv)   // gc.go
	registerProviders() // providers.go
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "paydesk:", err)
		os.Exit(1)
	}
}

// errUsage asks main to print the usage.
var errUsage = errors.New("unknown or missing command; see paydesk help")

// run is the whole program, testable: arguments, environment and output are parameters.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout)
	case "import":
		return importCmd(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}

// newLogger builds the structured logger from the configuration.
func newLogger(c Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
