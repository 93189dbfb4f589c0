// Package simshape is what the provider simulators share about the shape of their
// answers: whole objects, or exactly the fields a provider's document shows; and fields
// no document names, added to every object as a newer API version might send them, which
// the clients must ignore (docs/providers.md, "Tests against the documents").
package simshape

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Shape is how much of each object a simulator's answers carry.
type Shape int

// The shapes.
const (
	// Full answers every field the simulator knows (the default).
	Full Shape = iota
	// Documented answers exactly the fields the provider's document shows.
	Documented
)

// String names the shape.
func (s Shape) String() string {
	switch s {
	case Full:
		return "full"
	case Documented:
		return "documented"
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

// WithFields returns body with fields added to every JSON object in it, nested ones
// included, where the object has no field of that name. The added fields are not walked
// into, so adding twice changes nothing. Numbers are kept as written and nothing is
// HTML-escaped; the fields come out sorted by name. A body that is not JSON is an error.
func WithFields(body []byte, fields map[string]any) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("simshape: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(add(v, fields)); err != nil {
		return nil, fmt.Errorf("simshape: %w", err)
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// add walks a decoded JSON value and adds fields to each object.
func add(v any, fields map[string]any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if _, ours := fields[k]; !ours {
				t[k] = add(x, fields)
			}
		}
		for k, x := range fields {
			if _, ok := t[k]; !ok {
				t[k] = x
			}
		}
	case []any:
		for i, x := range t {
			t[i] = add(x, fields)
		}
	}
	return v
}
