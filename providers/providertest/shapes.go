package providertest

import (
	"testing"

	"paydesk/providers/simshape"
)

// Shaped is how a simulator words its answers while a client's tests run again: the
// shape, and whether unknown fields are added to every object.
type Shaped struct {
	Shape simshape.Shape
	Extra bool
}

// Test is one named test of a package, run again in each shape.
type Test struct {
	Name string
	Run  func(*testing.T)
}

// shapedRuns are the shapes a client's tests run again in (run alone, they use the full
// shape): exactly the document's fields, those with unknown fields added, and whole
// objects with unknown fields added (docs/providers.md, "Tests against the documents").
var shapedRuns = []struct {
	name string
	mode Shaped
}{
	{"documented", Shaped{simshape.Documented, false}},
	{"documented+extra", Shaped{simshape.Documented, true}},
	{"full+extra", Shaped{simshape.Full, true}},
}

// RunShaped runs tests once per shape, with *mode (read by the package's simulator
// fixture) set for the run and put back to the full shape after. The package's tests
// must not run in parallel with it.
func RunShaped(t *testing.T, mode *Shaped, tests []Test) {
	t.Helper()
	for _, r := range shapedRuns {
		t.Run(r.name, func(t *testing.T) {
			*mode = r.mode
			defer func() { *mode = Shaped{} }()
			for _, tt := range tests {
				t.Run(tt.Name, tt.Run)
			}
		})
	}
}
