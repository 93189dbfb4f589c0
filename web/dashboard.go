package web

import (
	"fmt"
	"net/http"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// dashboard is the home page: what needs someone now, each a link to the payment.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	v := views.Dashboard{ShowApprovals: Approve.Allows(u)}
	names := map[int64]storage.Payment{}
	pay := func(id int64) storage.Payment {
		if p, ok := names[id]; ok {
			return p
		}
		p, err := s.db.PaymentByID(ctx, id)
		if err != nil {
			s.log.Warn("dashboard payment", "id", id, "err", err)
		}
		names[id] = p
		return p
	}
	links, err := s.db.PayerLinksByState(ctx, []string{"active", "abandoned"}, 20)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded.", err)
		return
	}
	for _, l := range links {
		p := pay(l.PaymentID)
		v.Waiting = append(v.Waiting, views.DashItem{URL: "/payments/" + p.PublicID, Title: p.PublicID + " · " + p.CustomerName,
			Detail: fmt.Sprintf("link %s, made by %s", l.State, l.CreatedBy), At: l.CreatedAt})
	}
	if v.ShowApprovals {
		queue, err := s.db.ApprovalQueue(ctx)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded.", err)
			return
		}
		for _, it := range queue {
			v.Approvals = append(v.Approvals, views.DashItem{URL: "/approvals", Title: fmt.Sprintf("%s refund on %s", providers.FormatMoney(it.Amount, it.Currency), it.PaymentPublicID),
				Detail: "asked by " + it.RequestedBy, At: it.RequestedAt})
		}
	}
	if v.AnomalyCount, err = s.db.CountAnomalies(ctx); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded.", err)
		return
	}
	if v.AnomalyCount > 0 {
		anomalies, err := s.db.ListAnomalies(ctx, 20)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded.", err)
			return
		}
		for _, a := range anomalies {
			v.Anomalies = append(v.Anomalies, views.DashItem{URL: "/payments/" + a.PaymentPublicID,
				Title: a.PaymentPublicID + " · " + a.CustomerName, Detail: a.Message, At: a.Since})
		}
		v.AnomaliesURL = "/payments?anomaly=1"
	}
	for _, st := range []string{"unknown", "failed"} {
		acts, err := s.db.ActionsByState(ctx, []string{st}, 20)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded.", err)
			return
		}
		for _, a := range acts {
			p := pay(a.PaymentID)
			item := views.DashItem{URL: "/payments/" + p.PublicID, Title: fmt.Sprintf("%s on %s", a.Kind, p.PublicID), Detail: a.Actor + ": " + a.Message, At: a.StartedAt}
			if st == "unknown" {
				v.Unknown = append(v.Unknown, item)
			} else {
				v.Failures = append(v.Failures, item)
			}
		}
	}
	s.render(w, r, s.page(w, r, "Dashboard", "dashboard"), views.DashboardView(v))
}
