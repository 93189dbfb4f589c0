// A refund: its row, the reasons it may be asked for, the payment's refundable balance
// and the write path of a request (checked against the balance in the transaction that
// records it, with its journal action or its reservation while it awaits approval).
//
// The rules are in docs/states.md.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"paydesk/providers"
)

// Refund is a refund requested through Paydesk (with governance) or learnt from the
// provider, with the manager's decision when there was one.
type Refund struct {
	ID        int64
	PaymentID int64
	Amount    int64 // minor units, > 0
	Currency  string
	// Status is awaiting_approval, approved, pending, succeeded, failed, unknown, rejected
	// or expired.
	Status string
	// Reason is one of RefundReasons' codes ("" for refunds learnt from the provider).
	Reason      string
	Note        string
	RequestedBy string // an e-mail (else the requester's name), or "provider"
	RequestedAt time.Time
	// ApprovalExpiresAt is when an unanswered approval request expires (zero if none).
	ApprovalExpiresAt time.Time
	ProviderRefundID  string
	IdempotencyKey    string
	// RequestedByKey is the requester's person key (migration 0012); "" for refunds
	// recorded before keys and those learnt from the provider. RefundByID, RefundByKey
	// and ApprovalQueue fill it.
	RequestedByKey string
	// Message is the provider's words or the outcome in plain words.
	Message   string
	UpdatedAt time.Time
	// DecidedBy, DecisionReason and DecidedAt come from the manager's decision (empty and
	// zero if none).
	DecidedBy      string
	DecisionReason string
	DecidedAt      time.Time
	// ApprovalRule is the code of the approval rule that sent the refund to a manager,
	// ApprovalWhy what it found in plain words (both empty when no rule held it back).
	ApprovalRule, ApprovalWhy string
}

// RefundReason is one entry of the fixed list of refund reasons.
type RefundReason struct {
	Code  string
	Label string
}

// RefundReasons is the fixed list a refund request picks its reason from, in display
// order. "other" needs a note.
var RefundReasons = []RefundReason{
	{Code: "requested_by_customer", Label: "Requested by the customer"},
	{Code: "duplicate", Label: "Duplicate payment"},
	{Code: "fraudulent", Label: "Fraudulent payment"},
	{Code: "product_not_delivered", Label: "Product not delivered"},
	{Code: "goodwill", Label: "Goodwill gesture"},
	{Code: "other", Label: "Other (see note)"},
}

// ProviderRefundReason is the reason of refunds learnt from the provider rather than
// requested through Paydesk; it is not offered in the request form.
const ProviderRefundReason = "provider"

// RefundReasonLabel returns a reason's label, or the code itself when it is not listed.
func RefundReasonLabel(code string) string {
	for _, r := range RefundReasons {
		if r.Code == code {
			return r.Label
		}
	}
	if code == ProviderRefundReason {
		return "Made at the provider"
	}
	return code
}

// validRefundReason reports whether code is in RefundReasons.
func validRefundReason(code string) bool {
	for _, r := range RefundReasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// ValidRefundReason reports whether code is one of the reasons staff may choose.
func ValidRefundReason(code string) bool {
	return code != ProviderRefundReason && validRefundReason(code)
}

// RefundStatuses lists every refund status, for filters.
var RefundStatuses = []string{"awaiting_approval", "approved", "pending", "succeeded", "failed", "unknown", "rejected", "expired"}

// maxNoteLength bounds a refund's free note, in characters.
const maxNoteLength = 1000

// RefundBalance is how much of a payment can still be refunded (docs/states.md):
// Refundable = Captured − Succeeded − InFlight − Reserved. It may be negative when the
// provider reports more refunded than Paydesk knows of.
type RefundBalance struct {
	Captured int64
	// Succeeded is the larger of the succeeded refunds Paydesk holds and the refunded
	// total the provider last reported, so a refund made outside Paydesk still counts.
	Succeeded int64
	// InFlight is the refunds pending, unknown or approved.
	InFlight int64
	// Reserved is the refunds awaiting approval and not yet expired.
	Reserved   int64
	Refundable int64
	Currency   string
}

// Balance returns a payment's refundable balance, or ErrNotFound.
func (db *DB) Balance(ctx context.Context, paymentID int64) (RefundBalance, error) {
	b, err := refundBalance(ctx, db.db, paymentID, db.Now())
	if err != nil {
		return b, fmt.Errorf("storage: balance of payment %d: %w", paymentID, err)
	}
	return b, nil
}

// refundBalance computes a payment's balance with x (inside a write transaction when the
// answer decides a write). Reservations past their expiry no longer count: such a request
// can no longer be approved.
func refundBalance(ctx context.Context, x execer, paymentID int64, now time.Time) (RefundBalance, error) {
	var b RefundBalance
	var providerRefunded int64
	err := x.QueryRowContext(ctx, `SELECT p.captured, p.refunded, p.currency,
			coalesce(sum(CASE WHEN r.status = 'succeeded' THEN r.amount END), 0),
			coalesce(sum(CASE WHEN r.status IN ('pending', 'unknown', 'approved') THEN r.amount END), 0),
			coalesce(sum(CASE WHEN r.status = 'awaiting_approval' AND r.approval_expires_at > ? THEN r.amount END), 0)
		FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
		WHERE p.id = ? GROUP BY p.id`, ms(now), paymentID).
		Scan(&b.Captured, &providerRefunded, &b.Currency, &b.Succeeded, &b.InFlight, &b.Reserved)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("payment %d: %w", paymentID, ErrNotFound)
	}
	if err != nil {
		return b, err
	}
	b.Succeeded = max(b.Succeeded, providerRefunded)
	b.Refundable = b.Captured - b.Succeeded - b.InFlight - b.Reserved
	return b, nil
}

