package tranzzo

import (
	"net/http"

	"paydesk/providers"
)

// Name is Tranzzo's name in Paydesk (stored with each payment, in URLs and metrics).
const Name providers.Name = "tranzzo"

// Descriptor is everything Paydesk needs of Tranzzo; cmd/paydesk registers it.
func Descriptor() providers.Descriptor {
	return providers.Descriptor{
		Name: Name, Label: "Tranzzo", BaseURLVariable: "PAYDESK_TRANZZO_BASE_URL",
		Normalise: Normalise, Eligible: Eligible, ParseEnvelope: ParseEnvelope,
		LoadSettings: LoadSettings,
		Demo:         func(string) providers.DemoMaker { return Demo{} },
		SimulatorIDs: SimulatorIDs,
		Words:        words,
	}
}

// SimulatorIDs returns the order id a simulator request names: in its path (reads and
// cancellations), or in the body of a void or a refund.
func SimulatorIDs(r *http.Request) []string {
	seg := providers.SegmentsOf(r)
	switch {
	case seg.At(0) == "pos" && (seg.At(2) == "orders" || seg.At(2) == "order") && seg.At(3) != "":
		return []string{seg.At(3)}
	case (seg.At(0) == "void" || seg.At(0) == "refund") && r.Method == http.MethodPost:
		var body struct {
			OrderID string `json:"order_id"`
		}
		providers.PeekJSON(r, &body)
		return []string{body.OrderID}
	}
	return nil
}
