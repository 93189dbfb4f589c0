package storage

import (
	"context"
	"path/filepath"
	"testing"
)

// TestDataVersion: the version stays put while nothing is written, and moves with every
// commit, whether this DB or another handle on the file (another process) made it.
func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paydesk.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	version := func() int64 {
		t.Helper()
		v, err := db.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	if _, err := db.ListPayments(ctx, PaymentFilter{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0 {
		t.Fatalf("a read moved the version: %d → %d", v0, v)
	}
	if err := db.SetSetting(ctx, "test.key", []byte("1")); err != nil {
		t.Fatal(err)
	}
	v1 := version()
	if v1 == v0 {
		t.Fatal("a commit through this DB did not move the version")
	}
	if version() != v1 {
		t.Fatal("the version moved without a write")
	}

	other, err := Open(ctx, path) // another process, as far as SQLite can tell
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.SetSetting(ctx, "test.key", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == v1 {
		t.Fatal("a commit through another handle did not move the version")
	}
}

// In a context made by WithDataVersionMemo the version is read once: a commit after it
// does not change what that context is told, and a new context reads the new version.
func TestDataVersionMemo(t *testing.T) {
	db := newTestDB(t)
	ctx := WithDataVersionMemo(context.Background())
	v1, err := db.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(context.Background(), "memo.test", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.DataVersion(ctx); v != v1 {
		t.Errorf("the memo's version moved from %d to %d within one context", v1, v)
	}
	if v, _ := db.DataVersion(context.Background()); v == v1 {
		t.Errorf("without the memo the version stayed %d after a commit", v)
	}
	if v, _ := db.DataVersion(WithDataVersionMemo(context.Background())); v == v1 {
		t.Errorf("a new memo kept the old version %d", v)
	}
}
