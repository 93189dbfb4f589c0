// Bulk refunds and cancellations, first part (docs/batches.md): a batch's items judged by
// a dry run and kept as a draft, and the reads that dry run needs in bulk — payments by
// the ids people write, their refundable balances and their open actions, a chunk of ids
// per query rather than a round trip per item. Nothing here runs a batch.

package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

// Batch is a draft batch: what it would do, as its dry run judged it when it was made.
type Batch struct {
	ID           int64
	PublicID     string // "bt_" and 12 lower-case hex characters
	Kind         string // "refund" or "cancel"
	State        string // BatchDraft, BatchAwaitingApproval, … (batch_runs.go)
	Source       string // "csv", "list" or "retry"
	Query        string // the payments list's filter, when Source is "list"
	CreatedBy    string
	CreatedByKey string
	CreatedAt    time.Time
	Items        int
	Ready        int
	SetAside     int
	// Totals are the ready items' amounts per currency, in minor units (never summed
	// across currencies).
	Totals map[string]int64

	// Digest fingerprints the ready items when the batch was requested (BatchDigest).
	Digest      string
	RequestedAt time.Time
	// ApprovalWhy says why a manager must approve ("" when no rule asked for one).
	ApprovalWhy string
	// DecidedBy is the manager who approved or rejected it; DecisionReason a rejection's
	// or a cancellation's words.
	DecidedBy, DecidedByKey, DecisionReason string
	DecidedAt                               time.Time
	// StartAt is when the undo window ends and the batch may start.
	StartAt     time.Time
	CancelledBy string
	CancelledAt time.Time
	StartedAt   time.Time
	FinishedAt  time.Time

	// RetryOf is the batch whose failed or skipped items this one tries again (Source
	// "retry"; 0 otherwise), RetryOfPublicID its public id (filled when reading).
	RetryOf         int64
	RetryOfPublicID string
}

// BatchItem is one item of a batch with the dry run's verdict.
type BatchItem struct {
	Line      int    // the CSV line, or the position in the list's selection
	Input     string // the payment as given
	PaymentID int64  // 0 when not found
	// PublicID is the payment's Paydesk id (filled when reading, "" when not found).
	PublicID string
	Amount   int64
	Currency string
	Reason   string
	Note     string
	Verdict  string // BatchReady or BatchSetAside
	Why      string
	// ApprovalRule is the code of the approval rule that would hold the refund back.
	ApprovalRule string

	// RunState is where the item is once the batch is requested ("" while a draft and for
	// set-aside items; ItemQueued, ItemSucceeded, … in batch_runs.go).
	RunState string
	// Key is the idempotency key of the refund or cancellation it became (BatchItemKey).
	Key string
	// Outcome says how it ended, in plain words.
	Outcome    string
	StartedAt  time.Time
	FinishedAt time.Time
}

// The verdicts of a batch item.
const (
	BatchReady    = "ready"
	BatchSetAside = "set_aside"
)

// batchChunk is how many ids one bulk read asks for.
const batchChunk = 500

