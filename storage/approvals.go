package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// ErrSelfApproval: the person deciding on a refund is the one who requested it. Nobody may
// approve (or reject) their own request, whatever their roles.
var ErrSelfApproval = errors.New("a refund cannot be decided by its requester")

// ApprovalItem is one refund in the managers' queue.
type ApprovalItem struct {
	Refund
	PaymentPublicID string
	Provider        providers.Name
	CustomerName    string
	// Refundable is the payment's refundable balance now (this request's reservation
	// already deducted); negative means approving would over-refund.
	Refundable int64
}

// ApprovalQueue returns the refunds awaiting approval and not yet expired, oldest first.
func (db *DB) ApprovalQueue(ctx context.Context) ([]ApprovalItem, error) {
	now := db.Now()
	rows, err := db.db.QueryContext(ctx, `SELECT `+refundColumns+`, p.public_id, p.provider, p.customer_name, r.requested_by_key`+refundRowFrom+`
		WHERE r.status = 'awaiting_approval' AND r.approval_expires_at > ?
		ORDER BY r.requested_at, r.id`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("storage: approval queue: %w", err)
	}
	var out []ApprovalItem
	for rows.Next() {
		var it ApprovalItem
		var provider string
		var key string
		it.Refund, err = scanRefund(rows, &it.PaymentPublicID, &provider, &it.CustomerName, &key)
		it.RequestedByKey = key
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("storage: approval queue: %w", err)
		}
		it.Provider = providers.Name(provider)
		out = append(out, it)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("storage: approval queue: %w", err)
	}
	// The balances are read once the queue's rows are closed, so one connection is enough.
	for i := range out {
		b, err := refundBalance(ctx, db.db, out[i].PaymentID, now)
		if err != nil {
			return nil, fmt.Errorf("storage: approval queue: %w", err)
		}
		out[i].Refundable = b.Refundable
	}
	return out, nil
}

// Expectation is what the manager saw when deciding: an approval is bound to it, so a
// refund that differs is not the one approved.
type Expectation struct {
	PaymentID int64
	Amount    int64
	Currency  string
	Reason    string
	// DeciderKey is the deciding manager's person key ("" when unknown): with the
	// request's key it decides whether they are its requester (see isRequester).
	DeciderKey string
}

