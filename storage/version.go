package storage

import (
	"context"
	"database/sql"
	"fmt"
)

// openWatch opens the connection DataVersion asks: one connection, read-only, with a
// small page cache (it reads no table), and prepares the question.
func openWatch(ctx context.Context, path string) (*sql.DB, *sql.Stmt, error) {
	v := dsnOptions()
	v.Set("mode", "ro")
	v.Set("_cache_size", "-64")
	w, err := sql.Open("sqlite3", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	stmt, err := w.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	return w, stmt, nil
}

// DataVersion returns a number that changes whenever anything is committed to the
// database, by this process or another (`paydesk import` next to a running server): a
// page rendered from the data can be kept for as long as the number stays the same.
//
// It is SQLite's PRAGMA data_version, which changes when another connection commits,
// read on a connection of its own that never writes, so every commit counts. A few µs.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.version.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, fmt.Errorf("storage: data version: %w", err)
	}
	return v, nil
}
