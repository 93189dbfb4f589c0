package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The layers point one way (docs/architecture.md): ops knows no HTTP handler code of
// Paydesk's, no pages and no templates; web and storage know no concrete provider; the
// providers know neither pages, sessions nor the database.
func TestLayersPointOneWay(t *testing.T) {
	concrete := []string{"paydesk/providers/powens", "paydesk/providers/bpc", "paydesk/providers/tranzzo"}
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"paydesk/ops", append([]string{"paydesk/web", "paydesk/views", "paydesk/web/auth"}, concrete...)},
		{"paydesk/web", concrete},
		{"paydesk/storage", append([]string{"paydesk/web", "paydesk/ops", "paydesk/views"}, concrete...)},
		{"paydesk/providers/powens", []string{"paydesk/web", "paydesk/ops", "paydesk/views", "paydesk/storage"}},
		{"paydesk/providers/bpc", []string{"paydesk/web", "paydesk/ops", "paydesk/views", "paydesk/storage"}},
		{"paydesk/providers/tranzzo", []string{"paydesk/web", "paydesk/ops", "paydesk/views", "paydesk/storage"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", r.pkg, err)
		}
		deps := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			deps[d] = true
		}
		for _, f := range r.forbidden {
			if deps[f] {
				t.Errorf("%s depends on %s", r.pkg, f)
			}
		}
	}
}

// Adding a provider is its own package and one line of wiring: outside its package,
// tests, test data and docs, only cmd/paydesk/providers.go names a provider (0001, a
// migration already applied, is history: 0013 took the names out of the schema).
func TestOnlyTheWiringNamesAProvider(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"cmd/paydesk/providers.go":           true,
		"storage/migrations/0001_schema.sql": true,
	}
	names := []string{"powens", "bpc", "tranzzo"}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(rel, ".") && rel != "." || rel == "docs" || d.Name() == "testdata" || rel == "bin" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(rel)
		if (ext != ".go" && ext != ".templ" && ext != ".sql") || strings.HasSuffix(rel, "_test.go") || allowed[rel] {
			return nil
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lower := bytes.ToLower(body)
		for _, n := range names {
			if strings.HasPrefix(rel, "providers/"+n+"/") {
				continue
			}
			if bytes.Contains(lower, []byte(n)) {
				t.Errorf("%s names %s: only its package and cmd/paydesk/providers.go may", rel, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
