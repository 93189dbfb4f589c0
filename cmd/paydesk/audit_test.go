package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"paydesk/storage"
)

// auditTestLog writes n audit entries to a fresh database file and returns its path.
func auditTestLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paydesk.db")
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		if _, err := db.Audit(context.Background(), storage.AuditEntry{
			At: at.Add(time.Duration(i) * time.Minute), Actor: "max@paydesk.example", Remote: "10.0.0.7",
			Kind: "approval", Message: fmt.Sprintf("entry %d", i), Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// auditTamper changes the audit log behind Paydesk's back, as someone with the file would:
// without the append-only triggers.
func auditTamper(t *testing.T, path, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite3", storage.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`, stmt} {
		var a []any
		if s == stmt {
			a = args
		}
		if res, err := db.Exec(s, a...); err != nil {
			t.Fatalf("%s: %v", s, err)
		} else if n, _ := res.RowsAffected(); s == stmt && n != 1 {
			t.Fatalf("%s changed %d rows, want 1", s, n)
		}
	}
}

func auditVerify(t *testing.T, path string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"audit", "verify", "--db", path}, func(string) string { return "" }, &out, &errOut)
	return out.String(), err
}

func TestAuditVerifyIntact(t *testing.T) {
	path := auditTestLog(t, 5)
	out, err := auditVerify(t, path)
	if err != nil {
		t.Fatalf("verify an untouched log = %v (%s), want success", err, out)
	}
	if !strings.Contains(out, "audit chain intact: 5 entries verified") {
		t.Errorf("output = %q, want it to say the 5 entries are intact", out)
	}
}

// TestAuditVerifyNamesTheChangedRow changes each column of each of several rows in turn:
// verify must fail, naming exactly that row.
func TestAuditVerifyNamesTheChangedRow(t *testing.T) {
	const entries = 6
	changes := []struct {
		column string
		set    string // SQL expression
		want   string
	}{
		{"at", "at + 1", "does not match its hash"},
		{"actor", "'mia@paydesk.example'", "does not match its hash"},
		{"remote", "'10.6.6.6'", "does not match its hash"},
		{"kind", "'sign_in'", "does not match its hash"},
		{"payment_id", "42", "does not match its hash"},
		{"message", "message || ' (edited)'", "does not match its hash"},
		{"data", `'{"n":0}'`, "does not match its hash"},
		{"hash", "'" + strings.Repeat("a", 64) + "'", "does not match its hash"},
		{"prev_hash", "'" + strings.Repeat("b", 64) + "'", "does not follow the previous entry"},
	}
	for _, row := range []int{1, 3, entries} {
		for _, c := range changes {
			t.Run(fmt.Sprintf("row %d %s", row, c.column), func(t *testing.T) {
				path := auditTestLog(t, entries)
				auditTamper(t, path, `UPDATE audit_log SET `+c.column+` = `+c.set+` WHERE id = ?`, row)
				out, err := auditVerify(t, path)
				if !errors.Is(err, errAuditBroken) || !strings.Contains(err.Error(), fmt.Sprintf("at entry %d", row)) {
					t.Fatalf("verify = %v, want the chain broken at entry %d\n%s", err, row, out)
				}
				if !strings.Contains(out, fmt.Sprintf("BROKEN at entry %d: entry %d %s", row, row, c.want)) {
					t.Errorf("output = %q, want entry %d named with %q", out, row, c.want)
				}
			})
		}
	}
}

func TestAuditVerifyRemovedRow(t *testing.T) {
	path := auditTestLog(t, 5)
	auditTamper(t, path, `DELETE FROM audit_log WHERE id = ?`, 3)
	out, err := auditVerify(t, path)
	if !errors.Is(err, errAuditBroken) || !strings.Contains(out, "BROKEN at entry 4: entry 4 does not follow the previous entry") {
		t.Errorf("verify after removing entry 3 = %v\n%s\nwant the chain broken at entry 4 (the one after)", err, out)
	}
}

func TestAuditVerifyUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"audit"}, "usage: paydesk audit verify"},
		{"unknown subcommand", []string{"audit", "fix"}, "usage: paydesk audit verify"},
		{"missing file", []string{"audit", "verify", "--db", filepath.Join(t.TempDir(), "nope.db")}, "no such file"},
		{"extra argument", []string{"audit", "verify", "--db", "x.db", "more"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%v) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestAuditVerifyUsesPaydeskDB(t *testing.T) {
	path := auditTestLog(t, 2)
	var out bytes.Buffer
	env := func(k string) string {
		if k == "PAYDESK_DB" {
			return path
		}
		return ""
	}
	if err := run(context.Background(), []string{"audit", "verify"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "2 entries verified") {
		t.Errorf("verify with PAYDESK_DB = %v, %q", err, out.String())
	}
}
