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
	rows, err := db.db.QueryContext(ctx, customerTotalsSQL(term, db.pick("max", "greatest")), args...)
	if err != nil {
		return fail("totals", err)
	}
	for rows.Next() {
		var t CustomerTotal
		if err := rows.Scan(&t.Currency, &t.Payments, &t.Paid, &t.Refunded); err != nil {
			rows.Close()
			return fail("totals", err)
		}
		t.Net = t.Paid - t.Refunded
		s.Payments += t.Payments
		s.Totals = append(s.Totals, t)
	}
	if err := closeRows(rows); err != nil {
		return fail("totals", err)
	}
	if s.Payments == 0 {
		return s, nil
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

	// The other identities: most used first, the customer's own left out.
	others := func(expr, nonEmpty string) ([]string, error) {
		rows, err := db.db.QueryContext(ctx, customerOthersSQL(term, expr, nonEmpty), append(append([]any(nil), args...), maxOtherIdentities+1)...)
		if err != nil {
			return nil, err
		}
		type counted struct {
			v string
			n int
		}
		var got []counted
		for rows.Next() {
			var c counted
			if err := rows.Scan(&c.v, &c.n); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, c)
		}
		// Ties in byte order on both engines (PostgreSQL's ORDER BY follows its collation).
		slices.SortStableFunc(got, func(a, b counted) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.v, b.v)) })
		out := make([]string, len(got))
		for i, c := range got {
			out[i] = c.v
		}
		return out, closeRows(rows)
	}
	keep := func(vs []string, own func(string) bool) []string {
		var out []string
		for _, v := range vs {
			if !own(v) && len(out) < maxOtherIdentities {
				out = append(out, v)
			}
		}
		return out
	}
	names, err := others("p.customer_name", "customer_name")
	if err != nil {
		return fail("names", err)
	}
	s.Names = keep(names, func(v string) bool { return c.Kind == CustomerByName && strings.EqualFold(v, c.Value) })
	emails, err := others("p.customer_email", "customer_email")
	if err != nil {
		return fail("e-mails", err)
	}
	s.Emails = keep(emails, func(v string) bool { return c.Kind == CustomerByEmail && strings.EqualFold(v, c.Value) })
	cards, err := others("p.provider || '/' || p.card_last4", "card_last4")
	if err != nil {
		return fail("cards", err)
	}
	for _, k := range keep(cards, func(v string) bool { return c.Kind == CustomerByCard && v == string(c.Provider)+"/"+c.Last4 }) {
		provider, last4, _ := strings.Cut(k, "/")
		s.Cards = append(s.Cards, Card{Provider: providers.Name(provider), Last4: last4})
	}
	return s, nil
}

// customerTotalsSQL adds up the customer's payments (term, on payments p) per currency:
// count, captured, refunded (per payment the larger of its succeeded refunds and what the
// provider reports, as RefundBalance.Succeeded), each payment's refunds one seek of
// refunds_payment.
// greatest is the engine's two-argument maximum: max on SQLite, greatest on PostgreSQL (a
// CASE would evaluate the subquery twice).
func customerTotalsSQL(term, greatest string) string {
	return `SELECT currency, count(*), coalesce(sum(captured), 0),
			coalesce(sum(` + greatest + `(succeeded, refunded)), 0)
		FROM (SELECT p.currency, p.captured, p.refunded,
				(SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.payment_id = p.id AND r.status = 'succeeded') AS succeeded
			FROM payments p WHERE ` + term + `) AS own
		GROUP BY currency ORDER BY currency`
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

// customerOthersSQL counts the values of expr (a name, an e-mail, a card) among the
// customer's payments, most used first; its one placeholder after term's is the limit.
func customerOthersSQL(term, expr, nonEmpty string) string {
	return `SELECT ` + expr + `, count(*) AS n FROM payments p WHERE ` + term + ` AND p.` + nonEmpty + ` <> ''
		GROUP BY ` + expr + ` ORDER BY n DESC, ` + expr + ` LIMIT ?`
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
