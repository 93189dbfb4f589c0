package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The bulk load on PostgreSQL (bulk.go has what both engines share). Rows are buffered and
// copied in with COPY, pgBulkChunk payments (and their refunds, approvals and events) at a
// time, in batch transactions of BatchRows payments as on SQLite. COPY returns no ids, so
// the loader hands them out itself: each batch transaction takes the writers' lock, reads
// the next value of each table's identity sequence, numbers its rows from there and moves
// the sequence past them before it commits. Every other writer takes the writers' lock
// first, so nobody takes an id in between; payments stay numbered 1, 2, 3… as
// LastPaymentID expects.
//
// What it drops and rebuilds, as on SQLite: the payments indexes not in bulkKept (among
// them the two GIN indexes of the search, which cost the most to keep row by row), the
// refunds' and approvals' indexes, the triggers of the summaries (refund_days_*,
// payment_counts_*) and the foreign keys of the refunds, approvals and events (a row's
// check locks its payment's row: a write per refund; ADD CONSTRAINT checks them all at
// once with one join). The search column (search_words) is computed by PostgreSQL as each
// row is copied: it is a generated column, there is no rebuild to save. At the end:
// VACUUM (ANALYZE) of the tables loaded, so that the planner knows the new rows and the
// list's index-only scans need not visit the table (the visibility map).
//
// Crash safety as on SQLite (recoverBulkLoad), with one more guard: the loader holds a
// session advisory lock (bulkLock) while it runs, and recovery runs only when it can take
// it — another instance starting during a load does not put the indexes back under it;
// a loader that dies loses its session and the lock with it.

// pgBulkChunk is how many payments are buffered before their rows are copied in.
const pgBulkChunk = 10_000

// bulkLock is the session advisory lock a PostgreSQL bulk load holds from start to finish.
const bulkLock = writersLock + 1

// pgRefundDaysRebuild is refundDaysRebuild in PostgreSQL's words: a group of
// refund_days_people takes one spelling of the people it groups without case (SQLite
// takes any of the group's; here the smallest), PostgreSQL refusing a column not grouped.
// And each summary is written in the order of its primary key: SQLite keeps these tables
// in that order itself (WITHOUT ROWID), PostgreSQL where the rows were inserted. A
// person's refund history reads their groups through the key: 13,571 rows for one
// requester on the million demo payments, 13,758 pages visited in insertion order (78 ms)
// and 665 in key order (22 ms).
var pgRefundDaysRebuild = func() []string {
	q := append([]string(nil), refundDaysRebuild...)
	q[1] = `INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
	SELECT min(r.requested_by), min(coalesce(ap.decided_by, '')), r.requested_at / 86400000, r.provider, r.currency, r.status,
		r.reason, count(*), sum(r.amount)
	FROM refunds r LEFT JOIN refund_approvals ap ON ap.refund_id = r.id AND ap.decision = 'approved'
	GROUP BY r.requested_by COLLATE nocase, 3, 5, coalesce(ap.decided_by, '') COLLATE nocase, 4, 6, 7
	ORDER BY min(r.requested_by) COLLATE nocase, 3, 5, min(coalesce(ap.decided_by, '')) COLLATE nocase, 4, 6, 7`
	q[3] += ` ORDER BY 1, 3, 2, 4, 5`
	q[5] += ` ORDER BY 1, 2, 3, 4`
	return q
}()

// pgBulk is the PostgreSQL state of a bulk load.
type pgBulk struct {
	// next is the next id of each of bulkTables, within the current batch.
	next [len(bulkTables)]int64
	// rows are each table's rows not yet copied in, the id first.
	rows [len(bulkTables)][][]any
	// anomalies are recorded once their payments' rows are in.
	anomalies []pgAnomaly
}

// pgAnomaly is a payment whose anomaly is to be recorded.
type pgAnomaly struct {
	row     Payment
	message string
}

// pgSequences reads or moves the identity sequences of bulkTables, in their order.
const pgSequences = `pg_get_serial_sequence('payments', 'id'), pg_get_serial_sequence('refunds', 'id'),
	pg_get_serial_sequence('refund_approvals', 'id'), pg_get_serial_sequence('events', 'id')`

