package views

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// Approvals is the managers' queue of refunds awaiting approval.
type Approvals struct {
	Items []ApprovalView
	// TTL says how long a request waits before it expires ("72 hours").
	TTL string
	// StepUp is set when the manager just signed in again to approve: which refund to confirm.
	StepUp string
	// Batches is how many batches of refunds or cancellations await a manager.
	Batches int
}

// ApprovalView is one refund awaiting a manager's decision.
type ApprovalView struct {
	ID                                string // the refund's id
	PaymentURL, PaymentID, Provider   string
	Customer                          string
	CustomerURL                       string // the customer's page by name ("" without a name)
	Amount                            string // "600.00 EUR"
	AmountMinor, Currency, Reason     string // bound into the approval form: what the manager saw
	ReasonLabel, Note                 string
	RequestedBy                       string
	RequestedAt, ExpiresAt            time.Time
	RefundableBefore, RefundableAfter string // what is left on the payment before and after this refund
	Over                              bool   // the balance no longer covers it: approving will be refused
	Own                               bool   // the viewer requested it: they may not decide
	ApproveURL, RejectURL, ApproveKey string
	RejectReason, RejectError         string
	// Highlight marks the request the manager came back to after signing in again.
	Highlight bool
	// Rule is the approval rule that sent the request here, in plain words ("" for a
	// request made before the rules were recorded).
	Rule string
}

// RefundHistory is the refund history: filters, totals per currency, charts, the rows.
type RefundHistory struct {
	From, To, Provider, Currency, Status, Reason, RequestedBy, ApprovedBy, Bucket string
	Providers, Statuses, Reasons, Buckets                                         []Option
	Error                                                                         string
	Totals                                                                        []CurrencyTotal
	Charts                                                                        []Chart
	Rows                                                                          []RefundHistoryRow
	Shown                                                                         string // "Refunds 1–50, newest first"
	NextURL, FirstURL, CSVURL, ClearURL                                           string
	Filtered                                                                      bool
}

// CurrencyTotal is one currency's line of the totals: amounts are never added across currencies.
type CurrencyTotal struct {
	Currency                    string
	Count, SucceededCount       int
	Amount, SucceededAmount     string
	AmountMinor, SucceededMinor int64 // minor units, for the table's data attributes
}

// RefundHistoryRow is one refund of the history.
type RefundHistoryRow struct {
	ID                                  string
	RequestedAt                         time.Time
	PaymentURL, PaymentID, Provider     string
	Customer                            string
	CustomerURL                         string // the customer's page by name ("" without a name)
	Amount                              string
	Status, StatusLabel                 string
	Reason, Note                        string
	RequestedBy                         string
	DecidedBy, Decision, DecisionReason string
	ProviderRefundID, Message           string
}

// MyRefunds shows a member of staff the refunds they asked for and where each stands.
type MyRefunds struct {
	Email   string
	Rows    []MyRefundRow
	NextURL string
	First   bool
}

// MyRefundRow is one of the viewer's refund requests.
type MyRefundRow struct {
	PaymentURL, PaymentID, Provider string
	// Customer is the payment's customer name, CustomerURL their page ("" without a name).
	Customer, CustomerURL  string
	Amount                 string
	Status, StatusLabel    string
	Reason, Note           string
	RequestedAt, ExpiresAt time.Time
	// Outcome says in plain words where the request stands.
	Outcome string
	// Rule is the approval rule that sent the request to a manager ("" when none did).
	Rule string
}

// AuditLog is the audit log page: the chain's state, filters, the entries.
type AuditLog struct {
	From, To, Actor, Kind, Payment string
	Kinds                          []string // suggestions for the kind filter
	Error                          string
	Chain                          ChainStatus
	Rows                           []AuditRowView
	NextURL, FirstURL, CSVURL      string
	ClearURL                       string
	Filtered                       bool
}

// ChainStatus is the result of the last verification of the audit chain.
type ChainStatus struct {
	Known       bool // a verification has completed
	OK          bool
	Checked     string // "1,234 entries"
	FirstBroken string // "#17"
	BrokenURL   string // the log from the broken entry down
	Problem     string
	CheckedAt   time.Time
	// Note says when the result is older than the page (the check took too long).
	Note string
}

// AuditRowView is one audit entry.
type AuditRowView struct {
	ID                string
	At                time.Time
	Actor, Remote     string
	Kind, Message     string
	PaymentURL        string
	PaymentID         string
	Data              string // compact JSON, "" when empty
	ChainBrokenAtThis bool
}

// chartSVG renders a chart built by BarChartSVG (which escapes every text it writes).
func chartSVG(c Chart) templ.Component { return templ.Raw(BarChartSVG(c)) }

// PrettyJSON shows an audit entry's data for people: indented, and with the characters
// Go's encoder escapes for HTML (& < > as \u0026…) written as themselves (the page
// escapes them anyway). Data that is not JSON is shown as it is.
func PrettyJSON(raw string) string {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber() // amounts keep every digit
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return raw
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return strings.TrimSuffix(b.String(), "\n")
}
