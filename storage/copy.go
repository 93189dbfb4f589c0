// Moving a SQLite database to PostgreSQL (`paydesk migrate --to`, docs/postgres.md):
// CopyDatabase copies every table, VerifyCopy compares the two databases afterwards.
//
// The copy knows no table by name: it copies the tables the PostgreSQL schema has (but
// schema_migrations, which each database keeps for itself), with the columns both sides
// have, in the order their foreign keys need. A later migration needs no change here.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrTargetNotEmpty: the PostgreSQL database to copy into already holds Paydesk data.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// seededTables hold rows the migrations write themselves (refund_summary_version's one
// row, the saved views Paydesk ships with): a fresh database has them, so they do not make a target non-empty, and the copy
// replaces them with the source's. TestCopyFreshTargetIsEmpty fails when a migration
// seeds another table without saying so here.
var seededTables = map[string]bool{"refund_summary_version": true, "saved_views": true}

// copyProgressEvery is how many rows of a table pass between two progress reports.
const copyProgressEvery = 100_000

// CopyReport says what CopyDatabase copied.
type CopyReport struct {
	// Tables are the tables copied, in the order they were.
	Tables []CopiedTable
	// Rows is the number of rows copied, all tables together.
	Rows int64
	// Elapsed is the time of the copy itself, from the first row read to the commit.
	Elapsed time.Duration
	// Replaced are the text columns where some values held what PostgreSQL text cannot
	// (NUL characters, bytes that are not UTF-8), copied with U+FFFD in their place. The
	// audit log's hashes cover its text: a change there would show in VerifyCopy.
	Replaced []ReplacedText
}

// ReplacedText is a column of a CopyReport where Values values were changed.
type ReplacedText struct {
	Table, Column string
	Values        int64
}

// CopiedTable is one table of a CopyReport.
type CopiedTable struct {
	Name string
	Rows int64
	// Columns are the columns copied; the others keep their default (PostgreSQL's
	// generated columns compute theirs).
	Columns []string
}

// RowsPerSecond is the copy's speed.
func (r CopyReport) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

// copyTable is one table of the plan: its name and the columns copied, with their
// PostgreSQL types (pg_type names: int8, text, bytea, …).
type copyTable struct {
	name    string
	columns []string
	types   []string
}

// CopyDatabase copies the SQLite database from into the PostgreSQL database to, which
// must be empty (ErrTargetNotEmpty) and at the same schema version. progress, when not
// nil, hears how many rows of a table are copied so far, then, once the rows are in, each
// index built ("index NAME", with how many are built so far).
//
// Everything happens in one PostgreSQL transaction: a copy that fails leaves the target as
// empty as it was. The source is read in one read transaction, a snapshot, so a Paydesk
// still writing to it cannot tear the copy (what it writes afterwards is not copied:
// VerifyCopy then reports the difference).
//
// Rows keep their ids, and the audit log its hashes. The triggers of the target are off
// during the copy (ALTER TABLE … DISABLE TRIGGER USER, which the tables' owner may do):
// the summaries they keep (payment_counts, refund_days*, refund_day_totals, the refund
// summary's version) are copied as the source's triggers left them, instead of being
// built again row by row, which would cost several times the copy; and
// refunds_fill_payment does not rewrite copied columns. Foreign keys stay checked (they
// are not user triggers): tables are copied parents first. Indexes no constraint owns are
// dropped during the copy and built again after it.
func CopyDatabase(ctx context.Context, from, to *DB, progress func(table string, rows int64)) (CopyReport, error) {
	if err := copyEngines(from, to); err != nil {
		return CopyReport{}, err
	}
	if err := sameSchemaVersion(ctx, from, to); err != nil {
		return CopyReport{}, err
	}
	plan, err := copyPlan(ctx, from, to)
	if err != nil {
		return CopyReport{}, err
	}
	src, err := from.db.Conn(ctx)
	if err != nil {
		return CopyReport{}, fmt.Errorf("storage: copy: %w", err)
	}
	defer src.Close()
	// A deferred transaction (not the DSN's BEGIN IMMEDIATE): a snapshot that blocks no
	// writer, taken at the first read.
	if _, err := src.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return CopyReport{}, fmt.Errorf("storage: copy: read transaction: %w", err)
	}
	defer src.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	dst, err := to.db.Conn(ctx)
	if err != nil {
		return CopyReport{}, fmt.Errorf("storage: copy: %w", err)
	}
	defer dst.Close()
	var report CopyReport
	err = dst.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the target's driver is %T, not pgx", driverConn)
		}
		var err error
		report, err = copyInto(ctx, pc.Conn(), src, plan, progress)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrTargetNotEmpty) {
			return report, err
		}
		return report, fmt.Errorf("storage: copy: %w", err)
	}
	return report, nil
}