// RefundRequest is what a member of staff asks for when requesting a refund.
type RefundRequest struct {
	PaymentID int64
	Amount    int64 // minor units of the payment's currency
	// Reason is one of RefundReasons' codes; Note is required for "other".
	Reason, Note   string
	RequestedBy    string
	IdempotencyKey string
	// RequestedByKey is the requester's person key, which decides whose request it is
	// (RequestedBy is the name shown); "" when the caller has none.
	RequestedByKey string
	// NeedsApproval is decided by the caller; such a request waits for a manager for
	// ApprovalTTL, reserving its amount. Decide, when set, decides instead.
	NeedsApproval bool
	ApprovalTTL   time.Duration
	// Decide applies the approval rules (package ops) to the facts read in the write
	// transaction that records the request: it may send the request to a manager, or
	// block it (ErrBlocked, nothing recorded). It must not touch the database.
	Decide func(RefundFacts) RefundDecision
	// ApprovedBy, when set, is the manager who approved this refund in advance, with the
	// batch it belongs to (ApprovedNote names it): a rule that would send it to a manager
	// lets it run at once, recorded as approved by them. A blocking rule still blocks.
	ApprovedBy, ApprovedNote string
	// Then, when set, runs inside the transaction once the request is recorded (r as
	// stored, now the request's time): what it writes — e-mails to managers
	// (Tx.EnqueueMail) — commits or rolls back with the request.
	Then TxHook
}

// TxHook runs inside the write transaction of a refund's event (a request, an approval, a
// rejection) once the event is recorded: r is the refund as stored then, now the event's
// time. An error rolls the event back.
type TxHook func(ctx context.Context, tx *Tx, r Refund, now time.Time) error

// runHooks runs each hook in turn.
func runHooks(ctx context.Context, tx *Tx, r Refund, now time.Time, hooks []TxHook) error {
	for _, h := range hooks {
		if h == nil {
			continue
		}
		if err := h(ctx, tx, r, now); err != nil {
			return err
		}
	}
	return nil
}