// CreateBatch writes a draft batch, its items and its audit entry in one transaction.
// It fills the batch's id, public id, counts and totals from the items.
func (db *DB) CreateBatch(ctx context.Context, b Batch, items []BatchItem, audit AuditEntry) (Batch, error) {
	b.State = BatchDraft
	b.CreatedAt = db.Now()
	b.PublicID = newBatchPublicID()
	b.Items, b.Ready, b.SetAside = len(items), 0, 0
	b.Totals = map[string]int64{}
	for _, it := range items {
		if it.Verdict == BatchReady {
			b.Ready++
			b.Totals[it.Currency] += it.Amount
		} else {
			b.SetAside++
		}
	}
	totals, _ := json.Marshal(b.Totals)
	err := db.tx(ctx, func(tx *Tx) error {
		var retryOf any
		if b.RetryOf != 0 {
			retryOf = b.RetryOf
			if err := checkNoRetry(ctx, db, tx, b.RetryOf); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO batches (public_id, kind, state, source, query, created_by, created_by_key, created_at, items, ready, set_aside, totals, retry_of)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			b.PublicID, b.Kind, b.State, b.Source, b.Query, b.CreatedBy, b.CreatedByKey, ms(b.CreatedAt), b.Items, b.Ready, b.SetAside, string(totals), retryOf).Scan(&b.ID)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO batch_items (batch_id, line, input, payment_id, amount, currency, reason, note, verdict, why, approval_rule)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, it := range items {
			var pid any
			if it.PaymentID != 0 {
				pid = it.PaymentID
			}
			if _, err := stmt.ExecContext(ctx, b.ID, it.Line, it.Input, pid, it.Amount, it.Currency, it.Reason, it.Note, it.Verdict, it.Why, it.ApprovalRule); err != nil {
				return fmt.Errorf("item on line %d: %w", it.Line, err)
			}
		}
		audit.Data = injectBatchID(audit.Data, b.PublicID)
		audit.Message = strings.ReplaceAll(audit.Message, "{batch}", b.PublicID)
		_, err = db.audit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return Batch{}, fmt.Errorf("storage: create batch: %w", err)
	}
	return b, nil
}

// injectBatchID adds "batch": id to an audit entry's JSON object detail.
func injectBatchID(data json.RawMessage, id string) json.RawMessage {
	m := map[string]any{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			return data
		}
	}
	m["batch"] = id
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

func newBatchPublicID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "bt_" + hex.EncodeToString(b)
}

const batchColumns = `id, public_id, kind, state, source, query, created_by, created_by_key, created_at, items, ready, set_aside, totals,
	digest, requested_at, approval_why, decided_by, decided_by_key, decided_at, decision_reason, start_at, cancelled_by, cancelled_at, started_at, finished_at,
	coalesce(retry_of, 0), coalesce((SELECT o.public_id FROM batches o WHERE o.id = batches.retry_of), '')`

func scanBatch(s scannable) (Batch, error) {
	var b Batch
	var created, requested, decided, start, cancelled, started, finished int64
	var totals string
	err := s.Scan(&b.ID, &b.PublicID, &b.Kind, &b.State, &b.Source, &b.Query, &b.CreatedBy, &b.CreatedByKey, &created, &b.Items, &b.Ready, &b.SetAside, &totals,
		&b.Digest, &requested, &b.ApprovalWhy, &b.DecidedBy, &b.DecidedByKey, &decided, &b.DecisionReason, &start, &b.CancelledBy, &cancelled, &started, &finished,
		&b.RetryOf, &b.RetryOfPublicID)
	if err != nil {
		return b, err
	}
	b.CreatedAt = fromMS(created)
	b.RequestedAt, b.DecidedAt, b.StartAt = fromMSOrZero(requested), fromMSOrZero(decided), fromMSOrZero(start)
	b.CancelledAt, b.StartedAt, b.FinishedAt = fromMSOrZero(cancelled), fromMSOrZero(started), fromMSOrZero(finished)
	b.Totals = map[string]int64{}
	if err := json.Unmarshal([]byte(totals), &b.Totals); err != nil {
		return b, fmt.Errorf("batch %s totals: %w", b.PublicID, err)
	}
	return b, nil
}

// BatchByPublicID returns one batch, or ErrNotFound.
func (db *DB) BatchByPublicID(ctx context.Context, pid string) (Batch, error) {
	return queryOne(ctx, db, "batch "+pid, scanBatch, `SELECT `+batchColumns+` FROM batches WHERE public_id = ?`, pid)
}

