package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/providers/simfault"
)

// TestMetricsExposed: requests, actions, webhooks and reconciler runs show up on the
// metrics handler, labelled by route pattern and fixed vocabularies only: no payment id.
func TestMetricsExposed(t *testing.T) {
	h := newHarness(t)
	wa := newWebhookApp(t, h)
	p := h.add(bpc.Name, spec{variant: 2, amount: 10000})
	b := h.signedIn("sam")
	b.get("/payments/" + p.PublicID)
	b.get("/payments/pd_doesnotexist")
	h.bpc.FailNext(1, simfault.DropAnswer)
	refundThroughPage(t, b, p, "10.00")
	if _, err := h.desk.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"payment.succeeded","data":{"object":{"id":"p_nowhere"}}}`)
	send(t, wa.url, "/webhooks/bpc", "application/json", body, map[string]string{"X-Signature": hmacHex(bpcWebhookSecret, body)})

	scrape := func(hd http.Handler) string {
		srv := httptest.NewServer(hd)
		defer srv.Close()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("metrics: %d", res.StatusCode)
		}
		return string(out)
	}
	got := scrape(h.app.MetricsHandler())
	for _, want := range []string{
		`paydesk_http_requests_total{route="GET /payments/{id}",status="200"}`,
		`paydesk_http_requests_total{route="GET /payments/{id}",status="404"}`,
		`paydesk_http_requests_total{route="POST /payments/{id}/refund",status="303"}`,
		`paydesk_http_request_duration_seconds_bucket{route="GET /payments/{id}",le="0.005"}`,
		`paydesk_actions_total{kind="refund",outcome="unknown"} 1`,
		`paydesk_reconciler_actions_total{result="succeeded"} 1`,
		`paydesk_reconciler_runs_total{result="ok"} 1`,
		`paydesk_provider_circuit_state{provider="bpc",state="closed"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(got, p.PublicID) || strings.Contains(got, p.PaymentID) || strings.Contains(got, "pd_doesnotexist") {
		t.Errorf("metrics carry a payment id")
	}
	if wh := scrape(wa.app.MetricsHandler()); !strings.Contains(wh, `paydesk_webhooks_total{provider="bpc",verdict="unknown_payment"} 1`) {
		t.Errorf("webhook metrics missing:\n%s", grepLines(wh, "paydesk_webhooks"))
	}
	// The metrics are not on the application's address.
	if r := b.noFollow().get("/metrics"); r.status != http.StatusNotFound {
		t.Errorf("GET /metrics on the app: %d, want 404", r.status)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
