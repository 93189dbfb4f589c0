package ops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// linkState is the opaque state Paydesk hands the provider for a payer link: a random
// nonce and its HMAC, so the return page can trust its own state and nothing else.
func (d *Desk) linkState(nonce string) string {
	m := hmac.New(sha256.New, d.cfg.LinkSecret)
	m.Write([]byte("payer-link|" + nonce))
	return nonce + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifyLinkState returns the nonce of a state Paydesk signed, or false.
func (d *Desk) verifyLinkState(state string) (string, bool) {
	nonce, _, ok := strings.Cut(state, ".")
	if !ok || len(nonce) != 32 {
		return "", false
	}
	want := d.linkState(nonce)
	return nonce, hmac.Equal([]byte(want), []byte(state))
}

// payerReturnURL is where the provider sends the payer back.
func (d *Desk) payerReturnURL() string { return d.cfg.BaseURL + "/payer/return" }
