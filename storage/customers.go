// A customer: every payment made with one e-mail, one name or one card, across providers
// and accounts, and what the customer page adds up from them (totals per currency, refunds
// by reason, live payer links). Each identity is an index range (migration 0020), so a
// customer's page reads their payments only, however many payments Paydesk holds.

package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"paydesk/providers"
)

// CustomerKind is how a customer is recognised.
type CustomerKind string

// The kinds of customer identity.
const (
	// CustomerByEmail: every payment with this e-mail, whatever its case.
	CustomerByEmail CustomerKind = "email"
	// CustomerByName: every payment with this name, whatever its case (ASCII letters on
	// SQLite, every letter on PostgreSQL: each engine's NOCASE).
	CustomerByName CustomerKind = "name"
	// CustomerByCard: every payment of one provider with a card ending in these 4 digits.
	CustomerByCard CustomerKind = "card"
)

// Limits of a customer identity.
const (
	maxCustomerEmail = 254 // the longest e-mail address SMTP carries
	maxCustomerName  = 200
)

// Customer names one customer. Errors for an identity that cannot be one wrap
// ErrInvalidFilter.
type Customer struct {
	Kind CustomerKind
	// Value is the e-mail (CustomerByEmail) or the name (CustomerByName).
	Value string
	// Provider and Last4 are the card's (CustomerByCard): a last 4 means one card only
	// within a provider.
	Provider providers.Name
	Last4    string
}

// CustomerEmail, CustomerName and CustomerCard build the three identities.
func CustomerEmail(email string) Customer { return Customer{Kind: CustomerByEmail, Value: email} }

// CustomerName is the customer with this name (see CustomerEmail).
func CustomerName(name string) Customer { return Customer{Kind: CustomerByName, Value: name} }

// CustomerCard is the customer with this provider's card ending in last4 (see CustomerEmail).
func CustomerCard(provider providers.Name, last4 string) Customer {
	return Customer{Kind: CustomerByCard, Provider: provider, Last4: last4}
}

// Normalise checks c and returns it trimmed. Errors wrap ErrInvalidFilter and say what is
// wrong in words a person can act on.
func (c Customer) Normalise() (Customer, error) {
	bad := func(format string, args ...any) (Customer, error) {
		return c, fmt.Errorf("storage: customer: %w: %s", ErrInvalidFilter, fmt.Sprintf(format, args...))
	}
	c.Value = strings.TrimSpace(c.Value)
	printable := func(s string) bool {
		return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
	}
	switch c.Kind {
	case CustomerByEmail:
		c.Provider, c.Last4 = "", ""
		switch {
		case c.Value == "":
			return bad("the e-mail is empty")
		case len(c.Value) > maxCustomerEmail:
			return bad("the e-mail is %d characters long, at most %d", len(c.Value), maxCustomerEmail)
		case !printable(c.Value) || strings.ContainsAny(c.Value, " \t") || strings.Count(c.Value, "@") != 1 ||
			strings.HasPrefix(c.Value, "@") || strings.HasSuffix(c.Value, "@"):
			return bad("%q is not an e-mail address", c.Value)
		}
	case CustomerByName:
		c.Provider, c.Last4 = "", ""
		switch n := utf8.RuneCountInString(c.Value); {
		case c.Value == "":
			return bad("the name is empty")
		case n > maxCustomerName:
			return bad("the name is %d characters long, at most %d", n, maxCustomerName)
		case !printable(c.Value):
			return bad("the name holds characters a name cannot")
		}
	case CustomerByCard:
		c.Value = ""
		c.Last4 = strings.TrimSpace(c.Last4)
		if !c.Provider.Valid() {
			return bad("unknown provider %q", c.Provider)
		}
		if !isLast4(c.Last4) {
			return bad("%q is not a card's last 4 digits", c.Last4)
		}
	default:
		return bad("unknown kind of customer %q", c.Kind)
	}
	return c, nil
}

// term is the WHERE term selecting the customer's payments, their columns prefixed with
// alias ("p.", or "" for none). Each term is the leading column of its index
// (0020_customers.sql); the card's repeats the partial index's condition so that both
// engines may use it with a placeholder.
func (c Customer) term(alias string) (string, []any) {
	switch c.Kind {
	case CustomerByEmail:
		return alias + "customer_email = ? COLLATE NOCASE", []any{c.Value}
	case CustomerByName:
		return alias + "customer_name = ? COLLATE NOCASE", []any{c.Value}
	default:
		return alias + "card_last4 = ? AND " + alias + "card_last4 <> '' AND " + alias + "provider = ?", []any{c.Last4, string(c.Provider)}
	}
}

// CustomerTotal is one currency's totals of a customer: never added across currencies.
type CustomerTotal struct {
	Currency string
	// Payments is how many of the customer's payments are in this currency (any status).
	Payments int
	// Paid is what was captured, Refunded what went back (per payment, the larger of the
	// succeeded refunds Paydesk holds and what the provider reports, as the payment page
	// counts it), Net their difference. Minor units.
	Paid, Refunded, Net int64
}

