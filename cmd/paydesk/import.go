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
	"slices"
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
	accounts, err := configuredImportAccounts(getenv)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := importLinesFor(ctx, db, in, stderr, accounts)
	fmt.Fprintln(stdout, "import:", sum)
	if err != nil {
		return err
	}
	if sum.Bad > 0 {
		return fmt.Errorf("import: %d bad lines were skipped (listed above); the good ones were kept", sum.Bad)
	}
	return nil
}

// importLines imports every line of r as importLinesFor does, with no account configured:
// every payment is its provider's default account's.
func importLines(ctx context.Context, db *storage.DB, r io.Reader, report io.Writer) (importSummary, error) {
	return importLinesFor(ctx, db, r, report, nil)
}

// importAccounts are the configured accounts' names by provider, for the import: a line
// names its account ("account"), which it may leave out when its provider has one.
type importAccounts map[providers.Name][]string

// configuredImportAccounts reads the accounts configured for serve (PAYDESK_<NAME>_* and
// the accounts file) for the import; a broken accounts file stops it.
func configuredImportAccounts(getenv func(string) string) (importAccounts, error) {
	env := map[providers.Name]providers.Settings{}
	for _, d := range providers.Descriptors() {
		env[d.Name], _ = d.LoadSettings(getenv)
	}
	list, errs := loadAccounts(getenv, env)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := importAccounts{}
	for _, a := range list {
		out[a.Provider] = append(out[a.Provider], a.Name)
	}
	return out, nil
}

// resolve is the account a line of provider n naming account belongs to.
func (ia importAccounts) resolve(n providers.Name, account string) (string, error) {
	names := ia[n]
	if len(names) == 0 {
		names = []string{providers.DefaultAccount} // nothing configured: the shorthand's
	}
	switch {
	case account == "" && len(names) == 1:
		return names[0], nil
	case account == "":
		return "", fmt.Errorf(`%s has several accounts: name one with "account" (%s)`, n, providers.JoinOr(names))
	case slices.Contains(names, account):
		return account, nil
	}
	return "", fmt.Errorf(`unknown %s account %q: use %s`, n, account, providers.JoinOr(names))
}

// importLinesFor imports every line of r: good lines are stored (idempotently) in the
// account they name among accounts, bad lines are reported with their number and skipped.
func importLinesFor(ctx context.Context, db *storage.DB, r io.Reader, report io.Writer, accounts importAccounts) (importSummary, error) {
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
		if err == nil {
			snap.Account, err = lineAccount([]byte(line), snap.Provider, accounts)
		}
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

// lineAccount reads a line's optional "account" tag and resolves it among accounts.
func lineAccount(line []byte, n providers.Name, accounts importAccounts) (string, error) {
	var tag struct {
		Account *string `json:"account"`
	}
	if err := json.Unmarshal(line, &tag); err != nil {
		return "", errors.New(`the "account" tag must be a string: the name of one of the provider's accounts`)
	}
	if tag.Account != nil && *tag.Account == "" {
		return "", errors.New(`the "account" tag is empty: name one of the provider's accounts, or leave the tag out`)
	}
	account := ""
	if tag.Account != nil {
		account = *tag.Account
	}
	return accounts.resolve(n, account)
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
