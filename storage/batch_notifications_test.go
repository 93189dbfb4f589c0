package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestNotificationsOfABatch: a notification may name a batch instead of a payment; the
// reads fill in the batch's id and state (and no payment), the managers' badge counts the
// batches waiting that are not theirs, the requester's badge their unread batch news.
func TestNotificationsOfABatch(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b, items := runTestBatch(t, db)
	sam := Reader{Key: "k-sam", Email: "sam@x", Roles: []string{"support"}}
	tell := func(tx *Tx, b Batch, now time.Time) error {
		return tx.Notify(ctx, Notification{RecipientRole: NotifyManagers, ActorKey: b.CreatedByKey, Kind: NotifyBatchApprovalRequested,
			BatchID: b.ID, Text: "sam@x asks to run " + b.PublicID, CreatedAt: now})
	}
	if _, err := db.RequestBatch(ctx, b.ID, BatchDigest(items), "A rule says so.", time.Time{}, BatchChange{By: "sam@x", ByKey: "k-sam",
		Then: func(ctx context.Context, tx *Tx, b Batch, now time.Time) error { return tell(tx, b, now) }}); err != nil {
		t.Fatal(err)
	}
	ns := mustNotifications(t, db, maxReader)
	if len(ns) != 1 || ns[0].BatchID != b.ID || ns[0].BatchPublicID != b.PublicID || ns[0].BatchState != BatchAwaitingApproval ||
		ns[0].PaymentID != 0 || ns[0].PaymentPublicID != "" || ns[0].Kind != NotifyBatchApprovalRequested {
		t.Fatalf("max's notifications = %+v, want the batch waiting", ns)
	}
	if c := mustCounts(t, db, maxReader); c.ApprovalsWaiting != 1 || c.Unread() != 0 {
		t.Errorf("max's counts = %+v, want the batch waiting", c)
	}
	// The requester, a manager or not, neither sees nor counts their own batch.
	samManager := sam
	samManager.Roles = []string{"manager"}
	if c := mustCounts(t, db, samManager); c.ApprovalsWaiting != 0 {
		t.Errorf("sam's own batch counted for him: %+v", c)
	}
	if ns := mustNotifications(t, db, samManager); len(ns) != 0 {
		t.Errorf("sam sees his own request: %+v", ns)
	}
	// Opening it marks it read for max alone.
	if n, err := db.MarkNotificationRead(ctx, maxReader, ns[0].ID); err != nil || !n.Read || n.BatchPublicID != b.PublicID {
		t.Errorf("mark read: %+v %v", n, err)
	}
	if ns := mustNotifications(t, db, miaReader); len(ns) != 1 || ns[0].Read {
		t.Errorf("mia's = %+v, want it unread", ns)
	}

	// The decision, to sam: his badge counts it until he reads it.
	if _, err := db.RejectBatch(ctx, b.ID, BatchChange{By: "max@x", ByKey: maxReader.Key, Reason: "Not today",
		Then: func(ctx context.Context, tx *Tx, b Batch, now time.Time) error {
			return tx.Notify(ctx, Notification{RecipientKey: b.CreatedByKey, ActorKey: maxReader.Key, Kind: NotifyBatchDecided,
				BatchID: b.ID, Text: "rejected: " + b.DecisionReason, CreatedAt: now})
		}}); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db, sam); c.Batches != 1 || c.Unread() != 1 {
		t.Errorf("sam's counts = %+v, want 1 batch update", c)
	}
	got := mustNotifications(t, db, sam)
	if len(got) != 1 || got[0].Text != "rejected: Not today" || got[0].BatchState != BatchRejected {
		t.Errorf("sam's = %+v", got)
	}
	if c := mustCounts(t, db, maxReader); c.ApprovalsWaiting != 0 {
		t.Errorf("a rejected batch still waits: %+v", c)
	}
}

