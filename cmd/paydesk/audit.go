package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"paydesk/storage"
)

// errAuditBroken is returned (exit status 1) when the audit chain does not verify.
var errAuditBroken = errors.New("audit chain broken")

// auditCmd is `paydesk audit verify [--db FILE]`: it walks the whole audit log, checks
// that each entry matches its hash and follows the previous one, and names the first
// entry that does not. It only reads the log (the file must exist).
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("audit: usage: paydesk audit verify [--db FILE]")
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "database file (default PAYDESK_DB or paydesk.db)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit verify: unexpected argument %q", fs.Arg(0))
	}
	path := *dbPath
	if path == "" {
		path = getenv("PAYDESK_DB")
	}
	if path == "" {
		path = "paydesk.db"
	}
	// Opening would create an empty database, which verifies: refuse a missing file instead.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer db.Close()
	start := time.Now()
	v, err := db.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	took := time.Since(start).Round(time.Millisecond)
	if v.OK {
		fmt.Fprintf(stdout, "%s: audit chain intact: %d entries verified in %s\n", path, v.Checked, took)
		return nil
	}
	fmt.Fprintf(stdout, "%s: audit chain BROKEN at entry %d: %s\n", path, v.FirstBroken, v.Problem)
	if e, err := db.AuditEntryByID(ctx, v.FirstBroken); err == nil {
		fmt.Fprintf(stdout, "  entry %d as stored: at %s, actor %q, kind %q, message %q\n",
			e.ID, e.At.Format(time.RFC3339), e.Actor, e.Kind, e.Message)
	}
	fmt.Fprintf(stdout, "  %d entries examined; entries from %d on cannot be shown to be unchanged\n", v.Checked, v.FirstBroken)
	return fmt.Errorf("%w at entry %d", errAuditBroken, v.FirstBroken)
}
