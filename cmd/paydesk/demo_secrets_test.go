package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// demoRun is what one demo start sets up: the settings pointed at the simulators and the
// webhooks they send.
type demoRun struct {
	c    Config
	sims simulators
	mu   sync.Mutex
	sent []providers.DemoWebhook
}

// startDemoSims sets the simulators up over the demo database at path, as `paydesk demo`
// does at every start.
func startDemoSims(t *testing.T, path string) *demoRun {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := loadConfig(noEnv, true)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = "http://127.0.0.1:1"
	run := &demoRun{c: c}
	run.sims, err = simulate(ctx, db, c, func(w providers.DemoWebhook) {
		run.mu.Lock()
		run.sent = append(run.sent, w)
		run.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// webhookSecret is the secret a provider's receiver checks, as the demo configured it.
func (r *demoRun) webhookSecret(t *testing.T, n providers.Name) string {
	t.Helper()
	switch w := r.c.Providers[n].Webhooks(nil).(type) {
	case tranzzo.Webhooks:
		return string(w.Secret)
	case bpc.Webhooks:
		return string(w.Secret)
	case powens.Webhooks:
		return string(w.Secret)
	}
	t.Fatalf("%s: unexpected receiver", n)
	return ""
}

// TestDemoSecretsPerDatabase: the demo's webhook secrets and simulator credentials are
// made per demo database — none is a constant of the source, two databases get different
// ones, a restarted demo keeps its own — and after a restart the Tranzzo simulator still
// signs webhooks the demo's receiver accepts and takes the demo client's calls.
func TestDemoSecretsPerDatabase(t *testing.T) {
	dir := t.TempDir()
	one := startDemoSims(t, filepath.Join(dir, "one.db"))
	two := startDemoSims(t, filepath.Join(dir, "two.db"))
	again := startDemoSims(t, filepath.Join(dir, "one.db"))
	constants := []string{tranzzo.DemoAPIKey, tranzzo.DemoAPISecret, tranzzo.DemoEndpointsKey, bpc.DemoAPIKey, powens.DemoClientSecret}
	for _, n := range []providers.Name{tranzzo.Name, bpc.Name, powens.Name} {
		s1, s2, s1again := one.webhookSecret(t, n), two.webhookSecret(t, n), again.webhookSecret(t, n)
		switch {
		case len(s1) < 32:
			t.Errorf("%s: webhook secret %q is too short", n, s1)
		case s1 == s2:
			t.Errorf("%s: two demo databases share the webhook secret", n)
		case s1 != s1again:
			t.Errorf("%s: a restarted demo has another webhook secret", n)
		}
		for _, c := range constants {
			if s1 == c {
				t.Errorf("%s: the webhook secret is the constant %q", n, c)
			}
		}
	}
	if one.c.Providers[tranzzo.Name].(tranzzo.Settings).APIKey == tranzzo.DemoAPIKey ||
		one.c.Providers[bpc.Name].(bpc.Settings).APIKey == bpc.DemoAPIKey ||
		one.c.Providers[powens.Name].(powens.Settings).ClientSecret == powens.DemoClientSecret {
		t.Error("a simulator's credential is still a constant of the source")
	}

	// After the restart: a change in the Tranzzo simulator is a webhook the demo accepts …
	raw, err := tranzzo.Demo{}.Envelope(providers.DemoSpec{Seq: 1, Name: "Ada Lovelace", Email: "ada@example.com", Amount: 4200,
		Currency: "UAH", CreatedAt: time.Now().Add(-time.Hour), Variant: tranzzo.VariantPurchasePending, Reference: "R-1"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tranzzo.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	sim := again.sims[tranzzo.Name].(*tranzzo.Simulator)
	if err := sim.Load(raw); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetStatus(snap.OrderID, "success", "1000", "Payment completed"); err != nil {
		t.Fatal(err)
	}
	if len(again.sent) != 1 {
		t.Fatalf("%d webhooks sent, want 1", len(again.sent))
	}
	w := again.sent[0]
	receiver := again.c.Providers[tranzzo.Name].Webhooks(nil)
	if err := receiver.Verify(w.Header, w.Body); err != nil {
		t.Errorf("the restarted demo refuses its simulator's webhook: %v", err)
	}
	if err := two.c.Providers[tranzzo.Name].Webhooks(nil).Verify(w.Header, w.Body); err == nil {
		t.Error("another demo database accepts this demo's webhook")
	}
	// … and signed with a constant of the source, it is refused.
	form, err := url.ParseQuery(string(w.Body))
	if err != nil {
		t.Fatal(err)
	}
	data := form.Get("data")
	forged := url.Values{"data": {data}, "signature": {tranzzo.Signature([]byte(tranzzo.DemoAPISecret), data)}}.Encode()
	if err := receiver.Verify(w.Header, []byte(forged)); err == nil {
		t.Error("a webhook signed with the source's constant is accepted")
	}

	// The demo's client, with the kept credentials, is accepted by the simulator.
	srv := httptest.NewServer(sim)
	defer srv.Close()
	st := again.c.Providers[tranzzo.Name].(tranzzo.Settings)
	st.BaseURL = srv.URL
	client, err := st.Client(&http.Client{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Fetch(context.Background(), providers.RefOf(snap))
	if err != nil || providers.Normalise(got) != providers.StatusPaid {
		t.Errorf("the demo client reading the simulator: %v, %v", got.RawStatus, err)
	}
}
