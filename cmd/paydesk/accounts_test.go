package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// writeFile writes body to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAccountsFile: the accounts file adds accounts to the PAYDESK_<NAME>_* shorthand's
// "default", each setting given as a value, an environment variable (_env) or a file
// (_file, its line break dropped); each account gets its own client and webhook
// receiver.
func TestAccountsFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "de-key", "de-api-key\n")
	writeFile(t, dir, "de-hook", "de-webhook-secret\r\n")
	file := writeFile(t, dir, "accounts.toml", `
[[account]]
provider = "bpc"
name = "bpc-fr"
default = true
base_url = "https://bpc.example.com/fr"
api_key_env = "FR_KEY"
webhook_secret_env = "FR_HOOK"

[[account]]
provider = "bpc"
name = "bpc-de"
base_url = "https://bpc.example.com/de"
api_key_file = "`+filepath.Join(dir, "de-key")+`"
webhook_secret_file = "`+filepath.Join(dir, "de-hook")+`"
webhook_algorithm = "sha512"

[[account]]
provider = "tranzzo"
name = "pos-kyiv"
base_url = "https://tranzzo.example.com"
pos_id = "0d7b1c0e-4b6a-4b8e-9c1a-2f3e4d5c6b7a"
api_key = "tz-key"
api_secret_env = "TZ_SECRET"
endpoints_key_env = "TZ_ENDPOINTS"
`)
	env := serveEnv(filepath.Join(dir, "paydesk.db"))
	delete(env, "PAYDESK_BPC_BASE_URL")
	delete(env, "PAYDESK_BPC_API_KEY")
	for k, v := range map[string]string{
		envAccountsFile: file, "FR_KEY": "fr-api-key", "FR_HOOK": "fr-webhook-secret", "TZ_SECRET": "tz-secret", "TZ_ENDPOINTS": "tz-endpoints",
		"PAYDESK_POWENS_BASE_URL": "https://powens.example.com", "PAYDESK_POWENS_CLIENT_ID": "id", "PAYDESK_POWENS_CLIENT_SECRET": "secret",
		"PAYDESK_POWENS_WEBVIEW_URL": "https://webview.powens.example.com",
	} {
		env[k] = v
	}
	c, err := loadConfig(envOf(env), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range c.Accounts {
		got = append(got, string(a.Provider)+"/"+a.Name)
	}
	if strings.Join(got, " ") != "powens/default bpc/bpc-fr bpc/bpc-de tranzzo/pos-kyiv" {
		t.Fatalf("accounts %v", got)
	}
	fr, de := c.Accounts[1].Settings.(bpc.Settings), c.Accounts[2].Settings.(bpc.Settings)
	if !c.Accounts[1].Default || fr.APIKey != "fr-api-key" || fr.WebhookSecret != "fr-webhook-secret" || fr.BaseURL != "https://bpc.example.com/fr" {
		t.Errorf("bpc-fr: %+v (default %v)", fr, c.Accounts[1].Default)
	}
	if de.APIKey != "de-api-key" || de.WebhookSecret != "de-webhook-secret" || de.WebhookAlgorithm != "sha512" || c.Accounts[2].Default {
		t.Errorf("bpc-de: %+v", de)
	}
	if tz := c.Accounts[3].Settings.(tranzzo.Settings); tz.POSID != "0d7b1c0e-4b6a-4b8e-9c1a-2f3e4d5c6b7a" || tz.APISecret != "tz-secret" || tz.APIKey != "tz-key" {
		t.Errorf("pos-kyiv: %+v", tz)
	}
	if pw := c.Accounts[0].Settings.(powens.Settings); pw.ClientSecret != "secret" {
		t.Errorf("powens default: %+v", pw)
	}

	accounts, err := realAccounts(c)
	if err != nil || len(accounts) != 4 {
		t.Fatalf("clients: %d, %v", len(accounts), err)
	}
	body := []byte(`{"type":"payment.succeeded"}`)
	sig := func(secret string) map[string][]string {
		return map[string][]string{"X-Signature": {hmacHexOf("sha512", secret, body)}}
	}
	if err := accounts[2].Webhooks.Verify(sig("de-webhook-secret"), body); err != nil {
		t.Errorf("bpc-de's receiver refuses its own signature: %v", err)
	}
	if err := accounts[2].Webhooks.Verify(sig("fr-webhook-secret"), body); err == nil {
		t.Error("bpc-de's receiver takes a signature made with bpc-fr's secret")
	}
}

