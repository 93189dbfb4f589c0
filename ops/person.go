package ops

import (
	"slices"
	"strings"
)

// Role is what a person may do in Paydesk; the same names as the sign-in's roles.
type Role string

// The roles an operation checks.
const (
	RoleSupport Role = "support"
	RoleFinance Role = "finance"
	RoleManager Role = "manager"
)

// Person is who asks for an operation, as the caller vouches for them.
type Person struct {
	// Email names them in the journal, the timeline and the audit log, and is never empty
	// for a signed-in person: their e-mail address, else their name, else a short form of
	// their subject (auth.User.Actor; an identity provider need not send an e-mail);
	// "system", "reconciler" or "payer" for work nobody signed in for.
	Email string
	// Key is their stable person key (issuer + subject, auth.PersonKey), "" for work
	// nobody signed in for. Whose request a refund is is decided by it (isRequester):
	// names can be shared or change.
	Key string
	// Name is their name as the identity provider gives it ("" if none).
	Name string
	// Roles are what they may do.
	Roles []Role
	// FreshSignIn says they signed in recently enough to move money (the step-up rule):
	// operations that move money refuse without it.
	FreshSignIn bool
	// Remote is where the request came from, for the audit log ("" when none).
	Remote string
	// RequestID ties the Desk's log lines to the request's ("" when none).
	RequestID string
}

// Has reports whether the person holds any of the roles.
func (p Person) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// mayAct: cancel, expire, request refunds, make payer links — support and managers.
func (p Person) mayAct() bool { return p.Has(RoleSupport, RoleManager) }

// mayApprove: decide on refunds awaiting approval — managers.
func (p Person) mayApprove() bool { return p.Has(RoleManager) }

// mayView: read payments and refresh them — support, finance, managers.
func (p Person) mayView() bool { return p.Has(RoleSupport, RoleFinance, RoleManager) }

// logAttrs are the person's log attributes.
func (p Person) logAttrs(more ...any) []any {
	return append([]any{"request_id", p.RequestID, "user", p.Email}, more...)
}

// Requested reports whether p is the person who asked for a refund recorded with
// requester name and key: the approval queue shows no approve or reject form on one's own
// request (the Desk refuses it anyway).
func (p Person) Requested(name, key string) bool { return p.isRequester(name, key) }

// isRequester reports whether p asked for a request recorded with requester name and
// person key: by key when both have one, else by name — requests from before keys and
// sessions from before keys (as storage compares them, storage.isRequester).
func (p Person) isRequester(name, key string) bool {
	if key != "" && p.Key != "" {
		return key == p.Key
	}
	return sameActor(name, p.Email)
}

// sameActor reports whether two e-mails name the same person (as storage compares them).
func sameActor(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// system is who housekeeping's audit entries name.
var system = Person{Email: "system"}
