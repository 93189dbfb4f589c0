package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// versionWatch is the connection DataVersion asks, held for good, with the question
// prepared. Askers take turns on mu, not on database/sql's pool: the pool hands a freed
// connection to the next waiter even while that goroutine waits to be scheduled, and on
// two busy cores every request queued behind the one before (list page p50 under load:
// 0.6 ms → 3.5 ms). A mutex lets whoever runs take it.
type versionWatch struct {
	mu   sync.Mutex
	db   *sql.DB
	conn *sql.Conn
	stmt *sql.Stmt
}

// openWatch opens the connection DataVersion asks: read-only, with a small page cache (it
// reads no table).
func openWatch(ctx context.Context, path string) (*versionWatch, error) {
	v := dsnOptions()
	v.Set("mode", "ro")
	v.Set("_cache_size", "-64")
	w := &versionWatch{}
	var err error
	if w.db, err = sql.Open("sqlite3", "file:"+path+"?"+v.Encode()); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.db.SetMaxOpenConns(1)
	if w.conn, err = w.db.Conn(ctx); err == nil {
		w.stmt, err = w.conn.PrepareContext(ctx, "PRAGMA data_version")
	}
	if err != nil {
		w.close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	return w, nil
}

func (w *versionWatch) close() error {
	if w.stmt != nil {
		w.stmt.Close()
	}
	if w.conn != nil {
		w.conn.Close()
	}
	return w.db.Close()
}

// DataVersion returns a number that changes whenever anything is committed to the
// database, by this process or another (`paydesk import` next to a running server): a
// page rendered from the data can be kept for as long as the number stays the same.
//
// It is SQLite's PRAGMA data_version, which changes when another connection commits,
// read on a connection of its own that never writes, so every commit counts. A few µs.
//
// On PostgreSQL it counts this instance's commits and the other instances' notifications
// (postgres.go).
//
// In a context made by WithDataVersionMemo it is read once and then remembered.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	memo, _ := ctx.Value(versionMemoKey{}).(*versionMemo)
	if memo != nil && memo.ok {
		return memo.v, nil
	}
	if db.changes != nil {
		v := db.changes.current()
		if memo != nil {
			memo.v, memo.ok = v, true
		}
		return v, nil
	}
	w := db.watch
	var v int64
	w.mu.Lock()
	err := w.stmt.QueryRowContext(ctx).Scan(&v)
	w.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("storage: data version: %w", err)
	}
	if memo != nil {
		memo.v, memo.ok = v, true
	}
	return v, nil
}

// versionMemo is one request's data version, once read.
type versionMemo struct {
	v  int64
	ok bool
}

type versionMemoKey struct{}

// WithDataVersionMemo returns a context in which DataVersion asks the database once and
// then answers the same: one request (web's middleware makes one per request, used by
// one goroutine) checks its session and its page cache against one read. A remembered
// version is never newer than what the request reads after it, so something kept under it
// is at worst worked out again by a later request, never served stale.
func WithDataVersionMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, versionMemoKey{}, &versionMemo{})
}
