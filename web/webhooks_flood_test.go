package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
)

// TestForgedWebhookFlood: 300 posts of 60 KB with a wrong signature from one address
// grow the database by less than 1 MB: the first 20 are answered 401 and recorded
// without their body, the others 429 with a Retry-After, counted and not recorded; a
// signed webhook from the same address still applies (whole).
func TestForgedWebhookFlood(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(bpc.Name, spec{variant: 8})
	ctx := context.Background()
	before, err := h.db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded := h.webhookCount()
	body := bytes.Repeat([]byte("A"), 60<<10)
	statuses := map[int]int{}
	retryAfter := ""
	for i := range 300 {
		body[0] = byte('a' + i%26)
		req, _ := http.NewRequest(http.MethodPost, wa.url+"/webhooks/bpc", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature", "deadbeef")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests && retryAfter == "" {
			retryAfter = res.Header.Get("Retry-After")
		}
	}
	after, err := h.db.DatabaseBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("300 forged webhooks of 60 KB: answers %v, database grew by %d bytes", statuses, after-before)
	if after-before >= 1<<20 {
		t.Errorf("the database grew by %d bytes, want under 1 MB", after-before)
	}
	if statuses[http.StatusUnauthorized] != 20 || statuses[http.StatusTooManyRequests] != 280 {
		t.Errorf("answers %v, want 20 × 401 then 280 × 429", statuses)
	}
	if s, err := strconv.Atoi(retryAfter); err != nil || s < 1 || s > 3 {
		t.Errorf("Retry-After %q, want 1 to 3 seconds", retryAfter)
	}
	if n := h.webhookCount() - recorded; n != 20 {
		t.Errorf("%d webhooks recorded, want the 20 within the budget", n)
	}
	if last := h.lastWebhook(); len(last.Body) != 0 || last.BodySize != 60<<10 || last.BodySHA256 == "" || !strings.HasPrefix(last.Excerpt, "tAAA") ||
		!strings.Contains(string(last.Headers), `"X-Signature":"deadbeef"`) {
		t.Errorf("refused record: body %d bytes, size %d, hash %q, excerpt %.10q, headers %s", len(last.Body), last.BodySize, last.BodySHA256, last.Excerpt, last.Headers)
	}
	if got := scrapeMetrics(t, wa); !strings.Contains(got, `paydesk_webhooks_total{provider="bpc",verdict="rate_limited"} 280`) {
		t.Errorf("the turned-away webhooks are not counted:\n%s", grepLines(got, "paydesk_webhooks_total"))
	}

	// The provider's own, signed webhook from the same address goes through, whole.
	if err := h.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	raw, err := h.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	good := bpcBody("payment.succeeded", envelopePayment(t, raw))
	if status, answer := send(t, wa.url, "/webhooks/bpc", "application/json", good, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, good)}); status != 200 || answer != "applied" {
		t.Fatalf("signed webhook after the flood: %d %q, want 200 applied", status, answer)
	}
	if got := h.payment(p).Status; got != providers.StatusPaid {
		t.Errorf("payment %s, want paid", got)
	}
	if last := h.lastWebhook(); !bytes.Equal(last.Body, good) {
		t.Errorf("the applied webhook is not stored whole (%d bytes)", len(last.Body))
	}
	// Oversized posts from the address are turned away the same way.
	big := bytes.Repeat([]byte("x"), 65<<10)
	if status, _ := send(t, wa.url, "/webhooks/bpc", "application/json", big, nil); status != http.StatusTooManyRequests {
		t.Errorf("oversized post from a limited address: %d, want 429", status)
	}
}

// scrapeMetrics is the Prometheus text of the webhook app's metrics.
func scrapeMetrics(t *testing.T, wa *webhookApp) string {
	t.Helper()
	srv := httptest.NewServer(wa.metrics.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return string(out)
}

// envelopePayment is the payment object of a provider envelope.
func envelopePayment(t *testing.T, raw []byte) json.RawMessage {
	t.Helper()
	var env providers.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	return env.Payment
}
