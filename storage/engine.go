package storage

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Engine names the database Paydesk keeps its state in (docs/postgres.md).
type Engine string

const (
	// SQLite is the embedded default: one file, one machine.
	SQLite Engine = "sqlite"
	// Postgres is the production store: several instances on one database.
	Postgres Engine = "postgres"
)

// EngineOf tells which engine a PAYDESK_DB value names: a postgres:// or postgresql://
// URL is PostgreSQL, anything else a SQLite file.
func EngineOf(dsn string) Engine {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// handle is *sql.DB speaking the engine's dialect of placeholders: storage's SQL is written
// once with SQLite's ? and ?N, and on PostgreSQL each text is rewritten to $N (once, then
// remembered). SQL that differs by more than that sits side by side in the file of its
// concern (pick). On PostgreSQL a write outside a transaction runs in one of its own, so
// that it takes the writers' lock as SQLite's single writer would (see tx).
type handle struct {
	*sql.DB
	engine Engine
	// wrote is called after a write commits (PostgreSQL: the page cache's version; nil on SQLite).
	wrote func()
}

// rewritten caches the PostgreSQL text of each query.
var rewritten sync.Map

// q returns query in the engine's placeholders.
func (h *handle) q(query string) string {
	if h.engine != Postgres {
		return query
	}
	return dollarPlaceholders(query)
}

// dollarPlaceholders rewrites ? and ?N placeholders to $N, leaving quoted strings,
// quoted names and comments alone, and SQLite's CROSS JOIN … ON to JOIN … ON.
func dollarPlaceholders(query string) string {
	if v, ok := rewritten.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			b.WriteString(query[i:min(j+1, len(query))])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + query[i+1:j])
				i = j - 1
			} else {
				n++
				b.WriteString("$" + strconv.Itoa(n))
			}
		default:
			b.WriteByte(c)
		}
	}
	// SQLite's CROSS JOIN is an inner join whose order the planner keeps (storage uses it
	// as a hint, always with ON); PostgreSQL spells an inner join with ON as JOIN.
	s := strings.ReplaceAll(b.String(), " CROSS JOIN ", " JOIN ")
	rewritten.Store(query, s)
	return s
}

// a returns args for the engine. On PostgreSQL a Go bool is stored as the 0 or 1 both
// schemas keep in BIGINT columns (SQLite's driver does this itself), and text PostgreSQL
// cannot hold — a NUL character, bytes that are not UTF-8, both of which a provider's
// answer or a forged webhook may carry — is stored with U+FFFD in their place, as SQLite
// would show it, rather than refusing the whole write.
func (h *handle) a(args []any) []any {
	if h.engine != Postgres {
		return args
	}
	copied := false
	set := func(i int, v any) {
		if !copied {
			args, copied = append([]any(nil), args...), true
		}
		args[i] = v
	}
	for i, v := range args {
		switch v := v.(type) {
		case bool:
			if v {
				set(i, int64(1))
			} else {
				set(i, int64(0))
			}
		case string:
			if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
				set(i, strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD"))
			}
		}
	}
	return args
}

// isWrite tells whether a statement outside a transaction changes data (its first word).
func isWrite(query string) bool {
	s := strings.TrimLeft(query, " \t\r\n(")
	if len(s) < 6 {
		return false
	}
	switch strings.ToUpper(s[:6]) {
	case "INSERT", "UPDATE", "DELETE", "REPLAC":
		return true
	}
	return false
}

// ExecContext runs a statement; on PostgreSQL a write takes the writers' lock in a
// transaction of its own.
func (h *handle) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if h.engine == Postgres && isWrite(query) {
		var res sql.Result
		err := h.writeTx(ctx, func(tx *Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, query, args...)
			return err
		})
		return res, err
	}
	return h.DB.ExecContext(ctx, h.q(query), h.a(args)...)
}

// Exec is ExecContext without a context (tests, tools).
func (h *handle) Exec(query string, args ...any) (sql.Result, error) {
	return h.ExecContext(context.Background(), query, args...)
}

// QueryContext runs a query.
func (h *handle) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return h.DB.QueryContext(ctx, h.q(query), h.a(args)...)
}

// Query is QueryContext without a context.
func (h *handle) Query(query string, args ...any) (*sql.Rows, error) {
	return h.QueryContext(context.Background(), query, args...)
}

