package bpc

import (
	"bytes"
	"encoding/json"
)

// withExtraFields returns body with two fields BPC does not document added to every JSON
// object in it, nested ones included: field, a string, and object, an object holding an
// array. Numbers are kept as written. A body that is not JSON is returned as it is.
func withExtraFields(body []byte, field, object string) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return body
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(addExtra(v, field, object)) != nil {
		return body
	}
	return bytes.TrimSpace(buf.Bytes())
}

func addExtra(v any, field, object string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = addExtra(val, field, object)
		}
		x[field] = "a field this version of the API added"
		x[object] = map[string]any{"items": []any{json.Number("1"), "two"}}
	case []any:
		for i, val := range x {
			x[i] = addExtra(val, field, object)
		}
	}
	return v
}
