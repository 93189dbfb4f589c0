package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
	"paydesk/web/auth"
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

// loadPayment reads the payment named in the path, answering 404 itself when there is none.
func (s *Server) loadPayment(w http.ResponseWriter, r *http.Request) (storage.Payment, bool) {
	id := r.PathValue("id")
	if !validPublicID(id) {
		s.notFound(w, r)
		return storage.Payment{}, false
	}
	p, err := s.db.PaymentByPublicID(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		s.notFound(w, r)
		return p, false
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payment unavailable", "This payment could not be loaded. Try again in a moment.", err)
		return p, false
	}
	return p, true
}

// validPublicID accepts Paydesk ids ("pd_" and lower-case base32), refusing anything else
// before it reaches the database.
func validPublicID(id string) bool {
	if !strings.HasPrefix(id, "pd_") || len(id) > 40 || len(id) < 4 {
		return false
	}
	for _, r := range id[3:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// paymentState gathers what the eligibility panel and the action handlers decide on.
type paymentState struct {
	payment  storage.Payment
	elig     providers.Eligibility
	balance  storage.RefundBalance
	inFlight *storage.Action // a money-moving action pending or unknown
}

func (s *Server) paymentState(r *http.Request, p storage.Payment) (paymentState, error) {
	st := paymentState{payment: p, elig: providers.Eligible(p.Snapshot)}
	var err error
	st.balance, err = s.db.Balance(r.Context(), p.ID)
	if err != nil {
		return st, err
	}
	actions, err := s.db.ActionsOfPayment(r.Context(), p.ID)
	if err != nil {
		return st, err
	}
	for i := range actions {
		a := actions[i]
		if (a.State == "pending" || a.State == "unknown") && a.Kind != "refresh" && a.Kind != "payer_link" {
			st.inFlight = &a
		}
	}
	return st, nil
}

// decisions applies Paydesk's own rules on top of the provider's: the user's role, an
// action already in flight, money reserved by other refunds, approval thresholds.
func (s *Server) decisions(u auth.User, st paymentState) []providers.Decision {
	p := st.payment
	out := st.elig.Decisions()
	for i := range out {
		d := &out[i]
		if !d.Allowed {
			continue
		}
		if !Act.Allows(u) {
			d.Allowed = false
			d.Reason = fmt.Sprintf("Your role cannot %s payments; support staff and managers can.", d.Action)
			continue
		}
		if st.inFlight != nil {
			d.Allowed = false
			d.Reason = fmt.Sprintf("A %s on this payment is %s: Paydesk starts nothing else until its outcome is known.", st.inFlight.Kind, st.inFlight.State)
			continue
		}
		if d.Action == providers.ActionRefund {
			left := min(d.MaxRefund, st.balance.Refundable)
			if left <= 0 {
				d.Allowed = false
				d.Reason = "Nothing is left to refund: the rest is already refunded, in flight or awaiting approval."
				continue
			}
			d.MaxRefund = left
			d.Reason = fmt.Sprintf("Up to %s can be refunded.", providers.FormatMoney(left, p.Currency))
			if t, ok := s.cfg.Approval.Threshold(p.Currency); ok {
				d.Reason += fmt.Sprintf(" Refunds from %s need a manager's approval.", providers.FormatMoney(t, p.Currency))
			}
		}
	}
	return out
}

var actionLabels = map[providers.Action]string{
	providers.ActionCancel: "Cancel payment",
	providers.ActionExpire: "Expire session",
	providers.ActionRefund: "Refund",
}

// paymentView builds the payment page's view model.
func (s *Server) paymentView(r *http.Request, p storage.Payment) (views.Payment, error) {
	ctx := r.Context()
	u := userFrom(ctx)
	st, err := s.paymentState(r, p)
	if err != nil {
		return views.Payment{}, err
	}
	money := func(v int64) string { return providers.FormatMoney(v, p.Currency) }
	// Still refundable is what the provider would refund (nothing for Powens, a failed or
	// unknown payment), less what Paydesk already refunded, sent or reserved.
	var refundable int64
	if st.elig.Refund.Allowed {
		refundable = max(0, min(st.elig.Refund.MaxRefund, st.balance.Refundable))
	}
	v := views.Payment{
		ID: fmt.Sprint(p.ID), PublicID: p.PublicID, Provider: string(p.Provider), ProviderLabel: p.Provider.Label(),
		Reference: p.MerchantReference, Customer: p.CustomerName, Email: p.CustomerEmail, CardLast4: p.CardLast4,
		Description: p.Description,
		Status:      string(p.Status), StatusLabel: p.Status.Label(), RawStatus: p.RawStatus,
		StateDetail: p.StateDetail, ErrorCode: p.ErrorCode,
		Amount: money(p.Amount), Captured: money(p.Captured), Refunded: money(st.balance.Succeeded),
		Refundable: money(refundable),
		CreatedAt:  p.CreatedAt, UpdatedAt: p.UpdatedAt,
		CanRefresh: ViewPayments.Allows(u),
		CanAct:     Act.Allows(u),
	}
	if reserved := st.balance.InFlight + st.balance.Reserved; reserved > 0 {
		v.Reserved = money(reserved)
	}
	if p.Status == providers.StatusUnknown {
		v.Attention = append(v.Attention, fmt.Sprintf("%s reported a status Paydesk does not know (%q): no action is offered until it is understood.", p.Provider.Label(), p.RawStatus))
	}
	if st.inFlight != nil && st.inFlight.State == "unknown" {
		v.Attention = append(v.Attention, fmt.Sprintf("The outcome of the %s started %s by %s is unknown: the provider did not answer in time. Paydesk will settle it by reading the provider; do not repeat it elsewhere.", st.inFlight.Kind, st.inFlight.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), st.inFlight.Actor))
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
	for _, f := range []views.Fact{
		{Label: "Session status", Value: p.SessionStatus},
		{Label: "Method", Value: p.Method},
		{Label: "Mode", Value: p.Mode},
	} {
		if f.Value != "" {
			v.Facts = append(v.Facts, f)
		}
	}
	if p.Voided {
		v.Facts = append(v.Facts, views.Fact{Label: "Authorisation", Value: "voided"})
	}
	if p.Provider == providers.Powens {
		instant := "no"
		if p.Instant {
			instant = "yes"
		}
		v.Facts = append(v.Facts, views.Fact{Label: "Instant instruction", Value: instant})
	}
	for _, d := range s.decisions(u, st) {
		c := views.ActionChoice{Action: string(d.Action), Label: actionLabels[d.Action], Allowed: d.Allowed, Why: d.Reason}
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
			Amount: providers.FormatMoney(rf.Amount, rf.Currency), Status: rf.Status, StatusLabel: strings.ReplaceAll(rf.Status, "_", " "),
			Reason: reasonLabel(rf.Reason), RequestedBy: rf.RequestedBy, ProviderID: rf.ProviderRefundID, Message: rf.Message,
			DecidedBy: rf.DecidedBy, DecisionReason: rf.DecisionReason, RequestedAt: rf.RequestedAt,
		})
	}
	links, err := s.db.PayerLinksOfPayment(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, l := range links {
		live := l.State == "active" || l.State == "abandoned"
		lv := views.PayerLinkView{
			ID: fmt.Sprint(l.ID), State: l.State, Kind: l.Kind, CreatedBy: l.CreatedBy, Outcome: l.Outcome,
			CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Live: live && Act.Allows(u),
		}
		if lv.Live {
			lv.URL = l.URL
			lv.QR = fmt.Sprintf("/payer-links/%d/qr.png", l.ID)
			lv.MailText = payerMessage(p, l.URL, l.ExpiresAt)
		}
		v.Links = append(v.Links, lv)
	}
	actions, err := s.db.ActionsOfPayment(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, a := range actions {
		row := views.JournalRow{Kind: a.Kind, State: a.State, Actor: a.Actor, Message: a.Message, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt}
		if a.Amount > 0 {
			row.Amount = providers.FormatMoney(a.Amount, a.Currency)
		}
		v.Journal = append(v.Journal, row)
	}
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
