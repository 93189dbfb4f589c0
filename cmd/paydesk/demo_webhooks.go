package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"paydesk/providers"
)

// demoWebhooks turns the demo simulators' changes into the webhooks the real providers
// send — BPC's signed JSON events, Tranzzo's signed form, Powens' hint — and posts them to
// Paydesk's own /webhooks endpoints, in order, from one goroutine, so that `make run`
// shows payments changing by webhook. The simulators call it synchronously while they
// answer; it only queues.
type demoWebhooks struct {
	base          string
	bpcSecret     []byte
	bpcHash       func() hash.Hash
	powensSecret  []byte
	powensHeader  string
	tranzzoSecret []byte
	hc            *http.Client
	log           *slog.Logger
	queue         chan demoWebhook

	mu      sync.Mutex
	refunds map[string]string // BPC refund id → status last sent
}

// demoWebhook is one webhook waiting to be posted.
type demoWebhook struct {
	path, contentType string
	body              []byte
	header            http.Header
}

// newDemoWebhooks gives the demo webhook secrets when none are configured (a fresh pair
// each start: only this process signs and checks them) and returns the sender.
func newDemoWebhooks(c *Config, log *slog.Logger) *demoWebhooks {
	random := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	if c.BPCWebhookSecret == "" {
		c.BPCWebhookSecret = random()
	}
	if c.PowensWebhookSecret == "" {
		c.PowensWebhookSecret = random()
	}
	h := map[string]func() hash.Hash{"sha256": sha256.New, "sha512": sha512.New, "sha1": sha1.New}[c.BPCWebhookAlgorithm]
	if h == nil {
		h = sha256.New
	}
	return &demoWebhooks{
		base: c.BaseURL, bpcSecret: []byte(c.BPCWebhookSecret), bpcHash: h,
		powensSecret: []byte(c.PowensWebhookSecret), powensHeader: c.PowensWebhookHeader,
		tranzzoSecret: []byte(demoTranzzoAPISecret),
		hc:            &http.Client{Timeout: 15 * time.Second},
		log:           log,
		queue:         make(chan demoWebhook, 512),
		refunds:       map[string]string{},
	}
}

// run posts queued webhooks until ctx ends.
func (d *demoWebhooks) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-d.queue:
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+w.path, bytes.NewReader(w.body))
			if err != nil {
				continue
			}
			req.Header = w.header
			req.Header.Set("Content-Type", w.contentType)
			res, err := d.hc.Do(req)
			if err != nil {
				d.log.Warn("demo webhook not delivered", "path", w.path, "err", err)
				continue
			}
			res.Body.Close()
			d.log.Debug("demo webhook delivered", "path", w.path, "status", res.StatusCode)
		}
	}
}

// enqueue queues a webhook, dropping it (with a log line) when the queue is full: the
// demo must never block a simulator.
func (d *demoWebhooks) enqueue(w demoWebhook) {
	select {
	case d.queue <- w:
	default:
		d.log.Warn("demo webhook dropped: queue full", "path", w.path)
	}
}

// powens is the Powens simulator's OnChange: a PAYMENT_UPDATED hint carrying the payment.
func (d *demoWebhooks) powens(envelope []byte) {
	var env providers.Envelope
	if json.Unmarshal(envelope, &env) != nil || len(env.Payment) == 0 {
		return
	}
	body, _ := json.Marshal(map[string]any{"type": "PAYMENT_UPDATED", "payment": env.Payment})
	m := hmac.New(sha256.New, d.powensSecret)
	m.Write(body)
	h := http.Header{}
	h.Set(d.powensHeader, hex.EncodeToString(m.Sum(nil)))
	d.enqueue(demoWebhook{path: "/webhooks/powens", contentType: "application/json", body: body, header: h})
}

// bpc is the BPC simulator's OnChange: the event with the object it concerns; for
// refund.updated, one event per refund whose status changed since the last one sent.
func (d *demoWebhooks) bpc(event string, envelope []byte) {
	var env providers.Envelope
	if json.Unmarshal(envelope, &env) != nil {
		return
	}
	var objects []json.RawMessage
	switch kind, _, _ := strings.Cut(event, "."); kind {
	case "session":
		objects = append(objects, env.Session)
	case "payment":
		objects = append(objects, env.Payment)
	case "refund":
		var list []json.RawMessage
		json.Unmarshal(env.Refunds, &list)
		d.mu.Lock()
		for _, r := range list {
			var f struct{ ID, Status string }
			if json.Unmarshal(r, &f) == nil && f.ID != "" && d.refunds[f.ID] != f.Status {
				d.refunds[f.ID] = f.Status
				objects = append(objects, r)
			}
		}
		d.mu.Unlock()
	}
	for _, obj := range objects {
		if len(obj) == 0 {
			continue
		}
		body, _ := json.Marshal(map[string]any{"created": time.Now().UTC().Format(time.RFC3339), "type": event, "data": map[string]any{"object": obj}})
		m := hmac.New(d.bpcHash, d.bpcSecret)
		m.Write(body)
		id := make([]byte, 16)
		rand.Read(id)
		h := http.Header{}
		h.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
		h.Set("X-Version", "2023-10-31")
		h.Set("API-Request-Id", "req_"+hex.EncodeToString(id))
		d.enqueue(demoWebhook{path: "/webhooks/bpc", contentType: "application/json", body: body, header: h})
	}
}

// tranzzo is the Tranzzo simulator's OnChange: the transaction, base64url-encoded, with
// its SHA-1 sandwich signature.
func (d *demoWebhooks) tranzzo(transaction, _ []byte) {
	data := base64.URLEncoding.EncodeToString(transaction)
	s := sha1.New()
	s.Write(d.tranzzoSecret)
	s.Write([]byte(data))
	s.Write(d.tranzzoSecret)
	body := url.Values{"data": {data}, "signature": {base64.URLEncoding.EncodeToString(s.Sum(nil))}}.Encode()
	d.enqueue(demoWebhook{path: "/webhooks/tranzzo", contentType: "application/x-www-form-urlencoded", body: []byte(body), header: http.Header{}})
}
