package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// envOf returns a getenv reading from m.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// importRun is one `paydesk import` run: its error and what it printed.
type importRun struct {
	err            error
	stdout, stderr string
}

func runImport(t *testing.T, dbPath, file string) importRun {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"import", "--db", dbPath, file}, noEnv, &out, &errOut)
	return importRun{err: err, stdout: out.String(), stderr: errOut.String()}
}

// openDB opens the database an import wrote, closing it at the end of the test.
func openDB(t *testing.T, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tableCounts counts what an import may write: payments, their events and refunds.
func tableCounts(t *testing.T, db *storage.DB) (payments, events, refunds int) {
	t.Helper()
	ctx := context.Background()
	err := db.EachPayment(ctx, func(p storage.Payment) error {
		payments++
		evs, err := db.Events(ctx, p.ID)
		events += len(evs)
		if err != nil {
			return err
		}
		rs, err := db.RefundsOfPayment(ctx, p.ID)
		refunds += len(rs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return payments, events, refunds
}

var badLineRe = regexp.MustCompile(`(?m)^line (\d+): (.+)$`)

// TestImport imports testdata/import.jsonl: payments in each provider's own shape (taken
// from the seeds and the providers' test data) mixed with bad lines.
func TestImport(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "import.db")
	file := filepath.Join("testdata", "import.jsonl")

	first := runImport(t, dbPath, file)
	// Bad lines make the command fail (a script notices) after keeping the good ones.
	if first.err == nil || !strings.Contains(first.err.Error(), "6 bad lines were skipped") {
		t.Errorf("error %v, want one saying 6 bad lines were skipped", first.err)
	}
	if got, want := strings.TrimSpace(first.stdout), "import: 15 lines: 8 new, 0 updated, 0 unchanged, 6 bad"; got != want {
		t.Errorf("summary:\n got %q\nwant %q", got, want)
	}
	// Every bad line is reported with its number and what is wrong with it.
	wantBad := map[string]string{
		"7":  "not a JSON object",
		"9":  `unknown provider "paypal"`,
		"11": "not a JSON object", // the Tranzzo seed's own answer has an unclosed string
		"13": "bpc",
		"14": "12,50",
		"15": "not a JSON object",
	}
	var gotLines []string
	for _, m := range badLineRe.FindAllStringSubmatch(first.stderr, -1) {
		gotLines = append(gotLines, m[1])
		if want, ok := wantBad[m[1]]; !ok {
			t.Errorf("line %s reported bad: %s", m[1], m[2])
		} else if !strings.Contains(m[2], want) {
			t.Errorf("line %s: %q, want it to mention %q", m[1], m[2], want)
		}
	}
	if want := []string{"7", "9", "11", "13", "14", "15"}; !slices.Equal(gotLines, want) {
		t.Errorf("bad lines reported: %v, want %v\n%s", gotLines, want, first.stderr)
	}

	db := openDB(t, dbPath)
	ctx := context.Background()
	tests := []struct {
		provider             providers.Name
		id                   string
		status               providers.Status
		raw                  string
		amount, refunded     int64
		currency, ref, email string
	}{
		{powens.Name, "4242", providers.StatusProcessing, "pending", 5090, 0, "EUR", "Test", ""},
		{powens.Name, "9001", providers.StatusPaid, "done", 120007, 0, "GBP", "ORDER-77", "ap@widgets.example"},
		{powens.Name, "77", providers.StatusCancelling, "pending", 1999, 0, "EUR", "Invoice 12", "ana@example.com"},
		{bpc.Name, "ps_2GRSigkh7nHdxwjV4Yf7PpdEevc1dAwEvssZuP8TJ6mjuNmPMoV9mB", providers.StatusExpired, "expired", 20000, 0, "EUR", "4002", ""},
		{bpc.Name, "p_HbtjsyScZawhNKxmLPTFP3PDHmFq1B5BAZZ5mx8SP3wSMzVzwWob", providers.StatusCancelled, "canceled", 10000, 0, "EUR", "123", "test@example.com"},
		{bpc.Name, "p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw", providers.StatusPartiallyRefunded, "succeeded", 100000, 70000, "EUR", "4711", "maria@example.com"},
		{tranzzo.Name, "123", providers.StatusCancelled, "failure", 100, 0, "UAH", "123", "[email protected]"},
		{tranzzo.Name, "ORD-2024-0042", providers.StatusPartiallyRefunded, "success", 25050, 5000, "UAH", "SHOP-42", "olena@example.com"},
	}
	for _, tt := range tests {
		p, err := db.PaymentByProviderID(ctx, tt.provider, tt.id)
		if err != nil {
			t.Errorf("%s %s: %v", tt.provider, tt.id, err)
			continue
		}
		got := []any{p.Status, p.Amount, p.Refunded, p.Currency, p.MerchantReference, p.CustomerEmail}
		want := []any{tt.status, tt.amount, tt.refunded, tt.currency, tt.ref, tt.email}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s:\n got %v\nwant %v", tt.provider, tt.id, got, want)
		}
		if tt.raw != "" && p.RawStatus != tt.raw {
			t.Errorf("%s %s: raw status %q, want %q", tt.provider, tt.id, p.RawStatus, tt.raw)
		}
		evs, err := db.Events(ctx, p.ID)
		if err != nil || len(evs) != 1 || evs[0].Kind != "imported" || evs[0].Actor != "import" {
			t.Errorf("%s %s: timeline %+v (%v), want one imported event", tt.provider, tt.id, evs, err)
		}
	}
	if p, err := db.PaymentByProviderID(ctx, powens.Name, "9001"); err == nil && !p.Instant {
		t.Errorf("Powens 9001 has an instant instruction; stored instant=false")
	}
	payments, events, refunds := tableCounts(t, db)
	if payments != 8 || refunds != 2 {
		t.Errorf("stored %d payments and %d refunds, want 8 and 2", payments, refunds)
	}

	// Importing the same file again changes nothing.
	second := runImport(t, dbPath, file)
	if got, want := strings.TrimSpace(second.stdout), "import: 15 lines: 0 new, 0 updated, 8 unchanged, 6 bad"; got != want {
		t.Errorf("second summary:\n got %q\nwant %q", got, want)
	}
	p2, e2, r2 := tableCounts(t, db)
	if p2 != payments || e2 != events || r2 != refunds {
		t.Errorf("second import: %d payments, %d events, %d refunds; want %d, %d, %d (nothing new)", p2, e2, r2, payments, events, refunds)
	}

	// A newer export of one payment updates it, with one timeline line.
	newer := filepath.Join(t.TempDir(), "newer.jsonl")
	line := strings.Replace(firstLine(t, file), `"state":"pending"`, `"state":"done"`, 1)
	if err := os.WriteFile(newer, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := runImport(t, dbPath, newer)
	if third.err != nil {
		t.Errorf("a good file: %v", third.err)
	}
	if got, want := strings.TrimSpace(third.stdout), "import: 1 lines: 0 new, 1 updated, 0 unchanged, 0 bad"; got != want {
		t.Errorf("update summary:\n got %q\nwant %q", got, want)
	}
	p, err := db.PaymentByProviderID(ctx, powens.Name, "4242")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid {
		t.Errorf("after the newer export: %s, want paid", p.Status)
	}
	evs, _ := db.Events(ctx, p.ID)
	if len(evs) != 2 || !strings.Contains(evs[1].Message, "Re-imported from Powens: status processing → paid") {
		t.Errorf("timeline after the update: %+v", evs)
	}
}

func firstLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

func TestImportUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"import"}, nil, "give one FILE"},
		{[]string{"import", "a", "b"}, nil, "give one FILE"},
		{[]string{"import", "--db", filepath.Join(dir, "x.db"), filepath.Join(dir, "missing.jsonl")}, nil, "missing.jsonl"},
		{[]string{"import", "--nope", "x"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, envOf(tt.env), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want it to say %q", tt.args, err, tt.want)
		}
	}
	// PAYDESK_DB names the database when --db is absent.
	good := filepath.Join(dir, "good.jsonl")
	if err := os.WriteFile(good, []byte(firstLine(t, filepath.Join("testdata", "import.jsonl"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "env.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", good}, envOf(map[string]string{"PAYDESK_DB": dbPath}), &out, &out); err != nil {
		t.Fatalf("import with PAYDESK_DB: %v\n%s", err, out.String())
	}
	if n, err := openDB(t, dbPath).CountPayments(context.Background()); err != nil || n != 1 {
		t.Errorf("PAYDESK_DB database holds %d payments (%v), want 1", n, err)
	}
}

// TestParseLineMessages: a bad line is explained in words, not in Go types.
func TestParseLineMessages(t *testing.T) {
	tests := []struct{ line, want string }{
		{`[1,2,3]`, "not a JSON object: each line must be one {…} object"},
		{`"powens"`, "not a JSON object"},
		{`{"provider":5,"payment":{}}`, `the "provider" tag must be a string`},
		{`{"provider":"powens","payment":{"id":1}`, "not a JSON object: unexpected end of JSON input"},
		{`{"payment":{"id":1}}`, `unknown provider "" (want powens, bpc or tranzzo)`},
		{`{"provider":"tranzzo","transactions":[]}`, "tranzzo: the order has no transactions"},
	}
	for _, tt := range tests {
		_, err := parseLine([]byte(tt.line))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to say %q", tt.line, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: the message names Go types: %v", tt.line, err)
		}
	}
}
