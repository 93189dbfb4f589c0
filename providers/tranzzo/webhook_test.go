package tranzzo

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"testing"
)

// TestSignatureVector: the test vector of Tranzzo's documentation (docs/providers.md).
func TestSignatureVector(t *testing.T) {
	const data, want = "eyJuYW1lIjoiSm9lIiwiYWdlIjoyMH0=", "Bcj3hb-h00HrEMIoJ5nPW5ZHlVQ="
	if got := Signature([]byte("changeme"), data); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
	for _, sig := range []string{want, strings.TrimRight(want, "="), "Bcj3hb+h00HrEMIoJ5nPW5ZHlVQ="} {
		if !SignatureOK([]byte("changeme"), data, sig) {
			t.Errorf("%q refused", sig)
		}
	}
	for _, sig := range []string{"", "Bcj3hb-h00HrEMIoJ5nPW5ZHlUQ", "Ccj3hb-h00HrEMIoJ5nPW5ZHlVQ=", want + want} {
		if SignatureOK([]byte("changeme"), data, sig) {
			t.Errorf("%q accepted", sig)
		}
	}
	if got, _ := DecodeData(data); string(got) != `{"name":"Joe","age":20}` {
		t.Errorf("data = %s", got)
	}
}

// FuzzTranzzoSignature: the right signature is always accepted, and any accepted
// signature decodes to the SHA-1 sandwich digest of the data.
func FuzzTranzzoSignature(f *testing.F) {
	f.Add("changeme", "eyJuYW1lIjoiSm9lIiwiYWdlIjoyMH0=", "Bcj3hb-h00HrEMIoJ5nPW5ZHlVQ=")
	f.Add("tz-secret", "e30=", "")
	f.Fuzz(func(t *testing.T, secret, data, sig string) {
		if !SignatureOK([]byte(secret), data, Signature([]byte(secret), data)) {
			t.Fatal("the right signature was refused")
		}
		if !SignatureOK([]byte(secret), data, sig) {
			return
		}
		h := sha1.New()
		h.Write([]byte(secret + data + secret))
		want := h.Sum(nil)
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			if got, err := enc.DecodeString(sig); err == nil && bytes.Equal(got, want) {
				return
			}
		}
		t.Fatalf("accepted %q for data %q", sig, data)
	})
}
