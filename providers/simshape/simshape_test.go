package simshape

import (
	"encoding/json"
	"testing"
)

// TestWithFields: every object gets the fields, nested ones and those in arrays included;
// a field the object has is kept; numbers keep their writing; no HTML escaping.
func TestWithFields(t *testing.T) {
	in := `{"id":4242,"amount":12.50,"note":"a&b","items":[{"n":1},2],"x":{"y":{}},"extra":"mine"}`
	out, err := WithFields([]byte(in), map[string]any{"extra": "added", "more": json.Number("7")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"amount":12.50,"extra":"mine","id":4242,"items":[{"extra":"added","more":7,"n":1},2],"more":7,"note":"a&b","x":{"extra":"added","more":7,"y":{"extra":"added","more":7}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	again, err := WithFields(out, map[string]any{"extra": "added", "more": json.Number("7")})
	if err != nil || string(again) != want {
		t.Errorf("adding twice: %s (%v)", again, err)
	}
	if _, err := WithFields([]byte(`<html>`), map[string]any{"a": 1}); err == nil {
		t.Error("a body that is not JSON was accepted")
	}
	if Full.String() != "full" || Documented.String() != "documented" || Shape(9).String() != "Shape(9)" {
		t.Error("shape names")
	}
}
