package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	demogen "paydesk/providers/demo"
	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// migrateSource writes a SQLite database of 120 imported demo payments and an audit entry.
func migrateSource(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paydesk.db")
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines [][]byte
	err = demogen.Generate(demogen.Options{Count: 120, Seed: 7, Now: time.Now(), Makers: demoMakers("http://127.0.0.1:1")},
		func(line []byte) error {
			lines = append(lines, append([]byte(nil), line...))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importLines(ctx, db, bytes.NewReader(bytes.Join(lines, []byte("\n"))), os.Stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Audit(ctx, storage.AuditEntry{Actor: "ann@x", Kind: "export", Message: "before the move"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// migrateRun runs `paydesk migrate` with args and returns what it printed.
func migrateRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errs bytes.Buffer
	err := run(context.Background(), append([]string{"migrate"}, args...), func(string) string { return "" }, &out, &errs)
	return out.String() + errs.String(), err
}

func TestMigrateTo(t *testing.T) {
	src := migrateSource(t)
	url := pgtest.NewDatabase(t)

	out, err := migrateRun(t, "--from", src, "--to", url)
	if err != nil {
		t.Fatalf("migrate --to: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^copied \d+ rows of \d+ tables in [\d.]+ s \(\d+ rows/s\)$`),
		regexp.MustCompile(`(?m)^payments +120 +120$`),
		regexp.MustCompile(`(?m)^payments\.captured EUR +\d+ +\d+$`),
		regexp.MustCompile(`audit log: 1 entries in the source, 1 in the target; .*target chain verified \(1 entries\)`),
		regexp.MustCompile(`(?m)^verified: postgres://`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "DIFFERS") {
		t.Errorf("output:\n%s", out)
	}

	// Again into the same, now full, database: refused, nothing changed.
	out, err = migrateRun(t, "--from", src, "--to", url)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "unchanged") {
		t.Errorf("second copy = %v, want a refusal saying the target is not empty and unchanged\n%s", err, out)
	}
	if out, err := migrateRun(t, "--from", src, "--to", url, "--verify"); err != nil {
		t.Errorf("verify after a refused copy: %v\n%s", err, out)
	}

	// A change in the target after the copy: --verify says what differs, and what to do.
	db, err := storage.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec("UPDATE payments SET captured = captured + 7 WHERE id = (SELECT min(id) FROM payments WHERE currency = 'EUR')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = migrateRun(t, "--from", src, "--to", url, "--verify")
	if err == nil || !strings.Contains(err.Error(), "drop it and create it again") {
		t.Errorf("verify of a changed target = %v, want a failure saying to drop and recreate it", err)
	}
	if !regexp.MustCompile(`(?m)^DIFFERS: payments\.captured EUR: \d+ in the source, \d+ in the target$`).MatchString(out) {
		t.Errorf("output does not say what differs:\n%s", out)
	}
}

func TestMigrateToRefusesAMissingSource(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.db")
	_, err := migrateRun(t, "--from", missing, "--to", "postgres://127.0.0.1:1/none")
	if err == nil || !strings.Contains(err.Error(), "source") {
		t.Errorf("missing source: %v", err)
	}
	if _, statErr := os.Stat(missing); !os.IsNotExist(statErr) {
		t.Errorf("the missing source was created: %v", statErr)
	}
	if _, err := migrateRun(t, "--from", missing); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("--from without --to: %v", err)
	}
	if _, err := migrateRun(t, "--to", "/tmp/other.db"); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("--to a file: %v", err)
	}
}
