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
}

var _ providers.Settings = Settings{}

// The demo's credentials (with DemoPOSID): the simulator accepts exactly these, so the
// client runs its real code. They guard nothing outside the demo process.
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

// Simulate points the settings at a simulator served at simURL, with the demo's
// credentials; its webhooks are signed with the demo's API secret.
func (s Settings) Simulate(simURL string, send func(providers.DemoWebhook)) (providers.Settings, providers.Simulator) {
	s.BaseURL, s.POSID, s.APIKey, s.APISecret, s.EndpointsKey = simURL, DemoPOSID, DemoAPIKey, DemoAPISecret, DemoEndpointsKey
	hooks := Webhooks{Secret: []byte(DemoAPISecret)}
	sim := NewSimulator(SimConfig{POSID: DemoPOSID, APIKey: DemoAPIKey, APISecret: DemoAPISecret, EndpointsKey: DemoEndpointsKey,
		PublicURL: simURL, OnChange: func(transaction, _ []byte) { send(hooks.demoWebhook(transaction)) }})
	return s, sim
}