// ApproveRefund records a manager's approval and starts the refund's journal action
// (pending, idempotency key key), in one transaction. It refuses with ErrConflict a refund
// already decided, expired, different from expect, or whose payment has another
// money-moving action in flight; with ErrSelfApproval the requester; with
// ErrInsufficientBalance a refund that no longer fits the balance (its own reservation
// aside). Of two managers approving at once exactly one wins. Repeating an approval with
// the same key returns the refund and action with ErrDuplicate. Each of then runs inside
// the transaction once the approval is recorded (the requester's e-mail).
func (db *DB) ApproveRefund(ctx context.Context, refundID int64, manager, key string, expect Expectation, then ...TxHook) (Refund, Action, error) {
	manager = strings.TrimSpace(manager)
	key = strings.TrimSpace(key)
	switch {
	case manager == "":
		return Refund{}, Action{}, fmt.Errorf("storage: approve refund %d: missing manager", refundID)
	case key == "":
		return Refund{}, Action{}, fmt.Errorf("storage: approve refund %d: missing idempotency key", refundID)
	}
	var r Refund
	var act Action
	var dup bool
	err := db.tx(ctx, func(tx *Tx) error {
		if a, err := actionByKey(ctx, tx, key); err == nil {
			if a.RefundID != refundID {
				return fmt.Errorf("idempotency key %q belongs to action %d: %w", key, a.ID, ErrConflict)
			}
			r, err = refundByID(ctx, tx, refundID)
			act, dup = a, true
			return err
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := db.Now()
		var err error
		if r, err = decidableRefund(ctx, tx, refundID, manager, expect.DeciderKey, now); err != nil {
			return err
		}
		if r.PaymentID != expect.PaymentID || r.Amount != expect.Amount || r.Currency != expect.Currency || r.Reason != expect.Reason {
			return fmt.Errorf("the request changed since it was shown (now %s, %s, payment %d): review it again: %w",
				providers.FormatMoney(r.Amount, r.Currency), RefundReasonLabel(r.Reason), r.PaymentID, ErrConflict)
		}
		b, err := refundBalance(ctx, tx, r.PaymentID, now)
		if err != nil {
			return err
		}
		if available := b.Refundable + r.Amount; r.Amount > available {
			return fmt.Errorf("the balance shrank since the request: %s asked but only %s is refundable now: %w",
				providers.FormatMoney(r.Amount, r.Currency), providers.FormatMoney(max(available, 0), r.Currency),
				ErrInsufficientBalance)
		}
		if open, err := openMoneyAction(ctx, tx, r.PaymentID); err == nil {
			return fmt.Errorf("a %s is already in flight on this payment (action %d, %s); wait for its outcome: %w",
				strings.ToLower(actionLabel(open)), open.ID, open.State, ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := insertDecision(ctx, tx, r, manager, "approved", "", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'pending', updated_at = ? WHERE id = ?`, ms(now), r.ID); err != nil {
			return err
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: r.PaymentID, At: now, Actor: manager, Kind: "refund_approved",
			Message: fmt.Sprintf("Refund of %s requested by %s approved by %s", providers.FormatMoney(r.Amount, r.Currency), r.RequestedBy, manager),
		}); err != nil {
			return err
		}
		act, err = db.insertAction(ctx, tx, Action{
			PaymentID: r.PaymentID, Kind: "refund", Amount: r.Amount, Currency: r.Currency, RefundID: r.ID,
			IdempotencyKey: key, Actor: manager,
		})
		if err != nil {
			return err
		}
		if err := tx.Notify(ctx, decisionNotice(r, expect.DeciderKey, now,
			fmt.Sprintf("Your refund of %s was approved by %s and is being sent to the provider.",
				providers.FormatMoney(r.Amount, r.Currency), manager))); err != nil {
			return err
		}
		if r, err = refundByID(ctx, tx, r.ID); err != nil {
			return err
		}
		return runHooks(ctx, tx, r, now, then)
	})
	if err != nil {
		return r, act, fmt.Errorf("storage: approve refund %d: %w", refundID, err)
	}
	if dup {
		return r, act, fmt.Errorf("storage: approve refund %d: already approved with key %q: %w", refundID, key, ErrDuplicate)
	}
	return r, act, nil
}

// decidableRefund loads a refund inside tx and checks a manager (name and person key) may
// decide on it now.
func decidableRefund(ctx context.Context, tx *Tx, refundID int64, manager, managerKey string, now time.Time) (Refund, error) {
	r, err := refundByID(ctx, tx, refundID)
	if err != nil {
		return r, err
	}
	switch {
	case r.Status != "awaiting_approval":
		who := ""
		if r.DecidedBy != "" {
			who = " by " + r.DecidedBy
		}
		return r, fmt.Errorf("already decided%s (the refund is %s): %w", who, r.Status, ErrConflict)
	case !now.Before(r.ApprovalExpiresAt):
		return r, fmt.Errorf("the request expired at %s: %w", r.ApprovalExpiresAt.Format("2006-01-02 15:04 MST"), ErrConflict)
	case isRequester(r, manager, managerKey):
		return r, fmt.Errorf("%s requested this refund: %w", manager, ErrSelfApproval)
	}
	return r, nil
}

// isRequester reports whether the person named name with person key key asked for r: by
// key when both the request and the person have one (two people may share a name), else
// by the name recorded (requests from before keys, with the requester's e-mail).
func isRequester(r Refund, name, key string) bool {
	if r.RequestedByKey != "" && key != "" {
		return r.RequestedByKey == key
	}
	return strings.EqualFold(strings.TrimSpace(r.RequestedBy), strings.TrimSpace(name))
}

// insertDecision writes the one decision a refund may have; a second one is ErrConflict.
func insertDecision(ctx context.Context, tx *Tx, r Refund, manager, decision, reason string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refund_approvals (refund_id, decided_by, decision, reason, decided_at,
		amount, currency, payment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, manager, decision, reason, ms(now), r.Amount, r.Currency, r.PaymentID)
	if isUniqueConstraint(err) {
		return fmt.Errorf("already decided: %w", ErrConflict)
	}
	return err
}

// RejectRefund records a manager's rejection (reason required) of a refund awaiting
// approval, releasing its reservation. The requester may not reject their own request
// (ErrSelfApproval): the manager's person key (managerKey, "" when unknown) decides
// whether they are the requester, else their name (see isRequester). A refund already
// decided or expired gives ErrConflict. Each of then runs inside the transaction once the
// rejection is recorded (the requester's e-mail).
func (db *DB) RejectRefund(ctx context.Context, refundID int64, manager, managerKey, reason string, then ...TxHook) (Refund, error) {
	manager = strings.TrimSpace(manager)
	reason = strings.TrimSpace(reason)
	switch {
	case manager == "":
		return Refund{}, fmt.Errorf("storage: reject refund %d: missing manager", refundID)
	case reason == "":
		return Refund{}, fmt.Errorf("storage: reject refund %d: a reason is required", refundID)
	case len([]rune(reason)) > maxNoteLength:
		return Refund{}, fmt.Errorf("storage: reject refund %d: the reason is longer than %d characters", refundID, maxNoteLength)
	}
	var r Refund
	err := db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		var err error
		if r, err = decidableRefund(ctx, tx, refundID, manager, managerKey, now); err != nil {
			return err
		}
		if err := insertDecision(ctx, tx, r, manager, "rejected", reason, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'rejected', message = ?, updated_at = ? WHERE id = ?`,
			"Rejected: "+reason, ms(now), r.ID); err != nil {
			return err
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: r.PaymentID, At: now, Actor: manager, Kind: "refund_rejected",
			Message: fmt.Sprintf("Refund of %s requested by %s rejected by %s: %s", providers.FormatMoney(r.Amount, r.Currency), r.RequestedBy, manager, reason),
		}); err != nil {
			return err
		}
		if err := tx.Notify(ctx, decisionNotice(r, managerKey, now,
			fmt.Sprintf("Your refund of %s was rejected by %s: %s", providers.FormatMoney(r.Amount, r.Currency), manager, reason))); err != nil {
			return err
		}
		if r, err = refundByID(ctx, tx, r.ID); err != nil {
			return err
		}
		return runHooks(ctx, tx, r, now, then)
	})
	if err != nil {
		return r, fmt.Errorf("storage: reject refund %d: %w", refundID, err)
	}
	return r, nil
}

// ExpireApprovals marks expired every refund still awaiting approval at now past its
// expiry, with a timeline entry each, and returns how many.
func (db *DB) ExpireApprovals(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+refundColumns+`, r.requested_by_key`+refundFrom+`
			WHERE r.status = 'awaiting_approval' AND r.approval_expires_at <= ? ORDER BY r.id`, ms(now))
		if err != nil {
			return err
		}
		var due []Refund
		for rows.Next() {
			var key string
			r, err := scanRefund(rows, &key)
			if err != nil {
				rows.Close()
				return err
			}
			r.RequestedByKey = key
			due = append(due, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		for _, r := range due {
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = 'expired', message = ?, updated_at = ? WHERE id = ?`,
				"No manager answered in time", ms(now), r.ID); err != nil {
				return err
			}
			if _, err := db.addEvent(ctx, tx, Event{PaymentID: r.PaymentID, At: now, Actor: "system", Kind: "refund_expired",
				Message: fmt.Sprintf("Refund of %s requested by %s expired without a decision", providers.FormatMoney(r.Amount, r.Currency), r.RequestedBy),
			}); err != nil {
				return err
			}
			if err := tx.Notify(ctx, decisionNotice(r, "", now,
				fmt.Sprintf("Your refund of %s expired: no manager decided in time, so its amount was released.",
					providers.FormatMoney(r.Amount, r.Currency)))); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: expire approvals: %w", err)
	}
	return n, nil
}

// decisionNotice tells the requester of r (by person key: a request from before keys
// tells nobody) what became of it; actorKey is the deciding manager's key ("" for the
// expiry).
func decisionNotice(r Refund, actorKey string, now time.Time, text string) Notification {
	return Notification{RecipientKey: r.RequestedByKey, RecipientName: r.RequestedBy, ActorKey: actorKey,
		Kind: NotifyRequestDecided, PaymentID: r.PaymentID, RefundID: r.ID, Text: text, CreatedAt: now}
}
