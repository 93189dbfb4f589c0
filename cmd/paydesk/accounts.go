package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"paydesk/providers"
)

// envAccountsFile names the accounts file (docs/providers.md, "Accounts").
const envAccountsFile = "PAYDESK_ACCOUNTS_FILE"

// accountConfig is one configured provider account: its provider's settings, read for it
// by the provider's own LoadSettings.
type accountConfig struct {
	Provider providers.Name
	Name     string
	// Default: this account receives /webhooks/{provider} and holds the payments stored
	// before accounts existed (ops.Account.Default).
	Default  bool
	Settings providers.Settings
	// where says where the account is configured, for errors: "PAYDESK_ACME_*" or
	// `accounts file x.toml: account "acme-fr" (acme)`.
	where string
	// fields turns the provider's variable names into the file's field names in the
	// provider's messages (nil for the environment's account).
	fields *strings.Replacer
}

// problem words a provider's error about this account.
func (a accountConfig) problem(err error) error {
	if a.fields == nil {
		return err
	}
	return fmt.Errorf("%s: %s", a.where, a.fields.Replace(err.Error()))
}

// The fields of an account table that are not its provider's settings.
var accountMetaFields = []string{"provider", "name", "default"}

// loadAccounts lists the configured accounts: each provider's PAYDESK_<NAME>_* variables,
// when its API root is set, as its account named "default" (env, read by loadConfig),
// then the accounts of the file named by PAYDESK_ACCOUNTS_FILE. The errors name the file,
// the account and the field at fault.
func loadAccounts(getenv func(string) string, env map[providers.Name]providers.Settings) ([]accountConfig, []error) {
	var out []accountConfig
	for _, n := range providers.Names {
		if s := env[n]; s != nil && s.Enabled() {
			out = append(out, accountConfig{Provider: n, Name: providers.DefaultAccount, Settings: s,
				where: "PAYDESK_" + strings.ToUpper(string(n)) + "_*"})
		}
	}
	path := strings.TrimSpace(getenv(envAccountsFile))
	if path == "" {
		return out, nil
	}
	fromFile, errs := readAccountsFile(path, getenv)
	for _, a := range fromFile {
		if i := slices.IndexFunc(out, func(o accountConfig) bool { return o.Provider == a.Provider && o.Name == a.Name }); i >= 0 {
			errs = append(errs, fmt.Errorf("%s: configured twice: by %s and by the file (name one of them otherwise)", a.where, out[i].where))
			continue
		}
		out = append(out, a)
	}
	for _, n := range providers.Names {
		var marked []string
		for _, a := range out {
			if a.Provider == n && a.Default {
				marked = append(marked, a.Name)
			}
		}
		if len(marked) > 1 {
			errs = append(errs, fmt.Errorf("%s %s: accounts %s are all marked default: mark one", envAccountsFile, n, strings.Join(marked, ", ")))
		}
	}
	return out, errs
}

// readAccountsFile reads the accounts file: a TOML array of [[account]] tables, each
// with its provider, name, optional default mark and its provider's settings, a setting
// given as its value (base_url = "…"), as the environment variable holding it
// (api_key_env = "ACME_FR_API_KEY") or as the file holding it (api_key_file =
// "/run/secrets/acme-fr-api-key"). lookupEnv reads the environment.
func readAccountsFile(path string, lookupEnv func(string) string) ([]accountConfig, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", envAccountsFile, err)}
	}
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, []error{fmt.Errorf("accounts file %s: %w", path, err)}
	}
	var errs []error
	for k := range doc {
		if k != "account" {
			errs = append(errs, fmt.Errorf("accounts file %s: unknown key %q: each account is an [[account]] table", path, k))
		}
	}
	tables, ok := doc["account"].([]map[string]any)
	if !ok && doc["account"] != nil {
		return nil, append(errs, fmt.Errorf("accounts file %s: account must be [[account]] tables", path))
	}
	var out []accountConfig
	for i, t := range tables {
		a, problems := readAccount(path, i+1, t, lookupEnv)
		errs = append(errs, problems...)
		if len(problems) == 0 {
			out = append(out, a)
		}
	}
	return out, errs
}

