package powens

import (
	"net/http"

	"paydesk/providers"
)

// Name is Powens' name in Paydesk (stored with each payment, in URLs and metrics).
const Name providers.Name = "powens"

// Descriptor is everything Paydesk needs of Powens; cmd/paydesk registers it.
func Descriptor() providers.Descriptor {
	return providers.Descriptor{
		Name: Name, Label: "Powens", BaseURLVariable: "PAYDESK_POWENS_BASE_URL",
		Normalise: Normalise, Eligible: Eligible, ParseEnvelope: ParseEnvelope,
		LoadSettings: LoadSettings,
		Demo:         func(simURL string) providers.DemoMaker { return Demo{SimulatorURL: simURL} },
		SimulatorIDs: SimulatorIDs,
		Words:        words,
	}
}

// SimulatorIDs returns the payment id a simulator request names in its path: the
// payment's own calls and the bank's validation page. The token and webview calls name
// none (what they use was made in this process).
func SimulatorIDs(r *http.Request) []string {
	seg := providers.SegmentsOf(r)
	switch {
	case seg.At(0) == "payments" && seg.At(1) != "":
		return []string{seg.At(1)}
	case seg.At(0) == "bank" && seg.At(1) == "validate" && seg.At(2) != "":
		return []string{seg.At(2)}
	}
	return nil
}
