package views

import (
	"strconv"
	"time"
)

// Customer is the customer page: every payment and refund of one e-mail, name or card,
// across providers and accounts.
type Customer struct {
	// Kind is "email", "name" or "card"; Title who the customer is ("ann@example.com",
	// "Ann Lee", "Acme card •••• 4242"); Scope what the page gathers, in a sentence.
	Kind, Title, Scope string
	// Payments is how many payments, in words ("3 payments").
	Payments string
	// Totals has one row per currency: amounts are never added across currencies.
	Totals []CustomerTotal
	// Reasons are the customer's refunds by reason, then currency.
	Reasons []CustomerReason
	// Links are the live payer links of the customer's payments.
	Links []CustomerLink
	// Others are the other names, e-mails and cards seen on the customer's payments.
	Others []CustomerRef
	// Notes are the newest notes staff wrote on the customer's payments, newest first,
	// each naming its payment (web/customers.go customerNotes); the section shows only
	// when there are some.
	Notes []NoteView
	// Rows are one page of the customer's payments, newest first, as the payments list
	// shows them; FirstURL, PrevURL, NextURL page them.
	Rows                       []PaymentRow
	FirstURL, PrevURL, NextURL string
}

// CustomerTotal is one currency's line of a customer's totals.
type CustomerTotal struct {
	Currency, Payments  string
	Paid, Refunded, Net string
	PaidMinor, NetMinor int64 // minor units, for the table's data attributes
	RefundedMinor       int64
}

// CustomerReason is the customer's refunds with one reason in one currency.
type CustomerReason struct {
	Reason, Currency        string
	Count, Succeeded        string
	Amount, SucceededAmount string
}

// CustomerLink is a live payer link of one of the customer's payments.
type CustomerLink struct {
	PaymentURL, PaymentID string
	State, StateLabel     string
	URL                   string // the address to share, for those who may act ("" for the others)
	CreatedBy             string
	CreatedAt, ExpiresAt  time.Time
}

// CustomerRef is another identity of the customer, as a link to its own page.
type CustomerRef struct {
	Label string // "Name", "E-mail", "Card"
	Value string
	URL   string
}

// NotesShown says how many notes a page shows: "note" or "12 notes".
func NotesShown(n int) string {
	if n == 1 {
		return "note"
	}
	return strconv.Itoa(n) + " notes"
}
