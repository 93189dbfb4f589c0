package providers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Descriptor is everything Paydesk knows about one provider, handed over by the
// provider's own package (providers/<name>.Descriptor()). Nothing outside that package
// names the provider: storage, web and the generic code here reach it through the
// registry, and cmd/paydesk lists the descriptors in one place (docs/architecture.md).
type Descriptor struct {
	// Name is the provider's name as stored and routed (lower case, e.g. the webhook
	// path /webhooks/{Name}).
	Name Name
	// Label is the provider's display name.
	Label string
	// BaseURLVariable is the environment variable holding the provider's API root: the
	// provider is used when it is set.
	BaseURLVariable string

	// Normalise maps the provider's raw status to Paydesk's (docs/states.md). It is only
	// called for snapshots of this provider; anything it does not know is StatusUnknown.
	Normalise func(Snapshot) Status
	// Eligible is the provider's own rules for the three actions. It is only called once
	// the generic checks passed: the snapshot is this provider's and its status is known.
	Eligible func(Snapshot) Eligibility
	// ParseEnvelope decodes an import envelope (Envelope) of this provider into a snapshot.
	ParseEnvelope func(raw []byte) (Snapshot, error)

	// LoadSettings reads the provider's PAYDESK_<NAME>_* variables, with their defaults.
	// The errors name the variable at fault; the settings are returned even with errors.
	LoadSettings func(getenv func(string) string) (Settings, []error)
	// Demo returns the maker of demo payments; simURL is where the demo serves the
	// provider's simulator (links the payments carry point there).
	Demo func(simURL string) DemoMaker
	// SimulatorIDs returns the provider ids a request to the simulator names, so that the
	// demo can load those payments first (empty strings are ignored). PeekJSON reads a body
	// without taking it from the simulator.
	SimulatorIDs func(r *http.Request) []string

	// Words is how the provider's facts read for people (words.go); optional.
	Words Words
}

// Settings is one provider's configuration as read from the environment, and what is
// built from it.
type Settings interface {
	// Enabled reports whether the provider's API root is configured.
	Enabled() bool
	// Check returns what production lacks when the provider is enabled (each error names
	// the variables to set); nil when nothing is missing.
	Check() []error
	// Client builds the provider's client. hc is the HTTP client to use (it carries the
	// resilience guard); timeout bounds each call.
	Client(hc *http.Client, timeout time.Duration) (Provider, error)
	// Webhooks builds the receiver of the provider's webhooks. client is the provider's
	// client, nil when the provider is not configured.
	Webhooks(client Provider) WebhookReceiver
	// Simulate returns settings that point at a simulator served at simURL, with the demo's
	// credentials (and webhook secrets where none are configured), and that simulator. The
	// simulator reports every change as the webhook the provider would send, through send.
	Simulate(simURL string, send func(DemoWebhook)) (Settings, Simulator)
}

// Simulator is a provider simulator as the demo serves it.
type Simulator interface {
	http.Handler
	// Load adds one payment, given as its import envelope.
	Load(envelope []byte) error
}

// DemoWebhook is a webhook a simulator asks to be posted to Paydesk, as the provider
// would send it.
type DemoWebhook struct {
	// Path is Paydesk's webhook path, /webhooks/{provider}.
	Path        string
	ContentType string
	Body        []byte
	Header      http.Header
}

// registry holds the registered descriptors. It is filled once at start-up (cmd/paydesk,
// or a test's TestMain) before anything reads it, so it takes no lock.
var registry = map[Name]*Descriptor{}

// Names lists the registered providers, in registration order (the display order).
// Register fills it; nobody else may change it.
var Names []Name

// Register adds providers to the registry, in order. Registering a name again replaces
// its descriptor in place, so registering twice is harmless. Call it before serving: the
// registry is read without a lock. A descriptor without a name or without its rules is a
// programming error and panics.
func Register(descriptors ...Descriptor) {
	for _, d := range descriptors {
		if d.Name == "" || d.Normalise == nil || d.Eligible == nil || d.ParseEnvelope == nil {
			panic(fmt.Sprintf("providers: descriptor %q lacks a name, Normalise, Eligible or ParseEnvelope", d.Name))
		}
		if d.Label == "" {
			d.Label = string(d.Name)
		}
		if _, ok := registry[d.Name]; !ok {
			Names = append(Names, d.Name)
		}
		registry[d.Name] = &d
	}
}

// Lookup returns the descriptor of a registered provider.
func Lookup(n Name) (Descriptor, bool) {
	d, ok := registry[n]
	if !ok {
		return Descriptor{}, false
	}
	return *d, true
}

// Descriptors returns every registered descriptor, in registration order.
func Descriptors() []Descriptor {
	out := make([]Descriptor, 0, len(Names))
	for _, n := range Names {
		out = append(out, *registry[n])
	}
	return out
}

// Valid reports whether n is a registered provider.
func (n Name) Valid() bool {
	_, ok := registry[n]
	return ok
}

// Label is the provider's display name (the name itself when it is not registered).
func (n Name) Label() string {
	if d, ok := registry[n]; ok {
		return d.Label
	}
	return string(n)
}

// Labels returns the display names of the registered providers, in order.
func Labels() []string {
	out := make([]string, 0, len(Names))
	for _, n := range Names {
		out = append(out, n.Label())
	}
	return out
}

// JoinOr writes a list for a sentence: "a", "a or b", "a, b or c".
func JoinOr(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// Setting reads one environment variable through getenv: its value with the spaces around
// it trimmed, or def when it is empty. Providers read their PAYDESK_<NAME>_* variables
// with it, the same way cmd/paydesk reads the others.
func Setting(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}

// RandomSecret returns 32 random bytes, hex-encoded: the demo's webhook secrets when none
// is configured (only the demo process signs and checks them).
func RandomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
