// In-app notifications: what happened that concerns a person — a refund request waiting
// for the managers, a decision on one's own request, the payer's answer to one's payer
// link — written by Tx.Notify in the same transaction as the event, read by the
// navigation's counts and the notifications page (docs/notifications.md).

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The kinds of notification.
const (
	// NotifyApprovalRequested: a refund request waits for a manager (to the role).
	NotifyApprovalRequested = "approval_requested"
	// NotifyRequestDecided: one's refund request was approved, rejected or expired.
	NotifyRequestDecided = "request_decided"
	// NotifyPayerConfirmed: the payer confirmed the cancellation of one's payer link.
	NotifyPayerConfirmed = "payer_confirmed"
	// NotifyPayerLinkEnded: one's payer link ended without a confirmation (it expired, or
	// the payment went on elsewhere).
	NotifyPayerLinkEnded = "payer_link_ended"
	// NotifyBatchApprovalRequested: a batch waits for a manager (to the role).
	NotifyBatchApprovalRequested = "batch_approval_requested"
	// NotifyBatchDecided: one's batch was approved or rejected.
	NotifyBatchDecided = "batch_decided"
	// NotifyBatchFinished: one's batch ran to its end.
	NotifyBatchFinished = "batch_finished"
	// NotifyBatchCancelled: someone else cancelled or stopped one's batch.
	NotifyBatchCancelled = "batch_cancelled"
)

// NotifyManagers is the role a refund request waiting for approval is addressed to:
// Paydesk keeps no list of managers (roles come from the identity provider at each
// sign-in), so every person holding the role when they look sees it.
const NotifyManagers = "manager"

// notificationKinds are the kinds the table accepts.
var notificationKinds = []string{NotifyApprovalRequested, NotifyRequestDecided, NotifyPayerConfirmed, NotifyPayerLinkEnded,
	NotifyBatchApprovalRequested, NotifyBatchDecided, NotifyBatchFinished, NotifyBatchCancelled}

// batchKinds are the kinds about a batch (they name a batch, not a payment).
var batchKinds = []string{NotifyBatchApprovalRequested, NotifyBatchDecided, NotifyBatchFinished, NotifyBatchCancelled}

// Notification is one thing that happened that concerns a person or a role.
type Notification struct {
	ID int64
	// RecipientKey is the person told (their person key); "" for a notification to a role.
	RecipientKey string
	// RecipientRole is the role told (NotifyManagers); "" for one to a person.
	RecipientRole string
	// RecipientName is the name the records carry for the recipient (their e-mail, else
	// their name), as the event knew it; not stored, for whoever hooks into Notify (an
	// e-mail). "" for a role.
	RecipientName string
	// ActorKey is who caused it; a role notification is not shown to them.
	ActorKey string
	Kind     string
	// PaymentID is the payment concerned; RefundID and LinkID what on it (0 for none).
	// BatchID is the batch concerned instead, for the batch kinds (PaymentID 0): a
	// notification names one or the other.
	PaymentID, RefundID, LinkID, BatchID int64
	// Text says what happened, in plain words.
	Text      string
	CreatedAt time.Time
	// Read says the reader has read it; ReadAt when (zero when marked read with all
	// the others of a role).
	Read   bool
	ReadAt time.Time
	// PaymentPublicID is the payment's public id, and RefundStatus the refund's status now
	// ("" when it is about no refund), filled by the reads: a request the managers were
	// told of may have been decided since. BatchPublicID and BatchState are the batch's
	// ("" for a notification about a payment).
	PaymentPublicID, RefundStatus string
	BatchPublicID, BatchState     string
}

