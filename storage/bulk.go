package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// Bulk loading builds a large database fast: the demo's million payments, the
// benchmarks' data. UpsertPayment costs a transaction, lookups and a diff per payment;
// the BulkLoader only inserts new rows, with prepared statements, many thousand per
// transaction, on one connection with a large page cache.
//
// What it drops and rebuilds, measured on 200,000 demo payments (docs/benchmarks.md):
// keeping the full-text index in step row by row (the payments_fts_insert trigger) made
// the load twice as slow as one FTS5 'rebuild' at the end, and maintaining the secondary
// indexes row by row (random keys: e-mails, hashed ids) cost more than creating them once
// the rows are in. So the loader drops the FTS insert trigger and the payments indexes on
// random keys (see bulkKept), and puts them back at the end from their own stored SQL, in
// one transaction with the FTS rebuild. The refund history's daily summary is handled the
// same way: its triggers (refund_days_*) are dropped and the summary is rebuilt once, by
// refundDaysRebuild, in that transaction; so are the payments' counts (payment_counts_*,
// paymentCountsRebuild). A setting records that SQL while the load runs:
// if the process dies in the middle, Open finishes the job (recoverBulkLoad), so the
// database never stays without its indexes, with an incomplete search index or a stale
// summary.
//
// A bulk load assumes no other writer (the demo seeds before it serves): uniqueness is
// checked when the unique indexes come back, and a duplicate fails that last step.

// BulkOptions tune a bulk load.
type BulkOptions struct {
	// BatchRows is how many payments one transaction holds (default 100,000: on a
	// million payments, 20,000 took 5% longer, checkpointing the log more often).
	BatchRows int
	// Events writes the timeline of each payment as UpsertPayment and the refund
	// workflow would: "imported", and for each refund request "refund_requested" and its
	// decision. Without it payments start with an empty timeline (faster; see
	// docs/benchmarks.md for the cost).
	Events bool
	// Actor is who the imported events name (default "import").
	Actor string
	// CacheMB is the loading connection's page cache (default 256 MB; put back after).
	CacheMB int
	// RawCompact says the snapshots' raw JSON is compact already — the providers' demo
	// makers write it so (providers.Envelope.Encode) — and need not be scanned and copied
	// again: 5 s of CPU on a million payments (docs/benchmarks.md). Leave it off for JSON
	// from anywhere else.
	RawCompact bool
}

// BulkPayment is one new payment for the bulk loader: what the provider says of it, and
// the refunds staff asked for through Paydesk.
type BulkPayment struct {
	Snapshot providers.Snapshot
	// Requests are refunds requested through Paydesk. A request whose ProviderRefundID
	// names one of the snapshot's refunds is that refund: it is stored once, with the
	// provider's status and the request's requester, reason and decision. The others never
	// reached the provider (rejected, expired, awaiting approval, refused…).
	Requests []BulkRefund

	// What Prepare works out, so that Add only inserts.
	row      Payment      // the payments row
	plan     []refundSync // the provider's refunds, as UpsertPayment would store them
	event    [2]string    // the imported event's message and data
	anomaly  string       // what the provider's answer cannot be (anomalies.go), "" mostly
	prepared bool
}

// BulkRefund is a refund requested through Paydesk, with the manager's decision if any.
type BulkRefund struct {
	ProviderRefundID string
	Amount           int64 // minor units of the payment's currency
	// Status is one of RefundStatuses; ignored (the provider's is kept) when the request is
	// one of the snapshot's refunds.
	Status      string
	Reason      string // one of RefundReasons' codes
	Note        string
	RequestedBy string
	RequestedAt time.Time
	// ApprovalExpiresAt is set for requests that waited (or wait) for a manager.
	ApprovalExpiresAt time.Time
	Message           string
	// Decision is "approved", "rejected" or "" (none), by DecidedBy at DecidedAt.
	Decision       string
	DecidedBy      string
	DecisionReason string
	DecidedAt      time.Time
}

// BulkStats says what a bulk load wrote and how long it took.
type BulkStats struct {
	Payments, Refunds, Approvals, Events int
	// Insert is the time spent inserting rows; Rebuild the time spent putting the
	// indexes and the search index back.
	Insert, Rebuild time.Duration
}