// copyEngines checks the copy goes from SQLite to PostgreSQL.
func copyEngines(from, to *DB) error {
	if from.Engine() != SQLite {
		return fmt.Errorf("storage: copy: the source must be a SQLite database, not %s", from.Engine())
	}
	if to.Engine() != Postgres {
		return fmt.Errorf("storage: copy: the target must be a PostgreSQL database, not %s", to.Engine())
	}
	return nil
}

// sameSchemaVersion refuses two databases at different migrations: their tables differ.
func sameSchemaVersion(ctx context.Context, from, to *DB) error {
	fv, err := from.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	tv, err := to.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if fv != tv {
		return fmt.Errorf("storage: copy: the source is at schema version %d and the target at %d: "+
			"open both with the same Paydesk version (it migrates them) before copying", fv, tv)
	}
	return nil
}

// copyInto runs the copy's PostgreSQL transaction on pc.
func copyInto(ctx context.Context, pc *pgx.Conn, src *Conn, plan []copyTable, progress func(string, int64)) (CopyReport, error) {
	var report CopyReport
	tx, err := pc.Begin(ctx)
	if err != nil {
		return report, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// No Paydesk instance writes meanwhile, and two copies do not interleave.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writersLock); err != nil {
		return report, err
	}
	if err := targetEmpty(ctx, tx, plan); err != nil {
		return report, err
	}
	// Indexes are built once, after the rows are in, rather than row by row: a sorted
	// build is several times faster (the GIN index of the search most of all).
	indexes, err := dropIndexes(ctx, tx)
	if err != nil {
		return report, err
	}
	for _, t := range plan {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+quoteName(t.name)+" DISABLE TRIGGER USER"); err != nil {
			return report, fmt.Errorf("turn the triggers of %s off: %w", t.name, err)
		}
		if seededTables[t.name] {
			if _, err := tx.Exec(ctx, "DELETE FROM "+quoteName(t.name)); err != nil {
				return report, fmt.Errorf("empty %s: %w", t.name, err)
			}
		}
	}
	start := time.Now()
	for _, t := range plan {
		n, err := copyTableRows(ctx, tx, src, t, progress, &report)
		if err != nil {
			return report, err
		}
		report.Tables = append(report.Tables, CopiedTable{Name: t.name, Rows: n, Columns: t.columns})
		report.Rows += n
	}
	if err := buildIndexes(ctx, tx, indexes, progress); err != nil {
		return report, err
	}
	for _, t := range plan {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+quoteName(t.name)+" ENABLE TRIGGER USER"); err != nil {
			return report, fmt.Errorf("turn the triggers of %s on: %w", t.name, err)
		}
	}
	// Identity sequences do not move for explicit ids: the next default id would collide.
	if _, err := tx.Exec(ctx, "SELECT paydesk_reset_identities()"); err != nil {
		return report, fmt.Errorf("reset the identities: %w", err)
	}
	// The notification triggers were off: tell any instance already listening.
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", changesChannel); err != nil {
		return report, err
	}
	if err := tx.Commit(ctx); err != nil {
		return report, fmt.Errorf("commit: %w", err)
	}
	report.Elapsed = time.Since(start)
	// The planner's statistics, which a fresh COPY leaves empty until autovacuum passes.
	if _, err := pc.Exec(ctx, "ANALYZE"); err != nil {
		return report, fmt.Errorf("analyze: %w", err)
	}
	return report, nil
}

