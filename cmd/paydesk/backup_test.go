package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	demogen "paydesk/providers/demo"
	"paydesk/storage"
)

// TestBackupWhileWriting: a backup taken while another connection keeps writing is a
// whole, consistent database holding at least what was there when it started.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "paydesk.db")
	db, err := storage.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines [][]byte
	err = demogen.Generate(demogen.Options{Count: 300, Seed: 7, Now: time.Now(), Makers: demoMakers("http://127.0.0.1:1")},
		func(line []byte) error {
			lines = append(lines, append([]byte(nil), line...))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := importLines(ctx, db, bytes.NewReader(bytes.Join(lines[:200], []byte("\n"))), os.Stderr); err != nil {
		t.Fatal(err)
	}
	// A writer goes on importing while the backup runs.
	var wg sync.WaitGroup
	var written atomic.Int32
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, l := range lines[200:] {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := importLines(ctx, db, bytes.NewReader(l), os.Stderr); err == nil {
				written.Add(1)
			}
		}
	}()
	dest := filepath.Join(dir, "backup.db")
	var out, errOut bytes.Buffer
	// The flag after FILE works too.
	err = run(ctx, []string{"backup", dest, "--db", src}, func(string) string { return "" }, &out, &errOut)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "integrity ok") {
		t.Errorf("backup said %q", out.String())
	}
	copyDB, err := storage.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	n, err := copyDB.CountPayments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 200 || n > 300 {
		t.Errorf("the copy holds %d payments, want 200 to 300", n)
	}
	if err := run(ctx, []string{"backup", "--db", src, dest}, func(string) string { return "" }, &out, &errOut); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a second backup to the same file: %v, want a refusal", err)
	}
	if err := run(ctx, []string{"backup", filepath.Join(dir, "x.db"), "--db", filepath.Join(dir, "missing.db")}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Error("a backup of a missing database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("backing up a missing database created it")
	}
}

// A PostgreSQL database is not copied by paydesk backup: the message names pg_dump, and
// nothing is written.
func TestBackupRefusesPostgres(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "copy.db")
	var out, errOut bytes.Buffer
	err := backupCmd(context.Background(), []string{dest}, func(k string) string {
		if k == "PAYDESK_DB" {
			return "postgres://paydesk@db.internal/paydesk"
		}
		return ""
	}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup of a PostgreSQL database: %v, want a message naming pg_dump", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("the backup wrote %s: %v", dest, err)
	}
}
