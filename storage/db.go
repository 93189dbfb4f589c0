// Package storage keeps Paydesk's state in one SQLite file: payments and their timeline,
// refunds and approvals, the action journal, payer links, the audit log and received
// webhooks. SQL is plain and lives next to its Scan, one file per table.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3" // the SQLite driver (cgo; build with -tags sqlite_fts5), and its errors
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors callers can test with errors.Is.
var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write would break a rule (another action in flight, a link already
	// live, a decision already taken, …).
	ErrConflict = errors.New("conflict")
	// ErrDuplicate: the idempotency key was used already; the existing row is returned.
	ErrDuplicate = errors.New("duplicate")
	// ErrInsufficientBalance: a refund would exceed what is still refundable.
	ErrInsufficientBalance = errors.New("insufficient refundable balance")
)

// DB is Paydesk's database handle.
type DB struct {
	db *sql.DB
	// watch is a connection of its own that never writes, for DataVersion (data_version.go).
	watch *versionWatch
	// dayTotals keeps refund_day_totals in memory for the refund history (refund_day_totals.go).
	dayTotals refundDayTotalsCache
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// DSN builds the go-sqlite3 connection string for path. Why each option:
//   - WAL lets readers go on while one writer writes (the list page never waits on a refund);
//   - busy_timeout makes a writer wait for the lock instead of failing at once;
//   - _txlock=immediate takes the write lock at BEGIN, so two concurrent write transactions
//     queue instead of failing with "database is locked" when one upgrades from read to write;
//   - foreign_keys is off by default in SQLite; we rely on it;
//   - synchronous=NORMAL is durable with WAL except for the last transactions on power loss;
//   - cache_size gives each connection 4 MB of page cache;
//   - _stmt_cache_size keeps prepared statements (go-sqlite3's cache, per connection).
func DSN(path string) string {
	return "file:" + path + "?" + dsnOptions().Encode()
}

// dsnOptions are DSN's options.
func dsnOptions() url.Values {
	v := url.Values{}
	v.Set("_journal_mode", "WAL")
	v.Set("_busy_timeout", "5000")
	v.Set("_txlock", "immediate")
	v.Set("_foreign_keys", "on")
	v.Set("_synchronous", "NORMAL")
	// A 4 MB page cache (default 2 MB): a name search over a large table is 4x faster
	// than with 2 MB. 32 MB gained a little more (refund totals on 200,000 refunds: 21 ms
	// instead of 28) but, eight connections filling theirs, held 250 MB of memory under
	// load (docs/benchmarks.md); the OS keeps the file cached anyway.
	v.Set("_cache_size", "-4000")
	// Each connection keeps its 32 last prepared statements: a search's SQL (six unions
	// and a full-text match) took longer to prepare than to run.
	v.Set("_stmt_cache_size", "32")
	return v
}

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	sdb, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	// Reads run in parallel on their own connections; writes serialise on SQLite's lock.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxLifetime(0)
	db := &DB{db: sdb, Now: time.Now}
	if err := db.Migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	// A bulk load (bulk.go) cut short by a crash left its indexes to put back.
	if err := db.recoverBulkLoad(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if db.watch, err = openWatch(ctx, path); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return errors.Join(db.db.Close(), db.watch.close()) }

// Ping reports whether the database answers a query (readiness).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// SQL exposes the underlying handle for tests and tools (backup, benchmarks).
func (db *DB) SQL() *sql.DB { return db.db }

// Migrate applies, in order and each in its own transaction, every embedded migration not
// yet recorded in schema_migrations. It returns the versions applied.
func (db *DB) Migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("storage: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("storage: migration %s: name must start with a number and _", base)
		}
		var n int
		if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
			return fmt.Errorf("storage: migration %s: %w", base, err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("storage: migration %s: %w", base, err)
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				version, base, db.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: migration %s: %w", base, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("storage: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE, see DSN), committing when fn
// returns nil and rolling back otherwise.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// execer is what both *sql.DB and *sql.Tx offer, so helpers run inside or outside a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scannable is what both *sql.Row and *sql.Rows offer.
type scannable interface {
	Scan(dest ...any) error
}

// isUniqueConstraint reports whether err is SQLite refusing a write that would break a
// UNIQUE constraint or index.
func isUniqueConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}