// pgIndex is an index dropped for the copy, with the statement that creates it again.
type pgIndex struct{ name, def string }

// dropIndexes drops the target's indexes that no constraint owns (primary keys and UNIQUE
// constraints stay: foreign keys need them) and returns them to build again. A UNIQUE
// index among them is checked when built: a duplicate fails the copy then.
func dropIndexes(ctx context.Context, tx pgx.Tx) ([]pgIndex, error) {
	rows, err := tx.Query(ctx, `SELECT x.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND t.relname <> 'schema_migrations'
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
		ORDER BY x.relname`)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgIndex, error) {
		var x pgIndex
		return x, r.Scan(&x.name, &x.def)
	})
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, x := range indexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+quoteName(x.name)); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", x.name, err)
		}
	}
	return indexes, nil
}

// buildIndexes creates the indexes dropIndexes dropped, with more sort memory than the
// default for the largest.
func buildIndexes(ctx context.Context, tx pgx.Tx, indexes []pgIndex, progress func(string, int64)) error {
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	for i, x := range indexes {
		if _, err := tx.Exec(ctx, x.def); err != nil {
			return fmt.Errorf("build index %s: %w", x.name, err)
		}
		if progress != nil {
			progress("index "+x.name, int64(i+1))
		}
	}
	return nil
}

// targetEmpty returns ErrTargetNotEmpty, naming the tables, when any table of the plan
// but the seeded ones holds a row.
func targetEmpty(ctx context.Context, tx pgx.Tx, plan []copyTable) error {
	var full []string
	for _, t := range plan {
		if seededTables[t.name] {
			continue
		}
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+quoteName(t.name)+")").Scan(&any); err != nil {
			return fmt.Errorf("look into %s: %w", t.name, err)
		}
		if any {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("storage: copy: %w: %s hold rows; copy only into a new, empty database",
			ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// copyTableRows copies one table with COPY … FROM STDIN (pgx's CopyFrom, binary).
func copyTableRows(ctx context.Context, tx pgx.Tx, src *Conn, t copyTable, progress func(string, int64), report *CopyReport) (int64, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = quoteName(c)
	}
	rows, err := src.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+quoteName(t.name))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	r := &copyRows{rows: rows, t: t, progress: progress, replaced: make([]int64, len(t.columns)),
		read: make([]any, len(t.columns)), dest: make([]any, len(t.columns)), out: make([]any, len(t.columns))}
	for i := range r.read {
		r.dest[i] = &r.read[i]
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, r)
	if err != nil {
		if r.err != nil {
			return 0, r.err
		}
		return 0, fmt.Errorf("copy %s (after %d rows): %w", t.name, r.n, err)
	}
	for i, k := range r.replaced {
		if k > 0 {
			report.Replaced = append(report.Replaced, ReplacedText{Table: t.name, Column: t.columns[i], Values: k})
		}
	}
	if progress != nil {
		progress(t.name, n)
	}
	return n, nil
}

// copyRows feeds CopyFrom the source's rows, converted to the target's types.
type copyRows struct {
	rows     *sql.Rows
	t        copyTable
	read     []any // the row as SQLite's driver returns it
	dest     []any // pointers into read
	out      []any // the row for PostgreSQL
	n        int64
	err      error
	progress func(string, int64)
	// replaced counts, per column, the values postgresText changed.
	replaced []int64
}

// Next reads and converts the next row.
func (r *copyRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.dest...); err != nil {
		r.err = fmt.Errorf("read %s: %w", r.t.name, err)
		return false
	}
	for i, v := range r.read {
		out, replaced, err := copyValue(v, r.t.types[i])
		if err != nil {
			r.err = fmt.Errorf("%s row %d (%s = %v), column %s: %w", r.t.name, r.n+1, r.t.columns[0], r.read[0], r.t.columns[i], err)
			return false
		}
		if replaced {
			r.replaced[i]++
		}
		r.out[i] = out
	}
	r.n++
	if r.progress != nil && r.n%copyProgressEvery == 0 {
		r.progress(r.t.name, r.n)
	}
	return true
}

