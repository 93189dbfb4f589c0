package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// The customer page: every payment and refund of one e-mail, name or card, across
// providers and accounts. Its address is the identity itself, so it can be bookmarked and
// pasted into a ticket:
//
//	/customers/email/{email}           case-insensitive
//	/customers/name/{name}             case-insensitive, the whole name
//	/customers/card/{provider}/{last4} a last 4 is one card within one provider only
//
// each part path-escaped (customerEmailURL and its siblings build them), with the payments
// list's cursors (after, before) in the query.

// customerEmailURL is the page of the customer with this e-mail, "" when there is none.
// Its ASCII letters are lower-cased: one address however the providers wrote it, and one
// that SQLite's NOCASE (ASCII only) still matches.
func customerEmailURL(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return ""
	}
	lower := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, email)
	return "/customers/email/" + url.PathEscape(lower)
}

// customerNameURL is the page of the customer with this name, "" when there is none.
func customerNameURL(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	return "/customers/name/" + url.PathEscape(name)
}

// customerCardURL is the page of the customer with this provider's card, "" without a card.
func customerCardURL(provider providers.Name, last4 string) string {
	last4 = strings.TrimSpace(last4)
	if last4 == "" || provider == "" {
		return ""
	}
	return "/customers/card/" + url.PathEscape(string(provider)) + "/" + url.PathEscape(last4)
}

// customerByEmail is GET /customers/email/{email}.
func (s *Server) customerByEmail(w http.ResponseWriter, r *http.Request) {
	s.customerPage(w, r, storage.CustomerEmail(r.PathValue("email")))
}

// customerByName is GET /customers/name/{name}.
func (s *Server) customerByName(w http.ResponseWriter, r *http.Request) {
	s.customerPage(w, r, storage.CustomerName(r.PathValue("name")))
}

// customerByCard is GET /customers/card/{provider}/{last4}.
func (s *Server) customerByCard(w http.ResponseWriter, r *http.Request) {
	p := providers.Name(strings.ToLower(strings.TrimSpace(r.PathValue("provider"))))
	if !p.Valid() {
		s.renderError(w, r, http.StatusNotFound, "No such provider",
			fmt.Sprintf("Paydesk has no provider %q: a card's page is under its provider, %s.", r.PathValue("provider"), providers.JoinOr(providers.Labels())))
		return
	}
	s.customerPage(w, r, storage.CustomerCard(p, r.PathValue("last4")))
}

// customerPage answers for customer c: 400 when c cannot name a customer, 404 when no
// payment is theirs, else the page.
func (s *Server) customerPage(w http.ResponseWriter, r *http.Request, c storage.Customer) {
	ctx := r.Context()
	c, err := c.Normalise()
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Not a customer", customerMessage(err))
		return
	}
	f := storage.PaymentFilter{Limit: 50}
	q := r.URL.Query()
	for _, k := range []struct {
		key  string
		dest **storage.Cursor
	}{{"after", &f.After}, {"before", &f.Before}} {
		if raw := q.Get(k.key); raw != "" {
			cur, err := storage.ParseCursor(raw)
			if err != nil {
				s.renderError(w, r, http.StatusBadRequest, "Damaged page link", "This page link is damaged: start again from the customer's newest payments.")
				return
			}
			*k.dest = &cur
		}
	}
	if f.After != nil && f.Before != nil {
		s.renderError(w, r, http.StatusBadRequest, "Damaged page link", "This page link is damaged: start again from the customer's newest payments.")
		return
	}
	sum, err := s.db.CustomerSummary(ctx, c)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Customer unavailable", "This customer's payments could not be loaded. Try again in a moment.", err)
		return
	}
	if sum.Payments == 0 {
		s.renderError(w, r, http.StatusNotFound, "No payments for this customer", "Paydesk holds no payment with "+customerWords(c)+". Check it, or search for the customer in the payments list.")
		return
	}
	page, err := s.db.CustomerPayments(ctx, c, f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Customer unavailable", "This customer's payments could not be loaded. Try again in a moment.", err)
		return
	}
	// The live links' addresses are for those who may act, as on the payment page.
	var address func(storage.PayerLink) string
	canAct := Act.Allows(userFrom(ctx))
	if canAct {
		address = s.desk.PayerLinkAddress
	}
	v := customerView(c, sum, page, canAct, address)
	// The escaped path: a name may hold a space or a slash.
	v.FirstURL, v.PrevURL, v.NextURL = pageURLs(r.URL.EscapedPath(), q, page)
	if v.Notes, err = s.customerNotes(ctx, c); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Customer unavailable", "This customer's notes could not be loaded. Try again in a moment.", err)
		return
	}
	s.render(w, r, s.page(w, r, "Customer "+v.Title, "payments"), views.CustomerView(v))
}