// TestAccountsFileErrors: a mistake in the accounts file stops start-up with the file,
// the account and the field named.
func TestAccountsFileErrors(t *testing.T) {
	dir := t.TempDir()
	account := func(name, rest string) string {
		return "[[account]]\nprovider = \"bpc\"\nname = \"" + name + "\"\nbase_url = \"https://bpc.example.com\"\n" + rest + "\n"
	}
	cases := []struct {
		name, body string
		env        map[string]string
		want       []string
	}{
		{"unknown field", account("a", `api_key = "k"`+"\napi_kee = \"k\""), nil,
			[]string{`account "a" (bpc): unknown field api_kee (bpc reads api_key, base_url, version, webhook_algorithm, webhook_secret`}},
		{"unset variable", account("b", `api_key_env = "NOPE"`), nil,
			[]string{`account "b" (bpc): api_key_env: the environment variable NOPE is empty or not set`}},
		{"missing file", account("c", `api_key_file = "`+filepath.Join(dir, "nope")+`"`), nil,
			[]string{`account "c" (bpc): api_key_file: ` + filepath.Join(dir, "nope") + ` cannot be read: no such file or directory`}},
		{"value and variable", account("d", `api_key = "k"`+"\napi_key_env = \"K\""), map[string]string{"K": "k"},
			[]string{`account "d" (bpc): api_key: give one of api_key, api_key_env`}},
		{"provider's own check", account("e", `api_key = "k"`+"\nwebhook_algorithm = \"md5\""), nil,
			[]string{`account "e" (bpc): webhook_algorithm="md5": use sha256, sha512 or sha1`}},
		{"no base URL", "[[account]]\nprovider = \"bpc\"\nname = \"f\"\napi_key = \"k\"\n", nil,
			[]string{`account "f" (bpc): base_url is required`}},
		{"no API key (production)", account("g", ""), nil,
			[]string{`account "g" (bpc): api_key is required with base_url`}},
		{"bad name", account("BPC FR", `api_key = "k"`), nil,
			[]string{`name: account name "BPC FR": use 1 to 40 lower-case letters`}},
		{"unknown provider", "[[account]]\nprovider = \"acme\"\nname = \"h\"\n", nil,
			[]string{`account "h" (acme): provider: "acme" is not one of powens, bpc or tranzzo`}},
		{"twice", account("i", `api_key = "k"`) + account("i", `api_key = "k"`), nil,
			[]string{`account "i" (bpc): configured twice`}},
		{"the shorthand's name", account("default", `api_key = "k"`), map[string]string{"PAYDESK_BPC_BASE_URL": "https://x.example.com", "PAYDESK_BPC_API_KEY": "k"},
			[]string{`account "default" (bpc): configured twice: by PAYDESK_BPC_* and by the file`}},
		{"two defaults", account("j", "api_key = \"k\"\ndefault = true") + account("k", "api_key = \"k\"\ndefault = true"), nil,
			[]string{"bpc: accounts j, k are all marked default: mark one"}},
		{"not TOML", "[[account]\n", nil, []string{"accounts file " + filepath.Join(dir, "not TOML.toml") + ": toml:"}},
	}
	for _, tc := range cases {
		env := serveEnv(filepath.Join(dir, "paydesk.db"))
		delete(env, "PAYDESK_BPC_BASE_URL")
		delete(env, "PAYDESK_BPC_API_KEY")
		env[envAccountsFile] = writeFile(t, dir, tc.name+".toml", tc.body)
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := loadConfig(envOf(env), false)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v\nwant it to say %q", tc.name, err, want)
			}
		}
	}
	env := serveEnv(filepath.Join(dir, "paydesk.db"))
	env[envAccountsFile] = filepath.Join(dir, "absent.toml")
	if _, err := loadConfig(envOf(env), false); err == nil || !strings.Contains(err.Error(), "PAYDESK_ACCOUNTS_FILE: open "+filepath.Join(dir, "absent.toml")) {
		t.Errorf("absent file: %v", err)
	}
}

