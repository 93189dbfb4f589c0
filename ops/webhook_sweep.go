package ops

import (
	"context"
	"time"
)

// Default retentions of webhook records (Config.WebhookRetention, WebhookRefusedRetention).
const (
	defaultWebhookRetention        = 90 * 24 * time.Hour
	defaultWebhookRefusedRetention = 7 * 24 * time.Hour
	// webhookSweepMax is the most records one maintenance round deletes (in batches of a
	// few hundred, each its own short write); a larger backlog goes on at the next round.
	webhookSweepMax = 20000
)

// sweepWebhooks deletes the webhook records older than their retention: refused ones
// after Config.WebhookRefusedRetention (7 days by default), the others after
// Config.WebhookRetention (90 days). A duplicate delivered after its twin was swept is
// applied again, which changes nothing: the stored state is not older than it.
func (d *Desk) sweepWebhooks(ctx context.Context, now time.Time) error {
	keep, keepRefused := d.cfg.WebhookRetention, d.cfg.WebhookRefusedRetention
	if keep <= 0 {
		keep = defaultWebhookRetention
	}
	if keepRefused <= 0 {
		keepRefused = defaultWebhookRefusedRetention
	}
	n, err := d.db.SweepWebhooks(ctx, now.Add(-keep), now.Add(-keepRefused), webhookSweepMax)
	if n > 0 {
		d.log.Info("maintenance: webhook records swept", "deleted", n, "retention", keep, "refused_retention", keepRefused)
	}
	return err
}