// bulkSetting is the settings key holding the SQL a bulk load must run to finish.
const bulkSetting = "storage.bulk_load.restore"

// refundDaysRebuild fills the refund history's daily summaries (migrations 0005, 0006)
// from the refunds and moves their version on (0007), as their triggers would have row by
// row: a bulk load drops those triggers (on a million payments they would run 200,000
// times, about three upserts each) and runs this once at the end, after the indexes are
// back and before the triggers are (refund_day_totals' triggers fire on refund_days: 1.3 s
// for its 16,000 groups).
// paymentCountsRebuild fills the payments' counts by provider, status and currency
// (migration 0018) once, where its triggers would have upserted a row per payment.
var paymentCountsRebuild = []string{
	`DELETE FROM payment_counts`,
	`INSERT INTO payment_counts (provider, status, currency, n)
	SELECT provider, status, currency, count(*) FROM payments GROUP BY provider, status, currency`,
}

var refundDaysRebuild = []string{
	`DELETE FROM refund_days_people`,
	`INSERT INTO refund_days_people (requested_by, approved_by, day, provider, currency, status, reason, n, amount)
	SELECT r.requested_by, coalesce(ap.decided_by, ''), r.requested_at / 86400000, r.provider, r.currency, r.status,
		r.reason, count(*), sum(r.amount)
	FROM refunds r LEFT JOIN refund_approvals ap ON ap.refund_id = r.id AND ap.decision = 'approved'
	GROUP BY r.requested_by COLLATE NOCASE, 3, 5, coalesce(ap.decided_by, '') COLLATE NOCASE, 4, 6, 7`,
	// refund_days adds up the people's groups (50,000 rows to sort on the million
	// payments, not 200,000 refunds: 40 ms instead of 160).
	`DELETE FROM refund_days`,
	`INSERT INTO refund_days (day, provider, currency, status, reason, n, amount)
	SELECT day, provider, currency, status, reason, sum(n), sum(amount)
	FROM refund_days_people GROUP BY day, currency, provider, status, reason`,
	`DELETE FROM refund_day_totals`,
	`INSERT INTO refund_day_totals (day, currency, provider, status, n, amount)
	SELECT day, currency, provider, status, sum(n), sum(amount)
	FROM refund_days GROUP BY day, currency, provider, status`,
	// What a server keeps of refund_day_totals in memory is stale (migration 0007, whose
	// triggers, dropped with the others, would have counted every group of the rebuild).
	`UPDATE refund_summary_version SET v = v + 1`,
}

// bulkKept are the payments indexes a bulk load keeps up to date row by row: ordered by
// creation time, they are appended to (payments arrive in time order), which costs less
// than reading the whole 2 GB table again to build them. The refunds' and approvals'
// indexes are dropped and rebuilt like the others (a fifth of the rows, a fiftieth of the
// bytes: rebuilding them takes a second, maintaining them took three on the one core that
// inserts); the events' index is appended to (payment ids grow), so it is kept.
var bulkKept = []string{"payments_created", "payments_provider_created", "payments_status_created", "payments_currency_created",
	"payments_account_created"}

// BulkLoader inserts new payments in bulk; see NewBulkLoader. It is not safe for
// concurrent use.
type BulkLoader struct {
	db   *DB
	ctx  context.Context
	opt  BulkOptions
	conn *Conn
	tx   *Tx
	// stmts are the batch transaction's prepared inserts, one per bulkTables (SQLite).
	stmts [len(bulkTables)]*sql.Stmt
	// pg is the PostgreSQL side of the load (bulk_postgres.go); nil on SQLite.
	pg                *pgBulk
	restore           []string
	dropped           bool // the drops are committed: finish must restore
	oldCache, oldSync int64
	inBatch           int
	stats             BulkStats
	started           time.Time
	done              bool
}

// The tables a bulk load writes, in the order their rows must arrive (each refers to the
// ones before it), and the columns it gives them (the id aside: SQLite's rowid and
// PostgreSQL's identity columns, which the loader fills itself on PostgreSQL).
const (
	bulkPayments = iota
	bulkRefunds
	bulkApprovals
	bulkEvents
)

