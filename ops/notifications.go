package ops

import (
	"context"
	"errors"

	"paydesk/storage"
)

// notificationReader is whose notifications a person reads and marks: their own (by
// person key), and the managers' while they hold the role. Who is told what is decided
// where the events are recorded (storage: Tx.Notify); who sees what, here.
func (p Person) notificationReader() storage.Reader {
	rd := storage.Reader{Key: p.Key, Email: p.Email}
	if p.mayApprove() {
		rd.Roles = append(rd.Roles, storage.NotifyManagers)
	}
	return rd
}

// NotificationCounts returns the navigation's badges for who: their unread notifications
// and, for a manager, the refund requests they may decide. Someone who may not view
// payments has none.
func (d *Desk) NotificationCounts(ctx context.Context, who Person) (storage.NotificationCounts, error) {
	if !who.mayView() {
		return storage.NotificationCounts{}, nil
	}
	return d.db.NotificationCounts(ctx, who.notificationReader())
}

// Notifications returns up to limit of who's notifications older than before (0: the
// newest), newest first.
func (d *Desk) Notifications(ctx context.Context, who Person, before int64, limit int) ([]storage.Notification, error) {
	if !who.mayView() {
		return nil, refuse(ErrNotAllowed, "Your role does not receive notifications.")
	}
	return d.db.Notifications(ctx, who.notificationReader(), before, limit)
}

// ReadNotification marks one of who's notifications read and returns it (what it is
// about, to go there). Anyone else's is ErrNotFound, as one that does not exist.
func (d *Desk) ReadNotification(ctx context.Context, who Person, id int64) (storage.Notification, error) {
	if !who.mayView() {
		return storage.Notification{}, refuse(ErrNotAllowed, "Your role does not receive notifications.")
	}
	n, err := d.db.MarkNotificationRead(ctx, who.notificationReader(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return n, &Refusal{Reason: ErrNotFound, Message: "There is no such notification of yours.", Cause: err}
	}
	return n, err
}

// ReadAllNotifications marks every notification of who's read.
func (d *Desk) ReadAllNotifications(ctx context.Context, who Person) error {
	if !who.mayView() {
		return refuse(ErrNotAllowed, "Your role does not receive notifications.")
	}
	return d.db.MarkAllNotificationsRead(ctx, who.notificationReader())
}
