package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"paydesk/storage"
)

// migrate applies pending migrations and prints the schema version; with --to, it copies
// a SQLite database into an empty PostgreSQL one and verifies the copy (migrateTo).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbPath := fs.String("db", "", "database file (default PAYDESK_DB or paydesk.db)")
	to := fs.String("to", "", "copy the SQLite database into this empty PostgreSQL database (postgres://…) and verify the copy")
	from := fs.String("from", "", "with --to: the SQLite file to copy (default -db, PAYDESK_DB or paydesk.db)")
	verifyOnly := fs.Bool("verify", false, "with --to: only compare the two databases, copy nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *dbPath
	if *to != "" && *from != "" {
		path = *from
	}
	if path == "" {
		path = getenv("PAYDESK_DB")
	}
	if path == "" {
		path = "paydesk.db"
	}
	if *to != "" {
		return migrateTo(ctx, path, *to, *verifyOnly, stdout)
	}
	if *from != "" || *verifyOnly {
		return errors.New("migrate: --from and --verify go with --to postgres://…")
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema version %d\n", path, v)
	return nil
}

// migrateTo copies the SQLite database at from into the empty PostgreSQL database at to,
// then compares them (storage.CopyDatabase, storage.VerifyCopy). Both are migrated first:
// the source must be at the schema version the target will be. verifyOnly skips the copy.
func migrateTo(ctx context.Context, from, to string, verifyOnly bool, stdout io.Writer) error {
	if storage.EngineOf(to) != storage.Postgres {
		return fmt.Errorf("migrate: --to takes a postgres:// URL, not %q", to)
	}
	if storage.EngineOf(from) != storage.SQLite {
		return errors.New("migrate: the source (--from, -db or PAYDESK_DB) must be a SQLite file")
	}
	// storage.Open would create a missing file: copying an empty database helps nobody.
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}
	target := redactURL(to)
	before, err := storage.SQLiteSchemaVersion(ctx, from)
	if err != nil {
		return err
	}
	src, err := storage.Open(ctx, from) // applies the source's pending migrations
	if err != nil {
		return err
	}
	defer src.Close()
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if before != sv {
		fmt.Fprintf(stdout, "%s: migrated from schema version %d to %d before copying\n", from, before, sv)
	} else {
		fmt.Fprintf(stdout, "%s: schema version %d\n", from, sv)
	}
	dst, err := storage.Open(ctx, to) // creates the schema in an empty database
	if err != nil {
		return fmt.Errorf("migrate: target %s: %w", target, err)
	}
	defer dst.Close()
	tv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema version %d\n", target, tv)

	if !verifyOnly {
		report, err := storage.CopyDatabase(ctx, src, dst, func(table string, n int64) {
			if index, ok := strings.CutPrefix(table, "index "); ok {
				fmt.Fprintf(stdout, "  built index %s\n", index)
				return
			}
			fmt.Fprintf(stdout, "  %-24s %12d rows\n", table, n)
		})
		if errors.Is(err, storage.ErrTargetNotEmpty) {
			return fmt.Errorf("migrate: %w (nothing was copied; the target is unchanged)", err)
		}
		if err != nil {
			return fmt.Errorf("migrate: %w (nothing was copied: the copy is one transaction, rolled back)", err)
		}
		fmt.Fprintf(stdout, "copied %d rows of %d tables in %.1f s (%.0f rows/s)\n",
			report.Rows, len(report.Tables), report.Elapsed.Seconds(), report.RowsPerSecond())
	}

	check, err := storage.VerifyCopy(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate: verify: %w", err)
	}
	printCopyCheck(stdout, check)
	if !check.OK() {
		return fmt.Errorf("migrate: the copy in %s differs from %s (above); the target is left as it is: "+
			"drop it and create it again, empty, before trying again", target, from)
	}
	fmt.Fprintf(stdout, "verified: %s holds what %s holds\n", target, from)
	return nil
}

// printCopyCheck writes VerifyCopy's figures: rows per table, money per currency, the
// audit chain, then what differs.
func printCopyCheck(w io.Writer, c storage.CopyCheck) {
	fmt.Fprintf(w, "%-40s %14s %14s\n", "rows", "source", "target")
	for _, t := range c.Tables {
		fmt.Fprintf(w, "%-40s %14d %14d%s\n", t.Name, t.Source, t.Target, mark(t.Source == t.Target))
	}
	fmt.Fprintf(w, "%-40s %14s %14s\n", "money (minor units)", "source", "target")
	for _, m := range c.Money {
		fmt.Fprintf(w, "%-40s %14d %14d%s\n", m.Label(), m.Source, m.Target, mark(m.Source == m.Target))
	}
	a := c.Audit
	fmt.Fprintf(w, "audit log: %d entries in the source, %d in the target; last hash %s / %s; target chain %s\n",
		a.SourceEntries, a.TargetEntries, short(a.SourceLast), short(a.TargetLast), verdict(a.Target))
	for _, s := range c.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, s := range c.Differences {
		fmt.Fprintf(w, "DIFFERS: %s\n", s)
	}
}

// mark flags a line whose two sides differ.
func mark(same bool) string {
	if same {
		return ""
	}
	return "  <- differs"
}

// short abbreviates a hash for the report.
func short(h string) string {
	if h == "" {
		return "none"
	}
	return h[:min(16, len(h))] + "…"
}

// verdict says how an audit chain verified.
func verdict(v storage.AuditVerification) string {
	if v.OK {
		return fmt.Sprintf("verified (%d entries)", v.Checked)
	}
	return "BROKEN: " + v.Problem
}

// redactURL hides the password of a database URL in messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}
