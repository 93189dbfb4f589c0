package ops

import (
	"fmt"
	"slices"

	"paydesk/providers"
	"paydesk/storage"
)

// Account is one configured account of a provider (docs/providers.md, "Accounts"): an
// account per legal entity, per point of sale or per country. Each has its
// own client, its own webhook URL (/webhooks/{provider}/{account}) and secret; every
// payment belongs to one, and every call about a payment goes through its account's
// client.
type Account struct {
	// Provider and Name say which account: the name is unique within the provider.
	Provider providers.Name
	Name     string
	// Default marks the provider's default account: it receives /webhooks/{provider}
	// and holds the payments stored under providers.DefaultAccount (those stored before
	// accounts existed). Without a mark, the account named "default" is the default, or
	// the provider's only account.
	Default bool
	// Client calls the provider with this account's credentials (nil: not configured).
	Client providers.Provider
	// Webhooks verifies this account's webhooks (nil: they are refused as not
	// configured).
	Webhooks providers.WebhookReceiver
}

// AccountName names one account, for pages: its provider and name.
type AccountName struct {
	Provider providers.Name
	Name     string
}

// buildAccounts lists the Desk's accounts by provider: cfg.Accounts, then for each
// provider without any, the client in provs and the receiver in cfg.Webhooks as its
// "default" account (a Desk built the single-account way, as the tests do).
func buildAccounts(cfg Config, provs map[providers.Name]providers.Provider) (map[providers.Name][]*Account, error) {
	out := map[providers.Name][]*Account{}
	for i := range cfg.Accounts {
		a := cfg.Accounts[i]
		if err := providers.CheckAccountName(a.Name); err != nil {
			return nil, fmt.Errorf("ops: %s %w", a.Provider, err)
		}
		if slices.ContainsFunc(out[a.Provider], func(o *Account) bool { return o.Name == a.Name }) {
			return nil, fmt.Errorf("ops: %s account %q is configured twice", a.Provider, a.Name)
		}
		out[a.Provider] = append(out[a.Provider], &a)
	}
	names := map[providers.Name]bool{}
	for n := range provs {
		names[n] = true
	}
	for n := range cfg.Webhooks {
		names[n] = true
	}
	for n := range names {
		if len(out[n]) == 0 && (provs[n] != nil || cfg.Webhooks[n] != nil) {
			out[n] = []*Account{{Provider: n, Name: providers.DefaultAccount, Client: provs[n], Webhooks: cfg.Webhooks[n]}}
		}
	}
	for n, list := range out {
		marked := 0
		for _, a := range list {
			if a.Default {
				marked++
			}
		}
		if marked > 1 {
			return nil, fmt.Errorf("ops: %s has %d accounts marked default; mark one", n, marked)
		}
	}
	return out, nil
}

// account returns a provider's account by name, nil when there is none. The empty name
// and providers.DefaultAccount, when no account has that name, are the provider's
// default account (defaultAccount).
func (d *Desk) account(n providers.Name, name string) *Account {
	for _, a := range d.accounts[n] {
		if a.Name == name {
			return a
		}
	}
	if name == "" || name == providers.DefaultAccount {
		return d.defaultAccount(n)
	}
	return nil
}

// defaultAccount is the provider's account marked default, else the one named
// "default", else its only account; nil when it has several and none of them is.
func (d *Desk) defaultAccount(n providers.Name) *Account {
	list := d.accounts[n]
	for _, a := range list {
		if a.Default {
			return a
		}
	}
	for _, a := range list {
		if a.Name == providers.DefaultAccount {
			return a
		}
	}
	if len(list) == 1 {
		return list[0]
	}
	return nil
}

// storedUnder are the account names a webhook to account a may find its
// payments under: its own, and for the provider's default account the name payments
// stored before accounts existed carry.
func (d *Desk) storedUnder(a *Account) []string {
	names := []string{a.Name}
	if a.Name != providers.DefaultAccount && d.defaultAccount(a.Provider) == a {
		names = append(names, providers.DefaultAccount)
	}
	return names
}

// ProviderOf returns the client of the payment's account, nil when that account is not
// configured. Every call about a stored payment goes through it.
func (d *Desk) ProviderOf(p storage.Payment) providers.Provider {
	if a := d.account(p.Provider, p.Account); a != nil {
		return a.Client
	}
	return nil
}

// Accounts lists the configured accounts, by provider in registration order, then in
// configuration order.
func (d *Desk) Accounts() []AccountName {
	var out []AccountName
	for _, n := range providers.Names {
		for _, a := range d.accounts[n] {
			out = append(out, AccountName{Provider: n, Name: a.Name})
		}
	}
	return out
}

// SeveralAccounts reports whether any provider has more than one account: only then do
// pages name the accounts.
func (d *Desk) SeveralAccounts() bool {
	for _, list := range d.accounts {
		if len(list) > 1 {
			return true
		}
	}
	return false
}

// AccountLabel is how pages name a payment's account: its stored name, or the default
// account's configured name for a payment stored under providers.DefaultAccount.
func (d *Desk) AccountLabel(p storage.Payment) string {
	if a := d.account(p.Provider, p.Account); a != nil {
		return a.Name
	}
	return providers.AccountOr(p.Account)
}

// stamp returns snap as it belongs to p's account: a provider's client does not know
// which account it speaks for, and storage finds the payment within its account. It also
// drops a merchant reference that is Paydesk's own signed payer-link state: a provider
// that keeps the client state of its last call echoes, after a cancel request, Paydesk's
// state where the shop's reference was (docs/providers.md, the cancellation), and
// storage keeps the reference it had when the new one is empty.
func (d *Desk) stamp(p storage.Payment, snap providers.Snapshot) providers.Snapshot {
	snap.Account = p.Account
	return d.withoutOwnState(snap)
}

// withoutOwnState blanks a merchant reference that is a payer-link state Paydesk signed.
func (d *Desk) withoutOwnState(snap providers.Snapshot) providers.Snapshot {
	if _, ok := d.verifyLinkState(snap.MerchantReference); ok {
		snap.MerchantReference = ""
	}
	return snap
}
