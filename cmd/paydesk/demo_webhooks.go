package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"paydesk/providers"
)

// demoWebhooks posts the webhooks the demo simulators make — each provider's own, signed
// as the real one signs it (Settings.Simulate) — to Paydesk's own /webhooks endpoints, in
// order, from one goroutine, so that `make run` shows payments changing by webhook. The
// simulators call enqueue synchronously while they answer; it only queues.
type demoWebhooks struct {
	base  string
	hc    *http.Client
	log   *slog.Logger
	queue chan providers.DemoWebhook
}

// newDemoWebhooks returns the sender posting to the Paydesk at base.
func newDemoWebhooks(base string, log *slog.Logger) *demoWebhooks {
	return &demoWebhooks{
		base:  base,
		hc:    &http.Client{Timeout: 15 * time.Second},
		log:   log,
		queue: make(chan providers.DemoWebhook, 512),
	}
}

// run posts queued webhooks until ctx ends.
func (d *demoWebhooks) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-d.queue:
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+w.Path, bytes.NewReader(w.Body))
			if err != nil {
				continue
			}
			if w.Header != nil {
				req.Header = w.Header
			}
			req.Header.Set("Content-Type", w.ContentType)
			res, err := d.hc.Do(req)
			if err != nil {
				d.log.Warn("demo webhook not delivered", "path", w.Path, "err", err)
				continue
			}
			res.Body.Close()
			d.log.Debug("demo webhook delivered", "path", w.Path, "status", res.StatusCode)
		}
	}
}

// enqueue queues a webhook, dropping it (with a log line) when the queue is full: the
// demo must never block a simulator.
func (d *demoWebhooks) enqueue(w providers.DemoWebhook) {
	select {
	case d.queue <- w:
	default:
		d.log.Warn("demo webhook dropped: queue full", "path", w.Path)
	}
}
