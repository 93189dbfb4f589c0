package ops

import (
	"testing"

	"paydesk/providers"
)

// A provider that echoes the state of Paydesk's cancel request as the payment's client
// state must not turn the shop's reference into Paydesk's signed state.
func TestReferenceSurvivesOwnState(t *testing.T) {
	d := &Desk{cfg: Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef")}}
	state := d.linkState(newNonce())
	if got := d.withoutOwnState(providers.Snapshot{MerchantReference: state}).MerchantReference; got != "" {
		t.Errorf("own state kept as the reference: %q", got)
	}
	if got := d.withoutOwnState(providers.Snapshot{MerchantReference: "order-1234"}).MerchantReference; got != "order-1234" {
		t.Errorf("shop reference changed to %q", got)
	}
	other := (&Desk{cfg: Config{LinkSecret: []byte("another secret of thirty-two bytes!!")}}).linkState(newNonce())
	if got := d.withoutOwnState(providers.Snapshot{MerchantReference: other}).MerchantReference; got != other {
		t.Errorf("a state Paydesk did not sign was dropped")
	}
}
