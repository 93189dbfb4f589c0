package storage

import (
	"context"
	"testing"
	"time"
)

// TestDataVersion: the version stays put while nothing is written, and moves with every
// commit, whether this DB or another handle on the file (another process) made it. On
// PostgreSQL the other handle is another instance: its commit arrives as a notification.
func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	path := testDSN(t)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitListening(t, db)
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
	if onPostgres() {
		// This instance's own commit also comes back as a notification, a moment later:
		// Settle waits for it.
		if err := db.Settle(ctx); err != nil {
			t.Fatal(err)
		}
		v1 = version()
	}
	// A transaction rolled back on the other instance changes nothing.
	tx, err := other.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE settings SET value = ? WHERE key = ?`, []byte("x"), "test.key"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := other.SetSetting(ctx, "test.key", []byte("2")); err != nil {
		t.Fatal(err)
	}
	// SQLite sees it at once; PostgreSQL when the notification arrives (a millisecond):
	// once Settle returns, everything committed before it has been heard.
	if err := db.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if version() == v1 {
		t.Fatal("a commit through another handle did not move the version")
	}
	if !onPostgres() {
		return
	}
	// Nothing written since: the version holds still again.
	v2 := version()
	time.Sleep(50 * time.Millisecond)
	if v := version(); v != v2 {
		t.Errorf("the version moved from %d to %d with nothing written", v2, v)
	}
}

// waitListening waits until db hears other instances' commits (PostgreSQL; at once on
// SQLite): until then every read of the version is a new number.
func waitListening(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !db.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("not listening for changes after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// In a context made by WithDataVersionMemo the version is read once: a commit after it
// does not change what that context is told, and a new context reads the new version.
func TestDataVersionMemo(t *testing.T) {
	db := newTestDB(t)
	waitListening(t, db)
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
