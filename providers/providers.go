// Package providers is the contract between Paydesk and the payment providers it speaks
// to: the normalised view of a payment, the outcome of an action, the error type that
// keeps a safe message apart from the detail, and the pure eligibility rules.
//
// Each provider lives whole in its own package (providers/<name>): client, status table,
// rules, webhooks, demo shapes, simulator and settings, handed over through one
// Descriptor (registry.go). Nothing here names a provider, and nothing here knows about
// HTML, sessions or SQL.
package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Name identifies a payment provider. The providers Paydesk speaks to are the ones
// registered (registry.go); Valid and Label answer from the registry.
type Name string

// Snapshot is what a provider says one payment looks like right now, already translated
// into Paydesk's terms: integer minor units, the raw status kept verbatim next to the
// fields the eligibility rules need. Clients return it from Fetch; the import command
// builds it from the provider's own JSON; storage keeps it as a payments row.
type Snapshot struct {
	Provider Name
	// Account is the provider account the payment belongs to (account.go): set by
	// Paydesk, never by a provider's client; empty means the provider's default account.
	Account string
	// PaymentID is the provider's payment id (for an order-keyed provider, the id of the
	// order's main transaction). Empty for a hosted session with no payment yet.
	PaymentID string
	// SessionID is the provider's hosted-page session id, if any.
	SessionID string
	// OrderID is the merchant order id, for providers that key every call on it.
	OrderID string
	// MerchantReference is the merchant's own reference, wherever the provider keeps it
	// (docs/providers.md).
	MerchantReference string

	Amount   int64 // what the payer was asked to pay, minor units
	Captured int64 // what was actually taken and may be refunded, minor units
	Refunded int64 // total of succeeded refunds known to the provider, minor units
	Currency string

	// RawStatus is the provider's own status, verbatim (of the payment, of the session when
	// there is no payment, or of the order's main transaction).
	RawStatus string
	// StateDetail refines RawStatus where the provider does (a cancellation waiting for
	// the payer, …).
	StateDetail string
	// ErrorCode is the provider's error or status code.
	ErrorCode string
	// SessionStatus is the hosted session's status (open, expired, completed) when a
	// session exists.
	SessionStatus string
	// Method and Mode are the main transaction's method (purchase, auth, capture, …) and
	// mode (hosted, direct). Voided is true when an authorisation was voided.
	Method string
	Mode   string
	Voided bool
	// Instant is true when a transfer instruction executes instantly (and so cannot be
	// cancelled once pending).
	Instant bool
	// ValidateURI is the bank's page when the payer must confirm there.
	ValidateURI string

	CustomerName  string
	CustomerEmail string
	CardLast4     string
	Description   string

	CreatedAt time.Time
	UpdatedAt time.Time

	// Refunds are the refunds the provider knows for this payment. Nil when the provider
	// has no refunds.
	Refunds []RefundSnapshot

	// Raw is the provider's own JSON for this payment in the import envelope shape (see
	// Envelope). Storing it lets a simulator be rebuilt from the database.
	Raw json.RawMessage
}

// RefundSnapshot is one refund as the provider reports it.
type RefundSnapshot struct {
	ID        string // the provider's id of the refund (or of the refund transaction)
	Amount    int64
	Currency  string
	Status    string // raw, as the provider words it
	Succeeded bool   // the provider says the money went back
	Failed    bool   // the provider says it definitively did not
	CreatedAt time.Time
}

// Envelope is one line of the import format and the shape of Snapshot.Raw: the provider's
// own objects, exactly as its API returns them, tagged with the provider. Which parts a
// provider fills is its own (docs/import-format.md):
//
//	{"provider":"<name>","payment":{…}}
//	{"provider":"<name>","session":{…},"payment":{…},"refunds":[{…},…]}
//	{"provider":"<name>","transactions":[{…},…]}
type Envelope struct {
	Provider     Name            `json:"provider"`
	Payment      json.RawMessage `json:"payment,omitempty"`
	Session      json.RawMessage `json:"session,omitempty"`
	Refunds      json.RawMessage `json:"refunds,omitempty"`
	Transactions json.RawMessage `json:"transactions,omitempty"`
}

// Encode writes the envelope as JSON — what json.Marshal writes, but that HTML characters
// are not escaped — copying its parts as they are: each must be valid JSON, compacted by
// the caller (each provider compacts what it read). json.Marshal would compact every part
// again, once per level of nesting: a fifth of the million-payment demo's generation CPU
// (docs/benchmarks.md).
func (e Envelope) Encode() json.RawMessage {
	n := len(e.Payment) + len(e.Session) + len(e.Refunds) + len(e.Transactions)
	b := make([]byte, 0, n+len(e.Provider)+64)
	b = append(b, `{"provider":`...)
	name, _ := json.Marshal(string(e.Provider)) // a string always marshals
	b = append(b, name...)
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"payment", e.Payment}, {"session", e.Session}, {"refunds", e.Refunds}, {"transactions", e.Transactions}} {
		if len(part.raw) > 0 {
			b = append(b, `,"`...)
			b = append(b, part.name...)
			b = append(b, `":`...)
			b = append(b, part.raw...)
		}
	}
	return append(b, '}')
}

// JSONList writes parts (each valid, compact JSON) as a JSON array, without compacting
// them again as json.Marshal would.
func JSONList(parts []json.RawMessage) json.RawMessage {
	n := 2
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return append(b, ']')
}

// Ref is what a client needs to address one payment at its provider.
type Ref struct {
	PaymentID string
	SessionID string
	OrderID   string
	Currency  string
}

