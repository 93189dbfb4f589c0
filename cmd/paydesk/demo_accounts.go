package main

import (
	"hash/fnv"
	"strings"

	"paydesk/providers"
)

// demoAccounts are the demo's accounts: each provider's "default", or the several of
// demoAccountNames (providers.go), the first of them the default account. env are the
// providers' settings; simulate points each account at its own simulator.
func demoAccounts(env map[providers.Name]providers.Settings) []accountConfig {
	var out []accountConfig
	for _, n := range providers.Names {
		names := demoAccountNames[n]
		if len(names) == 0 {
			names = []string{providers.DefaultAccount}
		}
		for i, name := range names {
			out = append(out, accountConfig{Provider: n, Name: name, Default: i == 0 && name != providers.DefaultAccount,
				Settings: env[n], where: "demo account " + name + " (" + string(n) + ")"})
		}
	}
	return out
}

// demoImportAccounts are the demo's account names by provider, for its import.
func demoImportAccounts() importAccounts {
	out := importAccounts{}
	for _, a := range demoAccounts(nil) {
		out[a.Provider] = append(out[a.Provider], a.Name)
	}
	return out
}

// demoAccountOf is the account a demo payment belongs to: for a provider with several,
// one picked by a hash of its first id (the same on every run and in both seeding paths);
// "" for the others (their only account).
func demoAccountOf(s providers.Snapshot) string {
	names := demoAccountNames[s.Provider]
	if len(names) == 0 {
		return ""
	}
	key := s.PaymentID
	for _, id := range []string{s.SessionID, s.OrderID} {
		if key == "" {
			key = id
		}
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return names[h.Sum32()%uint32(len(names))]
}

// simKey is the key of an account's simulator in simulators, and the path under /sim/
// where the demo serves it: the provider's name for its first (or only) account, as
// before accounts existed, and provider/account for the others.
func simKey(n providers.Name, account string) providers.Name {
	names := demoAccountNames[n]
	if account == "" || account == providers.DefaultAccount || (len(names) > 0 && account == names[0]) {
		return n
	}
	return providers.Name(string(n) + "/" + account)
}

// simAccount splits a simulator key into its provider and account name.
func simAccount(key providers.Name) (providers.Name, string) {
	n, account, ok := strings.Cut(string(key), "/")
	if !ok {
		account = providers.DefaultAccount
		if names := demoAccountNames[providers.Name(n)]; len(names) > 0 {
			account = names[0]
		}
	}
	return providers.Name(n), account
}
