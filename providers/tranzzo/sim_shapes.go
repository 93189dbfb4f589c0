package tranzzo

import (
	"bytes"
	"encoding/json"
	"strings"
)

// plainNumber writes a decimal amount the way Tranzzo's document does: without trailing
// zeros after the point, nor the point itself when nothing is left ("1.00" → 1,
// "42.50" → 42.5). Anything that is not a plain decimal number is kept as it is.
func plainNumber(raw json.RawMessage) json.RawMessage {
	s := string(bytes.TrimSpace(raw))
	if !strings.Contains(s, ".") || strings.ContainsAny(s, "eE\"") || !json.Valid(raw) {
		return raw
	}
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	return json.RawMessage(s)
}

// withExtraFields adds two fields Tranzzo does not document to a transaction object: a
// string and an object holding an array. Anything but an object is returned as it is. It
// appends to the object as written, keeping the order of its fields (a re-encoding, as
// simshape.WithFields does, would sort them).
func withExtraFields(obj []byte) []byte {
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 || obj[0] != '{' {
		return obj
	}
	const extra = `"sim_unknown_field":"a field this version of the API added","sim_unknown_object":{"items":[1,"two"]}`
	body := bytes.TrimSpace(obj[1 : len(obj)-1])
	out := make([]byte, 0, len(obj)+len(extra)+2)
	out = append(out, '{')
	out = append(out, body...)
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = append(out, extra...)
	return append(out, '}')
}
