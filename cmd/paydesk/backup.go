package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"paydesk/storage"
)

// backupCmd is `paydesk backup FILE [--db PATH]`: a consistent copy of the database,
// taken while Paydesk runs. SQLite's VACUUM INTO reads one snapshot of the database (in
// WAL mode writers go on meanwhile and their later transactions are simply not in the
// copy) and writes it as a single compact file, no -wal or -shm beside it. The copy is
// written under a temporary name, checked (integrity_check, schema version, payment
// count) and only then renamed to FILE, so FILE is either a whole, checked backup or
// absent. An existing FILE is never overwritten.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "database file (default PAYDESK_DB or paydesk.db)")
	// The flag may come before or after FILE.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return errors.New("backup: give one FILE to write the copy to, e.g. paydesk backup paydesk-2026-01-31.db")
	}
	src := *dbPath
	if src == "" {
		src = getenv("PAYDESK_DB")
	}
	if src == "" {
		src = "paydesk.db"
	}
	if storage.EngineOf(src) == storage.Postgres {
		// PostgreSQL has its own tools, which its operators already run (docs/deployment.md).
		return errors.New("backup: the database is PostgreSQL: back it up with pg_dump -Fc (or your provider's snapshots and point-in-time recovery); paydesk backup copies a SQLite file")
	}
	dest, err := filepath.Abs(files[0])
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: database %s: %w", src, err)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s exists already; choose a new name (a backup never overwrites a file)", dest)
	}
	start := time.Now()
	tmp := dest + ".partial"
	os.Remove(tmp)
	if err := vacuumInto(ctx, src, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	sum, err := checkBackup(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: the copy failed its check and was deleted: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup: %s → %s: %s, in %s\n", src, dest, sum, time.Since(start).Round(time.Millisecond))
	return nil
}

// vacuumInto copies the database at src into the new file dest.
func vacuumInto(ctx context.Context, src, dest string) error {
	db, err := sql.Open("sqlite3", storage.DSN(src))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	return nil
}

// checkBackup opens a copy read-only and says what it holds, or why it is not usable.
func checkBackup(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		return "", fmt.Errorf("integrity check: %w", err)
	}
	if check != "ok" {
		return "", fmt.Errorf("integrity check: %s", check)
	}
	var version, payments int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return "", fmt.Errorf("schema version: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM payments").Scan(&payments); err != nil {
		return "", fmt.Errorf("payments: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes, schema version %d, %d payments, integrity ok", info.Size(), version, payments), nil
}
