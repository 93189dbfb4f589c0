package ops

import (
	"context"
	"fmt"
	"time"
)

// RunMaintenance does Paydesk's periodic housekeeping until ctx ends: every `every` (a
// minute when not positive) it expires refund requests no manager answered in time
// (releasing their reservations) and payer links past their expiry. cmd starts it in a
// goroutine next to the HTTP server. A failed round is logged and the next one runs as
// usual.
func (d *Desk) RunMaintenance(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := d.Maintain(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("maintenance", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Maintain runs one round of housekeeping at the Desk's clock: unanswered approval
// requests and payer links past their expiry are marked expired (each with its timeline
// entry, and one audit entry per round that expired something), webhook records past
// their retention are deleted, expired sign-in sessions and shared rate-limit budgets
// whole again are deleted, and the audit chain
// is verified when its last complete verification is older than ten minutes.
func (d *Desk) Maintain(ctx context.Context) error {
	now := d.cfg.Now()
	approvals, err := d.db.ExpireApprovals(ctx, now)
	if err != nil {
		return fmt.Errorf("ops: maintenance: %w", err)
	}
	if approvals > 0 {
		d.Audit(ctx, system, "expiry", 0,
			fmt.Sprintf("%d refund %s expired without a manager's decision; their reserved amounts are released", approvals, plural(approvals, "request", "requests")),
			map[string]any{"approvals": approvals})
	}
	links, err := d.db.ExpirePayerLinks(ctx, now)
	if err != nil {
		return fmt.Errorf("ops: maintenance: %w", err)
	}
	if links > 0 {
		d.Audit(ctx, system, "expiry", 0, fmt.Sprintf("%d payer %s expired", links, plural(links, "link", "links")),
			map[string]any{"payer_links": links})
	}
	if approvals > 0 || links > 0 {
		d.log.Info("maintenance", "approvals_expired", approvals, "payer_links_expired", links)
	}
	// Sign-in sessions past their idle or absolute expiry (web/auth/store.go): a session
	// nobody comes back to would otherwise stay in the table.
	swept, err := d.db.DeleteExpiredSessions(ctx, now)
	if err != nil {
		return fmt.Errorf("ops: maintenance: %w", err)
	}
	if swept > 0 {
		d.log.Info("maintenance", "sessions_swept", swept)
	}
	// Shared rate-limit budgets that are whole again (PostgreSQL; the table is empty on
	// SQLite): a missing row is a whole budget.
	if _, err := d.db.SweepRateLimits(ctx, now); err != nil {
		return fmt.Errorf("ops: maintenance: %w", err)
	}
	// Webhook records past their retention go, a batch at a time (webhook_sweep.go).
	if err := d.sweepWebhooks(ctx, now); err != nil {
		return fmt.Errorf("ops: maintenance: %w", err)
	}
	// A long audit log may be too long to verify while the audit page loads: keep a recent
	// complete verification for it.
	if last := d.lastAuditVerification(ctx); now.Sub(last.At) >= auditVerifyBackground || now.Before(last.At) {
		v, err := d.VerifyAuditChain(ctx, 0)
		if err != nil {
			return fmt.Errorf("ops: maintenance: %w", err)
		}
		if !v.OK {
			d.log.Error("audit chain broken", "first_broken", v.FirstBroken, "problem", v.Problem)
		}
	}
	return nil
}

// plural picks the word for n things.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