// readAccount reads the i-th [[account]] table of the file at path.
func readAccount(path string, i int, t map[string]any, lookupEnv func(string) string) (accountConfig, []error) {
	name, _ := t["name"].(string)
	provider, _ := t["provider"].(string)
	a := accountConfig{Provider: providers.Name(provider), Name: name,
		where: fmt.Sprintf("accounts file %s: account %q (%s)", path, name, provider)}
	if name == "" {
		a.where = fmt.Sprintf("accounts file %s: account %d", path, i)
	}
	bad := func(format string, args ...any) (accountConfig, []error) {
		return a, []error{fmt.Errorf("%s: %s", a.where, fmt.Sprintf(format, args...))}
	}
	if err := providers.CheckAccountName(name); err != nil {
		return bad("name: %v", err)
	}
	d, ok := providers.Lookup(a.Provider)
	if !ok {
		return bad("provider: %q is not one of %s", provider, providerNames())
	}
	if v, ok := t["default"]; ok {
		if a.Default, ok = v.(bool); !ok {
			return bad("default: use true or false")
		}
	}
	// The provider reads its PAYDESK_<NAME>_* variables as always; for this account each
	// variable is the table's field of the same name in lower case, without the prefix.
	prefix := "PAYDESK_" + strings.ToUpper(provider) + "_"
	var errs []error
	asked := map[string]string{} // field → variable, for the names in messages
	getenv := func(key string) string {
		field, ok := strings.CutPrefix(key, prefix)
		if !ok {
			return ""
		}
		field = strings.ToLower(field)
		asked[field] = key
		v, err := settingOf(t, field, lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.where, err))
		}
		return v
	}
	s, problems := d.LoadSettings(getenv)
	a.Settings = s
	var pairs []string
	fields := make([]string, 0, len(asked))
	for f := range asked {
		fields = append(fields, f)
	}
	// Longer names first: PAYDESK_ACME_WEBHOOK_SECRET before a PAYDESK_ACME_WEBHOOK.
	sort.Slice(fields, func(i, j int) bool { return len(fields[i]) > len(fields[j]) })
	for _, f := range fields {
		pairs = append(pairs, asked[f], f)
	}
	a.fields = strings.NewReplacer(pairs...)
	for _, p := range problems {
		errs = append(errs, a.problem(p))
	}
	var unknown []string
	for k := range t {
		base := strings.TrimSuffix(strings.TrimSuffix(k, "_env"), "_file")
		if _, ok := asked[base]; !ok && !slices.Contains(accountMetaFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		sort.Strings(fields)
		errs = append(errs, fmt.Errorf("%s: unknown field %s (%s reads %s, each also as <field>_env or <field>_file)",
			a.where, strings.Join(unknown, ", "), provider, strings.Join(fields, ", ")))
	}
	if !s.Enabled() && len(errs) == 0 {
		errs = append(errs, a.problem(fmt.Errorf("%s is required", d.BaseURLVariable)))
	}
	return a, errs
}

// settingOf is the value of one setting of an account table: the field itself, the
// variable named by field_env, or the file named by field_file (its content, without the
// line break that ends it) — at most one of them.
func settingOf(t map[string]any, field string, lookupEnv func(string) string) (string, error) {
	var given []string
	for _, k := range []string{field, field + "_env", field + "_file"} {
		if _, ok := t[k]; ok {
			given = append(given, k)
		}
	}
	switch len(given) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fmt.Errorf("%s: give one of %s", field, strings.Join(given, ", "))
	}
	k := given[0]
	var v string
	switch raw := t[k].(type) {
	case string:
		v = raw
	case int64, float64, bool:
		if k != field {
			return "", fmt.Errorf("%s: use a string", k)
		}
		v = fmt.Sprint(raw)
	default:
		return "", fmt.Errorf("%s: use a string", k)
	}
	switch {
	case strings.HasSuffix(k, "_env"):
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: name the environment variable holding %s", k, field)
		}
		val := lookupEnv(v)
		if strings.TrimSpace(val) == "" {
			return "", fmt.Errorf("%s: the environment variable %s is empty or not set", k, v)
		}
		return val, nil
	case strings.HasSuffix(k, "_file"):
		val, err := readSecretFile(v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", k, err)
		}
		return val, nil
	}
	return v, nil
}
