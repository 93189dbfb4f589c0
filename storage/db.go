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
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3" // the SQLite driver (cgo; build with -tags sqlite_fts5), and its errors
)

//go:embed migrations/*.sql migrations/postgres/*.sql
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
	db *handle
	// watch is a connection of its own that never writes, for DataVersion (data_version.go; SQLite).
	watch *versionWatch
	// changes counts commits of every instance for DataVersion (postgres.go; PostgreSQL).
	changes *pgChanges
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

// Open opens the database dsn names and applies pending migrations: a SQLite file
// (created if needed) or, for a postgres:// URL, a PostgreSQL database (docs/postgres.md).
func Open(ctx context.Context, dsn string) (*DB, error) {
	if EngineOf(dsn) == Postgres {
		return openPostgres(ctx, dsn)
	}
	path := dsn
	sdb, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	// Reads run in parallel on their own connections; writes serialise on SQLite's lock.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxLifetime(0)
	db := &DB{db: &handle{DB: sdb, engine: SQLite}, Now: time.Now}
	// Two processes opening a new file at once: while one turns it to WAL, the other is
	// told "database is locked" at once (SQLite does not wait then, to avoid a deadlock).
	// It tries again, for up to the busy timeout.
	err = db.ready(ctx)
	for wait := 10 * time.Millisecond; isBusy(err) && wait < 5*time.Second; wait *= 2 {
		time.Sleep(wait)
		err = db.ready(ctx)
	}
	if err != nil {
		sdb.Close()
		return nil, err
	}
	if db.watch, err = openWatch(ctx, path); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// ready brings a newly opened database up to date: pending migrations, then what a bulk
// load (bulk.go, bulk_postgres.go) cut short by a crash left to put back.
func (db *DB) ready(ctx context.Context) error {
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	return db.recoverBulkLoad(ctx)
}

// Close closes the database.
func (db *DB) Close() error {
	if db.changes != nil {
		db.changes.close()
		return db.db.Close()
	}
	return errors.Join(db.db.Close(), db.watch.close())
}

// Ping reports whether the database answers a query (readiness).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// SQL exposes the underlying handle for tests and tools (backup, benchmarks). It takes
// SQLite's placeholders on both engines.
func (db *DB) SQL() *handle { return db.db }

// migrationFiles lists the engine's migrations in order, with their versions.
func (db *DB) migrationFiles() ([]string, error) {
	pattern := "migrations/*.sql"
	if db.db.engine == Postgres {
		pattern = "migrations/postgres/*.sql"
	}
	names, err := fs.Glob(migrations, pattern)
	if err != nil {
		return nil, fmt.Errorf("storage: list migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// migrationsLock is the PostgreSQL advisory lock two instances starting at once take in
// turn, so each migration runs once.
const migrationsLock = 0x7061796465736d // "paydesm"

// Migrate applies, in order and each in its own transaction, every embedded migration of
// the engine not yet recorded in schema_migrations. Two processes starting at once take
// turns: SQLite's write lock, PostgreSQL's migrations lock, and each transaction looks
// again whether its migration was applied meanwhile.
func (db *DB) Migrate(ctx context.Context) error {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`
	if db.db.engine == Postgres {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if db.db.engine == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrationsLock); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, create)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	names, err := db.migrationFiles()
	if err != nil {
		return err
	}
	for _, name := range names {
		base := path.Base(name)
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
		err = db.tx(ctx, func(tx *Tx) error {
			if db.db.engine == Postgres {
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", migrationsLock); err != nil {
					return err
				}
			}
			// Another process may have applied it while this one waited for the lock.
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil || n > 0 {
				return err
			}
			// Migration files hold no placeholders: run them as they are.
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
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

// tx runs fn in a write transaction (BEGIN IMMEDIATE, see DSN; the writers' lock on PostgreSQL, engine.go), committing when fn
// returns nil and rolling back otherwise.
func (db *DB) tx(ctx context.Context, fn func(*Tx) error) error {
	return db.db.writeTx(ctx, fn)
}

// execer is what both *sql.DB and *Tx offer, so helpers run inside or outside a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *Row
}

// scannable is what both *sql.Row and *sql.Rows offer.
type scannable interface {
	Scan(dest ...any) error
}

// queryOne runs query and reads its one row with scan; no row is ErrNotFound. what names
// the row in errors ("storage: <what>: …").
func queryOne[T any](ctx context.Context, db *DB, what string, scan func(scannable) (T, error), query string, args ...any) (T, error) {
	v, err := scan(db.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("storage: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("storage: %s: %w", what, err)
	}
	return v, nil
}

// queryAll runs query and reads every row with scan, in order; what for names the rows in
// errors ("storage: <what>: …").
func queryAll[T any](ctx context.Context, db *DB, what string, scan func(scannable) (T, error), query string, args ...any) ([]T, error) {
	return queryIn(ctx, db.db, what, scan, query, args...)
}

// queryIn is queryAll on x: the database or a transaction.
func queryIn[T any](ctx context.Context, x execer, what string, scan func(scannable) (T, error), query string, args ...any) ([]T, error) {
	rows, err := x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	return out, nil
}

// isBusy reports whether err is SQLite's "database is locked" (or busy).
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// isUniqueConstraint reports whether err is the database refusing a write that would
// break a UNIQUE constraint, index or primary key (SQLite's extended codes, PostgreSQL's
// 23505).
func isUniqueConstraint(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
