package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// Action is one row of the journal: a provider call that changes something, written
// before the call and finished after it, whatever the outcome (docs/states.md, the action journal).
type Action struct {
	ID        int64
	PaymentID int64
	// Kind is cancel, void, expire, refund, refresh or payer_link.
	Kind string
	// State is pending, succeeded, failed, needs_payer or unknown.
	State    string
	Amount   int64 // minor units, 0 where no amount is involved
	Currency string
	// RefundID is the refund this action executes, 0 for none.
	RefundID       int64
	IdempotencyKey string
	Actor          string
	StartedAt      time.Time
	FinishedAt     time.Time // zero while pending
	// Outcome is the provider outcome kind (done, needs_payer, not_supported, refused, unknown).
	Outcome string
	// Message is the provider's safe words, shown to staff.
	Message string
	// ProviderAnswer is the provider's raw answer, kept for the record (never rendered as HTML).
	ProviderAnswer string
}

// actionLabels names each action kind for the timeline.
var actionLabels = map[string]string{
	"cancel":     "Cancel",
	"void":       "Void",
	"expire":     "Expire",
	"refund":     "Refund",
	"refresh":    "Refresh from provider",
	"payer_link": "New payer link",
}

// moneyMovingKinds are the kinds that the unique index actions_one_open allows only one of
// in flight per payment.
var moneyMovingKinds = map[string]bool{"cancel": true, "void": true, "expire": true, "refund": true}

// actionStates are the states of the journal.
var actionStates = map[string]bool{"pending": true, "succeeded": true, "failed": true, "needs_payer": true, "unknown": true}

// actionColumns is the column list every action query scans with scanAction.
const actionColumns = `id, payment_id, kind, state, amount, currency, refund_id, idempotency_key, actor,
	started_at, finished_at, outcome, message, provider_answer`

// scanAction reads one row selected with actionColumns.
func scanAction(s scannable) (Action, error) {
	var a Action
	var refundID, finished sql.NullInt64
	var started int64
	err := s.Scan(&a.ID, &a.PaymentID, &a.Kind, &a.State, &a.Amount, &a.Currency, &refundID,
		&a.IdempotencyKey, &a.Actor, &started, &finished, &a.Outcome, &a.Message, &a.ProviderAnswer)
	if err != nil {
		return a, err
	}
	a.RefundID = refundID.Int64
	a.StartedAt = fromMS(started)
	a.FinishedAt = nullMS(finished)
	return a, nil
}

// actionLabel is how the timeline names an action: "Cancel", "Refund of 30.00 EUR".
func actionLabel(a Action) string {
	label := actionLabels[a.Kind]
	if label == "" {
		label = a.Kind
	}
	if a.Amount > 0 && a.Currency != "" {
		label += " of " + providers.FormatMoney(a.Amount, a.Currency)
	}
	return label
}