// Values returns the row Next converted.
func (r *copyRows) Values() ([]any, error) { return r.out, nil }

// Err returns what stopped the rows early.
func (r *copyRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// copyValue converts a value read from SQLite (int64, float64, string, []byte or nil) to
// what the PostgreSQL column of type pgType takes, and tells whether postgresText had to
// replace characters. SQLite's STRICT tables already hold the right types; its other
// tables may hold, say, text in a BLOB column.
func copyValue(v any, pgType string) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	switch pgType {
	case "int8", "int4", "int2":
		switch x := v.(type) {
		case int64:
			return x, false, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), false, nil
			}
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n, false, nil
			}
		}
		return nil, false, fmt.Errorf("%T %v is not an integer", v, v)
	case "text", "varchar": // the schema has no fixed-length text columns
		switch x := v.(type) {
		case string:
			t, replaced := postgresText(x)
			return t, replaced, nil
		case []byte:
			t, replaced := postgresText(string(x))
			return t, replaced, nil
		case int64:
			return strconv.FormatInt(x, 10), false, nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), false, nil
		}
		return nil, false, fmt.Errorf("%T is not text", v)
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, false, nil
		case string:
			return []byte(x), false, nil
		}
		return nil, false, fmt.Errorf("%T is not bytes", v)
	case "float8", "float4":
		switch x := v.(type) {
		case float64:
			return x, false, nil
		case int64:
			return float64(x), false, nil
		}
		return nil, false, fmt.Errorf("%T is not a number", v)
	case "bool":
		if x, ok := v.(int64); ok {
			return x != 0, false, nil
		}
		return nil, false, fmt.Errorf("%T is not 0 or 1", v)
	}
	return v, false, nil
}

// postgresText returns s as PostgreSQL text can hold it: bytes that are not UTF-8 and NUL
// characters, which SQLite keeps and PostgreSQL refuses, become U+FFFD (as
// strings.ToValidUTF8 does). Where it changes a value, CopyReport.Replaced says so.
func postgresText(s string) (string, bool) {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD"), true
}

