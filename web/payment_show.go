package web

import (
	"fmt"
	"net/http"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentShow is the payment page.
func (s *Server) paymentShow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.loadPayment(w, r)
	if !ok {
		return
	}
	v, err := s.paymentView(r, p)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payment unavailable", "This payment could not be loaded. Try again in a moment.", err)
		return
	}
	s.render(w, r, s.page(w, r, "Payment "+p.PublicID, "payments"), views.PaymentView(v))
}

// paymentView builds the payment page's view model.
func (s *Server) paymentView(r *http.Request, p storage.Payment) (views.Payment, error) {
	ctx := r.Context()
	u := userFrom(ctx)
	st, err := s.desk.Decide(ctx, s.person(r), p)
	if err != nil {
		return views.Payment{}, err
	}
	money := func(v int64) string { return providers.FormatMoney(v, p.Currency) }
	v := views.Payment{
		ID: fmt.Sprint(p.ID), PublicID: p.PublicID, Provider: string(p.Provider), ProviderLabel: p.Provider.Label(),
		Reference: p.MerchantReference, Customer: p.CustomerName, Email: p.CustomerEmail, CardLast4: p.CardLast4,
		CustomerURL: customerNameURL(p.CustomerName), EmailURL: customerEmailURL(p.CustomerEmail),
		CardURL:     customerCardURL(p.Provider, p.CardLast4),
		Description: p.Description,
		Status:      string(p.Status), StatusLabel: p.Status.Label(), RawStatus: p.RawStatus,
		StateDetail: p.StateDetail, ErrorCode: p.ErrorCode,
		Amount: money(p.Amount), Captured: money(p.Captured), Refunded: money(st.Balance.Succeeded),
		Refundable: money(st.Refundable()),
		Account:    s.accountLabel(p),
		CreatedAt:  p.CreatedAt, UpdatedAt: p.UpdatedAt,
		CanRefresh: ViewPayments.Allows(u),
		CanAct:     Act.Allows(u),
	}
	if reserved := st.Balance.InFlight + st.Balance.Reserved; reserved > 0 {
		v.Reserved = money(reserved)
	}
	v.Means = p.Provider.Means()
	v.RawStatusWords = p.Provider.Explain("status", p.RawStatus)
	v.StateDetailWords = p.Provider.Explain("state_detail", p.StateDetail)
	v.ErrorCodeWords = p.Provider.Explain("error_code", p.ErrorCode)
	v.Amounts = amountRows(p, st)
	if a, had, err := s.db.PaymentAnomaly(ctx, p.ID); err != nil {
		return views.Payment{}, err
	} else if had {
		v.AnomalySince = a.Since
		v.Anomaly, v.Linked = storage.SplitAnomaly(a.Message)
	}
	if p.Status == providers.StatusUnknown {
		v.Attention = append(v.Attention, fmt.Sprintf("%[1]s reported a status Paydesk does not know (%[2]q): no action is offered until it is understood. Refresh it from %[1]s below; if it stays unknown, look the payment up in %[1]s's own dashboard.", p.Provider.Label(), p.RawStatus))
	}
	if st.InFlight != nil && st.InFlight.State == "unknown" {
		v.Attention = append(v.Attention, fmt.Sprintf("The outcome of the %s started %s by %s is unknown: the provider did not answer in time. Paydesk will settle it by reading the provider; do not repeat it elsewhere.", st.InFlight.Kind, views.LocalTime(ctx, st.InFlight.StartedAt), st.InFlight.Actor))
	}
	for _, f := range []views.Fact{
		{Label: "Payment id", Value: p.PaymentID, Copy: true},
		{Label: "Session id", Value: p.SessionID, Copy: true},
		{Label: "Order id", Value: p.OrderID, Copy: true},
	} {
		if f.Value != "" {
			v.IDs = append(v.IDs, f)
		}
	}
	// The provider's session status, method and mode in words, each code beside its words.
	for _, f := range []views.Fact{
		{Label: "Session status", Code: p.SessionStatus, TestID: "session-status", Value: p.Provider.Explain("session_status", p.SessionStatus)},
		{Label: "Method", Code: p.Method, TestID: "method", Value: p.Provider.Explain("method", p.Method)},
		{Label: "Mode", Code: p.Mode, TestID: "mode", Value: p.Provider.Explain("mode", p.Mode)},
	} {
		if f.Code != "" {
			v.Facts = append(v.Facts, f)
		}
	}
	if p.Voided {
		v.Facts = append(v.Facts, views.Fact{Label: "Authorisation", Value: "voided"})
	}
	// Whether the payer's bank takes an instant instruction matters only where the payer
	// may have to confirm a cancellation.
	if s.desk.MakesPayerLinks(p.Provider) {
		instant := "no"
		if p.Instant {
			instant = "yes"
		}
		v.Facts = append(v.Facts, views.Fact{Label: "Instant instruction", Value: instant})
	}
	for _, d := range st.Decisions {
		if !p.Provider.Has(d.Action) {
			// The provider has no such action at all: no row for it. Customers ask for
			// refunds, though, so a provider without any says why, in one line.
			if d.Action == providers.ActionRefund {
				v.NoRefund = d.Reason
			}
			continue
		}
		c := views.ActionChoice{Action: string(d.Action), Label: ops.ActionLabel(d.Action), Allowed: d.Allowed, Why: d.Reason}
		if d.Allowed {
			c.URL = "/payments/" + p.PublicID + "/" + string(d.Action)
		}
		v.Actions = append(v.Actions, c)
	}
	refunds, err := s.db.RefundsOfPayment(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, rf := range refunds {
		v.Refunds = append(v.Refunds, views.RefundRow{
			Amount: providers.FormatMoney(rf.Amount, rf.Currency), Status: rf.Status, StatusLabel: refundStatusWords(rf.Status),
			Reason: storage.RefundReasonLabel(rf.Reason), RequestedBy: rf.RequestedBy, ProviderID: rf.ProviderRefundID, Message: rf.Message,
			DecidedBy: rf.DecidedBy, DecisionReason: rf.DecisionReason, RequestedAt: rf.RequestedAt,
		})
	}
	if err := s.payerLinksView(ctx, p, st.Journal, &v); err != nil {
		return v, err
	}
	for _, a := range st.Journal {
		row := views.JournalRow{Kind: journalKindWords(a.Kind), State: a.State, StateLabel: journalStateWords(a.State), Actor: a.Actor, Message: a.Message, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt}
		if a.Amount > 0 {
			row.Amount = providers.FormatMoney(a.Amount, a.Currency)
		}
		v.Journal = append(v.Journal, row)
	}
	notes, err := s.db.NotesOfPayment(ctx, p.ID)
	if err != nil {
		return v, err
	}
	who := s.person(r)
	v.Notes, v.CanNote = noteViews(who, notes), who.MayWriteNotes()
	events, err := s.db.Events(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for i := len(events) - 1; i >= 0; i-- { // newest first
		e := events[i]
		v.Timeline = append(v.Timeline, views.TimelineRow{At: e.At, Actor: e.Actor, Message: e.Message, Kind: e.Kind})
	}
	return v, nil
}
