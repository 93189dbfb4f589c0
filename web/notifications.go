package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"paydesk/ops"
	"paydesk/storage"
	"paydesk/views"
)

// notificationsPageSize is how many notifications a page shows.
const notificationsPageSize = 50

// navCounts are the signed-in person's badges for the layout (page). They cost two index
// range counts; when they cannot be read the page shows none rather than failing.
func (s *Server) navCounts(r *http.Request) views.NavCounts {
	c, err := s.desk.NotificationCounts(r.Context(), s.person(r))
	if err != nil {
		s.log.Warn("navigation counts", append(logAttrs(r), "err", err)...)
		return views.NavCounts{}
	}
	return views.NavCounts{Approvals: c.ApprovalsWaiting, Decided: c.Decided, Payer: c.Payer, Batches: c.Batches}
}

// notificationsPage lists the person's notifications, newest first, a page at a time
// (?before= the last id of the previous page).
func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request) {
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		id, err := strconv.ParseInt(b, 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, http.StatusBadRequest, "Page link damaged", "This page link is damaged: start again from the first page.", fmt.Errorf("web: notifications: before %q", b))
			return
		}
		before = id
	}
	who := s.person(r)
	list, err := s.desk.Notifications(r.Context(), who, before, notificationsPageSize+1)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Notifications unavailable", "Your notifications could not be loaded. Try again in a moment.", err)
		return
	}
	p := s.page(w, r, "Notifications", "notifications")
	v := views.Notifications{First: before == 0, Manager: who.Has(ops.RoleManager)}
	if len(list) > notificationsPageSize {
		list = list[:notificationsPageSize]
		v.NextURL = "/notifications?before=" + strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	for _, n := range list {
		target, _ := notificationTarget(n, who)
		id := strconv.FormatInt(n.ID, 10)
		v.Items = append(v.Items, views.NotificationItem{
			ID: n.ID, Kind: n.Kind, KindLabel: notificationKindLabel(n.Kind), Text: n.Text, Now: notificationNow(n), At: n.CreatedAt, Read: n.Read,
			OpenURL: "/notifications/" + id, Target: target, ReadURL: "/notifications/" + id + "/read",
		})
	}
	s.render(w, r, p, views.NotificationsView(v))
}

// notificationOpen marks a notification read and goes to what it is about.
func (s *Server) notificationOpen(w http.ResponseWriter, r *http.Request) {
	who := s.person(r)
	n, ok := s.readNotification(w, r, who)
	if !ok {
		return
	}
	_, url := notificationTarget(n, who)
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// notificationRead marks one notification read, back to the list.
func (s *Server) notificationRead(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.readNotification(w, r, s.person(r)); !ok {
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}

// notificationsReadAll marks all of the person's notifications read.
func (s *Server) notificationsReadAll(w http.ResponseWriter, r *http.Request) {
	if err := s.desk.ReadAllNotifications(r.Context(), s.person(r)); err != nil {
		s.refused(w, r, err, "/notifications")
		return
	}
	s.flash(w, r, "success", "All your notifications are marked read.")
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}

// readNotification marks the notification named in the path read, answering itself
// (404 for one that is not the person's, as for one that does not exist) when it fails.
func (s *Server) readNotification(w http.ResponseWriter, r *http.Request, who ops.Person) (storage.Notification, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return storage.Notification{}, false
	}
	n, err := s.desk.ReadNotification(r.Context(), who, id)
	switch {
	case errors.Is(err, ops.ErrNotFound):
		s.notFound(w, r)
		return n, false
	case err != nil:
		s.refused(w, r, err, "/notifications")
		return n, false
	}
	return n, true
}

// notificationTarget is where a notification leads, in words and as an address: a refund
// request waiting for managers to the queue (for a manager), one about a batch to the
// batch's page, anything else to its payment.
func notificationTarget(n storage.Notification, who ops.Person) (words, url string) {
	switch {
	case n.BatchPublicID != "":
		return "Open batch " + n.BatchPublicID, "/batches/" + n.BatchPublicID
	case n.PaymentPublicID == "":
		return "Open your notifications", "/notifications"
	case n.Kind == storage.NotifyApprovalRequested && who.Has(ops.RoleManager):
		return "Open the approvals queue", "/approvals"
	}
	return "Open payment " + n.PaymentPublicID, "/payments/" + n.PaymentPublicID
}

// notificationNow says where what a notification is about stands now ("" for nothing to
// add): a refund's status, or a batch's state when it moved on since.
func notificationNow(n storage.Notification) string {
	if n.BatchPublicID == "" {
		return refundNow(n.RefundStatus)
	}
	switch {
	case n.Kind == storage.NotifyBatchApprovalRequested && n.BatchState == storage.BatchAwaitingApproval:
		return "still waiting for a manager's decision"
	case n.Kind == storage.NotifyBatchDecided && n.BatchState == storage.BatchScheduled:
		return "in its undo window"
	case n.Kind == storage.NotifyBatchFinished || n.Kind == storage.NotifyBatchCancelled:
		return ""
	}
	return ops.BatchStateLabel(n.BatchState)
}

// notificationKindLabel names a kind of notification for people.
func notificationKindLabel(kind string) string {
	switch kind {
	case storage.NotifyApprovalRequested:
		return "Refund waiting for a manager"
	case storage.NotifyRequestDecided:
		return "Your refund request"
	case storage.NotifyPayerConfirmed:
		return "Payer confirmed"
	case storage.NotifyPayerLinkEnded:
		return "Payer link ended"
	case storage.NotifyBatchApprovalRequested:
		return "Batch waiting for a manager"
	case storage.NotifyBatchDecided:
		return "Your batch: decision"
	case storage.NotifyBatchFinished:
		return "Your batch finished"
	case storage.NotifyBatchCancelled:
		return "Your batch cancelled"
	}
	return kind
}

// refundNow says where a refund stands now, after the words of the notification about
// it ("" for none).
func refundNow(status string) string {
	switch status {
	case "":
		return ""
	case "awaiting_approval":
		return "still waiting for a manager's decision"
	case "approved", "pending":
		return "approved, sent to the provider"
	case "succeeded":
		return "refunded"
	case "failed":
		return "the provider refused the refund"
	case "unknown":
		return "the provider's answer is not known yet"
	case "rejected":
		return "rejected"
	case "expired":
		return "expired without a decision"
	}
	return refundStatusLabel(status)
}