// customerNoteLimit is how many notes the customer page shows, the newest: each payment's
// page has all of its own.
const customerNoteLimit = 50

// customerNotes are the notes written on the customer's payments, newest first, each
// naming its payment; they are read here and edited on their payment's page.
func (s *Server) customerNotes(ctx context.Context, c storage.Customer) ([]views.NoteView, error) {
	notes, err := s.db.CustomerNotes(ctx, c, customerNoteLimit)
	if err != nil {
		return nil, err
	}
	out := noteViews(ops.Person{}, notes)
	for i := range out {
		out[i].CanEdit = false
	}
	return out, nil
}

// customerView formats the customer's summary and page of payments; address gives a live
// payer link's address to share (nil: the links are shown without it).
func customerView(c storage.Customer, sum storage.CustomerSummary, page storage.PaymentPage, canAct bool, address func(storage.PayerLink) string) views.Customer {
	v := views.Customer{Kind: string(c.Kind), Rows: paymentRows(page.Payments, canAct)}
	switch c.Kind {
	case storage.CustomerByEmail:
		v.Title = c.Value
		v.Scope = "Every payment made with this e-mail, whatever its case, through every provider and account."
	case storage.CustomerByName:
		v.Title = c.Value
		v.Scope = "Every payment made in this name (the whole name, whatever its case), through every provider and account. Two people may share a name: their e-mails below tell them apart."
	case storage.CustomerByCard:
		v.Title = c.Provider.Label() + " card •••• " + c.Last4
		v.Scope = fmt.Sprintf("Every %s payment with a card ending in %s, in every %s account. Several cards may end in the same 4 digits: the names and e-mails below tell them apart.", c.Provider.Label(), c.Last4, c.Provider.Label())
	}
	v.Payments = groupThousands(int64(sum.Payments)) + " " + plural(sum.Payments, "payment", "payments")
	for _, t := range sum.Totals {
		v.Totals = append(v.Totals, views.CustomerTotal{
			Currency: t.Currency, Payments: groupThousands(int64(t.Payments)),
			Paid: providers.FormatMoney(t.Paid, t.Currency), Refunded: providers.FormatMoney(t.Refunded, t.Currency),
			Net: providers.FormatMoney(t.Net, t.Currency), PaidMinor: t.Paid, RefundedMinor: t.Refunded, NetMinor: t.Net,
		})
	}
	for _, rs := range sum.Reasons {
		v.Reasons = append(v.Reasons, views.CustomerReason{
			Reason: storage.RefundReasonLabel(rs.Reason), Currency: rs.Currency,
			Count: groupThousands(int64(rs.Count)), Succeeded: groupThousands(int64(rs.Succeeded)),
			Amount: providers.FormatMoney(rs.Amount, rs.Currency), SucceededAmount: providers.FormatMoney(rs.SucceededAmount, rs.Currency),
		})
	}
	for _, l := range sum.Links {
		link := views.CustomerLink{
			PaymentURL: "/payments/" + l.PaymentPublicID, PaymentID: l.PaymentPublicID,
			State: l.State, StateLabel: payerLinkStateWords(l.State),
			CreatedBy: l.CreatedBy, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt,
		}
		if address != nil {
			link.URL = address(l.PayerLink)
		}
		v.Links = append(v.Links, link)
	}
	for _, n := range sum.Names {
		v.Others = append(v.Others, views.CustomerRef{Label: "Name", Value: n, URL: customerNameURL(n)})
	}
	for _, e := range sum.Emails {
		v.Others = append(v.Others, views.CustomerRef{Label: "E-mail", Value: e, URL: customerEmailURL(e)})
	}
	for _, k := range sum.Cards {
		v.Others = append(v.Others, views.CustomerRef{Label: "Card", Value: k.Provider.Label() + " •••• " + k.Last4, URL: customerCardURL(k.Provider, k.Last4)})
	}
	return v
}

// customerWords names a customer in a sentence: "the e-mail ann@example.com".
func customerWords(c storage.Customer) string {
	switch c.Kind {
	case storage.CustomerByEmail:
		return "the e-mail " + c.Value
	case storage.CustomerByName:
		return "the name " + c.Value
	}
	return "a " + c.Provider.Label() + " card ending in " + c.Last4
}

// customerMessage says why an address names no customer, from storage's error.
func customerMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, storage.ErrInvalidFilter.Error()+": "); i >= 0 && errors.Is(err, storage.ErrInvalidFilter) {
		msg = msg[i+len(storage.ErrInvalidFilter.Error())+2:]
	}
	return "This address names no customer: " + msg + ". Follow a customer's e-mail, name or card from a payment instead."
}
