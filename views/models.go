// Package views holds Paydesk's templ components. Components take typed view models
// already formatted for people (money as text, times as time.Time); views know nothing of
// the database or HTTP.
package views

import "time"

// Page is what the layout needs around every signed-in page.
type Page struct {
	Title   string
	Section string // dashboard, payments, approvals, refunds, audit: the current nav entry
	User    *User  // nil on public pages
	Flashes []Flash
	CSS     string
	JS      string
	Demo    bool
}

// User is the signed-in person as the layout shows them.
type User struct {
	Name        string
	Email       string
	Roles       []string
	CanPayments bool
	CanAct      bool // may request refunds (and so has "my refund requests")
	CanApprove  bool
	CanFinance  bool
	CanAudit    bool
	CanManage   bool // sees everyone's sign-in sessions (managers)
}

// Flash is a one-time message shown after a redirect.
type Flash struct {
	Kind    string // success, error, info
	Message string
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// PaymentsList is the payments list page.
type PaymentsList struct {
	Query, Provider, Status, Currency, Min, Max, From, To string
	Attention                                             bool
	Anomaly                                               bool // only payments whose provider's answer cannot be right
	Providers, Statuses                                   []Option
	Error                                                 string // a filter that could not be understood
	ErrorField                                            string // the field at fault ("q", "status", …), "" for none
	Rows                                                  []PaymentRow
	Count                                                 string // "1,234 payments" or "More than 500 payments match (counted up to 500)"
	NextURL, PrevURL, FirstURL                            string
	Filtered                                              bool // any search or filter is set
	ClearURL                                              string
}

// PaymentRow is one line of the payments list.
type PaymentRow struct {
	URL         string
	PublicID    string
	Provider    string
	ProviderID  string
	Customer    string
	Email       string
	Amount      string
	Status      string
	StatusLabel string
	RawStatus   string
	Actions     []RowAction // what the provider allows now
	CreatedAt   time.Time
}

// RowAction is one action a payments list row offers: a link to its form for those who
// may act (URL set), else the words alone ("Refundable").
type RowAction struct {
	Action string // cancel, expire, refund
	Label  string // "Refund", or "Refundable"
	URL    string // "/payments/pd_…/refund", or "" as words only
}

// Payment is the payment page.
type Payment struct {
	ID, PublicID, Provider, ProviderLabel string
	IDs                                   []Fact // provider ids, copyable
	Reference, Customer, Email, CardLast4 string
	Description                           string
	Status, StatusLabel, RawStatus        string
	StateDetail, ErrorCode                string
	Facts                                 []Fact // provider-specific facts (method, mode, session status…)
	Amount, Captured, Refunded            string
	Refundable                            string
	Reserved                              string // amounts in flight or awaiting approval, "" when none
	CreatedAt, UpdatedAt                  time.Time
	Actions                               []ActionChoice
	CanRefresh                            bool
	CanAct                                bool // may make payer links
	Refunds                               []RefundRow
	Links                                 []PayerLinkView
	Journal                               []JournalRow
	Timeline                              []TimelineRow
	Attention                             []string // unknown outcomes, waiting payer… in plain words
	// Anomaly is what the provider's answer says that cannot be right ("" when nothing),
	// with AnomalySince when Paydesk first saw it.
	Anomaly      string
	AnomalySince time.Time
}

// Fact is a labelled value.
type Fact struct {
	Label, Value string
	Copy         bool
}

// ActionChoice is one row of the eligibility panel.
type ActionChoice struct {
	Action  string // cancel, expire, refund
	Label   string // "Cancel payment"
	Allowed bool
	URL     string // the confirmation step, when allowed
	Why     string // why it is not available, or what it will do
}

// RefundRow is one refund on the payment page.
type RefundRow struct {
	Amount, Status, StatusLabel, Reason, RequestedBy, ProviderID, Message string
	DecidedBy, DecisionReason                                             string
	RequestedAt                                                           time.Time
}

// PayerLinkView is a payer link on the payment page.
type PayerLinkView struct {
	ID, State, Kind, URL, QR, MailText, CreatedBy, Outcome string
	CreatedAt, ExpiresAt                                   time.Time
	Live                                                   bool
}

// JournalRow is one provider call from the action journal.
type JournalRow struct {
	Kind, State, Amount, Actor, Message string
	StartedAt, FinishedAt               time.Time
}

// TimelineRow is one line of the payment's timeline.
type TimelineRow struct {
	At             time.Time
	Actor, Message string
	Kind           string
}

// Confirm is the confirmation step of cancel and expire (and the refund form).
type Confirm struct {
	PaymentURL, PaymentID, Provider, Action, Title string
	Consequence                                    []string // sentences that restate what will happen
	PostURL, IdempotencyKey, Button                string
	Irreversible                                   bool
	// Refund form only.
	Refund        bool
	Amount        string
	MaxAmount     string
	Currency      string
	Reason        string
	Note          string
	Reasons       []Option
	Errors        map[string]string
	NeedsApproval string // "Refunds from EUR 500.00 need a manager's approval." when it applies
	// RulesURL previews the approval rules for a typed amount (GET, a RefundRuleView
	// fragment); Rule is the preview for the amount shown.
	RulesURL string
	Rule     RefundRule
}

// RefundRule is what the approval rules decide for the amount on the refund form.
type RefundRule struct {
	// Effect is "" (runs at once), "approval" or "block"; Sentence says why.
	Effect, Sentence string
}

// ErrorPage is a 4xx/5xx page that leaks nothing.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
	Ref     string // a request id people can quote to support
}

// PayerReturn is the public page a payer lands on after the provider.
type PayerReturn struct {
	Title   string
	Message string
}

// Dashboard is the home page: what needs someone now.
type Dashboard struct {
	Waiting       []DashItem // payer links awaiting the payer
	Approvals     []DashItem // refunds awaiting approval (managers)
	Unknown       []DashItem // actions whose outcome is unknown
	Failures      []DashItem // recent failed actions
	ShowApprovals bool
	// Anomalies are the newest payments whose provider's answer cannot be right;
	// AnomalyCount how many there are, AnomaliesURL the payments list filtered to them.
	Anomalies    []DashItem
	AnomalyCount int
	AnomaliesURL string
}

// DashItem is one line on the dashboard.
type DashItem struct {
	URL, Title, Detail string
	At                 time.Time
}
