package powens

import (
	"errors"
	"net/http"
	"time"

	"paydesk/providers"
)

// Settings is Powens' configuration, read from its PAYDESK_POWENS_* variables (README).
type Settings struct {
	BaseURL       string // PAYDESK_POWENS_BASE_URL
	ClientID      string // PAYDESK_POWENS_CLIENT_ID
	ClientSecret  string // PAYDESK_POWENS_CLIENT_SECRET (secret)
	WebviewURL    string // PAYDESK_POWENS_WEBVIEW_URL
	Lang          string // PAYDESK_POWENS_LANG
	WebhookSecret string // PAYDESK_POWENS_WEBHOOK_SECRET (secret)
	WebhookHeader string // PAYDESK_POWENS_WEBHOOK_HEADER (default X-Signature)

	// demoKey gives the demo's credentials (WithDemoKeys); nil outside the demo.
	demoKey func(purpose string) string
}

var _ providers.Settings = Settings{}

// Fixed credentials for tests that build a simulator and a client themselves. The demo
// keeps DemoClientID (an id, not a secret) but not the secret: its client secret and
// webhook secret are made per demo database (WithDemoKeys).
const (
	DemoClientID     = "paydesk-demo"
	DemoClientSecret = "powens-demo-secret"
)

// LoadSettings reads the PAYDESK_POWENS_* variables.
func LoadSettings(getenv func(string) string) (providers.Settings, []error) {
	return Settings{
		BaseURL:       providers.Setting(getenv, "PAYDESK_POWENS_BASE_URL", ""),
		ClientID:      providers.Setting(getenv, "PAYDESK_POWENS_CLIENT_ID", ""),
		ClientSecret:  providers.Setting(getenv, "PAYDESK_POWENS_CLIENT_SECRET", ""),
		WebviewURL:    providers.Setting(getenv, "PAYDESK_POWENS_WEBVIEW_URL", ""),
		Lang:          providers.Setting(getenv, "PAYDESK_POWENS_LANG", ""),
		WebhookSecret: providers.Setting(getenv, "PAYDESK_POWENS_WEBHOOK_SECRET", ""),
		WebhookHeader: providers.Setting(getenv, "PAYDESK_POWENS_WEBHOOK_HEADER", "X-Signature"),
	}, nil
}

// Enabled reports whether PAYDESK_POWENS_BASE_URL is set.
func (s Settings) Enabled() bool { return s.BaseURL != "" }

// Check requires the domain client's credentials.
func (s Settings) Check() []error {
	if s.ClientID == "" || s.ClientSecret == "" {
		return []error{errors.New("PAYDESK_POWENS_CLIENT_ID and PAYDESK_POWENS_CLIENT_SECRET are required with PAYDESK_POWENS_BASE_URL")}
	}
	return nil
}

// Client builds the Powens client.
func (s Settings) Client(hc *http.Client, timeout time.Duration) (providers.Provider, error) {
	return New(Config{BaseURL: s.BaseURL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		WebviewURL: s.WebviewURL, Lang: s.Lang, Timeout: timeout}, hc)
}

// Webhooks builds the receiver of Powens' hints; client follows them.
func (s Settings) Webhooks(client providers.Provider) providers.WebhookReceiver {
	return Webhooks{Secret: []byte(s.WebhookSecret), Header: s.WebhookHeader, Client: client}
}

// WithDemoKeys returns the settings with the demo's credentials taken from key, which
// gives the same secret for the same purpose for as long as the demo database lives
// (cmd/paydesk keeps it there) and another for another database.
func (s Settings) WithDemoKeys(key func(purpose string) string) providers.Settings {
	s.demoKey = key
	return s
}

// Simulate points the settings at a simulator served at simURL, with the demo's client
// secret and, when none is configured, its webhook secret (WithDemoKeys; fresh ones at
// every call without them).
func (s Settings) Simulate(simURL string, send func(providers.DemoWebhook)) (providers.Settings, providers.Simulator) {
	key := s.demoKey
	if key == nil {
		key = func(string) string { return providers.RandomSecret() }
	}
	s.BaseURL, s.ClientID, s.ClientSecret = simURL, DemoClientID, key("client secret")
	if s.WebhookSecret == "" {
		s.WebhookSecret = key("webhook secret")
	}
	hooks := Webhooks{Secret: []byte(s.WebhookSecret), Header: s.WebhookHeader}
	sim := NewSimulator(SimConfig{ClientID: DemoClientID, ClientSecret: s.ClientSecret, PublicURL: simURL,
		OnChange: func(envelope []byte) {
			if w, ok := hooks.demoWebhook(envelope); ok {
				send(w)
			}
		}})
	return s, sim
}
