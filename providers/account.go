package providers

import (
	"fmt"
	"regexp"
)

// DefaultAccount is the name of the account configured by a provider's PAYDESK_<NAME>_*
// variables (the single-account shorthand), and the account of every payment stored
// before accounts existed (docs/providers.md, "Accounts").
const DefaultAccount = "default"

// accountName is what an account name may be: it is a path segment of its webhook URL and
// a word in the payments list's filter.
var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// CheckAccountName says what is wrong with an account name, nil when it is usable.
func CheckAccountName(name string) error {
	if !accountName.MatchString(name) {
		return fmt.Errorf("account name %q: use 1 to 40 lower-case letters, digits, - or _, starting with a letter or digit", name)
	}
	return nil
}

// AccountOr is the account name a snapshot is stored under: its own, or DefaultAccount
// when it names none.
func AccountOr(account string) string {
	if account == "" {
		return DefaultAccount
	}
	return account
}

// AccountWebhookPath is where Paydesk receives the webhooks of one account of a provider;
// WebhookPath (no account) receives the provider's default account's.
func AccountWebhookPath(n Name, account string) string {
	return WebhookPath(n) + "/" + account
}
