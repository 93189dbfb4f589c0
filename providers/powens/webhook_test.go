package powens

import (
	"strings"
	"testing"
)

// FuzzPowensHint: a Powens hint either gives an id that can safely go into a URL path, or
// is refused.
func FuzzPowensHint(f *testing.F) {
	for _, s := range []string{`{"id":4242}`, `{"payment":{"id":"123","state":"done"}}`, `{"id_payment":7}`, `{"data":{"id":1.5e3}}`, `[]`, `{"id":"../x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, _, err := HintID(body)
		if err != nil {
			return
		}
		if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#%. \\") {
			t.Fatalf("accepted id %q", id)
		}
	})
}