// StartAction records an action as pending before the provider is called, with a
// timeline entry, in one transaction. A repeated idempotency key returns the existing
// row and ErrDuplicate; another money-moving action pending or unknown on the same
// payment gives ErrConflict. Refund actions are started by RequestRefund and
// ApproveRefund, which check the balance.
func (db *DB) StartAction(ctx context.Context, a Action) (Action, error) {
	a.IdempotencyKey = strings.TrimSpace(a.IdempotencyKey)
	a.Actor = strings.TrimSpace(a.Actor)
	switch {
	case actionLabels[a.Kind] == "":
		return a, fmt.Errorf("storage: start action: unknown kind %q", a.Kind)
	case a.Kind == "refund":
		return a, fmt.Errorf("storage: start action: refunds start with RequestRefund or ApproveRefund")
	case a.PaymentID <= 0:
		return a, fmt.Errorf("storage: start action: missing payment")
	case a.IdempotencyKey == "":
		return a, fmt.Errorf("storage: start action: missing idempotency key")
	case a.Actor == "":
		return a, fmt.Errorf("storage: start action: missing actor")
	case a.Amount < 0:
		return a, fmt.Errorf("storage: start action: negative amount %d", a.Amount)
	case a.RefundID != 0:
		return a, fmt.Errorf("storage: start action: only refund actions carry a refund")
	}
	var out Action
	var dup bool
	err := db.tx(ctx, func(tx *Tx) error {
		existing, err := actionByKey(ctx, tx, a.IdempotencyKey)
		if err == nil {
			if existing.PaymentID != a.PaymentID || existing.Kind != a.Kind {
				return fmt.Errorf("storage: idempotency key %q belongs to action %d (%s on payment %d): %w",
					a.IdempotencyKey, existing.ID, existing.Kind, existing.PaymentID, ErrConflict)
			}
			out, dup = existing, true
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		out, err = db.insertAction(ctx, tx, a)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("storage: start %s on payment %d: %w", a.Kind, a.PaymentID, err)
	}
	if dup {
		return out, fmt.Errorf("storage: action with key %q exists already (action %d): %w", a.IdempotencyKey, out.ID, ErrDuplicate)
	}
	return out, nil
}

// insertAction writes a pending action and its timeline entry inside tx, refusing a
// second money-moving action in flight on the payment. The currency defaults to the
// payment's.
func (db *DB) insertAction(ctx context.Context, tx *Tx, a Action) (Action, error) {
	var currency string
	err := tx.QueryRowContext(ctx, "SELECT currency FROM payments WHERE id = ?", a.PaymentID).Scan(&currency)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("payment %d: %w", a.PaymentID, ErrNotFound)
	}
	if err != nil {
		return a, err
	}
	if a.Currency == "" {
		a.Currency = currency
	}
	if a.Currency != currency {
		return a, fmt.Errorf("currency %s differs from the payment's %s", a.Currency, currency)
	}
	if moneyMovingKinds[a.Kind] {
		open, err := openMoneyAction(ctx, tx, a.PaymentID)
		if err == nil {
			return a, fmt.Errorf("a %s is already in flight on this payment (action %d, %s); wait for its outcome: %w",
				strings.ToLower(actionLabel(open)), open.ID, open.State, ErrConflict)
		}
		if !errors.Is(err, ErrNotFound) {
			return a, err
		}
	}
	now := db.Now()
	var refundID any
	if a.RefundID != 0 {
		refundID = a.RefundID
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO actions (payment_id, kind, state, amount, currency, refund_id,
		idempotency_key, actor, started_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.PaymentID, a.Kind, a.Amount, a.Currency, refundID, a.IdempotencyKey, a.Actor, ms(now)).Scan(&a.ID)
	if err != nil {
		if isUniqueConstraint(err) {
			// The checks above run under the write lock; this is only a safety net.
			return a, fmt.Errorf("%v: %w", err, ErrConflict)
		}
		return a, err
	}
	a.State = "pending"
	a.StartedAt = fromMS(ms(now))
	a.FinishedAt = time.Time{}
	verb := "requested"
	if a.Kind == "refund" {
		verb = "started"
	}
	_, err = db.addEvent(ctx, tx, Event{
		PaymentID: a.PaymentID, At: now, Actor: a.Actor, Kind: "action_started",
		Message: fmt.Sprintf("%s %s by %s", actionLabel(a), verb, a.Actor),
	})
	return a, err
}

// openMoneyAction returns the money-moving action pending or unknown on a payment, or
// ErrNotFound.
func openMoneyAction(ctx context.Context, x execer, paymentID int64) (Action, error) {
	a, err := scanAction(x.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions
		WHERE payment_id = ? AND state IN ('pending', 'unknown') AND kind IN ('cancel', 'void', 'expire', 'refund')
		LIMIT 1`, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// finishVerbs says, for the timeline, how an action ended.
var finishVerbs = map[string]string{
	"succeeded":   "succeeded",
	"failed":      "failed",
	"needs_payer": "waits for the payer to confirm",
	"unknown":     "has no definitive answer yet; it will be checked with the provider, not retried",
}

// refundStateOfAction maps a finished refund action to its refund's status.
var refundStateOfAction = map[string]string{"succeeded": "succeeded", "failed": "failed", "unknown": "unknown"}

// FinishAction records how an action ended: state is succeeded, failed, needs_payer or
// unknown; outcome the provider outcome kind; message the provider's safe words; answer
// its raw answer. Only a pending or unknown action can finish (ErrConflict otherwise),
// and an unknown one only with a definitive answer. When the action executes a refund,
// the refund moves with it in the same transaction (unless a refresh already settled it
// from the provider's refund list); a failed refund no longer counts against the balance.
func (db *DB) FinishAction(ctx context.Context, id int64, state, outcome, message, answer string) (Action, error) {
	if state == "pending" || !actionStates[state] {
		return Action{}, fmt.Errorf("storage: finish action %d: invalid state %q", id, state)
	}
	var out Action
	err := db.tx(ctx, func(tx *Tx) error {
		a, err := scanAction(tx.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		switch {
		case a.State != "pending" && a.State != "unknown":
			return fmt.Errorf("already %s: %w", a.State, ErrConflict)
		case a.State == "unknown" && state == "unknown":
			return fmt.Errorf("already unknown; only a definitive answer finishes it: %w", ErrConflict)
		case a.RefundID != 0 && refundStateOfAction[state] == "":
			return fmt.Errorf("a refund cannot end as %s", state)
		}
		now := db.Now()
		_, err = tx.ExecContext(ctx, `UPDATE actions SET state = ?, finished_at = ?, outcome = ?, message = ?,
			provider_answer = ? WHERE id = ?`, state, ms(now), outcome, message, answer, id)
		if err != nil {
			return err
		}
		if a.RefundID != 0 {
			res, err := tx.ExecContext(ctx, `UPDATE refunds SET status = ?, message = ?, updated_at = ?
				WHERE id = ? AND status IN ('approved', 'pending', 'unknown')`,
				refundStateOfAction[state], message, ms(now), a.RefundID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				// A refresh may have settled the refund from the provider's own refund list
				// already; the provider's record stands and the action still finishes.
				var status string
				if err := tx.QueryRowContext(ctx, "SELECT status FROM refunds WHERE id = ?", a.RefundID).Scan(&status); err != nil {
					return fmt.Errorf("refund %d: %w", a.RefundID, err)
				}
				if status != "succeeded" && status != "failed" {
					return fmt.Errorf("refund %d is %s, not in flight: %w", a.RefundID, status, ErrConflict)
				}
			}
		}
		a.State, a.Outcome, a.Message, a.ProviderAnswer = state, outcome, message, answer
		a.FinishedAt = fromMS(ms(now))
		text := actionLabel(a) + " " + finishVerbs[state]
		if message != "" {
			text += ": " + message
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: a.PaymentID, At: now, Actor: "provider", Kind: "action_finished", Message: text}); err != nil {
			return err
		}
		out = a
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("storage: finish action %d: %w", id, err)
	}
	return out, nil
}

// ActionByID returns one action, or ErrNotFound.
func (db *DB) ActionByID(ctx context.Context, id int64) (Action, error) {
	a, err := scanAction(db.db.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("storage: action %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("storage: action %d: %w", id, err)
	}
	return a, nil
}

// ActionByKey returns the action with that idempotency key, or ErrNotFound.
func (db *DB) ActionByKey(ctx context.Context, key string) (Action, error) {
	a, err := actionByKey(ctx, db.db, key)
	if err != nil {
		return a, fmt.Errorf("storage: action with key %q: %w", key, err)
	}
	return a, nil
}

// actionByKey finds an action by idempotency key using x; sql.ErrNoRows becomes ErrNotFound.
func actionByKey(ctx context.Context, x execer, key string) (Action, error) {
	a, err := scanAction(x.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE idempotency_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// ActionsOfPayment returns a payment's actions, oldest first.
func (db *DB) ActionsOfPayment(ctx context.Context, paymentID int64) ([]Action, error) {
	out, err := queryActions(ctx, db.db, `SELECT `+actionColumns+` FROM actions WHERE payment_id = ?
		ORDER BY started_at, id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("storage: actions of payment %d: %w", paymentID, err)
	}
	return out, nil
}

// OpenActions returns every pending or unknown action, oldest first: the reconciler's work.
func (db *DB) OpenActions(ctx context.Context) ([]Action, error) {
	out, err := queryActions(ctx, db.db, `SELECT `+actionColumns+` FROM actions WHERE state IN ('pending', 'unknown')
		ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("storage: open actions: %w", err)
	}
	return out, nil
}

// ActionsByState returns up to limit actions in any of states, newest first (the
// dashboard's unknown outcomes and recent failures). A limit <= 0 means 50.
func (db *DB) ActionsByState(ctx context.Context, states []string, limit int) ([]Action, error) {
	if len(states) == 0 {
		return nil, fmt.Errorf("storage: actions by state: no state given")
	}
	args := make([]any, 0, len(states)+1)
	for _, s := range states {
		if !actionStates[s] {
			return nil, fmt.Errorf("storage: actions by state: unknown state %q", s)
		}
		args = append(args, s)
	}
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit)
	out, err := queryActions(ctx, db.db, `SELECT `+actionColumns+` FROM actions WHERE state IN (`+questionMarks(len(states))+`)
		ORDER BY started_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: actions by state: %w", err)
	}
	return out, nil
}

// queryActions runs a query selecting actionColumns and scans every row.
func queryActions(ctx context.Context, x execer, query string, args ...any) ([]Action, error) {
	rows, err := x.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SettlePayerAction ends an action that waited for the payer (needs_payer) once the
// provider says how it ended: succeeded when the payment was cancelled, failed when it
// went on otherwise. Settling an action that is no longer waiting is a no-op.
func (db *DB) SettlePayerAction(ctx context.Context, id int64, state, message string) error {
	if state != "succeeded" && state != "failed" {
		return fmt.Errorf("storage: settle action %d: invalid state %q", id, state)
	}
	err := db.tx(ctx, func(tx *Tx) error {
		a, err := scanAction(tx.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if a.State != "needs_payer" {
			return nil
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE actions SET state = ?, finished_at = ?, message = ? WHERE id = ?`,
			state, ms(now), message, id); err != nil {
			return err
		}
		a.State = state
		_, err = db.addEvent(ctx, tx, Event{PaymentID: a.PaymentID, At: now, Actor: "provider", Kind: "action_finished",
			Message: actionLabel(a) + " " + finishVerbs[state] + ": " + message})
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: settle action %d: %w", id, err)
	}
	return nil
}