// CustomerReason is the customer's refunds with one reason in one currency.
type CustomerReason struct {
	// Reason is one of RefundReasons' codes, or ProviderRefundReason.
	Reason   string
	Currency string
	// Count and Amount are every refund asked for or learnt; Succeeded and
	// SucceededAmount those the provider made.
	Count, Succeeded        int
	Amount, SucceededAmount int64
}

// CustomerLink is a live (active or abandoned) payer link of one of the customer's payments.
type CustomerLink struct {
	PayerLink
	PaymentPublicID string
}

// Card is a card as a customer identity: a provider and its last 4 digits.
type Card struct {
	Provider providers.Name
	Last4    string
}

// CustomerSummary is what the customer page shows above their payments.
type CustomerSummary struct {
	// Payments is how many payments the customer has, in every currency.
	Payments int
	// Totals has one line per currency, by currency code.
	Totals []CustomerTotal
	// Reasons are the customer's refunds by reason, then currency.
	Reasons []CustomerReason
	// Links are the live payer links of the customer's payments, newest first (at most
	// maxCustomerLinks).
	Links []CustomerLink
	// Names, Emails and Cards are the other identities the customer's payments carry
	// (the customer's own left out), most used first, at most maxOtherIdentities each.
	Names, Emails []string
	Cards         []Card
}

const (
	maxCustomerLinks   = 50
	maxOtherIdentities = 5
)

// CustomerSummary adds up the customer's payments: totals per currency, refunds by reason,
// live payer links and the other names, e-mails and cards seen with them. Each query reads
// the customer's index range and, for the refunds and links, each payment's own rows
// (refunds_payment, payer_links_one_live). Errors for a bad identity wrap ErrInvalidFilter.
func (db *DB) CustomerSummary(ctx context.Context, c Customer) (CustomerSummary, error) {
	var s CustomerSummary
	c, err := c.Normalise()
	if err != nil {
		return s, err
	}
	fail := func(what string, err error) (CustomerSummary, error) {
		return CustomerSummary{}, fmt.Errorf("storage: customer %s: %s: %w", c, what, err)
	}
	term, args := c.term("p.")
	// One pass over the customer's payments gives the totals and the other identities:
	// each payment is a row read from the table (its currency and amounts are not in the
	// index), the cost of this page, so it is read once.
	rows, err := db.db.QueryContext(ctx, customerRowsSQL(term, db.pick("max", "greatest")), args...)
	if err != nil {
		return fail("totals", err)
	}
	totals := map[string]*CustomerTotal{}
	names, emails, cards := map[string]int{}, map[string]int{}, map[string]int{}
	for rows.Next() {
		var currency, name, email, provider, last4 string
		var captured, refunded int64
		if err := rows.Scan(&currency, &captured, &refunded, &name, &email, &provider, &last4); err != nil {
			rows.Close()
			return fail("totals", err)
		}
		t := totals[currency]
		if t == nil {
			t = &CustomerTotal{Currency: currency}
			totals[currency] = t
		}
		t.Payments++
		t.Paid += captured
		t.Refunded += refunded
		s.Payments++
		if name != "" {
			names[name]++
		}
		if email != "" {
			emails[email]++
		}
		if last4 != "" {
			cards[provider+"/"+last4]++
		}
	}
	if err := closeRows(rows); err != nil {
		return fail("totals", err)
	}
	if s.Payments == 0 {
		return s, nil
	}
	for _, t := range totals {
		t.Net = t.Paid - t.Refunded
		s.Totals = append(s.Totals, *t)
	}
	slices.SortFunc(s.Totals, func(a, b CustomerTotal) int { return strings.Compare(a.Currency, b.Currency) })
	s.Names = mostUsed(names, func(v string) bool { return c.Kind == CustomerByName && strings.EqualFold(v, c.Value) })
	s.Emails = mostUsed(emails, func(v string) bool { return c.Kind == CustomerByEmail && strings.EqualFold(v, c.Value) })
	for _, k := range mostUsed(cards, func(v string) bool { return c.Kind == CustomerByCard && v == string(c.Provider)+"/"+c.Last4 }) {
		provider, last4, _ := strings.Cut(k, "/")
		s.Cards = append(s.Cards, Card{Provider: providers.Name(provider), Last4: last4})
	}

	rows, err = db.db.QueryContext(ctx, customerReasonsSQL(term), args...)
	if err != nil {
		return fail("refunds by reason", err)
	}
	for rows.Next() {
		var r CustomerReason
		if err := rows.Scan(&r.Reason, &r.Currency, &r.Count, &r.Succeeded, &r.Amount, &r.SucceededAmount); err != nil {
			rows.Close()
			return fail("refunds by reason", err)
		}
		if r.Reason == "" {
			r.Reason = ProviderRefundReason // learnt from the provider before reasons were kept
		}
		s.Reasons = append(s.Reasons, r)
	}
	if err := closeRows(rows); err != nil {
		return fail("refunds by reason", err)
	}
	s.Reasons = mergeReasons(s.Reasons)

	rows, err = db.db.QueryContext(ctx, customerLinksSQL(term), append(append([]any(nil), args...), maxCustomerLinks)...)
	if err != nil {
		return fail("payer links", err)
	}
	for rows.Next() {
		var l CustomerLink
		if err := scanPayerLinkAnd(rows, &l.PayerLink, &l.PaymentPublicID); err != nil {
			rows.Close()
			return fail("payer links", err)
		}
		s.Links = append(s.Links, l)
	}
	if err := closeRows(rows); err != nil {
		return fail("payer links", err)
	}

	return s, nil
}

