// refund_day_totals (migrations 0006 and 0007) kept in memory for as long as its version
// stays the same, and added up there for the refund history's common views.

package storage

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
)

// refundDayGroup is one group of refund_day_totals.
type refundDayGroup struct {
	day                        int64
	currency, provider, status string
	n, amount                  int64
}

// refundDayTotalsCache is refund_day_totals as it was at one refund_summary_version
// (migration 0007): triggers add one to the version whenever the table changes, in the
// same transaction, so groups read at version v are the table for as long as the version
// reads v. The groups are never changed once kept: readers share them.
type refundDayTotalsCache struct {
	mu      sync.Mutex // held while the groups are read again: the others wait for them
	kept    bool
	version int64
	groups  []refundDayGroup // in the table's order: day, currency, provider, status
}

// refundDayTotals returns refund_day_totals' groups: those kept in memory while the
// summary's version stays the same (a query of one row, 2 µs), else read again (3,400
// groups for 209,476 refunds, once after each change to the refunds' totals).
func (db *DB) refundDayTotals(ctx context.Context) ([]refundDayGroup, error) {
	c := &db.dayTotals
	c.mu.Lock()
	defer c.mu.Unlock()
	// The version is read once the lock is held: a request that waited while another read
	// the groups again finds them current, instead of reading them once more.
	var v int64
	if err := db.db.QueryRowContext(ctx, `SELECT v FROM refund_summary_version`).Scan(&v); err != nil {
		return nil, err
	}
	if c.kept && c.version == v {
		return c.groups, nil
	}
	groups, err := readRefundDayTotals(ctx, db.db, len(c.groups)+len(c.groups)/8)
	if err != nil {
		return nil, fmt.Errorf("refund_day_totals: %w", err)
	}
	// The groups were read after the version: they are v's or a later change's. Kept as
	// v's, a later change's groups are read again by the next page, whose version is no
	// longer v; groups older than their version can never be kept.
	c.kept, c.version, c.groups = true, v, groups
	return groups, nil
}

// readRefundDayTotals reads every group of refund_day_totals, in the table's order, into
// a slice made for about size groups (growing it took a third of the time). Each value is
// scanned into an any, which database/sql hands over as the driver gives it (int64 or
// string), where into an *int64 it converts by reflection (as refundRowScanner does).
func readRefundDayTotals(ctx context.Context, x execer, size int) ([]refundDayGroup, error) {
	rows, err := x.QueryContext(ctx, `SELECT day, currency, provider, status, n, amount FROM refund_day_totals
		ORDER BY day, currency, provider, status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := make([]refundDayGroup, 0, size)
	var day, currency, provider, status, n, amount any
	for rows.Next() {
		if err := rows.Scan(&day, &currency, &provider, &status, &n, &amount); err != nil {
			return nil, err
		}
		var g refundDayGroup
		var ok [6]bool
		g.day, ok[0] = day.(int64)
		g.currency, ok[1] = currency.(string)
		g.provider, ok[2] = provider.(string)
		g.status, ok[3] = status.(string)
		g.n, ok[4] = n.(int64)
		g.amount, ok[5] = amount.(int64)
		if ok != [6]bool{true, true, true, true, true, true} {
			return nil, fmt.Errorf("group %v %v %v %v: unexpected types", day, currency, provider, status)
		}
		groups = append(groups, g)
	}
	return groups, rows.Err()
}

// sumRefundDayTotals is RefundSummary added up from refund_day_totals' groups (in the
// table's order) matching f, which filters on nothing but whole days, the provider, the
// currency and the status.
func sumRefundDayTotals(groups []refundDayGroup, f RefundFilter) RefundSummary {
	var from, to int64 = math.MinInt64, math.MaxInt64
	if !f.From.IsZero() {
		from = ms(f.From) / msPerDay
	}
	if !f.To.IsZero() {
		to = ms(f.To) / msPerDay
	}
	first, _ := slices.BinarySearchFunc(groups, from, func(g refundDayGroup, day int64) int { return cmp.Compare(g.day, day) })
	var b summaryBuilder
	for _, g := range groups[first:] {
		if g.day >= to {
			break
		}
		if (f.Provider != "" && g.provider != string(f.Provider)) || (f.Currency != "" && g.currency != f.Currency) ||
			(f.Status != "" && g.status != f.Status) {
			continue
		}
		var okN, okAmount int64
		if g.status == "succeeded" {
			okN, okAmount = g.n, g.amount
		}
		b.add(g.day, g.currency, g.n, g.amount, okN, okAmount)
	}
	return b.summary()
}