// TestImportNamesTheAccount: a line names its account, which it may leave out when its
// provider has one; an unknown account, or none among several, is a clear error line and
// stores nothing.
func TestImportNamesTheAccount(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "paydesk.db"))
	lines := generate(t, 40, 3, time.Now())
	var bpcLines, powensLine [][]byte
	for _, l := range lines {
		switch {
		case bytes.HasPrefix(l, []byte(`{"provider":"bpc"`)):
			bpcLines = append(bpcLines, l)
		case bytes.HasPrefix(l, []byte(`{"provider":"powens"`)) && powensLine == nil:
			powensLine = append(powensLine, l)
		}
	}
	if len(bpcLines) < 3 || len(powensLine) != 1 {
		t.Fatalf("generated %d BPC and %d Powens lines", len(bpcLines), len(powensLine))
	}
	named := func(account string, l []byte) []byte {
		return append([]byte(`{"account":"`+account+`",`), l[1:]...)
	}
	in := bytes.Join([][]byte{
		named("bpc-de", bpcLines[0]),
		bpcLines[1],                  // no account, BPC has two: refused
		named("bpc-it", bpcLines[2]), // unknown account: refused
		powensLine[0],                // Powens has one account: its
		named("bpc-fr", bpcLines[0]), // the same BPC id in the other account: another payment
		named("", bpcLines[1]),
	}, []byte("\n"))
	var report bytes.Buffer
	accounts := importAccounts{bpc.Name: {"bpc-fr", "bpc-de"}}
	sum, err := importLinesFor(ctx, db, bytes.NewReader(in), &report, accounts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 3 || sum.Bad != 3 {
		t.Errorf("import: %s, want 3 new, 3 bad\n%s", sum, report.String())
	}
	for _, want := range []string{
		`line 2: bpc has several accounts: name one with "account" (bpc-fr or bpc-de)`,
		`line 3: unknown bpc account "bpc-it": use bpc-fr or bpc-de`,
		`line 6: the "account" tag is empty`,
	} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report %q\nwant %q", report.String(), want)
		}
	}
	snap, err := parseLine(bpcLines[0])
	if err != nil {
		t.Fatal(err)
	}
	de, err1 := db.PaymentByAccountID(ctx, bpc.Name, "bpc-de", snapKey(snap))
	fr, err2 := db.PaymentByAccountID(ctx, bpc.Name, "bpc-fr", snapKey(snap))
	if err1 != nil || err2 != nil || de.ID == fr.ID {
		t.Errorf("the same BPC payment in bpc-de and bpc-fr: %v, %v; want two payments", err1, err2)
	}
	pw, _ := parseLine(powensLine[0])
	if p, err := db.PaymentByAccountID(ctx, powens.Name, providers.DefaultAccount, snapKey(pw)); err != nil || p.Account != providers.DefaultAccount {
		t.Errorf("the Powens line without an account: %v (%q), want the default account", err, p.Account)
	}

	// `paydesk import` reads the accounts as serve does.
	dir := t.TempDir()
	file := writeFile(t, dir, "accounts.toml", "[[account]]\nprovider = \"bpc\"\nname = \"bpc-nl\"\nbase_url = \"https://bpc.example.com\"\napi_key = \"k\"\n")
	src := writeFile(t, dir, "in.jsonl", string(bpcLines[1])+"\n")
	var out, errs bytes.Buffer
	if err := run(ctx, []string{"import", "--db", filepath.Join(dir, "i.db"), src}, envOf(map[string]string{envAccountsFile: file}), &out, &errs); err != nil {
		t.Fatalf("import: %v\n%s", err, errs.String())
	}
	idb := openDB(t, filepath.Join(dir, "i.db"))
	s1, _ := parseLine(bpcLines[1])
	if p, err := idb.PaymentByAccountID(ctx, bpc.Name, "bpc-nl", snapKey(s1)); err != nil {
		t.Errorf("a line without an account, BPC's only account bpc-nl: %v", err)
	} else if p.Account != "bpc-nl" {
		t.Errorf("stored under %q", p.Account)
	}
}

// snapKey is a snapshot's first provider id.
func snapKey(s providers.Snapshot) string {
	for _, id := range []string{s.PaymentID, s.SessionID, s.OrderID} {
		if id != "" {
			return id
		}
	}
	return ""
}

// hmacHexOf is the hex HMAC of body with secret under alg (sha256, sha512, sha1).
func hmacHexOf(alg, secret string, body []byte) string {
	m := hmac.New(providers.HMACHash(alg), []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