// startPostgres sets the loading connection up, takes bulkLock, drops what the load
// rebuilds and begins the first batch.
func (l *BulkLoader) startPostgres() error {
	ctx := l.ctx
	l.pg = &pgBulk{}
	var locked bool
	if err := l.conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", bulkLock).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return errors.New("another bulk load is running")
	}
	// A batch that dies with the server is loaded again anyway (the load is cut short: its
	// caller starts over), so its commits need not wait for the disk; the indexes built at
	// the end sort in memory.
	for _, q := range []string{"SET synchronous_commit = off", "SET maintenance_work_mem = '512MB'"} {
		if _, err := l.conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	tx, err := l.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", writersLock); err != nil {
		tx.Rollback()
		return err
	}
	if err := l.dropForLoad(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	l.dropped = true
	return l.begin()
}

// pgBulkObjects lists what a bulk load drops on PostgreSQL, ordered by kind (constraint,
// index, trigger) then name: the foreign keys of the refunds, approvals and events, the
// payments indexes not in bulkKept and the refunds' and approvals' indexes (but those of
// a primary key or UNIQUE constraint), and the summaries' triggers.
func pgBulkObjects(ctx context.Context, tx *Tx) ([]bulkObject, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT 'constraint', k.conname, format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, k.conname, pg_get_constraintdef(k.oid)),
			format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, k.conname)
		FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
		WHERE k.contype = 'f' AND t.relnamespace = current_schema()::regnamespace
			AND t.relname IN ('refunds', 'refund_approvals', 'events')
		UNION ALL
		SELECT 'index', c.relname, pg_get_indexdef(i.indexrelid), format('DROP INDEX %I', c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace
			AND ((t.relname = 'payments' AND c.relname <> ALL (?)) OR t.relname IN ('refunds', 'refund_approvals'))
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = t.oid)
		UNION ALL
		SELECT 'trigger', g.tgname, pg_get_triggerdef(g.oid), format('DROP TRIGGER %I ON %I', g.tgname, t.relname)
		FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
		WHERE NOT g.tgisinternal AND t.relnamespace = current_schema()::regnamespace
			AND (g.tgname LIKE 'refund\_days\_%' OR g.tgname LIKE 'payment\_counts\_%')
		ORDER BY 1, 2`, bulkKept)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objects []bulkObject
	for rows.Next() {
		var o bulkObject
		if err := rows.Scan(&o.kind, &o.name, &o.create, &o.drop); err != nil {
			return nil, err
		}
		objects = append(objects, o)
	}
	return objects, rows.Err()
}

// begin starts a batch in tx: the writers' lock, then the next id of each table.
func (b *pgBulk) begin(ctx context.Context, tx *Tx) error {
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", writersLock); err != nil {
		return err
	}
	return b.takeIDs(ctx, tx)
}

// takeIDs reads the next id of each table from its sequence.
func (b *pgBulk) takeIDs(ctx context.Context, tx *Tx) error {
	n := &b.next
	return tx.QueryRowContext(ctx, `SELECT nextval(s[1]), nextval(s[2]), nextval(s[3]), nextval(s[4])
		FROM (SELECT ARRAY[`+pgSequences+`] AS s) q`).Scan(&n[0], &n[1], &n[2], &n[3])
}

// giveIDs moves each sequence to the next id the loader has not used.
func (b *pgBulk) giveIDs(ctx context.Context, tx *Tx) error {
	n := b.next
	_, err := tx.ExecContext(ctx, `SELECT setval(s[1], ?, false), setval(s[2], ?, false), setval(s[3], ?, false),
		setval(s[4], ?, false) FROM (SELECT ARRAY[`+pgSequences+`] AS s) q`, n[0], n[1], n[2], n[3])
	return err
}

// put buffers one row of table with the next id, and copies the buffered rows in every
// pgBulkChunk payments.
func (b *pgBulk) put(l *BulkLoader, table int, values []any) (int64, error) {
	id := b.next[table]
	b.next[table]++
	row := make([]any, 1, len(values)+1)
	row[0] = id
	for _, v := range values {
		if f, ok := v.(bool); ok {
			// The flags are 0/1 BIGINTs on both engines (handle.a does this for SQL).
			v = int64(0)
			if f {
				v = int64(1)
			}
		}
		row = append(row, v)
	}
	b.rows[table] = append(b.rows[table], row)
	if table == bulkPayments && len(b.rows[bulkPayments]) > pgBulkChunk {
		// The chunk is full: this payment (whose refunds are yet to come) starts the next.
		if err := b.flush(l, 1); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// flush copies the buffered rows in, but the last keep payments (0 or 1: a payment just
// buffered, whose refunds and events are yet to come; every row of the other tables
// belongs to the payments before it), then records the anomalies of the payments copied.
func (b *pgBulk) flush(l *BulkLoader, keep int) error {
	cut := len(b.rows[bulkPayments]) - keep
	if cut <= 0 {
		return nil
	}
	err := l.conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		for table, t := range bulkTables {
			rows := b.rows[table]
			n := len(rows)
			if table == bulkPayments {
				n = cut
			}
			if n == 0 {
				continue
			}
			cols := append([]string{"id"}, t.columns...)
			if _, err := c.CopyFrom(l.ctx, pgx.Identifier{t.name}, cols, pgx.CopyFromRows(rows[:n])); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			b.rows[table] = append(rows[:0:0], rows[n:]...)
		}
		return nil
	})
	if err != nil || len(b.anomalies) == 0 {
		return err
	}
	// The anomalies' events and audit entries take their ids from the sequences: moved past
	// the loader's ids first, read again after. (The kept payment's anomaly, if any, is
	// noted after this returns.)
	ctx := l.ctx
	if err := b.giveIDs(ctx, l.tx); err != nil {
		return err
	}
	for _, a := range b.anomalies {
		if err := l.db.applyAnomaly(ctx, l.tx, a.row, anomalyChange{now: a.message}, l.opt.Actor, a.row.UpdatedAt); err != nil {
			return err
		}
	}
	b.anomalies = nil
	return b.takeIDs(ctx, l.tx)
}

// end copies the batch's last rows in and moves the sequences past the ids used, before
// the batch commits.
func (b *pgBulk) end(l *BulkLoader, tx *Tx) error {
	if err := b.flush(l, 0); err != nil {
		return err
	}
	return b.giveIDs(l.ctx, tx)
}

// finish, after the restore (restoreErr), puts the connection's settings back, lets
// bulkLock go and has the tables vacuumed and analysed.
func (b *pgBulk) finish(ctx context.Context, l *BulkLoader, restoreErr error) error {
	// Rows of a batch rolled back are gone: the next load starts from nothing.
	b.rows = [len(bulkTables)][][]any{}
	b.anomalies = nil
	l.conn.ExecContext(ctx, "RESET synchronous_commit")
	var err error
	if restoreErr == nil && l.stats.Payments > 0 {
		// VACUUM cannot run in a transaction: on the connection, after the restore.
		_, err = l.conn.ExecContext(ctx, "VACUUM (ANALYZE) payments, refunds, refund_approvals, events, payment_counts, refund_days, refund_days_people, refund_day_totals")
	}
	l.conn.ExecContext(ctx, "RESET maintenance_work_mem")
	l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock(?)", bulkLock)
	if restoreErr != nil {
		return fmt.Errorf("storage: bulk load: restore indexes: %w", restoreErr)
	}
	if err != nil {
		return fmt.Errorf("storage: bulk load: vacuum: %w", err)
	}
	return nil
}

// recoverBulkLoadPostgres is recoverBulkLoad on PostgreSQL: it finishes a load only when
// no process runs it (bulkLock is free), on a connection holding that lock meanwhile.
func (db *DB) recoverBulkLoadPostgres(ctx context.Context) error {
	var pending bool
	if err := db.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM settings WHERE key = ?)", bulkSetting).Scan(&pending); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	if !pending {
		return nil
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", bulkLock).Scan(&locked); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	if !locked {
		return nil // a load is running: it will put everything back itself
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", bulkLock)
	var saved []byte
	err = conn.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", bulkSetting).Scan(&saved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // finished meanwhile
	}
	if err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	var restore []string
	if err := json.Unmarshal(saved, &restore); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	if err := runBulkRestore(ctx, conn, restore); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	return nil
}
