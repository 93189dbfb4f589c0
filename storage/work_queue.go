package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// QueueCount is one kind of work on the dashboard: how many wait, and the oldest's time
// (zero when none waits).
type QueueCount struct {
	N      int
	Oldest time.Time
}

// WorkQueueFilter says which of the work queue's counts to work out (each role sees what
// it can act on) and where "recent" starts.
type WorkQueueFilter struct {
	// Since is where recent failures and decisions start (the dashboard passes the start
	// of a UTC day, so that its links to the list can name the same day).
	Since time.Time
	// Links counts the cancelling payments without a live payer link and the links
	// waiting for the payer or abandoned (the people who can make links).
	Links bool
	// Approvals counts the refunds awaiting approval and not expired (managers).
	Approvals bool
	// Mine, when set, counts that person's refund requests decided since Since.
	Mine *Requester
}

// WorkQueue is every kind of "needs someone", each counted from an index (migration
// 0017 added the two that were missing); docs/benchmarks.md has the cost at a million
// payments. The payments list selects the same payments with PaymentFilter's
// Status, UnknownOutcome, Link, FailedSince and Anomaly.
type WorkQueue struct {
	// UnknownStatus: payments whose provider status is unknown; Oldest is the oldest's
	// creation.
	UnknownStatus QueueCount
	// UnknownOutcome: payments with an action whose outcome is unknown; Oldest is when
	// the oldest such action started.
	UnknownOutcome QueueCount
	// CancellingNoLink: cancelling payments (waiting for the payer's confirmation)
	// without a live payer link; Oldest is the oldest's creation.
	CancellingNoLink QueueCount
	// LinksWaiting and LinksAbandoned: live payer links the payer has not used yet, and
	// those the payer left without confirming; Oldest is the oldest link's creation.
	LinksWaiting, LinksAbandoned QueueCount
	// Approvals: refunds awaiting a manager's decision; Oldest is the oldest request.
	Approvals QueueCount
	// MyDecided: Mine's requests approved or rejected since Since; Oldest is the oldest
	// decision.
	MyDecided QueueCount
	// Failures: payments with an action or a refund that failed since Since; Oldest is
	// the oldest of those failures.
	Failures QueueCount
	// Anomalies: payments whose provider's answer cannot be right; Oldest is when
	// Paydesk first saw the oldest.
	Anomalies QueueCount
}

// The work queue's counts. The statuses' are kept by triggers (payment_counts, by
// provider, status and currency: a sum over a few rows);
// each other reads one index range: actions_state, payer_links_state_created,
// refunds_status (few rows awaiting approval), refunds_status_updated and
// refund_approvals_decided for what happened lately, payment_anomalies whole (a handful
// of rows).
const (
	// The count is kept by triggers (payment_counts, migration 0018); the oldest
	// is one seek in payments_status_created.
	queueUnknownStatusSQL = `SELECT (SELECT coalesce(sum(n), 0) FROM payment_counts WHERE status = 'unknown'),
		(SELECT created_at FROM payments WHERE status = 'unknown' ORDER BY created_at, id LIMIT 1)`
	// The second state term is the partial index's own WHERE, so that SQLite may use it.
	queueUnknownOutcomeSQL = `SELECT count(*), min(at) FROM (SELECT payment_id, min(started_at) AS at FROM actions
		WHERE state = 'unknown' AND state IN ('pending', 'unknown', 'needs_payer', 'failed') GROUP BY payment_id) AS firsts`
	// liveLinksSQL are the payments with a live payer link (payer_links_one_live).
	liveLinksSQL = `SELECT payment_id FROM payer_links WHERE state IN ('active', 'abandoned')`
	// The cancelling payments (a kept count) less those with a live link (a join from the
	// few live links: CROSS JOIN keeps them the outer loop, where SQLite chose to read the
	// 51,000 cancelling payments of the demo and look up each one's link, 5 ms); the
	// oldest walks the cancelling ones from the oldest and stops at the first without a
	// link.
	queueCancellingSQL = `SELECT (SELECT coalesce(sum(n), 0) FROM payment_counts WHERE status = 'cancelling')
			- (SELECT count(*) FROM payer_links l CROSS JOIN payments p ON p.id = l.payment_id
				WHERE l.state IN ('active', 'abandoned') AND p.status = 'cancelling'),
		(SELECT created_at FROM payments WHERE status = 'cancelling' AND id NOT IN (` + liveLinksSQL + `)
			ORDER BY created_at, id LIMIT 1)`
	queueLinksSQL         = `SELECT count(*), min(created_at) FROM payer_links WHERE state = ?`
	queueApprovalsSQL     = `SELECT count(*), min(requested_at) FROM refunds WHERE status = 'awaiting_approval' AND approval_expires_at > ?`
	queueFailuresSQL      = `SELECT count(*), min(at) FROM (SELECT payment_id, min(at) AS at FROM (` + failedSinceSQL + `) AS failed GROUP BY payment_id) AS firsts`
	queueAnomaliesSQL     = `SELECT count(*), min(since) FROM payment_anomalies`
	queueMyDecidedSQLHead = `SELECT count(*), min(a.decided_at) FROM refund_approvals a CROSS JOIN refunds r ON r.id = a.refund_id
		WHERE a.decided_at >= ? AND `
)

// failedSinceSQL lists (payment_id, at) for each action that failed since the first
// argument and each refund that failed since the second (a refund's updated_at is when
// it failed).
const failedSinceSQL = `SELECT payment_id, started_at AS at FROM actions
		WHERE state = 'failed' AND state IN ('pending', 'unknown', 'needs_payer', 'failed') AND started_at >= ?
	UNION ALL SELECT payment_id, updated_at FROM refunds WHERE status = 'failed' AND updated_at >= ?`

// WorkQueue counts what needs someone now: the counts f asks for, the others zero.
func (db *DB) WorkQueue(ctx context.Context, f WorkQueueFilter) (WorkQueue, error) {
	var q WorkQueue
	since := ms(f.Since)
	steps := []struct {
		dest *QueueCount
		sql  string
		args []any
		want bool
	}{
		{&q.UnknownStatus, queueUnknownStatusSQL, nil, true},
		{&q.UnknownOutcome, queueUnknownOutcomeSQL, nil, true},
		{&q.Failures, queueFailuresSQL, []any{since, since}, true},
		{&q.Anomalies, queueAnomaliesSQL, nil, true},
		{&q.CancellingNoLink, queueCancellingSQL, nil, f.Links},
		{&q.LinksWaiting, queueLinksSQL, []any{"active"}, f.Links},
		{&q.LinksAbandoned, queueLinksSQL, []any{"abandoned"}, f.Links},
		{&q.Approvals, queueApprovalsSQL, []any{ms(db.Now())}, f.Approvals},
	}
	if f.Mine != nil {
		cond, args := f.Mine.where("r.")
		steps = append(steps, struct {
			dest *QueueCount
			sql  string
			args []any
			want bool
		}{&q.MyDecided, queueMyDecidedSQLHead + cond, append([]any{since}, args...), true})
	}
	for _, s := range steps {
		if !s.want {
			continue
		}
		var oldest sql.NullInt64
		if err := db.db.QueryRowContext(ctx, s.sql, s.args...).Scan(&s.dest.N, &oldest); err != nil {
			return WorkQueue{}, fmt.Errorf("storage: work queue: %w", err)
		}
		s.dest.Oldest = nullMS(oldest)
	}
	return q, nil
}
