package bpc

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
)

// Settings is BPC's configuration, read from its PAYDESK_BPC_* variables (README).
type Settings struct {
	BaseURL          string // PAYDESK_BPC_BASE_URL
	APIKey           string // PAYDESK_BPC_API_KEY (secret)
	Version          string // PAYDESK_BPC_VERSION
	WebhookSecret    string // PAYDESK_BPC_WEBHOOK_SECRET (secret)
	WebhookAlgorithm string // PAYDESK_BPC_WEBHOOK_ALGORITHM: sha256, sha512, sha1

	// demoKey gives the demo's credentials (WithDemoKeys); nil outside the demo.
	demoKey func(purpose string) string
}

var _ providers.Settings = Settings{}

// DemoAPIKey is a fixed API key for tests that build a simulator and a client themselves.
// The demo does not use it: its API key and webhook secret are made per demo database
// (WithDemoKeys).
const DemoAPIKey = "bpc-demo-api-key"

// LoadSettings reads the PAYDESK_BPC_* variables; an unknown webhook algorithm is an
// error.
func LoadSettings(getenv func(string) string) (providers.Settings, []error) {
	s := Settings{
		BaseURL:          providers.Setting(getenv, "PAYDESK_BPC_BASE_URL", ""),
		APIKey:           providers.Setting(getenv, "PAYDESK_BPC_API_KEY", ""),
		Version:          providers.Setting(getenv, "PAYDESK_BPC_VERSION", DefaultVersion),
		WebhookSecret:    providers.Setting(getenv, "PAYDESK_BPC_WEBHOOK_SECRET", ""),
		WebhookAlgorithm: strings.ToLower(providers.Setting(getenv, "PAYDESK_BPC_WEBHOOK_ALGORITHM", "sha256")),
	}
	if providers.HMACHash(s.WebhookAlgorithm) == nil {
		return s, []error{fmt.Errorf("PAYDESK_BPC_WEBHOOK_ALGORITHM=%q: use sha256, sha512 or sha1", s.WebhookAlgorithm)}
	}
	return s, nil
}

// Enabled reports whether PAYDESK_BPC_BASE_URL is set.
func (s Settings) Enabled() bool { return s.BaseURL != "" }

// Check requires the API key.
func (s Settings) Check() []error {
	if s.APIKey == "" {
		return []error{errors.New("PAYDESK_BPC_API_KEY is required with PAYDESK_BPC_BASE_URL")}
	}
	return nil
}

// Client builds the BPC client.
func (s Settings) Client(hc *http.Client, timeout time.Duration) (providers.Provider, error) {
	return New(Config{BaseURL: s.BaseURL, APIKey: s.APIKey, Version: s.Version, Timeout: timeout}, hc)
}

// Webhooks builds the receiver of BPC's signed events (the client is not needed: the
// events carry the objects themselves).
func (s Settings) Webhooks(providers.Provider) providers.WebhookReceiver {
	return Webhooks{Secret: []byte(s.WebhookSecret), Algorithm: s.WebhookAlgorithm}
}

// WithDemoKeys returns the settings with the demo's credentials taken from key, which
// gives the same secret for the same purpose for as long as the demo database lives
// (cmd/paydesk keeps it there) and another for another database.
func (s Settings) WithDemoKeys(key func(purpose string) string) providers.Settings {
	s.demoKey = key
	return s
}

// Simulate points the settings at a simulator served at simURL, with the demo's API key
// and, when none is configured, its webhook secret (WithDemoKeys; fresh ones at every call
// without them).
func (s Settings) Simulate(simURL string, send func(providers.DemoWebhook)) (providers.Settings, providers.Simulator) {
	key := s.demoKey
	if key == nil {
		key = func(string) string { return providers.RandomSecret() }
	}
	s.BaseURL, s.APIKey = simURL, key("api key")
	if s.WebhookSecret == "" {
		s.WebhookSecret = key("webhook secret")
	}
	sender := &demoSender{hooks: Webhooks{Secret: []byte(s.WebhookSecret), Algorithm: s.WebhookAlgorithm}, send: send, refunds: map[string]string{}}
	sim := NewSimulator(SimConfig{APIKey: s.APIKey, PublicURL: simURL, OnChange: sender.onChange})
	return s, sim
}
