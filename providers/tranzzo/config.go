package tranzzo

import (
	"errors"
	"net/http"
	"time"

	"paydesk/providers"
)

// Settings is Tranzzo's configuration, read from its PAYDESK_TRANZZO_* variables (README).
type Settings struct {
	BaseURL      string // PAYDESK_TRANZZO_BASE_URL
	POSID        string // PAYDESK_TRANZZO_POS_ID
	APIKey       string // PAYDESK_TRANZZO_API_KEY (secret)
	APISecret    string // PAYDESK_TRANZZO_API_SECRET (secret; also the webhooks' key)
	EndpointsKey string // PAYDESK_TRANZZO_ENDPOINTS_KEY (secret)

	// demoKey gives the demo's credentials (WithDemoKeys); nil outside the demo.
	demoKey func(purpose string) string
}

var _ providers.Settings = Settings{}

// Fixed credentials (with DemoPOSID) for tests that build a simulator and a client
// themselves. The demo does not use them: its keys, the API secret that signs its webhooks
// included, are made per demo database (WithDemoKeys), so that no one who has read this
// source can sign a webhook or call the simulator of a demo someone else runs.
const (
	DemoAPIKey       = "tranzzo-demo-key"
	DemoAPISecret    = "tranzzo-demo-secret"
	DemoEndpointsKey = "tranzzo-demo-endpoints"
)

// LoadSettings reads the PAYDESK_TRANZZO_* variables.
func LoadSettings(getenv func(string) string) (providers.Settings, []error) {
	return Settings{
		BaseURL:      providers.Setting(getenv, "PAYDESK_TRANZZO_BASE_URL", ""),
		POSID:        providers.Setting(getenv, "PAYDESK_TRANZZO_POS_ID", ""),
		APIKey:       providers.Setting(getenv, "PAYDESK_TRANZZO_API_KEY", ""),
		APISecret:    providers.Setting(getenv, "PAYDESK_TRANZZO_API_SECRET", ""),
		EndpointsKey: providers.Setting(getenv, "PAYDESK_TRANZZO_ENDPOINTS_KEY", ""),
	}, nil
}

// Enabled reports whether PAYDESK_TRANZZO_BASE_URL is set.
func (s Settings) Enabled() bool { return s.BaseURL != "" }

// Check requires the point of sale and its three keys.
func (s Settings) Check() []error {
	if s.POSID == "" || s.APIKey == "" || s.APISecret == "" || s.EndpointsKey == "" {
		return []error{errors.New("PAYDESK_TRANZZO_POS_ID, PAYDESK_TRANZZO_API_KEY, PAYDESK_TRANZZO_API_SECRET and PAYDESK_TRANZZO_ENDPOINTS_KEY are required with PAYDESK_TRANZZO_BASE_URL")}
	}
	return nil
}

// Client builds the Tranzzo client.
func (s Settings) Client(hc *http.Client, timeout time.Duration) (providers.Provider, error) {
	return New(Config{BaseURL: s.BaseURL, POSID: s.POSID, APIKey: s.APIKey,
		APISecret: s.APISecret, EndpointsKey: s.EndpointsKey, Timeout: timeout}, hc)
}

// Webhooks builds the receiver of Tranzzo's webhooks: Tranzzo signs them with the API
// secret (docs/providers.md).
func (s Settings) Webhooks(providers.Provider) providers.WebhookReceiver {
	return Webhooks{Secret: []byte(s.APISecret)}
}

// WithDemoKeys returns the settings with the demo's credentials taken from key, which
// gives the same secret for the same purpose for as long as the demo database lives
// (cmd/paydesk keeps it there) and another for another database.
func (s Settings) WithDemoKeys(key func(purpose string) string) providers.Settings {
	s.demoKey = key
	return s
}

// Simulate points the settings at a simulator served at simURL, with the demo's
// credentials (WithDemoKeys; fresh ones at every call without them); its webhooks are
// signed with the demo's API secret, as Tranzzo signs them with the merchant's.
func (s Settings) Simulate(simURL string, send func(providers.DemoWebhook)) (providers.Settings, providers.Simulator) {
	key := s.demoKey
	if key == nil {
		key = func(string) string { return providers.RandomSecret() }
	}
	s.BaseURL, s.POSID = simURL, DemoPOSID
	s.APIKey, s.APISecret, s.EndpointsKey = key("api key"), key("api secret"), key("endpoints key")
	hooks := Webhooks{Secret: []byte(s.APISecret)}
	sim := NewSimulator(SimConfig{POSID: DemoPOSID, APIKey: s.APIKey, APISecret: s.APISecret, EndpointsKey: s.EndpointsKey,
		PublicURL: simURL, OnChange: func(transaction, _ []byte) { send(hooks.demoWebhook(transaction)) }})
	return s, sim
}
