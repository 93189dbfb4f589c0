package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fillAudit appends n entries, one second apart, and returns them.
func fillAudit(t *testing.T, db *DB, n int) []AuditEntry {
	t.Helper()
	var out []AuditEntry
	for i := 1; i <= n; i++ {
		e, err := db.Audit(context.Background(), AuditEntry{
			At:        testEpoch.Add(time.Duration(i) * time.Second),
			Actor:     []string{"ann@x", "max@x"}[i%2],
			Remote:    "10.0.0.1",
			Kind:      []string{"sign_in", "action", "approval"}[i%3],
			PaymentID: int64(i % 2),
			Message:   fmt.Sprintf("entry %d", i),
			Data:      json.RawMessage(fmt.Sprintf(`{ "n" : %d }`, i)),
		})
		if err != nil {
			t.Fatalf("audit %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func TestAuditChain(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	if v, err := db.VerifyAudit(ctx); err != nil || !v.OK || v.Checked != 0 {
		t.Errorf("VerifyAudit(empty) = %+v, %v; want OK with 0 checked", v, err)
	}
	entries := fillAudit(t, db, 5)
	prev := strings.Repeat("0", 64)
	for i, e := range entries {
		if e.PrevHash != prev {
			t.Errorf("entry %d prev hash = %s, want %s", i+1, e.PrevHash, prev)
		}
		if len(e.Hash) != 64 || e.Hash == prev {
			t.Errorf("entry %d hash = %q, want a new 64-hex hash", i+1, e.Hash)
		}
		if string(e.Data) != fmt.Sprintf(`{"n":%d}`, i+1) {
			t.Errorf("entry %d data = %s, want it compacted", i+1, e.Data)
		}
		prev = e.Hash
	}
	v, err := db.VerifyAudit(ctx)
	if err != nil || !v.OK || v.Checked != 5 || v.FirstBroken != 0 {
		t.Errorf("VerifyAudit = %+v, %v; want OK with 5 checked", v, err)
	}
	// An entry written inside another transaction continues the same chain.
	err = db.tx(ctx, func(tx *Tx) error {
		_, err := db.audit(ctx, tx, AuditEntry{Actor: "system", Kind: "export", Message: "in a transaction"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := db.ListAudit(ctx, AuditFilter{Limit: 1})
	if err != nil || len(list) != 1 || list[0].PrevHash != prev || !list[0].At.Equal(testEpoch) {
		t.Errorf("entry written in a transaction = %+v, %v; want it after %s, at now", list, err, prev)
	}
	if v, _ := db.VerifyAudit(ctx); !v.OK || v.Checked != 6 {
		t.Errorf("VerifyAudit after 6 = %+v, want OK", v)
	}
}

func TestAuditHashIsUnambiguous(t *testing.T) {
	base := auditHash("p", 1, "ab", "c", "k", 1, "m", "{}")
	tests := []struct {
		name string
		hash string
	}{
		{"field boundary moved", auditHash("p", 1, "a", "bc", "k", 1, "m", "{}")},
		{"time", auditHash("p", 2, "ab", "c", "k", 1, "m", "{}")},
		{"payment", auditHash("p", 1, "ab", "c", "k", 11, "m", "{}")},
		{"prev", auditHash("q", 1, "ab", "c", "k", 1, "m", "{}")},
		{"data", auditHash("p", 1, "ab", "c", "k", 1, "m", `{"a":1}`)},
		{"message", auditHash("p", 1, "ab", "c", "k", 1, "m ", "{}")},
		{"kind", auditHash("p", 1, "ab", "c", "K", 1, "m", "{}")},
	}
	for _, tt := range tests {
		if tt.hash == base {
			t.Errorf("%s: hash unchanged", tt.name)
		}
	}
	if again := auditHash("p", 1, "ab", "c", "k", 1, "m", "{}"); again != base {
		t.Errorf("hash not deterministic: %s then %s", base, again)
	}
}

func TestAuditTamperDetected(t *testing.T) {
	tests := []struct {
		name       string
		tamper     string
		wantBroken int64
		wantWord   string
	}{
		{"message of row 3", `UPDATE audit_log SET message = 'nothing happened' WHERE id = 3`, 3, "content"},
		{"prev hash of row 3", `UPDATE audit_log SET prev_hash = '` + strings.Repeat("1", 64) + `' WHERE id = 3`, 3, "previous"},
		{"actor of row 2", `UPDATE audit_log SET actor = 'eve@x' WHERE id = 2`, 2, "content"},
		{"time of row 5", `UPDATE audit_log SET at = at + 1 WHERE id = 5`, 5, "content"},
		{"data of row 4", `UPDATE audit_log SET data = '{"n":40}' WHERE id = 4`, 4, "content"},
		{"payment of row 1", `UPDATE audit_log SET payment_id = 9 WHERE id = 1`, 1, "content"},
		{"remote of row 6", `UPDATE audit_log SET remote = '' WHERE id = 6`, 6, "content"},
		{"hash of row 3", `UPDATE audit_log SET hash = '` + strings.Repeat("2", 64) + `' WHERE id = 3`, 3, "content"},
		{"row 3 deleted", `DELETE FROM audit_log WHERE id = 3`, 4, "removed"},
		{"row 1 deleted", `DELETE FROM audit_log WHERE id = 1`, 2, "removed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			ctx := context.Background()
			fillAudit(t, db, 6)
			unguard := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
			if onPostgres() {
				unguard = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
			}
			for _, q := range append(unguard, tt.tamper) {
				if _, err := db.SQL().Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			v, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.FirstBroken != tt.wantBroken || !strings.Contains(v.Problem, tt.wantWord) {
				t.Errorf("VerifyAudit = %+v, want broken at %d mentioning %q", v, tt.wantBroken, tt.wantWord)
			}
		})
	}
}

func TestAuditAppendOnly(t *testing.T) {
	db := newTestDB(t)
	fillAudit(t, db, 3)
	for _, q := range []string{`UPDATE audit_log SET message = 'x' WHERE id = 2`, `DELETE FROM audit_log WHERE id = 3`} {
		_, err := db.SQL().Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want refused as append-only", q, err)
		}
	}
	if v, _ := db.VerifyAudit(context.Background()); !v.OK || v.Checked != 3 {
		t.Errorf("VerifyAudit = %+v, want OK with 3", v)
	}
}

func TestAuditValidation(t *testing.T) {
	db := newTestDB(t)
	tests := []struct {
		name  string
		entry AuditEntry
		want  string
	}{
		{"no actor", AuditEntry{Kind: "sign_in", Message: "m"}, "actor"},
		{"no kind", AuditEntry{Actor: "a", Message: "m"}, "kind"},
		{"no message", AuditEntry{Actor: "a", Kind: "k"}, "message"},
		{"bad data", AuditEntry{Actor: "a", Kind: "k", Message: "m", Data: json.RawMessage(`{"a":`)}, "JSON"},
		{"negative payment", AuditEntry{Actor: "a", Kind: "k", Message: "m", PaymentID: -1}, "payment"},
	}
	for _, tt := range tests {
		_, err := db.Audit(context.Background(), tt.entry)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "storage: audit: ") {
			t.Errorf("%s: err = %v, want a storage: audit: error mentioning %q", tt.name, err, tt.want)
		}
	}
	if n := countRows(t, db, "audit_log"); n != 0 {
		t.Errorf("audit rows = %d, want 0", n)
	}
}

func TestListAudit(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	entries := fillAudit(t, db, 12)
	tests := []struct {
		name   string
		filter AuditFilter
		keep   func(AuditEntry) bool
	}{
		{"all", AuditFilter{}, func(AuditEntry) bool { return true }},
		{"actor", AuditFilter{Actor: "MAX@x"}, func(e AuditEntry) bool { return e.Actor == "max@x" }},
		{"kind", AuditFilter{Kind: "approval"}, func(e AuditEntry) bool { return e.Kind == "approval" }},
		{"payment", AuditFilter{PaymentID: 1}, func(e AuditEntry) bool { return e.PaymentID == 1 }},
		{"time", AuditFilter{From: testEpoch.Add(3 * time.Second), To: testEpoch.Add(7 * time.Second)}, func(e AuditEntry) bool {
			return !e.At.Before(testEpoch.Add(3*time.Second)) && e.At.Before(testEpoch.Add(7*time.Second))
		}},
		{"before", AuditFilter{Before: 5}, func(e AuditEntry) bool { return e.ID < 5 }},
		{"limit", AuditFilter{Limit: 4}, func(e AuditEntry) bool { return e.ID > 8 }},
	}
	for _, tt := range tests {
		var want []int64
		for i := len(entries) - 1; i >= 0; i-- {
			if tt.keep(entries[i]) {
				want = append(want, entries[i].ID)
			}
		}
		list, err := db.ListAudit(ctx, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range list {
			got = append(got, e.ID)
		}
		if !equalIDs(got, want) {
			t.Errorf("%s: ListAudit = %v, want %v", tt.name, got, want)
		}
		var streamed []int64
		if err := db.EachAuditRow(ctx, tt.filter, func(e AuditRow) error { streamed = append(streamed, e.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if !equalIDs(streamed, want) {
			t.Errorf("%s: EachAuditRow = %v, want %v", tt.name, streamed, want)
		}
	}
	// Entries come back exactly as written.
	list, _ := db.ListAudit(ctx, AuditFilter{Before: 2})
	if len(list) != 1 || list[0].Message != entries[0].Message || string(list[0].Data) != string(entries[0].Data) ||
		list[0].Hash != entries[0].Hash || !list[0].At.Equal(entries[0].At) || list[0].Remote != "10.0.0.1" {
		t.Errorf("entry 1 read back = %+v, want %+v", list, entries[0])
	}
	stop := errors.New("stop")
	if err := db.EachAuditRow(ctx, AuditFilter{}, func(AuditRow) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("EachAuditRow with a failing fn = %v, want its error", err)
	}
}

// TestEachAuditRowNamesThePayment: each entry comes with its payment's public id ("" when
// none), in a page, a filtered list and one entry by id.
func TestEachAuditRowNamesThePayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100)
	var public string
	if err := db.SQL().QueryRow(`SELECT public_id FROM payments WHERE id = ?`, pid).Scan(&public); err != nil {
		t.Fatal(err)
	}
	for _, e := range []AuditEntry{
		{Actor: "ann@x", Kind: "sign_in", Message: "signed in"},
		{Actor: "ann@x", Kind: "action", PaymentID: pid, Message: "refund"},
		{Actor: "max@x", Kind: "approval", PaymentID: pid, Message: "approved"},
	} {
		if _, err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    AuditFilter
		want []string // payment public ids, newest first
	}{
		{"all", AuditFilter{}, []string{public, public, ""}},
		{"one payment", AuditFilter{PaymentID: pid, Kind: "action"}, []string{public}},
		{"page", AuditFilter{Before: 3, Limit: 1}, []string{public}},
	}
	for _, tt := range tests {
		rows, err := db.ListAuditRows(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.PaymentPublicID)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	e, err := db.AuditEntryByID(ctx, 2)
	if err != nil || e.Kind != "action" || e.PaymentPublicID != public || len(e.Hash) != 64 {
		t.Errorf("AuditEntryByID(2) = %+v, %v", e, err)
	}
	if _, err := db.AuditEntryByID(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("AuditEntryByID(99) = %v, want ErrNotFound", err)
	}
}