// ListBatches returns the newest batches, at most limit.
func (db *DB) ListBatches(ctx context.Context, limit int) ([]Batch, error) {
	return queryAll(ctx, db, "list batches", scanBatch, `SELECT `+batchColumns+` FROM batches ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
}

// BatchItems returns a batch's items in line order, with their payments' Paydesk ids.
func (db *DB) BatchItems(ctx context.Context, batchID int64) ([]BatchItem, error) {
	return db.batchItemsWhere(ctx, batchID, "")
}

// batchItemsWhere returns a batch's items meeting cond (on i., "" for all), in line order.
func (db *DB) batchItemsWhere(ctx context.Context, batchID int64, cond string) ([]BatchItem, error) {
	if cond != "" {
		cond = " AND " + cond
	}
	return queryAll(ctx, db, "batch items", func(s scannable) (BatchItem, error) {
		var it BatchItem
		var pid sql.NullInt64
		var public sql.NullString
		var started, finished int64
		err := s.Scan(&it.Line, &it.Input, &pid, &public, &it.Amount, &it.Currency, &it.Reason, &it.Note, &it.Verdict, &it.Why, &it.ApprovalRule,
			&it.RunState, &it.Key, &it.Outcome, &started, &finished)
		it.PaymentID, it.PublicID = pid.Int64, public.String
		it.StartedAt, it.FinishedAt = fromMSOrZero(started), fromMSOrZero(finished)
		return it, err
	}, `SELECT i.line, i.input, i.payment_id, p.public_id, i.amount, i.currency, i.reason, i.note, i.verdict, i.why, i.approval_rule,
		i.run_state, i.item_key, i.outcome, i.started_at, i.finished_at
		FROM batch_items i LEFT JOIN payments p ON p.id = i.payment_id WHERE i.batch_id = ?`+cond+` ORDER BY i.line`, batchID)
}

// AccountRef names one provider account, for looking payments up by a provider's id.
type AccountRef struct {
	Provider providers.Name
	Account  string
}

// PaymentsByRefs finds the payments people named by id, in bulk: a Paydesk id ("pd_…")
// or a provider's payment, session or order id in any of accounts (a provider's ids are
// unique within an account only, so one id may name several payments). The answer maps
// each id given to the payments it names (none when unknown).
func (db *DB) PaymentsByRefs(ctx context.Context, refs []string, accounts []AccountRef) (map[string][]Payment, error) {
	out := map[string][]Payment{}
	var public, other []string
	seen := map[string]bool{}
	for _, r := range refs {
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		if strings.HasPrefix(r, "pd_") {
			public = append(public, r)
		} else {
			other = append(other, r)
		}
	}
	var mu sync.Mutex
	add := func(key string, p Payment) {
		for _, q := range out[key] {
			if q.ID == p.ID {
				return
			}
		}
		out[key] = append(out[key], p)
	}
	err := inChunks(len(public), func(start, end int) error {
		chunk := public[start:end]
		ps, err := queryAll(ctx, db, "payments by id", scanPaymentRow, `SELECT `+paymentColumns+` FROM payments WHERE public_id IN (`+marks(len(chunk))+`)`, anys(chunk)...)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ps {
			add(p.PublicID, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// A provider's ids: one seek per account and kind of id in the unique
	// (provider, account, id) indexes.
	err = inChunks(len(other), func(start, end int) error {
		chunk := other[start:end]
		for _, a := range accounts {
			for _, col := range []string{"provider_payment_id", "session_id", "order_id"} {
				args := append([]any{string(a.Provider), providers.AccountOr(a.Account)}, anys(chunk)...)
				ps, err := queryAll(ctx, db, "payments by provider id", scanPaymentRow, `SELECT `+paymentColumns+` FROM payments
					WHERE provider = ? AND account = ? AND `+col+` <> '' AND `+col+` IN (`+marks(len(chunk))+`)`, args...)
				if err != nil {
					return err
				}
				mu.Lock()
				for _, p := range ps {
					for _, id := range []string{p.PaymentID, p.SessionID, p.OrderID} {
						if seen[id] && !strings.HasPrefix(id, "pd_") {
							add(id, p)
						}
					}
				}
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chunkReaders is how many chunks of a bulk read run at once: the reads are index seeks
// scattered over the table, so several at once keep both the disk and the cores busy
// (SQLite's WAL serves readers side by side; PostgreSQL's pool too).
const chunkReaders = 4

// inChunks calls read for each chunk of batchChunk indexes of n, up to chunkReaders at
// once, and returns the first error.
func inChunks(n int, read func(start, end int) error) error {
	if n <= batchChunk {
		if n == 0 {
			return nil
		}
		return read(0, n)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, chunkReaders)
	)
	for start := 0; start < n; start += batchChunk {
		end := min(start+batchChunk, n)
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := read(start, end); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// PaymentFacts is what a batch's dry run reads of one payment besides the payment: its
// refundable balance and the money-moving action open on it.
type PaymentFacts struct {
	Balance RefundBalance
	// OpenKind and OpenState are the open action's kind and state ("" when none).
	OpenKind, OpenState string
}

// PaymentFactsOf reads the balances and open actions of many payments, a chunk of ids
// per query: the same sums as Balance and the same actions as the payment page's
// in-flight check.
func (db *DB) PaymentFactsOf(ctx context.Context, ids []int64) (map[int64]PaymentFacts, error) {
	out := make(map[int64]PaymentFacts, len(ids))
	var mu sync.Mutex
	now := ms(db.Now())
	err := inChunks(len(ids), func(start, end int) error {
		chunk := ids[start:end]
		facts := make(map[int64]PaymentFacts, len(chunk))
		rows, err := db.db.QueryContext(ctx, `SELECT p.id, p.captured, p.refunded, p.currency,
				coalesce(sum(CASE WHEN r.status = 'succeeded' THEN r.amount END), 0),
				coalesce(sum(CASE WHEN r.status IN ('pending', 'unknown', 'approved') THEN r.amount END), 0),
				coalesce(sum(CASE WHEN r.status = 'awaiting_approval' AND r.approval_expires_at > ? THEN r.amount END), 0)
			FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
			WHERE p.id IN (`+marks(len(chunk))+`) GROUP BY p.id, p.captured, p.refunded, p.currency`, append([]any{now}, anys(chunk)...)...)
		if err != nil {
			return fmt.Errorf("storage: balances: %w", err)
		}
		for rows.Next() {
			var id, providerRefunded int64
			var b RefundBalance
			if err := rows.Scan(&id, &b.Captured, &providerRefunded, &b.Currency, &b.Succeeded, &b.InFlight, &b.Reserved); err != nil {
				rows.Close()
				return fmt.Errorf("storage: balances: %w", err)
			}
			b.Succeeded = max(b.Succeeded, providerRefunded)
			b.Refundable = b.Captured - b.Succeeded - b.InFlight - b.Reserved
			facts[id] = PaymentFacts{Balance: b}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("storage: balances: %w", err)
		}
		rows, err = db.db.QueryContext(ctx, `SELECT payment_id, kind, state FROM actions
			WHERE payment_id IN (`+marks(len(chunk))+`) AND state IN ('pending', 'unknown') AND kind NOT IN ('refresh', 'payer_link')`, anys(chunk)...)
		if err != nil {
			return fmt.Errorf("storage: open actions: %w", err)
		}
		for rows.Next() {
			var id int64
			var kind, state string
			if err := rows.Scan(&id, &kind, &state); err != nil {
				rows.Close()
				return fmt.Errorf("storage: open actions: %w", err)
			}
			f := facts[id]
			f.OpenKind, f.OpenState = kind, state
			facts[id] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("storage: open actions: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		maps.Copy(out, facts)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PersonRefunds is what the per-person approval rule adds up for who in currency now:
// their refunds requested in the last PersonWindow, as RefundFacts' ByPerson.
func (db *DB) PersonRefunds(ctx context.Context, who Requester, currency string) (int64, error) {
	now := db.Now()
	mine, args := who.where("")
	if len(args) == 0 {
		return 0, nil
	}
	var sum int64
	err := db.db.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM refunds
		WHERE requested_at > ? AND currency = ? AND `+mine+`
		AND (status IN ('succeeded', 'pending', 'unknown', 'approved')
			OR (status = 'awaiting_approval' AND approval_expires_at > ?))`,
		append(append([]any{ms(now.Add(-PersonWindow)), currency}, args...), ms(now))...).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("storage: person's refunds: %w", err)
	}
	return sum, nil
}

// MatchingPaymentIDs returns the Paydesk ids of the payments f matches, newest first as
// the list shows them, at most limit (f's paging is ignored): the list's "all matching".
func (db *DB) MatchingPaymentIDs(ctx context.Context, f PaymentFilter, limit int) ([]string, error) {
	f.After, f.Before = nil, nil
	f, err := db.prepareFilter(ctx, f)
	if err != nil {
		return nil, err
	}
	where, args := filterConditions(f).sql()
	return queryAll(ctx, db, "matching payments", func(s scannable) (string, error) {
		var id string
		err := s.Scan(&id)
		return id, err
	}, "SELECT public_id FROM payments WHERE "+where+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit)...)
}

// marks is n "?" placeholders separated by commas.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func scanPaymentRow(s scannable) (Payment, error) { return scanPayment(s) }
