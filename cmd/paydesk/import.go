package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"paydesk/providers"
	"paydesk/storage"
)

// parseEnvelope turns one import envelope into a snapshot with its provider's own
// parser: the same decoding code the client uses on the provider's answers.
func parseEnvelope(name providers.Name, line []byte) (providers.Snapshot, error) {
	d, ok := providers.Lookup(name)
	if !ok {
		return providers.Snapshot{}, fmt.Errorf("unknown provider %q (want %s)", name, providerNames())
	}
	return d.ParseEnvelope(line)
}

// providerNames lists the registered providers' names for a sentence ("a, b or c").
func providerNames() string {
	names := make([]string, 0, len(providers.Names))
	for _, n := range providers.Names {
		names = append(names, string(n))
	}
	return providers.JoinOr(names)
}

// maxImportLine bounds one line of the import file.
const maxImportLine = 4 << 20

// importSummary counts what an import did.
type importSummary struct {
	Lines, Created, Updated, Unchanged, Bad int
}

func (s importSummary) String() string {
	return fmt.Sprintf("%d lines: %d new, %d updated, %d unchanged, %d bad", s.Lines, s.Created, s.Updated, s.Unchanged, s.Bad)
}

// importCmd is `paydesk import FILE`.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "database file (default PAYDESK_DB or paydesk.db)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("import: give one FILE (JSON lines, one provider payment per line), or - for standard input")
	}
	path := *dbPath
	if path == "" {
		path = getenv("PAYDESK_DB")
	}
	if path == "" {
		path = "paydesk.db"
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := importLines(ctx, db, in, stderr)
	fmt.Fprintln(stdout, "import:", sum)
	if err != nil {
		return err
	}
	if sum.Bad > 0 {
		return fmt.Errorf("import: %d bad lines were skipped (listed above); the good ones were kept", sum.Bad)
	}
	return nil
}

// importLines imports every line of r: good lines are stored (idempotently), bad lines
// are reported with their number and skipped.
func importLines(ctx context.Context, db *storage.DB, r io.Reader, report io.Writer) (importSummary, error) {
	var sum importSummary
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	for sc.Scan() {
		sum.Lines++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		snap, err := parseLine([]byte(line))
		if err != nil {
			sum.Bad++
			fmt.Fprintf(report, "line %d: %v\n", sum.Lines, err)
			continue
		}
		_, change, err := db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
		if err != nil {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			sum.Bad++
			fmt.Fprintf(report, "line %d: %v\n", sum.Lines, err)
			continue
		}
		switch {
		case change.Created:
			sum.Created++
		case change.Changed:
			sum.Updated++
		default:
			sum.Unchanged++
		}
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("import: line %d: %w", sum.Lines+1, err)
	}
	return sum, nil
}

// parseLine reads the provider tag, then lets that provider decode its own objects.
func parseLine(line []byte) (providers.Snapshot, error) {
	if !bytes.HasPrefix(line, []byte("{")) {
		return providers.Snapshot{}, errors.New("not a JSON object: each line must be one {…} object")
	}
	var tag struct {
		Provider providers.Name `json:"provider"`
	}
	if err := json.Unmarshal(line, &tag); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return providers.Snapshot{}, errors.New(`the "provider" tag must be a string: ` + providerNames())
		}
		return providers.Snapshot{}, fmt.Errorf("not a JSON object: %v", err)
	}
	return parseEnvelope(tag.Provider, line)
}