// Notify records a notification, inside the transaction of the event that causes it, so
// that the event and the news of it are committed together or not at all. Every event
// that tells someone goes through here (refund requested for approval, decided or
// expired; a payer link confirmed or ended): it is the one place to add another way of
// telling them (an e-mail queued in the same transaction). A notification to nobody — a
// person without a person key (records from before keys) — is no error and records
// nothing.
func (tx *Tx) Notify(ctx context.Context, n Notification) error {
	n.RecipientKey = strings.TrimSpace(n.RecipientKey)
	n.Text = strings.TrimSpace(n.Text)
	switch {
	case n.RecipientKey == "" && n.RecipientRole == "":
		return nil
	case n.RecipientKey != "" && n.RecipientRole != "":
		return fmt.Errorf("storage: notify: both a person and a role")
	case n.RecipientRole != "" && n.RecipientRole != NotifyManagers:
		return fmt.Errorf("storage: notify: unknown role %q", n.RecipientRole)
	case !slices.Contains(notificationKinds, n.Kind):
		return fmt.Errorf("storage: notify: unknown kind %q", n.Kind)
	case slices.Contains(batchKinds, n.Kind) && (n.BatchID <= 0 || n.PaymentID != 0):
		return fmt.Errorf("storage: notify: a %s notification names a batch, and no payment", n.Kind)
	case !slices.Contains(batchKinds, n.Kind) && (n.PaymentID <= 0 || n.BatchID != 0):
		return fmt.Errorf("storage: notify: a %s notification names a payment, and no batch", n.Kind)
	case n.Text == "":
		return fmt.Errorf("storage: notify: missing text")
	case n.CreatedAt.IsZero():
		return fmt.Errorf("storage: notify: missing time")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO notifications (recipient_key, recipient_role, actor_key, kind,
		payment_id, refund_id, link_id, batch_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.RecipientKey, n.RecipientRole, n.ActorKey, n.Kind, nullID(n.PaymentID), nullID(n.RefundID), nullID(n.LinkID), nullID(n.BatchID), n.Text, ms(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("storage: notify: %w", err)
	}
	return nil
}

// nullID is NULL for 0, else the id.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Reader is whose notifications are read or marked: a person (their key, and e-mail for
// the refund requests recorded before keys) and the roles they hold now. A Reader
// without a key reads nothing: a notification is never anyone's by default.
type Reader struct {
	Key, Email string
	Roles      []string
}

// manager reports whether the reader sees the managers' notifications.
func (rd Reader) manager() bool { return slices.Contains(rd.Roles, NotifyManagers) }

// NotificationCounts are the navigation's badges.
type NotificationCounts struct {
	// ApprovalsWaiting is the refund requests and batches a manager may decide now:
	// awaiting approval, not expired, not their own (0 for anyone else). It is counted
	// from the requests themselves, not from notifications: it falls as soon as anyone
	// decides.
	ApprovalsWaiting int
	// Decided is the reader's unread decisions on their refund requests.
	Decided int
	// Payer is the reader's unread answers of payers to their payer links.
	Payer int
	// Batches is the reader's unread news of their batches (decided, finished,
	// cancelled by someone else).
	Batches int
}

// Unread is the reader's unread notifications of their own.
func (c NotificationCounts) Unread() int { return c.Decided + c.Payer + c.Batches }

// NotificationCounts returns the reader's badges: two index range counts (the reader's
// unread notifications by kind; for a manager, the requests awaiting approval).
func (db *DB) NotificationCounts(ctx context.Context, rd Reader) (NotificationCounts, error) {
	var c NotificationCounts
	if strings.TrimSpace(rd.Key) == "" {
		return c, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT kind, count(*) FROM notifications
		WHERE recipient_key = ? AND read_at IS NULL GROUP BY kind`, rd.Key)
	if err != nil {
		return c, fmt.Errorf("storage: notification counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return c, fmt.Errorf("storage: notification counts: %w", err)
		}
		switch kind {
		case NotifyRequestDecided:
			c.Decided += n
		case NotifyPayerConfirmed, NotifyPayerLinkEnded:
			c.Payer += n
		case NotifyBatchDecided, NotifyBatchFinished, NotifyBatchCancelled:
			c.Batches += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("storage: notification counts: %w", err)
	}
	if rd.manager() {
		mine, args := Requester{Key: rd.Key, Email: rd.Email}.where("r.")
		err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM refunds r
			WHERE r.status = 'awaiting_approval' AND r.approval_expires_at > ? AND NOT `+mine,
			append([]any{ms(db.Now())}, args...)...).Scan(&c.ApprovalsWaiting)
		if err != nil {
			return c, fmt.Errorf("storage: approvals waiting: %w", err)
		}
		var batches int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM batches WHERE state = 'awaiting_approval' AND created_by_key <> ?`,
			rd.Key).Scan(&batches); err != nil {
			return c, fmt.Errorf("storage: batches waiting: %w", err)
		}
		c.ApprovalsWaiting += batches
	}
	return c, nil
}

// notificationColumns selects a notification as the reader sees it, from notifications n
// LEFT JOIN payments p LEFT JOIN batches b LEFT JOIN notification_reads r (the reader's)
// LEFT JOIN refunds f; the read time of a role
// notification is its reading, or 0 when marked read with the others (the first
// argument: the reader's mark). scanNotification reads them.
const notificationColumns = `n.id, n.recipient_key, n.recipient_role, n.actor_key, n.kind, coalesce(n.payment_id, 0),
	coalesce(n.refund_id, 0), coalesce(n.link_id, 0), coalesce(n.batch_id, 0), n.text, n.created_at,
	CASE WHEN n.recipient_key <> '' THEN n.read_at ELSE coalesce(r.read_at, CASE WHEN n.id <= ? THEN 0 END) END,
	coalesce(p.public_id, ''), coalesce(f.status, ''), coalesce(b.public_id, ''), coalesce(b.state, '')`

// notificationJoins is the joins of notificationColumns; its argument is the reader's key.
const notificationJoins = ` LEFT JOIN payments p ON p.id = n.payment_id
	LEFT JOIN batches b ON b.id = n.batch_id
	LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.person_key = ?
	LEFT JOIN refunds f ON f.id = n.refund_id`

func scanNotification(s scannable) (Notification, error) {
	var n Notification
	var created int64
	var read sql.NullInt64
	err := s.Scan(&n.ID, &n.RecipientKey, &n.RecipientRole, &n.ActorKey, &n.Kind, &n.PaymentID, &n.RefundID, &n.LinkID, &n.BatchID,
		&n.Text, &created, &read, &n.PaymentPublicID, &n.RefundStatus, &n.BatchPublicID, &n.BatchState)
	n.CreatedAt = fromMS(created)
	n.Read = read.Valid
	if read.Valid && read.Int64 > 0 {
		n.ReadAt = fromMS(read.Int64)
	}
	return n, err
}

// readMark returns up to which id the reader marked the role notifications read (0: none).
func readMark(ctx context.Context, x execer, key string) (int64, error) {
	var upto int64
	err := x.QueryRowContext(ctx, `SELECT read_upto FROM notification_marks WHERE person_key = ?`, key).Scan(&upto)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return upto, err
}

// Notifications returns up to limit of the reader's notifications with an id below
// before (0: from the newest), newest first: their own and, for a manager, the managers'
// (but those they caused). Each side is read along its own index, at most limit rows.
func (db *DB) Notifications(ctx context.Context, rd Reader, before int64, limit int) ([]Notification, error) {
	if strings.TrimSpace(rd.Key) == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = 50
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	mark, err := readMark(ctx, db.db, rd.Key)
	if err != nil {
		return nil, fmt.Errorf("storage: notifications: %w", err)
	}
	ids := `SELECT id FROM (SELECT id FROM notifications WHERE recipient_key = ? AND id < ? ORDER BY id DESC LIMIT ?) mine`
	// The arguments in the order of the placeholders: the mark (in the columns), the
	// subqueries', the reader's key (in the joins), the limit.
	args := []any{mark, rd.Key, before, limit}
	if rd.manager() {
		ids += ` UNION ALL SELECT id FROM (SELECT id FROM notifications WHERE recipient_role = ? AND actor_key <> ? AND id < ?
			ORDER BY id DESC LIMIT ?) role`
		args = append(args, NotifyManagers, rd.Key, before, limit)
	}
	args = append(args, rd.Key, limit)
	return queryAll(ctx, db, "notifications", scanNotification, `SELECT `+notificationColumns+` FROM (`+ids+`) ids
		JOIN notifications n ON n.id = ids.id`+notificationJoins+` ORDER BY n.id DESC LIMIT ?`, args...)
}

// visibleNotification reads one notification the reader may see, or ErrNotFound: theirs,
// or the managers' when they are one and did not cause it.
func visibleNotification(ctx context.Context, x execer, rd Reader, id int64) (Notification, error) {
	if strings.TrimSpace(rd.Key) == "" {
		return Notification{}, ErrNotFound
	}
	mark, err := readMark(ctx, x, rd.Key)
	if err != nil {
		return Notification{}, err
	}
	role := ""
	if rd.manager() {
		role = NotifyManagers
	}
	n, err := scanNotification(x.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications n`+notificationJoins+`
		WHERE n.id = ? AND (n.recipient_key = ? OR (n.recipient_role <> '' AND n.recipient_role = ? AND n.actor_key <> ?))`,
		mark, rd.Key, id, rd.Key, role, rd.Key))
	if errors.Is(err, sql.ErrNoRows) {
		return n, ErrNotFound
	}
	return n, err
}