// RefOf returns the address of a stored snapshot.
func RefOf(s Snapshot) Ref {
	return Ref{PaymentID: s.PaymentID, SessionID: s.SessionID, OrderID: s.OrderID, Currency: s.Currency}
}

// CancelRequest carries what a cancellation may need beyond the payment's address.
type CancelRequest struct {
	// ReturnURL is Paydesk's public payer-return page, where the provider sends the payer
	// back after they confirmed.
	ReturnURL string
	// State is the signed opaque state Paydesk will get back on the payer's return.
	State string
	// Comment is sent where the provider takes one.
	Comment string
	// Op is the call Paydesk's eligibility chose from the stored payment (OpCancel, or
	// OpVoid for a held authorisation), so a client whose provider has two kinds of
	// cancellation sends the one decided without reading the payment first. Empty lets
	// the client take its provider's plain cancellation.
	Op Operation
}

// RefundRequest asks for a refund of Amount minor units (Amount == Captured-Refunded may be
// sent as a full refund where the provider distinguishes them).
type RefundRequest struct {
	Amount  int64
	Full    bool
	Comment string
}

// OutcomeKind says how an action ended.
type OutcomeKind string

// The five ways an action can end, as the action journal expects them (docs/states.md).
const (
	// Done: the provider did it.
	Done OutcomeKind = "done"
	// NeedsPayer: the provider waits for the payer to confirm through PayerLink.
	NeedsPayer OutcomeKind = "needs_payer"
	// NotSupported: the payer's bank or the provider cannot do this for this payment.
	NotSupported OutcomeKind = "not_supported"
	// Refused: the provider answered no (ineligible, over-refund, bad request…).
	Refused OutcomeKind = "refused"
	// Unknown: no definitive answer (timeout, 5xx, malformed answer): never retry blindly,
	// reconcile by reading the provider.
	Unknown OutcomeKind = "unknown"
)

// Words says the outcome for people (audit messages, pages); the code itself stays in
// data and metrics.
func (k OutcomeKind) Words() string {
	switch k {
	case Done:
		return "done"
	case NeedsPayer:
		return "waiting for the payer"
	case NotSupported:
		return "not supported"
	case Refused:
		return "refused"
	case Unknown:
		return "outcome unknown"
	}
	return string(k)
}

// Outcome is what an action produced.
type Outcome struct {
	Kind OutcomeKind
	// Message is safe to show staff: the provider's own words when it gave some, else a
	// plain sentence. Never contains secrets.
	Message string
	// Detail is for the log only (status code, raw body excerpt, Go error).
	Detail string
	// Snapshot is the payment after the action when the provider returned or we re-read it.
	Snapshot *Snapshot
	// RefundID is the provider's id of the refund created, if any.
	RefundID string
	// Link is set when Kind == NeedsPayer.
	Link *PayerLink
	// Raw is the provider's answer body, for the journal (never rendered as HTML).
	Raw json.RawMessage
}

// PayerLink is the URL the payer must open to confirm, and when it stops working.
type PayerLink struct {
	URL       string
	ExpiresAt time.Time
	// Kind is "webview" (the provider's own confirmation page) or "validate_uri" (the
	// bank's page).
	Kind string
}

// Provider is what every client implements.
type Provider interface {
	// Name is the provider's name.
	Name() Name
	// Fetch reads the payment back from the provider.
	Fetch(ctx context.Context, ref Ref) (Snapshot, error)
}

// Canceller cancels a payment (a cancellation, or the void of an authorisation).
type Canceller interface {
	Cancel(ctx context.Context, ref Ref, req CancelRequest) Outcome
}

// Expirer expires an open hosted session.
type Expirer interface {
	Expire(ctx context.Context, ref Ref) Outcome
}

// Refunder refunds a captured payment.
type Refunder interface {
	Refund(ctx context.Context, ref Ref, req RefundRequest) Outcome
}

// PayerLinker makes a fresh payer link for a payment whose cancellation waits for the payer
// (a new confirmation page, or the bank's current one).
type PayerLinker interface {
	PayerLink(ctx context.Context, ref Ref, req CancelRequest) (PayerLink, error)
}

// Error is a provider error with a message safe for people kept apart from the detail
// for the log. Clients return it (wrapped or not) from Fetch and PayerLink.
type Error struct {
	Provider Name
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code is the provider's error code when it gave one (notSupported, S-404, …).
	Code string
	// Safe is shown to staff.
	Safe string
	// Detail is logged, never shown.
	Detail string
	// Unknown is true when the outcome of the call cannot be known (timeout, 5xx).
	Unknown bool
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Provider, e.Safe)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// SafeMessage returns the message to show people for err: the Safe text of a provider
// Error, or a generic sentence for anything else.
func SafeMessage(err error) string {
	var pe *Error
	if errors.As(err, &pe) && pe.Safe != "" {
		return pe.Safe
	}
	return "The provider could not be reached or gave an answer Paydesk could not read."
}

// ErrNotFound is wrapped by errors for ids the provider does not know.
var ErrNotFound = errors.New("not found at provider")

// DecodeEnvelope reads an import envelope and checks that it is tagged for provider want.
// Errors are prefixed with the provider's name.
func DecodeEnvelope(raw []byte, want Name) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return env, fmt.Errorf("%s: envelope: %w", want, err)
	}
	switch env.Provider {
	case want:
		return env, nil
	case "":
		return env, fmt.Errorf(`%s: envelope: the "provider" tag is missing (want %q)`, want, want)
	}
	return env, fmt.Errorf("%s: envelope: provider is %q, want %q", want, env.Provider, want)
}