// RequestRefund records a refund request in one write transaction that re-reads the
// balance: an amount above what is refundable is refused with ErrInsufficientBalance.
// A repeated idempotency key returns the existing refund (and its action) with
// ErrDuplicate. A request that needs approval waits as awaiting_approval and reserves
// its amount; any other becomes pending together with its journal action (kind refund,
// same key), so the provider can be called right after — or ErrConflict when another
// money-moving action is in flight on the payment. With req.Decide, the approval rules
// decide on the facts read in this same transaction (BEGIN IMMEDIATE: one writer at a
// time), so two requests at once cannot both slip under a cumulative limit; a blocking
// rule refuses the request with ErrBlocked and records nothing.
func (db *DB) RequestRefund(ctx context.Context, req RefundRequest) (Refund, *Action, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	req.Note = strings.TrimSpace(req.Note)
	req.RequestedBy = strings.TrimSpace(req.RequestedBy)
	req.IdempotencyKey = strings.TrimSpace(req.IdempotencyKey)
	switch {
	case req.PaymentID <= 0:
		return Refund{}, nil, fmt.Errorf("storage: request refund: missing payment")
	case req.Amount <= 0:
		return Refund{}, nil, fmt.Errorf("storage: request refund: the amount must be positive")
	case !validRefundReason(req.Reason):
		return Refund{}, nil, fmt.Errorf("storage: request refund: unknown reason %q", req.Reason)
	case req.Reason == "other" && req.Note == "":
		return Refund{}, nil, fmt.Errorf("storage: request refund: a note is required when the reason is other")
	case utf8.RuneCountInString(req.Note) > maxNoteLength:
		return Refund{}, nil, fmt.Errorf("storage: request refund: the note is longer than %d characters", maxNoteLength)
	case req.RequestedBy == "":
		return Refund{}, nil, fmt.Errorf("storage: request refund: missing requester")
	case req.IdempotencyKey == "":
		return Refund{}, nil, fmt.Errorf("storage: request refund: missing idempotency key")
	case (req.NeedsApproval || req.Decide != nil) && req.ApprovalTTL <= 0:
		return Refund{}, nil, fmt.Errorf("storage: request refund: an approval needs a positive time to live")
	}
	var r Refund
	var act *Action
	var dup bool
	err := db.tx(ctx, func(tx *Tx) error {
		existing, err := refundByKey(ctx, tx, req.IdempotencyKey)
		if err == nil {
			if existing.PaymentID != req.PaymentID {
				return fmt.Errorf("idempotency key %q belongs to refund %d of payment %d: %w",
					req.IdempotencyKey, existing.ID, existing.PaymentID, ErrConflict)
			}
			r, dup = existing, true
			a, err := latestRefundAction(ctx, tx, existing.ID)
			if err == nil {
				act = &a
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if a, err := actionByKey(ctx, tx, req.IdempotencyKey); err == nil {
			return fmt.Errorf("idempotency key %q belongs to action %d: %w", req.IdempotencyKey, a.ID, ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}

		now := db.Now()
		b, err := refundBalance(ctx, tx, req.PaymentID, now)
		if err != nil {
			return err
		}
		if req.Amount > b.Refundable {
			return fmt.Errorf("%s asked but only %s is refundable: %w",
				providers.FormatMoney(req.Amount, b.Currency), providers.FormatMoney(max(b.Refundable, 0), b.Currency),
				ErrInsufficientBalance)
		}
		r = Refund{
			PaymentID: req.PaymentID, Amount: req.Amount, Currency: b.Currency, Status: "pending",
			Reason: req.Reason, Note: req.Note, RequestedBy: req.RequestedBy, RequestedAt: fromMS(ms(now)),
			IdempotencyKey: req.IdempotencyKey, UpdatedAt: fromMS(ms(now)),
		}
		needsApproval := req.NeedsApproval
		if req.Decide != nil {
			f, err := refundFacts(ctx, tx, b, req.PaymentID, req.Amount, req.Reason, Requester{Key: req.RequestedByKey, Email: req.RequestedBy}, now)
			if err != nil {
				return err
			}
			switch dec := req.Decide(f); dec.Effect {
			case DecisionBlock:
				return fmt.Errorf("%s: %w", dec.Why, ErrBlocked)
			case DecisionApproval:
				needsApproval, r.ApprovalRule, r.ApprovalWhy = req.ApprovedBy == "", dec.Rule, dec.Why
			default:
				needsApproval = false
			}
		}
		var expires any
		if needsApproval {
			r.Status = "awaiting_approval"
			r.ApprovalExpiresAt = fromMS(ms(now.Add(req.ApprovalTTL)))
			expires = ms(r.ApprovalExpiresAt)
		} else if open, err := openMoneyAction(ctx, tx, req.PaymentID); err == nil {
			return fmt.Errorf("a %s is already in flight on this payment (action %d, %s); wait for its outcome: %w",
				strings.ToLower(actionLabel(open)), open.ID, open.State, ErrConflict)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		r.RequestedByKey = strings.TrimSpace(req.RequestedByKey)
		err = tx.QueryRowContext(ctx, `INSERT INTO refunds (payment_id, amount, currency, status, reason, note,
			requested_by, requested_at, approval_expires_at, idempotency_key, updated_at, approval_rule, approval_why, requested_by_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.PaymentID, r.Amount, r.Currency, r.Status, r.Reason, r.Note, r.RequestedBy, ms(now), expires,
			r.IdempotencyKey, ms(now), r.ApprovalRule, r.ApprovalWhy, r.RequestedByKey).Scan(&r.ID)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("Refund of %s requested by %s (%s)", providers.FormatMoney(r.Amount, r.Currency),
			r.RequestedBy, RefundReasonLabel(r.Reason))
		if needsApproval {
			msg += fmt.Sprintf("; awaiting a manager's approval until %s", r.ApprovalExpiresAt.Format("2006-01-02 15:04 MST"))
			if r.ApprovalWhy != "" {
				msg += " (" + r.ApprovalWhy + ")"
			}
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: r.PaymentID, At: now, Actor: r.RequestedBy, Kind: "refund_requested", Message: msg}); err != nil {
			return err
		}
		if needsApproval {
			text := fmt.Sprintf("%s asks for a refund of %s (%s): a manager must decide.", r.RequestedBy,
				providers.FormatMoney(r.Amount, r.Currency), RefundReasonLabel(r.Reason))
			if r.ApprovalWhy != "" {
				text += " Why: " + r.ApprovalWhy + "."
			}
			if err := tx.Notify(ctx, Notification{RecipientRole: NotifyManagers, ActorKey: r.RequestedByKey,
				Kind: NotifyApprovalRequested, PaymentID: r.PaymentID, RefundID: r.ID, Text: text, CreatedAt: now}); err != nil {
				return err
			}
			return runHooks(ctx, tx, r, now, []TxHook{req.Then})
		}
		if req.ApprovedBy != "" && r.ApprovalRule != "" {
			if err := insertDecision(ctx, tx, r, req.ApprovedBy, "approved", req.ApprovedNote, now); err != nil {
				return err
			}
			r.DecidedBy, r.DecisionReason, r.DecidedAt = req.ApprovedBy, req.ApprovedNote, fromMS(ms(now))
			if _, err := db.addEvent(ctx, tx, Event{PaymentID: r.PaymentID, At: now, Actor: req.ApprovedBy, Kind: "refund_approved",
				Message: fmt.Sprintf("Refund of %s requested by %s approved in advance by %s (%s)", providers.FormatMoney(r.Amount, r.Currency), r.RequestedBy, req.ApprovedBy, req.ApprovedNote)}); err != nil {
				return err
			}
		}
		a, err := db.insertAction(ctx, tx, Action{
			PaymentID: r.PaymentID, Kind: "refund", Amount: r.Amount, Currency: r.Currency, RefundID: r.ID,
			IdempotencyKey: r.IdempotencyKey, Actor: r.RequestedBy,
		})
		if err != nil {
			return err
		}
		act = &a
		return nil
	})
	if err != nil {
		return r, nil, fmt.Errorf("storage: refund on payment %d: %w", req.PaymentID, err)
	}
	if dup {
		return r, act, fmt.Errorf("storage: refund with key %q exists already (refund %d): %w", req.IdempotencyKey, r.ID, ErrDuplicate)
	}
	return r, act, nil
}

// latestRefundAction returns the newest action executing a refund, or ErrNotFound.
func latestRefundAction(ctx context.Context, x execer, refundID int64) (Action, error) {
	a, err := scanAction(x.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE refund_id = ?
		ORDER BY id DESC LIMIT 1`, refundID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// SetProviderRefundID records the provider's id of a refund once it is known (the
// outcome's RefundID, or the reconciler matching the provider's refund list).
func (db *DB) SetProviderRefundID(ctx context.Context, refundID int64, providerRefundID string) error {
	providerRefundID = strings.TrimSpace(providerRefundID)
	if providerRefundID == "" {
		return fmt.Errorf("storage: refund %d: empty provider refund id", refundID)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE refunds SET provider_refund_id = ?, updated_at = ? WHERE id = ?`,
		providerRefundID, ms(db.Now()), refundID)
	if err != nil {
		if isUniqueConstraint(err) {
			return fmt.Errorf("storage: refund %d: provider refund %s is recorded on another refund: %w", refundID, providerRefundID, ErrConflict)
		}
		return fmt.Errorf("storage: refund %d: %w", refundID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("storage: refund %d: %w", refundID, ErrNotFound)
	}
	return nil
}

// refundColumns selects a refund with its decision, from refunds r LEFT JOIN
// refund_approvals ap; scanRefund reads them.
const refundColumns = `r.id, r.payment_id, r.amount, r.currency, r.status, r.reason, r.note, r.requested_by,
	r.requested_at, r.approval_expires_at, r.provider_refund_id, r.idempotency_key, r.message, r.updated_at,
	coalesce(ap.decided_by, ''), coalesce(ap.reason, ''), ap.decided_at, r.approval_rule, r.approval_why`

// refundFrom is the FROM clause matching refundColumns.
const refundFrom = ` FROM refunds r LEFT JOIN refund_approvals ap ON ap.refund_id = r.id`

// scanRefund reads refundColumns, followed by extra destinations.
func scanRefund(s scannable, extra ...any) (Refund, error) {
	var r Refund
	var requested, updated int64
	var expires, decided sql.NullInt64
	var key sql.NullString
	dest := []any{&r.ID, &r.PaymentID, &r.Amount, &r.Currency, &r.Status, &r.Reason, &r.Note, &r.RequestedBy,
		&requested, &expires, &r.ProviderRefundID, &key, &r.Message, &updated,
		&r.DecidedBy, &r.DecisionReason, &decided, &r.ApprovalRule, &r.ApprovalWhy}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return r, err
	}
	r.RequestedAt = fromMS(requested)
	r.UpdatedAt = fromMS(updated)
	r.ApprovalExpiresAt = nullMS(expires)
	r.DecidedAt = nullMS(decided)
	r.IdempotencyKey = key.String
	return r, nil
}

// refundByID reads one refund (with its requester's key) with x, or ErrNotFound.
func refundByID(ctx context.Context, x execer, id int64) (Refund, error) {
	var key string
	r, err := scanRefund(x.QueryRowContext(ctx, `SELECT `+refundColumns+`, r.requested_by_key`+refundFrom+` WHERE r.id = ?`, id), &key)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	r.RequestedByKey = key
	return r, err
}

// refundByKey reads the refund with an idempotency key (and its requester's key) with x,
// or ErrNotFound.
func refundByKey(ctx context.Context, x execer, key string) (Refund, error) {
	var person string
	r, err := scanRefund(x.QueryRowContext(ctx, `SELECT `+refundColumns+`, r.requested_by_key`+refundFrom+` WHERE r.idempotency_key = ?`, key), &person)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	r.RequestedByKey = person
	return r, err
}

// Requester selects one person's own refunds ("my refunds", the per-person approval
// rule): those recorded with their person key, and — recorded before keys
// (requested_by_key ”) — under their e-mail. A Requester with neither selects nothing:
// an unknown person never sees everyone's. How people are identified changes here alone.
type Requester struct {
	Key, Email string
}

// where is the Requester's term of a WHERE clause on refunds (alias "r." or ""), and
// its arguments. The index refunds_requester_key (migration 0012) serves each branch.
func (q Requester) where(alias string) (string, []any) {
	key, email := strings.TrimSpace(q.Key), strings.TrimSpace(q.Email)
	switch {
	case key != "" && email != "":
		return "(" + alias + "requested_by_key = ? OR (" + alias + "requested_by_key = '' AND " + alias + "requested_by = ? COLLATE NOCASE))", []any{key, email}
	case key != "":
		return alias + "requested_by_key = ?", []any{key}
	case email != "": // a session from before keys: as before them
		return alias + "requested_by = ? COLLATE NOCASE", []any{email}
	}
	return "1 = 0", nil
}

// RefundByID returns one refund, or ErrNotFound.
func (db *DB) RefundByID(ctx context.Context, id int64) (Refund, error) {
	r, err := refundByID(ctx, db.db, id)
	if err != nil {
		return r, fmt.Errorf("storage: refund %d: %w", id, err)
	}
	return r, nil
}

// RefundByKey returns the refund requested with an idempotency key.
func (db *DB) RefundByKey(ctx context.Context, key string) (Refund, error) {
	r, err := refundByKey(ctx, db.db, key)
	if err != nil {
		return r, fmt.Errorf("storage: refund by key: %w", err)
	}
	return r, nil
}

// RefundsOfPayment returns a payment's refunds, oldest first.
func (db *DB) RefundsOfPayment(ctx context.Context, paymentID int64) ([]Refund, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+refundColumns+refundFrom+` WHERE r.payment_id = ?
		ORDER BY r.requested_at, r.id`, paymentID)
	if err != nil {
		return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
	}
	return out, nil
}

// validRefundStatus reports whether s is one of RefundStatuses.
func validRefundStatus(s string) bool {
	for _, v := range RefundStatuses {
		if v == s {
			return true
		}
	}
	return false
}
