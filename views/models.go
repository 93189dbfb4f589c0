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
	ZoneJS  string // the script that tells Paydesk the browser's time zone (tz.js)
	Demo    bool
	// Counts are the navigation's badges (views/notifications.templ).
	Counts NavCounts
	// MailCatcher: the demo catches every e-mail; its page is /mail.
	MailCatcher bool
	// SavedViews are the payments list's saved views the person may use (the shipped
	// ones, the team's, their own), each with its live count: a group of the navigation.
	SavedViews []NavView
}

// NavView is a saved view in the navigation.
type NavView struct {
	Name    string
	URL     string // the payments list with the view's filters
	Count   string // "12", "500+" when counted up to the cap; "" when it cannot be counted
	Shared  bool
	Current bool // the page shown is this view
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
	// Refund is the refund filter ("awaiting_approval" or ""); Refunded the refunded-on
	// filter ("today", a date, or "").
	Refund, Refunded    string
	Providers, Statuses []Option
	// Account is the account filter ("provider/name"); Accounts its choices, none when
	// no provider has several accounts (the filter is not shown).
	Account                    string
	Accounts                   []Option
	Error                      string // a filter that could not be understood
	ErrorField                 string // the field at fault ("q", "status", …), "" for none
	Rows                       []PaymentRow
	Count                      string // "1,234 payments" or "More than 500 payments match (counted up to 500)"
	NextURL, PrevURL, FirstURL string
	Filtered                   bool // any search or filter is set
	ClearURL                   string
	CSVURL                     string // this list, every page, as CSV (/payments.csv)
	// SaveQuery is the list's filters as a saved view keeps them; CanShare says the
	// person may share a view; ViewsURL is the saved views' page with these filters.
	SaveQuery string
	CanShare  bool
	ViewsURL  string

	// Queue are the dashboard's filters the form has no field for (outcome, link,
	// failed_since): Value is "name=value", Label their words.
	Queue []Option

	// CanBatch offers the batch form (support, managers) with the refund reasons.
	CanBatch     bool
	BatchReasons []Option
}

// PaymentRow is one line of the payments list.
type PaymentRow struct {
	URL        string
	PublicID   string
	Provider   string
	Account    string // the payment's account, "" when no provider has several
	ProviderID string
	Customer   string
	Email      string
	// CustomerURL and EmailURL are the customer's pages by name and by e-mail ("" when
	// the payment has none).
	CustomerURL, EmailURL string
	Amount                string
	Status                string
	StatusLabel           string
	RawStatus             string
	Actions               []RowAction // what the provider allows now
	CreatedAt             time.Time
	// Selectable shows a checkbox that ticks the row for a batch (the payments list, for
	// those who may act: BatchFromListForm).
	Selectable bool
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
	Account                               string // the provider account it belongs to ("" when there is only the default)
	IDs                                   []Fact // provider ids, copyable
	Reference, Customer, Email, CardLast4 string
	// CustomerURL, EmailURL and CardURL are the customer's pages by name, e-mail and card
	// ("" when the payment has none of it).
	CustomerURL, EmailURL, CardURL string
	Description                    string
	Status, StatusLabel, RawStatus string
	StateDetail, ErrorCode         string
	Facts                          []Fact // provider-specific facts (method, mode, session status…)
	Amount, Captured, Refunded     string
	Refundable                     string
	Reserved                       string // amounts in flight or awaiting approval, "" when none
	CreatedAt, UpdatedAt           time.Time
	Actions                        []ActionChoice
	CanRefresh                     bool
	CanAct                         bool // may make payer links
	Refunds                        []RefundRow
	Links                          []PayerLinkView
	// LinksPoll is where the page asks every few seconds how its payer links stand (a
	// PayerLinksPanel fragment) while one is live, "" otherwise; LinksKey changes whenever
	// a link or the payment's status does, which tells the page to read itself again.
	LinksPoll, LinksKey string
	// PayerWaits: a cancellation waits for the payer, by the status or by the journal
	// (when the payment could not be read back after the provider said so): "Make a new
	// link" is offered.
	PayerWaits bool
	Journal    []JournalRow
	Timeline   []TimelineRow
	Attention  []string // unknown outcomes, waiting payer… in plain words
	// Anomaly is what the provider's answer says that cannot be right ("" when nothing),
	// with AnomalySince when Paydesk first saw it.
	Anomaly      string
	AnomalySince time.Time
	// Linked says the provider linked this payment with another Paydesk holds separately,
	// and what to do ("" when not; storage.SplitAnomaly).
	Linked string
	// The page's head and its words (issue 15): how the payer paid ("card"), the raw
	// codes in plain words ("" when there are none), the amounts that apply to this
	// payment, and why the provider has no refunds at all ("" when it has).
	Means                                            string
	RawStatusWords, StateDetailWords, ErrorCodeWords string
	Amounts                                          []AmountRow
	NoRefund                                         string
	// Notes are the staff's internal notes on the payment, newest first (never on a payer's
	// page); CanNote shows the form to add one, NoteForm is that form as last submitted.
	Notes    []NoteView
	CanNote  bool
	NoteForm NoteForm
}

