package opstest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SeedFiles adds to f each named file of the test's testdata directory, passed through
// wrap (as it is when wrap is nil). A missing file is skipped: seeds are examples, not
// fixtures the fuzzer depends on.
func SeedFiles(f *testing.F, wrap func([]byte) []byte, names ...string) {
	f.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			continue
		}
		if wrap != nil {
			b = wrap(b)
		}
		f.Add(b)
	}
}

// SeedLines adds to f each line of the testdata file name (for line-based formats such
// as the import's JSON lines); a missing file adds nothing.
func SeedLines(f *testing.F, name string) {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		return
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		f.Add(l)
	}
}

// CheckRefusal fails t when err, the refusal of input, gives no message a person could
// read: a refusal must say what is wrong.
func CheckRefusal(t *testing.T, input string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%q: refused without an error", input)
	}
	if strings.TrimSpace(err.Error()) == "" {
		t.Fatalf("%q refused without a message", input)
	}
}
