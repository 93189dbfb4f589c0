// VerifyCopy: after CopyDatabase, the two databases compared (`paydesk migrate --to`).

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CopyCheck is what VerifyCopy found: the figures of both databases and what differs.
type CopyCheck struct {
	// Tables are the row counts of every table copied, by name.
	Tables []TableCount
	// Money are the totals per currency (payments: amount, captured, refunded; refunds:
	// amount by status), in a fixed order.
	Money []MoneyTotal
	// Audit is the audit chain on both sides.
	Audit AuditCompare
	// Differences say, one sentence each, what does not match; none when the copy is whole.
	Differences []string
	// Warnings say what is odd but the same on both sides (an audit chain already broken
	// in the source).
	Warnings []string
}

// OK tells whether everything compared is equal.
func (c CopyCheck) OK() bool { return len(c.Differences) == 0 }

// TableCount is one table's rows in the source and the target.
type TableCount struct {
	Name           string
	Source, Target int64
}

// MoneyTotal is one sum of money in the source and the target: Table.Column in Currency
// (and, for refunds, Status).
type MoneyTotal struct {
	Table, Column, Currency, Status string
	Source, Target                  int64
}

// Label names the total in a report: "refunds.amount EUR succeeded".
func (m MoneyTotal) Label() string {
	s := m.Table + "." + m.Column + " " + m.Currency
	if m.Status != "" {
		s += " " + m.Status
	}
	return s
}

// AuditCompare is the audit chain of both databases.
type AuditCompare struct {
	SourceEntries, TargetEntries int64
	// SourceLast and TargetLast are the hashes of the last entries ("" when none).
	SourceLast, TargetLast string
	// Source and Target are the chains verified, entry by entry.
	Source, Target AuditVerification
}

// moneySums are the money totals VerifyCopy compares: the same SQL on both engines, one
// row per group with its sums in the order of the columns named.
var moneySums = []struct {
	table   string
	status  bool // grouped by status too
	columns []string
}{
	{"payments", false, []string{"amount", "captured", "refunded"}},
	{"refunds", true, []string{"amount"}},
}

// VerifyCopy compares the SQLite database from with the PostgreSQL database to after
// CopyDatabase: the row count of every table copied, the money totals per currency, and
// the audit chain (it verifies on the target, with as many entries and the same last hash
// as the source). It reads both and changes neither.
func VerifyCopy(ctx context.Context, from, to *DB) (CopyCheck, error) {
	var c CopyCheck
	if err := copyEngines(from, to); err != nil {
		return c, err
	}
	plan, err := copyPlan(ctx, from, to)
	if err != nil {
		return c, err
	}
	for _, t := range plan {
		tc := TableCount{Name: t.name}
		q := "SELECT count(*) FROM " + quoteName(t.name)
		if err := from.db.QueryRowContext(ctx, q).Scan(&tc.Source); err != nil {
			return c, fmt.Errorf("storage: verify copy: count %s: %w", t.name, err)
		}
		if err := to.db.QueryRowContext(ctx, q).Scan(&tc.Target); err != nil {
			return c, fmt.Errorf("storage: verify copy: count %s: %w", t.name, err)
		}
		c.Tables = append(c.Tables, tc)
		if tc.Source != tc.Target {
			c.Differences = append(c.Differences, fmt.Sprintf("table %s: %d rows in the source, %d in the target", t.name, tc.Source, tc.Target))
		}
	}
	for _, m := range moneySums {
		src, err := moneyOf(ctx, from, m.table, m.status, m.columns)
		if err != nil {
			return c, err
		}
		dst, err := moneyOf(ctx, to, m.table, m.status, m.columns)
		if err != nil {
			return c, err
		}
		keys := make([]string, 0, len(src))
		for k := range src {
			keys = append(keys, k)
		}
		for k := range dst {
			if _, ok := src[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			currency, status, _ := strings.Cut(k, "\x00")
			for i, col := range m.columns {
				t := MoneyTotal{Table: m.table, Column: col, Currency: currency, Status: status}
				if v, ok := src[k]; ok {
					t.Source = v[i]
				}
				if v, ok := dst[k]; ok {
					t.Target = v[i]
				}
				c.Money = append(c.Money, t)
				if t.Source != t.Target {
					c.Differences = append(c.Differences, fmt.Sprintf("%s: %d in the source, %d in the target", t.Label(), t.Source, t.Target))
				}
			}
		}
	}
	if err := c.compareAudit(ctx, from, to); err != nil {
		return c, err
	}
	return c, nil
}

// moneyOf sums columns of table per currency (and status), keyed "currency\x00status".
func moneyOf(ctx context.Context, db *DB, table string, byStatus bool, columns []string) (map[string][]int64, error) {
	sel, group := "currency, ''", "currency"
	if byStatus {
		sel, group = "currency, status", "currency, status"
	}
	sums := make([]string, len(columns))
	for i, col := range columns {
		sums[i] = "CAST(coalesce(sum(" + quoteName(col) + "), 0) AS BIGINT)"
	}
	rows, err := db.db.QueryContext(ctx, "SELECT "+sel+", "+strings.Join(sums, ", ")+" FROM "+quoteName(table)+" GROUP BY "+group)
	if err != nil {
		return nil, fmt.Errorf("storage: verify copy: sums of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var currency, status string
		v := make([]int64, len(columns))
		dest := []any{&currency, &status}
		for i := range v {
			dest = append(dest, &v[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("storage: verify copy: sums of %s: %w", table, err)
		}
		out[currency+"\x00"+status] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: verify copy: sums of %s: %w", table, err)
	}
	return out, nil
}

// compareAudit verifies the audit chain on both sides and compares their ends.
func (c *CopyCheck) compareAudit(ctx context.Context, from, to *DB) error {
	a := &c.Audit
	var err error
	if a.SourceEntries, a.SourceLast, err = auditEnd(ctx, from); err != nil {
		return err
	}
	if a.TargetEntries, a.TargetLast, err = auditEnd(ctx, to); err != nil {
		return err
	}
	if a.Source, err = from.VerifyAudit(ctx); err != nil {
		return err
	}
	if a.Target, err = to.VerifyAudit(ctx); err != nil {
		return err
	}
	if a.SourceEntries != a.TargetEntries {
		c.Differences = append(c.Differences, fmt.Sprintf("audit log: %d entries in the source, %d in the target", a.SourceEntries, a.TargetEntries))
	}
	if a.SourceLast != a.TargetLast {
		c.Differences = append(c.Differences, fmt.Sprintf("audit log: the last hash is %s in the source, %s in the target", orNone(a.SourceLast), orNone(a.TargetLast)))
	}
	switch {
	case a.Target.OK:
	case !a.Source.OK && a.Source.FirstBroken == a.Target.FirstBroken:
		// The copy is faithful: the chain was broken before it (`paydesk audit verify`).
		c.Warnings = append(c.Warnings, fmt.Sprintf("audit log: the chain was already broken in the source, and is in the same place in the target: %s", a.Source.Problem))
	default:
		c.Differences = append(c.Differences, "audit log: the chain does not verify in the target: "+a.Target.Problem)
	}
	return nil
}

// auditEnd returns how many audit entries db holds and the last one's hash.
func auditEnd(ctx context.Context, db *DB) (int64, string, error) {
	var n int64
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM audit_log").Scan(&n); err != nil {
		return 0, "", fmt.Errorf("storage: verify copy: audit entries: %w", err)
	}
	var last string
	err := db.db.QueryRowContext(ctx, "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("storage: verify copy: last audit hash: %w", err)
	}
	return n, last, nil
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
