// What the approval rules read of a refund request (docs/governance.md): the payment's
// refunds so far, the requester's refunds of the last 24 hours, the payment's age. The
// rules themselves are plain Go in package ops; storage reads their facts inside the
// write transaction that records the request (RequestRefund), so two requests at once
// cannot both be judged on the same sums, and outside it for the refund form's preview.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBlocked: an approval rule with the effect "block" refuses the refund; nothing was
// recorded.
var ErrBlocked = errors.New("refused by an approval rule")

// PersonWindow is how far back the per-person rule adds up a requester's refunds.
const PersonWindow = 24 * time.Hour

// RefundFacts is what the approval rules judge a refund request on, read in one go.
type RefundFacts struct {
	PaymentID int64
	// Amount (minor units), Currency (the payment's), Reason and RequestedBy are the
	// request's.
	Amount      int64
	Currency    string
	Reason      string
	RequestedBy string
	// PaymentCreatedAt is when the provider created the payment (the age rule).
	PaymentCreatedAt time.Time
	// Now is the time of the decision.
	Now time.Time
	// OnPayment is what the payment's refunds already hold, this request left out:
	// refunded (Balance's Succeeded), in flight and awaiting approval (not expired).
	OnPayment int64
	// ByPerson is the requester's refunds in Currency requested within PersonWindow
	// before Now, on any payment, this request left out: succeeded, in flight (pending,
	// unknown, approved) and awaiting approval (not expired).
	ByPerson int64
}

// RefundDecision is what the approval rules decided about a request.
type RefundDecision struct {
	// Effect is "" (the refund runs at once), DecisionApproval or DecisionBlock.
	Effect string
	// Rule is the code of the rule that decided ("" when none applies); Why says in
	// plain words what it found ("this refund brings … at or above …").
	Rule, Why string
}

// The effects of a RefundDecision.
const (
	DecisionApproval = "approval"
	DecisionBlock    = "block"
)

// RefundFacts reads the facts of a refund request outside a transaction: the refund
// form's preview. RequestRefund reads them again in its transaction, and that decides.
func (db *DB) RefundFacts(ctx context.Context, paymentID, amount int64, reason string, who Requester) (RefundFacts, error) {
	now := db.Now()
	b, err := refundBalance(ctx, db.db, paymentID, now)
	if err != nil {
		return RefundFacts{}, fmt.Errorf("storage: refund facts of payment %d: %w", paymentID, err)
	}
	f, err := refundFacts(ctx, db.db, b, paymentID, amount, reason, who, now)
	if err != nil {
		return f, fmt.Errorf("storage: refund facts of payment %d: %w", paymentID, err)
	}
	return f, nil
}

// refundFacts completes a payment's balance b (read with x at now) with the rest of the
// facts.
func refundFacts(ctx context.Context, x execer, b RefundBalance, paymentID, amount int64, reason string, who Requester, now time.Time) (RefundFacts, error) {
	f := RefundFacts{PaymentID: paymentID, Amount: amount, Currency: b.Currency, Reason: reason, RequestedBy: strings.TrimSpace(who.Email),
		Now: now, OnPayment: b.Succeeded + b.InFlight + b.Reserved}
	var created int64
	err := x.QueryRowContext(ctx, `SELECT created_at FROM payments WHERE id = ?`, paymentID).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("payment %d: %w", paymentID, ErrNotFound)
	}
	if err != nil {
		return f, err
	}
	f.PaymentCreatedAt = fromMS(created)
	mine, args := who.where("")
	if len(args) == 0 {
		return f, nil
	}
	// The refunds_requested index (0004) holds requested_at first and the other columns
	// but the expiry: the last 24 hours are a short range of it.
	err = x.QueryRowContext(ctx, `SELECT coalesce(sum(amount), 0) FROM refunds
		WHERE requested_at > ? AND currency = ? AND `+mine+`
		AND (status IN ('succeeded', 'pending', 'unknown', 'approved')
			OR (status = 'awaiting_approval' AND approval_expires_at > ?))`,
		append(append([]any{ms(now.Add(-PersonWindow)), b.Currency}, args...), ms(now))...).Scan(&f.ByPerson)
	return f, err
}
