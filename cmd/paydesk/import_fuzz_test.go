package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"paydesk/ops/opstest"
	demogen "paydesk/providers/demo"
	"paydesk/storage"
)

// FuzzImportLine feeds the import format — one provider envelope per line — with
// mutations of real lines (every demo variant of the three providers, the checked-in
// example file). A line is either refused with its reason, or imported; importing the
// same line again changes nothing, and no line makes the import stop.
func FuzzImportLine(f *testing.F) {
	err := demogen.Generate(demogen.Options{Count: 60, Seed: 11, Now: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
		Makers: demoMakers("http://127.0.0.1:1")}, func(line []byte) error {
		f.Add(append([]byte(nil), line...))
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	opstest.SeedLines(f, "import.jsonl")
	f.Add([]byte(`{"provider":"stripe"}`))
	f.Add([]byte(`{"provider":1}`))
	f.Add([]byte(`[]`))
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\r\n") {
			return // one line at a time
		}
		sum, err := importLines(ctx, db, bytes.NewReader(line), io.Discard)
		if err != nil {
			t.Fatalf("the import stopped on %q: %v", line, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return
		}
		if sum.Bad+sum.Created+sum.Updated+sum.Unchanged != 1 {
			t.Fatalf("%q: %s", line, sum)
		}
		if sum.Bad == 1 {
			return
		}
		again, err := importLines(ctx, db, bytes.NewReader(line), io.Discard)
		if err != nil || again.Unchanged != 1 {
			t.Fatalf("importing %q twice: %s, %v; want it unchanged", line, again, err)
		}
	})
}