// NoteView is one internal note as a person reads it: who wrote it and when, its text
// (http(s) addresses become links, NoteSegments), whether it was edited and its earlier
// texts, and, when the reader may edit it, the edit form.
type NoteView struct {
	ID              string
	PaymentPublicID string // the payment it is on ("pd_…"), for lists spanning payments
	Author          string
	CreatedAt       time.Time
	Text            string
	// Edited says the text was replaced, last by Editor at UpdatedAt; Revisions are the
	// earlier texts, newest first.
	Edited    bool
	Editor    string
	UpdatedAt time.Time
	Revisions []NoteRevisionView
	// CanEdit shows the edit form (posted to EditURL with Version); Edit is what was last
	// submitted there when it was refused (then the form is open).
	CanEdit bool
	EditURL string
	Version string
	Edit    NoteForm
}

// NoteRevisionView is an earlier text of a note.
type NoteRevisionView struct {
	Version   string
	Text      string
	WrittenBy string
	WrittenAt time.Time
}

// NoteForm is a note's text as typed, with the reason it was refused ("" when not).
type NoteForm struct {
	Text, Error string
}

// AmountRow is one amount of a payment, labelled by what it is (amount, authorised,
// captured, refunded, refundable…).
type AmountRow struct {
	Label, Value string
	TestID       string // "amount", "authorised", "captured", "refunded", "refundable", "reserved"
	Note         string // a few words on what it means here ("" when the label says it all)
}

// Fact is a labelled value. With a Code, Value is the code in plain words and the code
// is shown beside them, in small monospace.
type Fact struct {
	Label, Value string
	Code         string // the provider's raw code ("" when Value is not a code's words)
	TestID       string // data-testid of the code ("" for none)
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
	// URL is the address to share: Paydesk's short one (/p/{token}) when the link has one.
	ID, State, Kind, URL, QR, MailText, CreatedBy, Outcome string
	// StateLabel is the state in words ("waiting for the payer"); State stays the code.
	StateLabel string
	// ProviderURL is the provider's own address the short one leads to.
	ProviderURL string
	// PayerSaid is what the payer's browser last brought back (untrusted), "" if nothing.
	PayerSaid            string
	CreatedAt, ExpiresAt time.Time
	Live                 bool
	// EmailedTo, EmailedBy, EmailedAt: the latest e-mailing of the link to the payer.
	EmailedTo, EmailedBy string
	EmailedAt            time.Time
	// MailOn: e-mail is on, so the live link can be e-mailed to MailTo (the customer's
	// address by default) from the page.
	MailOn bool
	MailTo string
}

// JournalRow is one provider call from the action journal.
type JournalRow struct {
	Kind, State, Amount, Actor, Message string
	StateLabel                          string // the state in words ("waiting for the payer")
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
	// StepUp says, after the person signed in again, that nothing was sent yet and what to
	// press to send it ("" otherwise).
	StepUp string
	// SignInNotice warns, before the person submits, that their sign-in is (or will soon
	// be) too old to move money, so Paydesk will ask them to sign in again ("" when not).
	SignInNotice string
	// ButtonVerb is the button's word without the amount ("Refund"): the refund form's
	// script says the amount after it as the person types.
	ButtonVerb string
	// Focus names the field the cursor starts in ("amount", "reason", "note"; "" none).
	Focus string
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
	// Amount is the amount as Paydesk read it ("1,234.50 EUR"; "" when it is not one),
	// for the refund button.
	Amount string
}

// ErrorPage is a 4xx/5xx page that leaks nothing.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
	Ref     string // a request id people can quote to support
}

// PayerReturn is the public page a payer lands on after the provider, or opening a short
// payer address that no longer leads anywhere.
type PayerReturn struct {
	Title   string
	Message string
	// Continue is where the payer may go on confirming (a POST to the short address), ""
	// when there is nothing more to do.
	Continue string
	// CanClose adds "You can close this page." (for outcomes that end the payer's part).
	CanClose bool
}

// Dashboard is the home page: the team's work queue, each kind of "needs someone" the
// person's role can act on.
type Dashboard struct {
	Items  []QueueItem
	Window string // how far back "recent" goes, in words ("7 days")
}

// QueueItem is one kind of work on the dashboard: how many, since when, where to see them
// all and what to do.
type QueueItem struct {
	Key      string // stable name: the section's data-testid is "dash-" + Key
	Title    string
	Count    int
	Total    string    // Count written for people ("1,234")
	Oldest   time.Time // zero when none
	Age      string    // the oldest's age, in words ("waiting 3 hours", "created 2 days ago")
	URL      string    // the list of them all
	LinkText string
	Next     string // what to do, in plain words
	Empty    string // what the section says when none waits
	Examples []DashItem
}

// DashItem is one example under a queue item.
type DashItem struct {
	URL, Title, Detail string
	At                 time.Time
}
