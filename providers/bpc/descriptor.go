package bpc

import (
	"net/http"

	"paydesk/providers"
)

// Name is BPC's name in Paydesk (stored with each payment, in URLs and metrics).
const Name providers.Name = "bpc"

// Descriptor is everything Paydesk needs of BPC; cmd/paydesk registers it.
func Descriptor() providers.Descriptor {
	return providers.Descriptor{
		Name: Name, Label: "BPC", BaseURLVariable: "PAYDESK_BPC_BASE_URL",
		Normalise: Normalise, Eligible: Eligible, ParseEnvelope: ParseEnvelope,
		LoadSettings: LoadSettings,
		Demo:         func(string) providers.DemoMaker { return Demo{} },
		SimulatorIDs: SimulatorIDs,
		Words:        words,
	}
}

// SimulatorIDs returns the payment or session id a simulator request names: in its path,
// or in the body of a new refund. A refund read by its own id names none (it was made in
// this process).
func SimulatorIDs(r *http.Request) []string {
	seg := providers.SegmentsOf(r)
	switch {
	case (seg.At(0) == "payments" || seg.At(0) == "sessions") && seg.At(1) != "":
		return []string{seg.At(1)}
	case seg.At(0) == "refunds" && r.Method == http.MethodPost:
		var body struct {
			PaymentID string `json:"paymentId"`
		}
		providers.PeekJSON(r, &body)
		return []string{body.PaymentID}
	}
	return nil
}
