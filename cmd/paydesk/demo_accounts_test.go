package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
)

// TestDemoTwoBPCAccounts: the demo runs two BPC accounts, bpc-fr and bpc-de, each with
// its own simulator and credentials, its payments spread over both; a refund of each
// account's payment lands on that account's simulator, and the other never hears of it.
func TestDemoTwoBPCAccounts(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "demo.db"))
	c, err := loadConfig(noEnv, true)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c.BaseURL = srv.URL
	sims, err := simulate(ctx, db, c, func(providers.DemoWebhook) {})
	if err != nil {
		t.Fatal(err)
	}
	fr, de := sims[bpc.Name].(*bpc.Simulator), sims[simKey(bpc.Name, "bpc-de")].(*bpc.Simulator)
	if fr == nil || de == nil || fr == de {
		t.Fatalf("simulators %v: want one per BPC account", sims)
	}
	var frSettings, deSettings bpc.Settings
	for _, a := range c.Accounts {
		switch {
		case a.Provider == bpc.Name && a.Name == "bpc-fr":
			frSettings = a.Settings.(bpc.Settings)
		case a.Provider == bpc.Name && a.Name == "bpc-de":
			deSettings = a.Settings.(bpc.Settings)
		}
	}
	if frSettings.APIKey == deSettings.APIKey || frSettings.WebhookSecret == deSettings.WebhookSecret ||
		!strings.HasSuffix(deSettings.BaseURL, "/sim/bpc/bpc-de") {
		t.Fatalf("bpc-fr and bpc-de share credentials or a simulator: %+v / %+v", frSettings, deSettings)
	}
	if err := seedDemo(ctx, db, 300, demoMakers(c.BaseURL), t.Output()); err != nil {
		t.Fatal(err)
	}
	(&lazySimulators{db: db, sims: sims, log: slog.New(slog.DiscardHandler)}).mount(mux)
	accounts, err := realAccounts(c)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := ops.New(ops.Config{BaseURL: c.BaseURL, LinkSecret: make([]byte, 32), Accounts: accounts}, db, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	// One refundable BPC payment of each account.
	byAccount := map[string]storage.Payment{}
	count := map[string]int{}
	err = db.EachPayment(ctx, func(p storage.Payment) error {
		if p.Provider != bpc.Name {
			return nil
		}
		count[p.Account]++
		if _, ok := byAccount[p.Account]; !ok && p.Status == providers.StatusPaid && p.Refunded == 0 && p.Currency == "EUR" && p.Captured > 1000 {
			byAccount[p.Account] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count["bpc-fr"] < 20 || count["bpc-de"] < 20 || count[providers.DefaultAccount] != 0 {
		t.Fatalf("BPC demo payments by account: %v, want them spread over bpc-fr and bpc-de", count)
	}
	manager := ops.Person{Email: "mara@paydesk.test", Roles: []ops.Role{ops.RoleManager}, FreshSignIn: true}
	for account, p := range byAccount {
		own, other := fr, de
		if account == "bpc-de" {
			own, other = de, fr
		}
		res, err := desk.Refund(ctx, manager, p, ops.RefundArgs{Amount: 500, Reason: "requested_by_customer", Key: fmt.Sprintf("%032x", len(account)+int(p.ID))})
		if err != nil || res.Outcome != providers.Done {
			t.Fatalf("refund of %s's payment %s: %+v, %v", account, p.PublicID, res, err)
		}
		raw, err := own.Envelope(providers.Ref{PaymentID: p.PaymentID})
		if err != nil {
			t.Fatalf("%s's simulator does not hold %s: %v", account, p.PublicID, err)
		}
		if snap, _ := bpc.ParseEnvelope(raw); snap.Refunded != 500 {
			t.Errorf("%s's simulator refunded %d of %s, want 5.00", account, snap.Refunded, p.PublicID)
		}
		if _, err := other.Envelope(providers.Ref{PaymentID: p.PaymentID}); err == nil {
			t.Errorf("the other BPC account's simulator knows %s's payment %s", account, p.PublicID)
		}
		if got, _ := db.PaymentByID(ctx, p.ID); got.Refunded != 500 || got.Account != account {
			t.Errorf("%s after the refund: refunded %d, account %s", p.PublicID, got.Refunded, got.Account)
		}
	}
	if len(byAccount) != 2 {
		t.Errorf("refundable BPC payments found in %d accounts, want 2", len(byAccount))
	}
}