// customerRowsSQL reads what the totals and the other identities need of each of the
// customer's payments (term, on payments p): currency, captured, refunded (the larger of
// its succeeded refunds, one seek of refunds_payment, and what the provider reports, as
// RefundBalance.Succeeded counts it), name, e-mail, provider and last 4. greatest is the
// engine's two-argument maximum: max on SQLite, greatest on PostgreSQL.
func customerRowsSQL(term, greatest string) string {
	return `SELECT p.currency, p.captured,
			` + greatest + `(p.refunded, (SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded')),
			p.customer_name, p.customer_email, p.provider, p.card_last4
		FROM payments p WHERE ` + term
}

// customerReasonsSQL groups the refunds of the customer's payments by reason and currency.
func customerReasonsSQL(term string) string {
	return `SELECT r.reason, r.currency, count(*), count(CASE WHEN r.status = 'succeeded' THEN 1 END),
			sum(r.amount), coalesce(sum(CASE WHEN r.status = 'succeeded' THEN r.amount END), 0)
		FROM payments p JOIN refunds r ON r.payment_id = p.id
		WHERE ` + term + `
		GROUP BY r.reason, r.currency ORDER BY r.reason, r.currency`
}

// customerLinksSQL lists the live payer links of the customer's payments, newest first,
// with each payment's public id; its one placeholder after term's is the limit.
func customerLinksSQL(term string) string {
	return `SELECT ` + payerLinkColumns + `, (SELECT public_id FROM payments WHERE id = payer_links.payment_id)
		FROM payer_links WHERE state IN ('active', 'abandoned') AND payment_id IN (SELECT p.id FROM payments p WHERE ` + term + `)
		ORDER BY created_at DESC, id DESC LIMIT ?`
}

// mostUsed returns the values of counts, most used first (ties in byte order), the
// customer's own (own) left out, at most maxOtherIdentities.
func mostUsed(counts map[string]int, own func(string) bool) []string {
	var out []string
	for v := range counts {
		if !own(v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b)) })
	if len(out) > maxOtherIdentities {
		out = out[:maxOtherIdentities]
	}
	return out
}

// String names the customer for errors and logs: "e-mail ann@example.com".
func (c Customer) String() string {
	switch c.Kind {
	case CustomerByEmail:
		return "e-mail " + c.Value
	case CustomerByName:
		return "name " + c.Value
	case CustomerByCard:
		return "card " + string(c.Provider) + " " + c.Last4
	}
	return string(c.Kind)
}

// mergeReasons folds the lines of refunds learnt from the provider with no reason into
// those of ProviderRefundReason (both mean the same), keeping the order by reason, currency.
func mergeReasons(rs []CustomerReason) []CustomerReason {
	out := rs[:0]
	at := map[[2]string]int{}
	for _, r := range rs {
		k := [2]string{r.Reason, r.Currency}
		if i, ok := at[k]; ok {
			out[i].Count += r.Count
			out[i].Succeeded += r.Succeeded
			out[i].Amount += r.Amount
			out[i].SucceededAmount += r.SucceededAmount
			continue
		}
		at[k] = len(out)
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b CustomerReason) int {
		return cmp.Or(strings.Compare(a.Reason, b.Reason), strings.Compare(a.Currency, b.Currency))
	})
	return out
}

// CustomerPayments is one page of the customer's payments, newest first, with the
// cursors of the pages around it: the payments list's paging (ListPayments) on the
// customer's index. Only f's paging (After, Before, Limit) is used.
func (db *DB) CustomerPayments(ctx context.Context, c Customer, f PaymentFilter) (PaymentPage, error) {
	c, err := c.Normalise()
	if err != nil {
		return PaymentPage{}, err
	}
	return db.ListPayments(ctx, PaymentFilter{Customer: &c, After: f.After, Before: f.Before, Limit: f.Limit})
}

// closeRows closes rows and returns the error that ended their iteration, if any.
func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}