var bulkTables = [...]struct {
	name    string
	columns []string
}{
	bulkPayments: {"payments", []string{"public_id", "provider", "provider_payment_id", "session_id", "order_id",
		"merchant_reference", "amount", "captured", "refunded", "currency", "status", "raw_status", "state_detail", "error_code",
		"session_status", "method", "mode", "voided", "instant", "validate_uri", "customer_name", "customer_email", "card_last4",
		"description", "created_at", "updated_at", "raw_json", "account"}},
	bulkRefunds: {"refunds", []string{"payment_id", "amount", "currency", "status", "reason", "note", "requested_by",
		"requested_at", "approval_expires_at", "provider_refund_id", "message", "updated_at", "provider",
		"payment_public_id", "customer_name"}},
	bulkApprovals: {"refund_approvals", []string{"refund_id", "decided_by", "decision", "reason", "decided_at",
		"amount", "currency", "payment_id"}},
	bulkEvents: {"events", []string{"payment_id", "at", "actor", "kind", "message", "data"}},
}

// NewBulkLoader starts a bulk load: it takes a connection of its own, drops the FTS insert
// trigger, the refund summary's triggers and the indexes on random keys (remembering how
// to put them back) and opens the first batch. Add payments, then Close; on any error call
// Abort (Close and Abort are safe to call after either).
func (db *DB) NewBulkLoader(ctx context.Context, opt BulkOptions) (*BulkLoader, error) {
	if opt.BatchRows <= 0 {
		opt.BatchRows = 100_000
	}
	if opt.Actor == "" {
		opt.Actor = "import"
	}
	if opt.CacheMB <= 0 {
		opt.CacheMB = 256
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: bulk load: %w", err)
	}
	l := &BulkLoader{db: db, ctx: ctx, opt: opt, conn: conn, started: time.Now()}
	if err := l.start(); err != nil {
		l.Abort()
		return nil, fmt.Errorf("storage: bulk load: %w", err)
	}
	return l, nil
}