// TestBatchHookRollsBackWithTheChange: a hook that fails undoes the change and what the
// hook wrote before failing.
func TestBatchHookRollsBackWithTheChange(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b, items := runTestBatch(t, db)
	boom := errors.New("boom")
	_, err := db.RequestBatch(ctx, b.ID, BatchDigest(items), "A rule says so.", time.Time{}, BatchChange{By: "sam@x", ByKey: "k-sam",
		Then: func(ctx context.Context, tx *Tx, b Batch, now time.Time) error {
			if err := tx.Notify(ctx, Notification{RecipientRole: NotifyManagers, Kind: NotifyBatchApprovalRequested,
				BatchID: b.ID, Text: "t", CreatedAt: now}); err != nil {
				return err
			}
			return boom
		}})
	if !errors.Is(err, boom) {
		t.Fatalf("request: %v, want boom", err)
	}
	if after, _ := db.BatchByPublicID(ctx, b.PublicID); after.State != BatchDraft {
		t.Errorf("the batch is %s, want still a draft", after.State)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM notifications`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d notifications (%v), want none", n, err)
	}
}

// TestNotificationNamesAPaymentOrABatch: Notify and the table refuse a notification that
// names both or neither, and a batch kind about a payment.
func TestNotificationNamesAPaymentOrABatch(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	b, _ := runTestBatch(t, db)
	pid := insertTestPayment(t, db, "bpc", "EUR", 100)
	bad := map[string]Notification{
		"batch kind on a payment": {RecipientKey: "k", Kind: NotifyBatchFinished, PaymentID: pid, Text: "t", CreatedAt: testEpoch},
		"batch kind on both":      {RecipientKey: "k", Kind: NotifyBatchFinished, PaymentID: pid, BatchID: b.ID, Text: "t", CreatedAt: testEpoch},
		"refund kind on a batch":  {RecipientKey: "k", Kind: NotifyRequestDecided, BatchID: b.ID, Text: "t", CreatedAt: testEpoch},
		"batch kind on nothing":   {RecipientKey: "k", Kind: NotifyBatchDecided, Text: "t", CreatedAt: testEpoch},
	}
	for name, n := range bad {
		if err := db.tx(ctx, func(tx *Tx) error { return tx.Notify(ctx, n) }); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := db.SQL().Exec(`INSERT INTO notifications (recipient_key, kind, payment_id, batch_id, text, created_at)
		VALUES ('k', 'batch_finished', ?, ?, 't', 1)`, pid, b.ID); err == nil {
		t.Error("the table took a notification naming a payment and a batch")
	}
	if _, err := db.SQL().Exec(`INSERT INTO notifications (recipient_key, kind, text, created_at) VALUES ('k', 'batch_finished', 't', 1)`); err == nil {
		t.Error("the table took a notification naming nothing")
	}
}

// TestMigration0027KeepsNotifications: on SQLite the table is built again: every
// notification keeps its id, and the managers' reads survive (the old table's drop
// deletes them by cascade); on PostgreSQL the table is changed in place and keeps its
// change trigger.
func TestMigration0027KeepsNotifications(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 200000)
	requestBy(t, db, pid, 60000, "req-1")
	ns := mustNotifications(t, db, maxReader)
	if len(ns) != 1 {
		t.Fatalf("max has %d notifications", len(ns))
	}
	if _, err := db.MarkNotificationRead(ctx, maxReader, ns[0].ID); err != nil {
		t.Fatal(err)
	}
	if onPostgres() {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM pg_trigger WHERE tgname = 'notifications_changed'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("notifications_changed triggers: %d (%v), want 1", n, err)
		}
		return
	}
	// Run 0027 again over the table as it is: it reads only the columns 0024 made.
	if _, err := db.SQL().Exec(`DELETE FROM schema_migrations WHERE version = 27`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	after := mustNotifications(t, db, maxReader)
	if len(after) != 1 || after[0].ID != ns[0].ID || !after[0].Read || after[0].PaymentID != pid {
		t.Errorf("after the migration: %+v, want the same notification, still read by max", after)
	}
	if mia := mustNotifications(t, db, miaReader); len(mia) != 1 || mia[0].Read {
		t.Errorf("mia's after the migration: %+v, want unread", mia)
	}
}
