package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"paydesk/storage"
)

// migrate applies pending migrations and prints the schema version.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbPath := fs.String("db", "", "database file (default PAYDESK_DB or paydesk.db)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *dbPath
	if path == "" {
		path = getenv("PAYDESK_DB")
	}
	if path == "" {
		path = "paydesk.db"
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema version %d\n", path, v)
	return nil
}
