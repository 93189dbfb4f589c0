package providers

import (
	"encoding/json"
	"time"
)

// DemoSpec is what the demo generator decides about one payment before a provider shapes
// it into its own JSON: who paid, how much, when, and which of the provider's documented
// states it is in (Variant, taken modulo the provider's number of variants).
type DemoSpec struct {
	Seq       int // 0-based, unique across the demo; providers derive stable ids from it
	Name      string
	Email     string
	Amount    int64 // minor units
	Currency  string
	CreatedAt time.Time
	Variant   int
	Reference string
	// Now is when the demo is generated: what happens to the payment after its creation
	// (capture, cancellation, refunds) is placed no later than Now. Zero means no limit.
	Now time.Time
}

// DemoMaker shapes demo payments as the provider's own JSON (an import Envelope). Each
// provider package implements it so that demo data, the import format and the simulators
// share one wire format.
type DemoMaker interface {
	// Variants is how many distinct documented states the provider's demo covers.
	Variants() int
	// Currencies are the currencies the demo uses for this provider.
	Currencies() []string
	// Envelope returns one payment in the provider's own shape, as an import envelope.
	Envelope(spec DemoSpec) (json.RawMessage, error)
}
