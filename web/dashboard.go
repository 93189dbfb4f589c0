package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"paydesk/storage"
	"paydesk/views"
)

// recentDays is how far back the dashboard's "recent" goes (failures, decisions).
const recentDays = 7

// dashboard is the home page: the team's work queue. Each kind of "needs someone" the
// person's role can act on, with how many wait, the oldest's age, what to do and a link
// to all of them in the payments list (or the approvals, or one's own requests). Every
// count comes from an index (storage.WorkQueue).
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	now := s.desk.Now()
	// Recent starts at the person's midnight recentDays back, in their zone: the list's
	// failed_since, a day read in the same zone (parseDay), names the same instant, so the
	// count and the linked list agree.
	loc := views.Zone(ctx)
	y, m, d := now.In(loc).AddDate(0, 0, -recentDays).Date()
	since := time.Date(y, m, d, 0, 0, 0, 0, loc)
	canAct, canApprove := Act.Allows(u), Approve.Allows(u)
	f := storage.WorkQueueFilter{Since: since, Links: canAct, Approvals: canApprove}
	if canAct {
		f.Mine = &storage.Requester{Key: u.Key, Email: u.Email}
	}
	q, err := s.db.WorkQueue(ctx, f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded. Try again in a moment.", err)
		return
	}
	day := since.Format("2006-01-02") // the day in loc, as since is
	payments := func(n int) string {
		if n == 1 {
			return "See the payment"
		}
		return "See the " + groupThousands(int64(n)) + " payments"
	}
	items := []views.QueueItem{
		{Key: "unknown-status", Title: "Payments with an unknown provider status", Count: q.UnknownStatus.N, Oldest: q.UnknownStatus.Oldest,
			URL: "/payments?status=unknown", Empty: "Every payment has a status Paydesk knows.",
			Next: "The provider answered with a status Paydesk does not know, so no action is offered. Refresh each payment; if it stays unknown, ask the provider what the status means."},
		{Key: "unknown-outcome", Title: "Actions with an unknown outcome", Count: q.UnknownOutcome.N, Oldest: q.UnknownOutcome.Oldest,
			URL: "/payments?outcome=unknown", Empty: "No action has an unknown outcome.",
			Next: "The provider did not answer in time. Paydesk settles each by reading the provider; refresh the payment to settle it now, and do not repeat the action elsewhere."},
	}
	if canAct {
		items = append(items,
			views.QueueItem{Key: "cancelling-no-link", Title: "Cancelling, waiting for a payer link", Count: q.CancellingNoLink.N, Oldest: q.CancellingNoLink.Oldest,
				URL: "/payments?status=cancelling&link=none", Empty: "Every cancelling payment has a live payer link.",
				Next: "The payer must confirm each cancellation and has no link to do it: open the payment, make a payer link and send it to the payer."},
			views.QueueItem{Key: "links-waiting", Title: "Payer links waiting for the payer", Count: q.LinksWaiting.N, Oldest: q.LinksWaiting.Oldest,
				URL: "/payments?link=active", Empty: "No payer link is waiting.",
				Next: "The payer has not opened the link yet: remind them, or make a new link if it is about to expire."},
			views.QueueItem{Key: "links-abandoned", Title: "Payer links the payer abandoned", Count: q.LinksAbandoned.N, Oldest: q.LinksAbandoned.Oldest,
				URL: "/payments?link=abandoned", Empty: "No payer link was abandoned.",
				Next: "The payer left without confirming: contact them, then make a new link and send it."},
		)
	}
	if canApprove {
		items = append(items, views.QueueItem{Key: "approvals", Title: "Refunds awaiting your approval", Count: q.Approvals.N, Oldest: q.Approvals.Oldest,
			URL: "/approvals", LinkText: "Open the approvals", Empty: "No refund waits for approval.",
			Next: "Approve or reject each request before it expires; nobody may decide on their own request."})
	}
	if canAct {
		items = append(items, views.QueueItem{Key: "my-decided", Title: "Your refund requests decided", Count: q.MyDecided.N, Oldest: q.MyDecided.Oldest,
			URL: "/my-refunds", LinkText: "Open my refund requests", Empty: fmt.Sprintf("None of your refund requests was decided in the last %d days.", recentDays),
			Next: "A manager approved or rejected these in the last " + fmt.Sprint(recentDays) + " days: tell the customer, or read why it was rejected."})
	}
	items = append(items,
		views.QueueItem{Key: "failures", Title: "Recent failures", Count: q.Failures.N, Oldest: q.Failures.Oldest,
			URL: "/payments?failed_since=" + day, Empty: fmt.Sprintf("No action or refund failed in the last %d days.", recentDays),
			Next: fmt.Sprintf("An action or a refund failed on these payments in the last %d days: read why on each payment's journal, then try again or tell the customer.", recentDays)},
		views.QueueItem{Key: "anomalies", Title: "Provider answers that cannot be right", Count: q.Anomalies.N, Oldest: q.Anomalies.Oldest,
			URL: "/payments?anomaly=1", Empty: "No provider answer is inconsistent.",
			Next: "Paydesk stored the provider's answer as it is: check each payment with the provider before acting on it."},
	)
	if q.Anomalies.N > 0 {
		anomalies, err := s.db.ListAnomalies(ctx, 5)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "Dashboard unavailable", "The dashboard could not be loaded. Try again in a moment.", err)
			return
		}
		for _, a := range anomalies {
			it := &items[len(items)-1]
			it.Examples = append(it.Examples, views.DashItem{URL: "/payments/" + a.PaymentPublicID,
				Title: a.PaymentPublicID + " · " + a.CustomerName, Detail: a.Message, At: a.Since})
		}
	}
	v := views.Dashboard{Window: fmt.Sprintf("%d days", recentDays)}
	for _, it := range items {
		it.Total = groupThousands(int64(it.Count))
		if it.LinkText == "" {
			it.LinkText = payments(it.Count)
		}
		if it.Count > 0 {
			age := ageText(now.Sub(it.Oldest))
			switch it.Key {
			case "unknown-status", "cancelling-no-link": // the oldest payment's creation
				it.Age = "created " + age + " ago"
			case "my-decided", "failures", "anomalies": // when it happened
				it.Age = age + " ago"
			default: // started, made or asked for, and still open
				it.Age = "waiting " + age
			}
		}
		v.Items = append(v.Items, it)
	}
	// What waits first, in the order above.
	slices.SortStableFunc(v.Items, func(a, b views.QueueItem) int {
		return cmp.Compare(min(a.Count, 1), min(b.Count, 1)) * -1
	})
	s.render(w, r, s.page(w, r, "Dashboard", "dashboard"), views.DashboardView(v))
}

// ageText writes how long something has waited: "less than a minute", "5 minutes",
// "3 hours", "4 days", "5 months".
func ageText(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	}
	return plural(int(d/(30*24*time.Hour)), "month")
}