// NotificationByID returns one of the reader's notifications; anyone else's is
// ErrNotFound, as one that does not exist.
func (db *DB) NotificationByID(ctx context.Context, rd Reader, id int64) (Notification, error) {
	n, err := visibleNotification(ctx, db.db, rd, id)
	if err != nil {
		return n, fmt.Errorf("storage: notification %d: %w", id, err)
	}
	return n, nil
}

// MarkNotificationRead marks one of the reader's notifications read (again is no
// change) and returns it; anyone else's is ErrNotFound and changes nothing.
func (db *DB) MarkNotificationRead(ctx context.Context, rd Reader, id int64) (Notification, error) {
	var n Notification
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		if n, err = visibleNotification(ctx, tx, rd, id); err != nil || n.Read {
			return err
		}
		now := db.Now()
		if n.RecipientKey != "" {
			_, err = tx.ExecContext(ctx, `UPDATE notifications SET read_at = ? WHERE id = ? AND recipient_key = ? AND read_at IS NULL`,
				ms(now), id, rd.Key)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO notification_reads (notification_id, person_key, read_at) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, id, rd.Key, ms(now))
		}
		n.Read, n.ReadAt = true, fromMS(ms(now))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("storage: mark notification %d read: %w", id, err)
	}
	return n, nil
}

// MarkAllNotificationsRead marks every notification of the reader read: their own, and
// for a manager the managers' up to the newest (one number, notification_marks).
func (db *DB) MarkAllNotificationsRead(ctx context.Context, rd Reader) error {
	if strings.TrimSpace(rd.Key) == "" {
		return nil
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET read_at = ? WHERE recipient_key = ? AND read_at IS NULL`,
			ms(db.Now()), rd.Key); err != nil {
			return err
		}
		if !rd.manager() {
			return nil
		}
		var newest int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM notifications WHERE recipient_role = ?`,
			NotifyManagers).Scan(&newest); err != nil || newest == 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notification_marks (person_key, read_upto) VALUES (?, ?)
			ON CONFLICT (person_key) DO UPDATE SET read_upto = excluded.read_upto`, rd.Key, newest)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: mark all notifications read: %w", err)
	}
	return nil
}
