package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AuditRow is an audit entry with the public id of the payment it concerns ("" when none),
// for the audit page and its export.
type AuditRow struct {
	AuditEntry
	PaymentPublicID string
}

// auditRowSelect selects auditColumns and the payment's public id.
const auditRowSelect = `SELECT ` + auditColumns + `,
		coalesce((SELECT p.public_id FROM payments p WHERE p.id = audit_log.payment_id), '')`

// EachAuditRow is EachAudit with each entry's payment public id, read in the same query so
// a streamed export holds one connection only (a second query per row could starve the
// pool when several exports run at once).
//
// How it reads, measured on 200,000 entries: a page (Limit > 0) picks the ids through the
// filter's index and sorts only them (about 10 ms when every entry matches, instead of
// 260 ms sorting whole rows); an export (no Limit) walks the table in id order without an
// index, streaming in constant memory.
func (db *DB) EachAuditRow(ctx context.Context, f AuditFilter, fn func(AuditRow) error) error {
	where, args := f.where()
	query := auditRowSelect + ` FROM audit_log NOT INDEXED` + where + ` ORDER BY id DESC`
	if f.Limit > 0 {
		query = auditRowSelect + ` FROM audit_log WHERE id IN (SELECT id FROM audit_log` + where + `
			ORDER BY id DESC LIMIT ?) ORDER BY id DESC`
		args = append(args, f.Limit)
	}
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("storage: list audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		row, err := scanAuditRow(rows)
		if err != nil {
			return fmt.Errorf("storage: list audit: %w", err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storage: list audit: %w", err)
	}
	return nil
}

// ListAuditRows returns a page of EachAuditRow, newest first (Limit defaults to 100).
func (db *DB) ListAuditRows(ctx context.Context, f AuditFilter) ([]AuditRow, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []AuditRow
	err := db.EachAuditRow(ctx, f, func(r AuditRow) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// AuditEntryByID returns one audit entry (with its payment's public id), or ErrNotFound.
func (db *DB) AuditEntryByID(ctx context.Context, id int64) (AuditRow, error) {
	row, err := scanAuditRow(db.db.QueryRowContext(ctx, auditRowSelect+` FROM audit_log WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return row, fmt.Errorf("storage: audit entry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return row, fmt.Errorf("storage: audit entry %d: %w", id, err)
	}
	return row, nil
}

// scanAuditRow reads auditColumns followed by the payment's public id.
func scanAuditRow(s scannable) (AuditRow, error) {
	var row AuditRow
	var at int64
	var payment sql.NullInt64
	var data string
	e := &row.AuditEntry
	if err := s.Scan(&e.ID, &at, &e.Actor, &e.Remote, &e.Kind, &payment, &e.Message, &data, &e.PrevHash, &e.Hash, &row.PaymentPublicID); err != nil {
		return row, err
	}
	e.At = fromMS(at)
	e.PaymentID = payment.Int64
	e.Data = []byte(data)
	return row, nil
}
