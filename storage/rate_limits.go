package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RateLimit is a budget shared by every instance of one database: Burst at once, then one
// back every Every (a token bucket, kept as the generic cell rate algorithm's one number).
type RateLimit struct {
	Every time.Duration
	Burst int
}

// params are the budget in milliseconds: the interval and the tolerance (Burst intervals).
func (l RateLimit) params() (interval, tolerance int64) {
	interval = max(l.Every.Milliseconds(), 1)
	return interval, interval * int64(max(l.Burst, 1))
}

// Spending is one statement on both engines: a budget seen for the first time starts full
// (the insert spends its first token); otherwise the spend goes through when the budget,
// after what came back since, still has a token, and is refused without spending
// otherwise. denied = 0 tells the caller it went through.
const (
	spendRateSQLite = `INSERT INTO rate_limits (key, tat, denied) VALUES (?1, ?5, 0)
		ON CONFLICT (key) DO UPDATE SET
			tat = CASE WHEN max(rate_limits.tat, ?2) + ?3 - ?2 <= ?4 THEN max(rate_limits.tat, ?2) + ?3 ELSE rate_limits.tat END,
			denied = CASE WHEN max(rate_limits.tat, ?2) + ?3 - ?2 <= ?4 THEN 0 ELSE rate_limits.denied + 1 END
		RETURNING tat, denied`
	spendRatePostgres = `INSERT INTO rate_limits (key, tat, denied) VALUES (?1, ?5, 0)
		ON CONFLICT (key) DO UPDATE SET
			tat = CASE WHEN GREATEST(rate_limits.tat, ?2) + ?3 - ?2 <= ?4 THEN GREATEST(rate_limits.tat, ?2) + ?3 ELSE rate_limits.tat END,
			denied = CASE WHEN GREATEST(rate_limits.tat, ?2) + ?3 - ?2 <= ?4 THEN 0 ELSE rate_limits.denied + 1 END
		RETURNING tat, denied`
)

// SpendRate spends one token of key's budget lim at now, for every instance at once. When
// none is left it spends nothing and reports false with how long until one is back.
//
// It is a single atomic statement, run outside the writers' lock and without telling the
// page cache (a spent budget changes no page; on PostgreSQL rate_limits has no change
// trigger either). On SQLite the commit still moves the data version, emptying the page
// cache: callers share budgets through the database only on PostgreSQL, where several
// instances serve (docs/postgres.md).
func (db *DB) SpendRate(ctx context.Context, key string, lim RateLimit, now time.Time) (ok bool, wait time.Duration, err error) {
	interval, tolerance := lim.params()
	at := now.UnixMilli()
	var tat, denied int64
	q := db.db.q(db.pick(spendRateSQLite, spendRatePostgres))
	if err := db.db.DB.QueryRowContext(ctx, q, key, at, interval, tolerance, at+interval).Scan(&tat, &denied); err != nil {
		return false, 0, fmt.Errorf("storage: spend rate limit: %w", err)
	}
	if denied == 0 {
		return true, 0, nil
	}
	return false, time.Duration(max(tat+interval-tolerance-at, 0)) * time.Millisecond, nil
}

// RateLimited reports whether key's budget lim has no token left at now (a read: nothing
// is spent), and how long until one is back.
func (db *DB) RateLimited(ctx context.Context, key string, lim RateLimit, now time.Time) (bool, time.Duration, error) {
	interval, tolerance := lim.params()
	var tat int64
	err := db.db.QueryRowContext(ctx, "SELECT tat FROM rate_limits WHERE key = ?", key).Scan(&tat)
	if errors.Is(err, sql.ErrNoRows) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("storage: read rate limit: %w", err)
	}
	wait := tat + interval - tolerance - now.UnixMilli()
	if wait <= 0 {
		return false, 0, nil
	}
	return true, time.Duration(wait) * time.Millisecond, nil
}

// SweepRateLimits deletes the budgets that are whole again at now (maintenance): a
// missing row is a whole budget. It returns how many it deleted.
func (db *DB) SweepRateLimits(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.db.DB.ExecContext(ctx, db.db.q("DELETE FROM rate_limits WHERE tat <= ?"), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: sweep rate limits: %w", err)
	}
	return res.RowsAffected()
}