// quoteName quotes a table or column name for both engines.
func quoteName(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// copyPlan lists the tables to copy, parents before children, each with the columns both
// databases have. It refuses a table or column the source has and the target lacks (its
// data would be lost) and a table the target has and the source lacks.
func copyPlan(ctx context.Context, from, to *DB) ([]copyTable, error) {
	srcTables, err := sqliteTables(ctx, from)
	if err != nil {
		return nil, err
	}
	dstCols, err := postgresColumns(ctx, to)
	if err != nil {
		return nil, err
	}
	var plan []copyTable
	for name := range srcTables {
		if _, ok := dstCols[name]; !ok {
			return nil, fmt.Errorf("storage: copy: the source's table %s has no counterpart on PostgreSQL", name)
		}
	}
	for name, cols := range dstCols {
		srcCols, ok := srcTables[name]
		if !ok {
			return nil, fmt.Errorf("storage: copy: the target's table %s has no counterpart in the source", name)
		}
		t := copyTable{name: name}
		have := map[string]bool{}
		for _, c := range cols {
			have[c.name] = true
			if c.generated || !slices.Contains(srcCols, c.name) {
				continue
			}
			t.columns = append(t.columns, c.name)
			t.types = append(t.types, c.pgType)
		}
		for _, c := range srcCols {
			if !have[c] {
				return nil, fmt.Errorf("storage: copy: the source's column %s.%s has no counterpart on PostgreSQL", name, c)
			}
		}
		if len(t.columns) == 0 {
			return nil, fmt.Errorf("storage: copy: table %s has no column to copy", name)
		}
		plan = append(plan, t)
	}
	parents, err := foreignKeys(ctx, to)
	if err != nil {
		return nil, err
	}
	return parentsFirst(plan, parents)
}

// sqliteTables returns the source's ordinary tables (not SQLite's own, not virtual tables
// such as payments_fts nor their shadow tables, not schema_migrations) with their stored
// columns (not generated ones).
func sqliteTables(ctx context.Context, db *DB) (map[string][]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("storage: copy: source tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("storage: copy: source tables: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: copy: source tables: %w", err)
	}
	out := map[string][]string{}
	for _, n := range names {
		// hidden: 0 stored, 1 hidden (virtual tables), 2 and 3 generated.
		rows, err := db.db.QueryContext(ctx, "SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid", n)
		if err != nil {
			return nil, fmt.Errorf("storage: copy: columns of %s: %w", n, err)
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("storage: copy: columns of %s: %w", n, err)
			}
			cols = append(cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("storage: copy: columns of %s: %w", n, err)
		}
		out[n] = cols
	}
	return out, nil
}

// pgColumn is one column of a PostgreSQL table.
type pgColumn struct {
	name, pgType string
	generated    bool
}

// postgresColumns returns the target's tables (but schema_migrations) and their columns
// in order.
func postgresColumns(ctx context.Context, db *DB) (map[string][]pgColumn, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT c.table_name, c.column_name, c.udt_name, c.is_generated = 'ALWAYS'
		FROM information_schema.columns c JOIN information_schema.tables t
		  ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
		WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_migrations'
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("storage: copy: target columns: %w", err)
	}
	defer rows.Close()
	out := map[string][]pgColumn{}
	for rows.Next() {
		var table string
		var c pgColumn
		if err := rows.Scan(&table, &c.name, &c.pgType, &c.generated); err != nil {
			return nil, fmt.Errorf("storage: copy: target columns: %w", err)
		}
		out[table] = append(out[table], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: copy: target columns: %w", err)
	}
	return out, nil
}

// foreignKeys returns, for each table of the target, the tables its foreign keys point to.
func foreignKeys(ctx context.Context, db *DB) (map[string][]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT child.relname, parent.relname
		FROM pg_constraint k JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
		WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("storage: copy: foreign keys: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, fmt.Errorf("storage: copy: foreign keys: %w", err)
		}
		out[child] = append(out[child], parent)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: copy: foreign keys: %w", err)
	}
	return out, nil
}

// parentsFirst orders the tables so that each comes after the tables it refers to (by
// name among those ready at once, so the order is always the same). A table referring to
// itself is fine only if its rows come parents first, as ids in order do.
func parentsFirst(plan []copyTable, parents map[string][]string) ([]copyTable, error) {
	slices.SortFunc(plan, func(a, b copyTable) int { return strings.Compare(a.name, b.name) })
	done := map[string]bool{}
	var out []copyTable
	for len(out) < len(plan) {
		progressed := false
		for _, t := range plan {
			if done[t.name] {
				continue
			}
			ready := true
			for _, p := range parents[t.name] {
				if p != t.name && !done[p] {
					ready = false
					break
				}
			}
			if ready {
				done[t.name] = true
				out = append(out, t)
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, t := range plan {
				if !done[t.name] {
					left = append(left, t.name)
				}
			}
			return nil, fmt.Errorf("storage: copy: the foreign keys of %s form a cycle", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// SQLiteSchemaVersion returns the schema version of the SQLite file at path without
// migrating it (0 when it has no migrations table), so that a caller can say it migrates
// a source before copying it.
func SQLiteSchemaVersion(ctx context.Context, path string) (int, error) {
	sdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("storage: open %s: %w", path, err)
	}
	defer sdb.Close()
	var has int
	if err := sdb.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&has); err != nil {
		return 0, fmt.Errorf("storage: schema version of %s: %w", path, err)
	}
	if has == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := sdb.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("storage: schema version of %s: %w", path, err)
	}
	return int(v.Int64), nil
}