// start sets the connection up, drops what a bulk load rebuilds and begins the first batch.
func (l *BulkLoader) start() error {
	if l.db.db.engine == Postgres {
		return l.startPostgres()
	}
	ctx := l.ctx
	if err := l.conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&l.oldCache); err != nil {
		return err
	}
	if err := l.conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&l.oldSync); err != nil {
		return err
	}
	// A large cache keeps the B-trees being appended to in memory; "threads" lets the
	// sorter of CREATE INDEX use a helper thread; synchronous=OFF spares the load a
	// flush to disk at every checkpoint (finish flushes everything once, at the end).
	for _, p := range []string{fmt.Sprintf("PRAGMA cache_size = -%d", l.opt.CacheMB*1000), "PRAGMA threads = 2", "PRAGMA synchronous = OFF"} {
		if _, err := l.conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	tx, err := l.conn.BeginTx(ctx, nil)
	if err != nil {
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

// dropForLoad drops the FTS insert trigger, the refund summary's triggers, the payments
// indexes not in bulkKept and the refunds' and approvals' indexes, recording their SQL (and
// the summary's rebuild) in l.restore and in the settings (for recoverBulkLoad).
func (l *BulkLoader) dropForLoad(tx *Tx) error {
	ctx := l.ctx
	var pending []byte
	err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", bulkSetting).Scan(&pending)
	if err == nil {
		return errors.New("another bulk load is unfinished (reopen the database to finish it)")
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var objects []bulkObject
	if l.pg != nil {
		objects, err = pgBulkObjects(ctx, tx)
	} else {
		objects, err = sqliteBulkObjects(ctx, tx)
	}
	if err != nil {
		return err
	}
	// Indexes (and PostgreSQL's constraints) first (objects are ordered by kind), then the
	// summaries' rebuild, then the triggers: none of them fires during the rebuild.
	summary, counts := false, false
	for _, o := range objects {
		summary = summary || strings.HasPrefix(o.name, "refund_days_")
		counts = counts || strings.HasPrefix(o.name, "payment_counts_")
	}
	rebuild := func() {
		if summary {
			if l.pg != nil {
				l.restore = append(l.restore, pgRefundDaysRebuild...)
			} else {
				l.restore = append(l.restore, refundDaysRebuild...)
			}
			summary = false
		}
		if counts {
			l.restore = append(l.restore, paymentCountsRebuild...)
			counts = false
		}
	}
	for _, o := range objects {
		if o.kind == "trigger" {
			rebuild()
		}
		l.restore = append(l.restore, o.create)
	}
	rebuild()
	if len(objects) > 0 && l.pg == nil {
		// PostgreSQL's search column is computed as each row is written.
		l.restore = append(l.restore, "INSERT INTO payments_fts (payments_fts) VALUES ('rebuild')")
	}
	saved, err := json.Marshal(l.restore)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", bulkSetting, saved); err != nil {
		return err
	}
	for _, o := range objects {
		if _, err := tx.ExecContext(ctx, o.drop); err != nil {
			return fmt.Errorf("drop %s: %w", o.name, err)
		}
	}
	return nil
}

// bulkObject is an index, trigger or constraint a bulk load drops, with the SQL that
// drops it and the SQL that makes it again.
type bulkObject struct{ kind, name, create, drop string }

// sqliteBulkObjects lists what a bulk load drops on SQLite, ordered by kind then name.
func sqliteBulkObjects(ctx context.Context, tx *Tx) ([]bulkObject, error) {
	marks := strings.Repeat("?, ", len(bulkKept)-1) + "?"
	args := make([]any, len(bulkKept))
	for i, name := range bulkKept {
		args[i] = name
	}
	// Autoindexes (sql IS NULL: UNIQUE and PRIMARY KEY constraints) cannot be dropped.
	rows, err := tx.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_master
		WHERE (type = 'index' AND tbl_name = 'payments' AND sql IS NOT NULL AND name NOT IN (`+marks+`))
		   OR (type = 'index' AND tbl_name IN ('refunds', 'refund_approvals') AND sql IS NOT NULL)
		   OR (type = 'trigger' AND (name = 'payments_fts_insert' OR name LIKE 'refund\_days\_%' ESCAPE '\'
		        OR name LIKE 'payment\_counts\_%' ESCAPE '\'))
		ORDER BY type, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objects []bulkObject
	for rows.Next() {
		var o bulkObject
		if err := rows.Scan(&o.kind, &o.name, &o.create); err != nil {
			return nil, err
		}
		o.drop = "DROP " + strings.ToUpper(o.kind) + " " + o.name
		objects = append(objects, o)
	}
	return objects, rows.Err()
}

// begin opens a batch transaction and prepares its statements (SQLite) or takes the
// writers' lock and the next ids (PostgreSQL).
func (l *BulkLoader) begin() error {
	tx, err := l.conn.BeginTx(l.ctx, nil)
	if err != nil {
		return err
	}
	if l.pg != nil {
		err = l.pg.begin(l.ctx, tx)
	} else {
		for i, t := range bulkTables {
			query := "INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES (" +
				strings.Repeat("?, ", len(t.columns)-1) + "?)"
			if l.stmts[i], err = tx.PrepareContext(l.ctx, query); err != nil {
				break
			}
		}
	}
	if err != nil {
		tx.Rollback()
		return err
	}
	l.tx = tx
	l.inBatch = 0
	return nil
}

// commit ends the current batch transaction (on PostgreSQL, after copying its last rows
// in and moving the id sequences past them).
func (l *BulkLoader) commit() error {
	if l.tx == nil {
		return nil
	}
	tx := l.tx
	if l.pg != nil {
		if err := l.pg.end(l, tx); err != nil {
			l.tx = nil
			tx.Rollback()
			return err
		}
	}
	l.tx = nil
	return tx.Commit()
}

// put writes one row of table (one of bulkTables, its columns' values in order) in the
// current batch and returns its id: on SQLite at once, on PostgreSQL with an id the loader
// hands out, the rows being copied in by the hundred thousand (bulk_postgres.go).
func (l *BulkLoader) put(table int, values ...any) (int64, error) {
	if l.pg != nil {
		return l.pg.put(l, table, values)
	}
	res, err := l.stmts[table].ExecContext(l.ctx, values...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Prepare validates p and works out its rows, as Add would. Callers generating payments
// on several goroutines call it there (it is safe for concurrent use), so that Add, on
// one goroutine, only inserts. It reads nothing from the database.
func (l *BulkLoader) Prepare(p BulkPayment) (BulkPayment, error) {
	return l.db.prepareBulk(p, l.opt)
}

// prepareBulk is Prepare with the loader's options (Events: work out the imported
// event; RawCompact: take the raw JSON as it is).
func (db *DB) prepareBulk(p BulkPayment, opt BulkOptions) (BulkPayment, error) {
	snap, err := validateSnapshot(p.Snapshot, opt.RawCompact)
	if err != nil {
		return p, err
	}
	p.Snapshot = snap
	now := db.Now()
	p.row = mergeSnapshot(Payment{}, false, snap, now)
	bad := func(i int, format string, args ...any) error {
		return fmt.Errorf("storage: payment %s refund request %d: %w: %s", p.row.PublicID, i+1, ErrInvalidSnapshot, fmt.Sprintf(format, args...))
	}
	ids := map[string]bool{}
	for _, r := range snap.Refunds {
		ids[r.ID] = true
	}
	for i, r := range p.Requests {
		switch {
		case r.Amount <= 0:
			return p, bad(i, "amount %d is not positive", r.Amount)
		case r.Amount > snap.Amount:
			return p, bad(i, "amount %d is above the payment's %d", r.Amount, snap.Amount)
		case r.ProviderRefundID != "" && !ids[r.ProviderRefundID]:
			return p, bad(i, "provider refund %s is not one of the payment's", r.ProviderRefundID)
		case r.ProviderRefundID == "" && !validRefundStatus(r.Status):
			return p, bad(i, "unknown status %q", r.Status)
		case !validRefundReason(r.Reason):
			return p, bad(i, "unknown reason %q", r.Reason)
		case r.Reason == "other" && strings.TrimSpace(r.Note) == "":
			return p, bad(i, "the reason other needs a note")
		case strings.TrimSpace(r.RequestedBy) == "" || r.RequestedAt.IsZero():
			return p, bad(i, "no requester or request time")
		case r.Decision != "" && r.Decision != "approved" && r.Decision != "rejected":
			return p, bad(i, "unknown decision %q", r.Decision)
		case r.Decision != "" && (r.DecidedBy == "" || r.DecidedAt.IsZero()):
			return p, bad(i, "a decision needs who and when")
		case r.Decision != "" && strings.EqualFold(r.DecidedBy, r.RequestedBy):
			return p, fmt.Errorf("storage: payment %s refund request %d: %w", p.row.PublicID, i+1, ErrSelfApproval)
		}
	}
	for _, r := range snap.Refunds {
		at := r.CreatedAt
		if at.IsZero() {
			at = now
		}
		p.plan = append(p.plan, refundSync{ProviderID: r.ID, Amount: r.Amount, Currency: r.Currency,
			To: providerRefundStatus(r), Raw: r.Status, RequestedAt: at})
	}
	p.anomaly = anomalyOf(p.row, snap.Refunds)
	if opt.Events {
		data, err := json.Marshal(upsertEventData{Status: p.row.Status, Refunds: p.plan})
		if err != nil {
			return p, fmt.Errorf("storage: payment %s: event data: %w", p.row.PublicID, err)
		}
		p.event = [2]string{paymentCreatedMessage("imported", p.row, p.plan), string(data)}
	}
	p.prepared = true
	return p, nil
}

// Add inserts one new payment with its refunds (and, with Events, its timeline) and
// returns its row id. The batch commits every BatchRows payments. An error leaves the
// load to Abort.
func (l *BulkLoader) Add(p BulkPayment) (int64, error) {
	if l.done {
		return 0, errors.New("storage: bulk load: Add after Close or Abort")
	}
	if !p.prepared || (l.opt.Events && p.event[0] == "") {
		var err error
		if p, err = l.Prepare(p); err != nil {
			return 0, err
		}
	}
	if l.tx == nil {
		if err := l.begin(); err != nil {
			return 0, fmt.Errorf("storage: bulk load: %w", err)
		}
	}
	id, err := l.insert(p)
	if err != nil {
		return 0, fmt.Errorf("storage: bulk load: payment %s: %w", p.row.PublicID, err)
	}
	l.inBatch++
	if l.inBatch >= l.opt.BatchRows {
		if err := l.commit(); err != nil {
			return 0, fmt.Errorf("storage: bulk load: commit: %w", err)
		}
	}
	return id, nil
}

// insert writes one prepared payment in the current batch.
func (l *BulkLoader) insert(p BulkPayment) (int64, error) {
	ctx := l.ctx
	row := p.row
	now := row.UpdatedAt
	id, err := l.put(bulkPayments, row.PublicID, string(row.Provider), row.PaymentID, row.SessionID, row.OrderID,
		row.MerchantReference, row.Amount, row.Captured, row.Refunded, row.Currency, string(row.Status), row.RawStatus,
		row.StateDetail, row.ErrorCode, row.SessionStatus, row.Method, row.Mode, row.Voided, row.Instant, row.ValidateURI,
		row.CustomerName, row.CustomerEmail, row.CardLast4, row.Description, ms(row.CreatedAt), ms(now), string(row.Raw),
		providers.AccountOr(row.Account))
	if err != nil {
		return 0, err
	}
	l.stats.Payments++

	byProviderID := map[string]*BulkRefund{}
	for i := range p.Requests {
		if r := &p.Requests[i]; r.ProviderRefundID != "" {
			byProviderID[r.ProviderRefundID] = r
		}
	}
	// The provider's refunds, as UpsertPayment stores them, unless a request claims one.
	for _, item := range p.plan {
		msg := "Reported by the provider: " + item.Raw
		if req := byProviderID[item.ProviderID]; req != nil {
			if req.Message != "" {
				msg = req.Message
			}
			if err := l.insertRequest(id, row, *req, item.To, msg); err != nil {
				return 0, err
			}
			continue
		}
		if _, err := l.put(bulkRefunds, id, item.Amount, item.Currency, item.To, ProviderRefundReason, "", "provider",
			ms(item.RequestedAt), nil, item.ProviderID, msg, ms(now), string(row.Provider), row.PublicID, row.CustomerName); err != nil {
			return 0, err
		}
		l.stats.Refunds++
	}
	if l.opt.Events {
		if err := l.event(id, now, l.opt.Actor, "imported", p.event[0], p.event[1]); err != nil {
			return 0, err
		}
	}
	for _, req := range p.Requests {
		if req.ProviderRefundID != "" {
			continue
		}
		if err := l.insertRequest(id, row, req, req.Status, req.Message); err != nil {
			return 0, err
		}
	}
	if p.anomaly != "" {
		// Rare (generated data is consistent): recorded, on the timeline and audited as
		// UpsertPayment does, in the batch's transaction.
		row.ID = id
		if l.pg != nil {
			// After the payment's row is copied in (bulk_postgres.go).
			l.pg.anomalies = append(l.pg.anomalies, pgAnomaly{row, p.anomaly})
		} else if err := l.db.applyAnomaly(ctx, l.tx, row, anomalyChange{now: p.anomaly}, l.opt.Actor, now); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// insertRequest writes a refund requested through Paydesk, its decision and (with Events)
// its timeline lines.
func (l *BulkLoader) insertRequest(paymentID int64, p Payment, r BulkRefund, status, message string) error {
	var expires any
	if !r.ApprovalExpiresAt.IsZero() {
		expires = ms(r.ApprovalExpiresAt)
	}
	updated := r.RequestedAt
	if r.DecidedAt.After(updated) {
		updated = r.DecidedAt
	}
	refundID, err := l.put(bulkRefunds, paymentID, r.Amount, p.Currency, status, r.Reason, strings.TrimSpace(r.Note),
		r.RequestedBy, ms(r.RequestedAt), expires, r.ProviderRefundID, message, ms(updated), string(p.Provider),
		p.PublicID, p.CustomerName)
	if err != nil {
		return err
	}
	l.stats.Refunds++
	if r.Decision != "" {
		if _, err := l.put(bulkApprovals, refundID, r.DecidedBy, r.Decision, r.DecisionReason, ms(r.DecidedAt),
			r.Amount, p.Currency, paymentID); err != nil {
			return err
		}
		l.stats.Approvals++
	}
	if !l.opt.Events {
		return nil
	}
	money := providers.FormatMoney(r.Amount, p.Currency)
	msg := fmt.Sprintf("Refund of %s requested by %s (%s)", money, r.RequestedBy, RefundReasonLabel(r.Reason))
	if err := l.event(paymentID, r.RequestedAt, r.RequestedBy, "refund_requested", msg, "{}"); err != nil {
		return err
	}
	switch {
	case r.Decision == "approved":
		msg = fmt.Sprintf("Refund of %s requested by %s approved by %s", money, r.RequestedBy, r.DecidedBy)
		return l.event(paymentID, r.DecidedAt, r.DecidedBy, "refund_approved", msg, "{}")
	case r.Decision == "rejected":
		msg = fmt.Sprintf("Refund of %s requested by %s rejected by %s: %s", money, r.RequestedBy, r.DecidedBy, r.DecisionReason)
		return l.event(paymentID, r.DecidedAt, r.DecidedBy, "refund_rejected", msg, "{}")
	case status == "expired" && !r.ApprovalExpiresAt.IsZero():
		msg = fmt.Sprintf("Refund of %s requested by %s expired without a decision", money, r.RequestedBy)
		return l.event(paymentID, r.ApprovalExpiresAt, "system", "refund_expired", msg, "{}")
	}
	return nil
}

// event writes one timeline line.
func (l *BulkLoader) event(paymentID int64, at time.Time, actor, kind, message, data string) error {
	if _, err := l.put(bulkEvents, paymentID, ms(at), actor, kind, message, data); err != nil {
		return err
	}
	l.stats.Events++
	return nil
}

// Close commits the last batch, puts the indexes back, rebuilds the search index and
// releases the connection.
func (l *BulkLoader) Close() (BulkStats, error) {
	if l.done {
		return l.stats, nil
	}
	if err := l.commit(); err != nil {
		l.Abort()
		return l.stats, fmt.Errorf("storage: bulk load: commit: %w", err)
	}
	l.stats.Insert = time.Since(l.started)
	err := l.finish()
	l.stats.Rebuild = time.Since(l.started) - l.stats.Insert
	return l.stats, err
}

// Abort rolls the current batch back (earlier batches stay), puts the indexes back and
// releases the connection. It is a no-op after Close.
func (l *BulkLoader) Abort() {
	if l.done {
		return
	}
	if l.tx != nil {
		l.tx.Rollback()
		l.tx = nil
	}
	l.finish()
}

// finish puts back what start dropped (with a fresh context: an aborted load must still
// leave the database whole) and releases the connection.
func (l *BulkLoader) finish() error {
	l.done = true
	defer l.conn.Close()
	ctx := context.WithoutCancel(l.ctx)
	var err error
	if l.dropped {
		err = runBulkRestore(ctx, l.conn, l.restore)
	}
	if l.pg != nil {
		return l.pg.finish(ctx, l, err)
	}
	// The connection goes back to the pool with its usual settings, and a checkpoint
	// with them writes the whole load to disk (and empties the write-ahead log).
	l.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", l.oldCache))
	l.conn.ExecContext(ctx, "PRAGMA threads = 0")
	l.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA synchronous = %d", l.oldSync))
	l.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	if err != nil {
		return fmt.Errorf("storage: bulk load: restore indexes: %w", err)
	}
	return nil
}

// bulkConn is what runBulkRestore needs of a connection or database.
type bulkConn interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error)
}

// runBulkRestore runs the recorded SQL and clears the record, in one transaction.
func runBulkRestore(ctx context.Context, c bulkConn, restore []string) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if tx.h.engine == Postgres {
		// A connection's transactions do not take the writers' lock by themselves.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", writersLock); err != nil {
			tx.Rollback()
			return err
		}
	}
	for _, q := range restore {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", strings.SplitN(q, "(", 2)[0], err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", bulkSetting); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// recoverBulkLoad finishes a bulk load a dead process left unfinished: it recreates the
// indexes and trigger the load dropped and rebuilds the search index.
func (db *DB) recoverBulkLoad(ctx context.Context) error {
	if db.db.engine == Postgres {
		return db.recoverBulkLoadPostgres(ctx)
	}
	var saved []byte
	err := db.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", bulkSetting).Scan(&saved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	var restore []string
	if err := json.Unmarshal(saved, &restore); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	if err := runBulkRestore(ctx, db.db, restore); err != nil {
		return fmt.Errorf("storage: unfinished bulk load: %w", err)
	}
	return nil
}
