// The refunds a provider reports on a payment, merged into the refunds table by
// UpsertPayment: a new provider refund is inserted, a known one follows its status, and
// a refund Paydesk requested but the provider knows by its own id is adopted.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"paydesk/providers"
)

// refundSync is one change UpsertPayment makes to the refunds table.
type refundSync struct {
	// RowID is the stored refund (0 for a new one).
	RowID      int64  `json:"row_id,omitempty"`
	ProviderID string `json:"provider_refund_id"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	// From is the stored status ("" for a new refund); To the status written.
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Raw is the provider's status, verbatim.
	Raw string `json:"provider_status"`
	// Adopt is true when a refund Paydesk requested (known by no provider id yet) is
	// recognised as this provider refund.
	Adopt       bool      `json:"adopted,omitempty"`
	RequestedAt time.Time `json:"-"`
}

// providerRefundStatus maps a provider refund to the refunds table's status.
func providerRefundStatus(r providers.RefundSnapshot) string {
	switch {
	case r.Succeeded:
		return "succeeded"
	case r.Failed:
		return "failed"
	}
	return "pending"
}

// planProviderRefunds decides what the snapshot's refunds change in the refunds table:
//   - a provider refund already stored (by provider id) that is pending or unknown and that
//     the provider now reports succeeded or failed is settled;
//   - a provider refund not stored is inserted, unless exactly one refund Paydesk sent for
//     this payment, with the same amount and no provider id yet, is still pending or
//     unknown: that is the same refund, whose answer was lost, so it is adopted (given the
//     provider id and settled) instead of being counted twice.
func planProviderRefunds(ctx context.Context, tx *Tx, paymentID int64, found bool, s providers.Snapshot, now time.Time) ([]refundSync, error) {
	var plan []refundSync
	claimed := map[int64]bool{} // Paydesk refunds already matched to a provider refund
	for _, r := range s.Refunds {
		to := providerRefundStatus(r)
		at := r.CreatedAt
		if at.IsZero() {
			at = now
		}
		item := refundSync{ProviderID: r.ID, Amount: r.Amount, Currency: r.Currency, To: to, Raw: r.Status, RequestedAt: at}
		if !found {
			plan = append(plan, item)
			continue
		}
		var rowID int64
		var status string
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM refunds WHERE payment_id = ? AND provider_refund_id = ?`,
			paymentID, r.ID).Scan(&rowID, &status)
		switch {
		case err == nil:
			if (status == "pending" || status == "unknown") && to != "pending" {
				item.RowID, item.From = rowID, status
				plan = append(plan, item)
			}
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("storage: refund %s of payment %d: %w", r.ID, paymentID, err)
		}
		all, err := unmatchedRefunds(ctx, tx, paymentID, r.Amount)
		if err != nil {
			return nil, err
		}
		var ids []unmatchedRefund
		for _, f := range all {
			if !claimed[f.id] {
				ids = append(ids, f)
			}
		}
		if len(ids) == 1 {
			item.RowID, item.From, item.Adopt = ids[0].id, ids[0].status, true
			claimed[ids[0].id] = true
		}
		plan = append(plan, item)
	}
	return plan, nil
}

// unmatchedRefund is a refund Paydesk sent whose provider id is not known yet.
type unmatchedRefund struct {
	id     int64
	status string
}

// unmatchedRefunds returns the refunds Paydesk sent for a payment, of amount, that the
// provider has not been matched with yet.
func unmatchedRefunds(ctx context.Context, tx *Tx, paymentID, amount int64) ([]unmatchedRefund, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, status FROM refunds
		WHERE payment_id = ? AND provider_refund_id = '' AND status IN ('pending', 'unknown') AND amount = ?`, paymentID, amount)
	if err != nil {
		return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
	}
	defer rows.Close()
	var out []unmatchedRefund
	for rows.Next() {
		var r unmatchedRefund
		if err := rows.Scan(&r.id, &r.status); err != nil {
			return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: refunds of payment %d: %w", paymentID, err)
	}
	return out, nil
}

// applyProviderRefunds writes a refund plan.
func applyProviderRefunds(ctx context.Context, tx *Tx, paymentID int64, plan []refundSync, now time.Time) error {
	for _, r := range plan {
		msg := "Reported by the provider: " + r.Raw
		var err error
		if r.RowID == 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by,
				requested_at, provider_refund_id, idempotency_key, message, updated_at)
				VALUES (?, ?, ?, ?, 'provider', 'provider', ?, ?, NULL, ?, ?)`,
				paymentID, r.Amount, r.Currency, r.To, ms(r.RequestedAt), r.ProviderID, msg, ms(now))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE refunds SET status = ?, provider_refund_id = ?, message = ?, updated_at = ? WHERE id = ?`,
				r.To, r.ProviderID, msg, ms(now), r.RowID)
		}
		if err != nil {
			return fmt.Errorf("storage: refund %s of payment %d: %w", r.ProviderID, paymentID, err)
		}
	}
	return nil
}

// refundSyncParts describes each refund change for the timeline.
func refundSyncParts(plan []refundSync) []string {
	var out []string
	for _, r := range plan {
		money := providers.FormatMoney(r.Amount, r.Currency)
		switch {
		case r.RowID == 0:
			out = append(out, fmt.Sprintf("refund %s of %s %s", r.ProviderID, money, r.To))
		case r.Adopt && r.From == r.To:
			out = append(out, fmt.Sprintf("refund of %s known to the provider as %s, still %s", money, r.ProviderID, r.To))
		case r.Adopt:
			out = append(out, fmt.Sprintf("refund of %s known to the provider as %s %s → %s", money, r.ProviderID, r.From, r.To))
		default:
			out = append(out, fmt.Sprintf("refund %s of %s %s → %s", r.ProviderID, money, r.From, r.To))
		}
	}
	return out
}