// QueryRowContext runs a query of one row. An INSERT … RETURNING or UPDATE … RETURNING
// outside a transaction runs, on PostgreSQL, in a transaction of its own as ExecContext's
// writes do; its row is read before that commits.
func (h *handle) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	if h.engine == Postgres && isWrite(query) {
		tx, err := h.beginWrite(ctx)
		if err != nil {
			return &Row{err: err}
		}
		return &Row{row: tx.Tx.QueryRowContext(ctx, h.q(query), h.a(args)...), tx: tx}
	}
	return &Row{row: h.DB.QueryRowContext(ctx, h.q(query), h.a(args)...)}
}

// QueryRow is QueryRowContext without a context.
func (h *handle) QueryRow(query string, args ...any) *Row {
	return h.QueryRowContext(context.Background(), query, args...)
}

// Row is *sql.Row, which may also end the transaction its write ran in.
type Row struct {
	row *sql.Row
	tx  *Tx
	err error
}

// Scan copies the row's columns into dest, then commits the row's own transaction if it
// has one (rolling back when the write or the scan failed).
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	err := r.row.Scan(dest...)
	if r.tx == nil {
		return err
	}
	if err != nil {
		r.tx.Rollback()
		return err
	}
	return r.tx.Commit()
}

// Err returns the row's error, as *sql.Row's Err.
func (r *Row) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.row.Err()
}

// BeginTx starts a transaction; on PostgreSQL it takes the writers' lock (beginWrite).
func (h *handle) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	if opts != nil && opts.ReadOnly {
		tx, err := h.DB.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &Tx{Tx: tx, h: h}, nil
	}
	return h.beginWrite(ctx)
}

// Begin is BeginTx without a context or options.
func (h *handle) Begin() (*Tx, error) { return h.BeginTx(context.Background(), nil) }

// PrepareContext prepares a statement in the engine's placeholders.
func (h *handle) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return h.DB.PrepareContext(ctx, h.q(query))
}

// Prepare is PrepareContext without a context.
func (h *handle) Prepare(query string) (*sql.Stmt, error) {
	return h.PrepareContext(context.Background(), query)
}

// writersLock is the PostgreSQL advisory lock every write transaction takes first: writes
// then follow one another as on SQLite (BEGIN IMMEDIATE), so a transaction that reads a
// balance and then writes a refund cannot interleave with another doing the same, on this
// instance or any other. Readers never wait for it.
const writersLock = 0x7061796465736b // "paydesk"

// beginWrite starts a write transaction: on PostgreSQL, waiting for the writers' lock.
func (h *handle) beginWrite(ctx context.Context) (*Tx, error) {
	tx, err := h.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if h.engine == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", writersLock); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return &Tx{Tx: tx, h: h}, nil
}

// writeTx runs fn in a write transaction, committing when fn returns nil.
func (h *handle) writeTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := h.beginWrite(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Conn returns one connection of the pool.
func (h *handle) Conn(ctx context.Context) (*Conn, error) {
	c, err := h.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, h: h}, nil
}

// Tx is *sql.Tx speaking the engine's placeholders.
type Tx struct {
	*sql.Tx
	h *handle
}

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.h.q(query), t.h.a(args)...)
}

// Exec is ExecContext without a context.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), query, args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.h.q(query), t.h.a(args)...)
}

// QueryRowContext runs a query of one row in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: t.Tx.QueryRowContext(ctx, t.h.q(query), t.h.a(args)...)}
}

// PrepareContext prepares a statement in the transaction.
func (t *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.h.q(query))
}

// Commit commits the transaction and tells the page cache something changed.
func (t *Tx) Commit() error {
	if err := t.Tx.Commit(); err != nil {
		return err
	}
	if t.h.wrote != nil {
		t.h.wrote()
	}
	return nil
}

// Conn is *sql.Conn speaking the engine's placeholders.
type Conn struct {
	*sql.Conn
	h *handle
}

// ExecContext runs a statement on the connection.
func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.Conn.ExecContext(ctx, c.h.q(query), c.h.a(args)...)
}

// QueryContext runs a query on the connection.
func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.Conn.QueryContext(ctx, c.h.q(query), c.h.a(args)...)
}

// QueryRowContext runs a query of one row on the connection.
func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return &Row{row: c.Conn.QueryRowContext(ctx, c.h.q(query), c.h.a(args)...)}
}

// BeginTx starts a transaction on the connection.
func (c *Conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, h: c.h}, nil
}

// pick returns the SQL of the engine in use: the two texts of one concern side by side.
func (db *DB) pick(sqlite, postgres string) string {
	if db.db.engine == Postgres {
		return postgres
	}
	return sqlite
}

// Engine tells which database this is.
func (db *DB) Engine() Engine { return db.db.engine }
