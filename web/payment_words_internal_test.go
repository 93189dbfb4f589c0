package web

import "testing"

// TestPayerLinkStatesInWords: every state a payer link can be in (storage's CHECK list)
// reads as words of its own, never as its code.
func TestPayerLinkStatesInWords(t *testing.T) {
	for _, state := range []string{"active", "abandoned", "superseded", "expired", "confirmed"} {
		if w := payerLinkStateWords(state); w == "" || w == state {
			t.Errorf("payer link state %q reads %q: no words of its own", state, w)
		}
	}
}
