package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The people of these tests: Ann asks for refunds and makes payer links, Max and Mia are
// managers, Fran is nobody concerned.
var (
	annReader  = Reader{Key: "idp|ann", Email: "ann@x", Roles: []string{"support"}}
	maxReader  = Reader{Key: "idp|max", Email: "max@x", Roles: []string{"manager"}}
	miaReader  = Reader{Key: "idp|mia", Email: "mia@x", Roles: []string{"manager"}}
	franReader = Reader{Key: "idp|fran", Email: "fran@x", Roles: []string{"finance"}}
)

// requestBy records a refund awaiting approval asked for by ann (with her person key).
func requestBy(t *testing.T, db *DB, paymentID, amount int64, idem string) Refund {
	t.Helper()
	r, _, err := db.RequestRefund(context.Background(), RefundRequest{PaymentID: paymentID, Amount: amount,
		Reason: "goodwill", RequestedBy: "ann@x", RequestedByKey: annReader.Key, IdempotencyKey: idem,
		NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatalf("request refund: %v", err)
	}
	return r
}

func mustCounts(t *testing.T, db *DB, rd Reader) NotificationCounts {
	t.Helper()
	c, err := db.NotificationCounts(context.Background(), rd)
	if err != nil {
		t.Fatalf("counts of %s: %v", rd.Email, err)
	}
	return c
}

func mustNotifications(t *testing.T, db *DB, rd Reader) []Notification {
	t.Helper()
	ns, err := db.Notifications(context.Background(), rd, 0, 50)
	if err != nil {
		t.Fatalf("notifications of %s: %v", rd.Email, err)
	}
	return ns
}

// TestNotificationsOfARefundRequest: a request waiting for approval is told to the
// managers (not to its requester, and counted from the queue); the decision is told to
// the requester alone, in the decision's transaction.
func TestNotificationsOfARefundRequest(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 200000)
	r := requestBy(t, db, pid, 60000, "req-1")

	for _, m := range []Reader{maxReader, miaReader} {
		if c := mustCounts(t, db, m); c.ApprovalsWaiting != 1 || c.Unread() != 0 {
			t.Errorf("%s's counts = %+v, want 1 approval waiting, nothing unread", m.Email, c)
		}
		ns := mustNotifications(t, db, m)
		if len(ns) != 1 || ns[0].Kind != NotifyApprovalRequested || ns[0].RefundID != r.ID || ns[0].Read ||
			ns[0].PaymentID != pid || ns[0].PaymentPublicID == "" || !strings.Contains(ns[0].Text, "ann@x asks for a refund of 600.00 EUR") {
			t.Errorf("%s's notifications = %+v, want ann's request, unread", m.Email, ns)
		}
	}
	for _, other := range []Reader{annReader, franReader} {
		if ns := mustNotifications(t, db, other); len(ns) != 0 {
			t.Errorf("%s sees %+v, want nothing", other.Email, ns)
		}
		if c := mustCounts(t, db, other); c != (NotificationCounts{}) {
			t.Errorf("%s's counts = %+v, want none", other.Email, c)
		}
	}
	// A manager's own request is not counted nor shown to them; the other manager sees it.
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 1000, Reason: "goodwill",
		RequestedBy: "max@x", RequestedByKey: maxReader.Key, IdempotencyKey: "req-max", NeedsApproval: true, ApprovalTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db, maxReader); c.ApprovalsWaiting != 1 || len(mustNotifications(t, db, maxReader)) != 1 {
		t.Errorf("max's own request counted or shown to him: %+v", c)
	}
	if c := mustCounts(t, db, miaReader); c.ApprovalsWaiting != 2 || len(mustNotifications(t, db, miaReader)) != 2 {
		t.Errorf("mia's counts = %+v, want both requests", c)
	}

	if _, _, err := db.ApproveRefund(ctx, r.ID, "mia@x", "approve-1", Expectation{PaymentID: pid, Amount: 60000,
		Currency: "EUR", Reason: "goodwill", DeciderKey: miaReader.Key}); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db, annReader); c.Decided != 1 || c.Unread() != 1 {
		t.Errorf("ann's counts after the approval = %+v, want 1 decided", c)
	}
	ns := mustNotifications(t, db, annReader)
	if len(ns) != 1 || ns[0].Kind != NotifyRequestDecided || ns[0].Text != "Your refund of 600.00 EUR was approved by mia@x and is being sent to the provider." {
		t.Fatalf("ann's notifications = %+v", ns)
	}
	for _, n := range mustNotifications(t, db, maxReader) {
		if n.RefundID == r.ID && n.RefundStatus != "pending" {
			t.Errorf("the managers' notification of the approved request says the refund is %q, want pending", n.RefundStatus)
		}
	}
	if c := mustCounts(t, db, maxReader); c.ApprovalsWaiting != 0 || c.Decided != 0 {
		t.Errorf("max's counts after mia decided = %+v, want nothing waiting (his own request is not his to decide)", c)
	}

	// Rejected and expired requests are told too.
	r2 := requestBy(t, db, pid, 5000, "req-2")
	if _, err := db.RejectRefund(ctx, r2.ID, "max@x", maxReader.Key, "not our fault"); err != nil {
		t.Fatal(err)
	}
	r3 := requestBy(t, db, pid, 4000, "req-3")
	if n, err := db.ExpireApprovals(ctx, testEpoch.Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExpireApprovals = %d, %v; want ann's and max's", n, err)
	}
	ns = mustNotifications(t, db, annReader)
	if len(ns) != 3 || ns[0].RefundID != r3.ID || ns[1].RefundID != r2.ID ||
		!strings.Contains(ns[0].Text, "expired: no manager decided in time") || ns[1].Text != "Your refund of 50.00 EUR was rejected by max@x: not our fault" {
		t.Errorf("ann's notifications, newest first = %+v", ns)
	}
}

// TestNotificationsReadOnlyByTheirOwner: reading and marking change the reader's own
// notifications and nobody else's; another's is "not found".
func TestNotificationsReadOnlyByTheirOwner(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 200000)
	r := requestBy(t, db, pid, 60000, "req-1")
	if _, err := db.RejectRefund(ctx, r.ID, "max@x", maxReader.Key, "no"); err != nil {
		t.Fatal(err)
	}
	annN := mustNotifications(t, db, annReader)[0]
	managersN := mustNotifications(t, db, maxReader)[0]

	for _, tt := range []struct {
		who Reader
		id  int64
	}{{franReader, annN.ID}, {maxReader, annN.ID}, {annReader, managersN.ID}, {franReader, managersN.ID}, {Reader{Roles: []string{"manager"}}, managersN.ID}} {
		if _, err := db.NotificationByID(ctx, tt.who, tt.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q reads notification %d: %v, want ErrNotFound", tt.who.Key, tt.id, err)
		}
		if _, err := db.MarkNotificationRead(ctx, tt.who, tt.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q marks notification %d: %v, want ErrNotFound", tt.who.Key, tt.id, err)
		}
	}
	if err := db.MarkAllNotificationsRead(ctx, franReader); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db, annReader); c.Decided != 1 {
		t.Fatalf("others' marks changed ann's count: %+v", c)
	}
	if ns := mustNotifications(t, db, miaReader); len(ns) != 1 || ns[0].Read {
		t.Fatalf("others' marks changed mia's: %+v", ns)
	}

	// Ann marks hers: the count falls; again is no change.
	for range 2 {
		got, err := db.MarkNotificationRead(ctx, annReader, annN.ID)
		if err != nil || !got.Read || !got.ReadAt.Equal(testEpoch) {
			t.Fatalf("mark read = %+v, %v", got, err)
		}
	}
	if c := mustCounts(t, db, annReader); c.Decided != 0 {
		t.Errorf("ann's count after reading = %+v, want 0", c)
	}
	// Max reads the managers' notification: read for him, still unread for Mia.
	if _, err := db.MarkNotificationRead(ctx, maxReader, managersN.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.NotificationByID(ctx, maxReader, managersN.ID); !n.Read {
		t.Errorf("max's reading not kept: %+v", n)
	}
	if n, _ := db.NotificationByID(ctx, miaReader, managersN.ID); n.Read {
		t.Errorf("max's reading marked mia's read: %+v", n)
	}
	// Mia marks all: the managers' up to now are read for her; a later one is not.
	if err := db.MarkAllNotificationsRead(ctx, miaReader); err != nil {
		t.Fatal(err)
	}
	requestBy(t, db, pid, 1000, "req-2")
	ns := mustNotifications(t, db, miaReader)
	if len(ns) != 2 || ns[0].Read || !ns[1].Read {
		t.Errorf("mia's after mark all and a new request = %+v, want the new unread, the old read", ns)
	}
}

// TestNotificationsPaged: newest first, by id, a page never repeats or skips one, and
// the managers' and one's own interleave in order.
func TestNotificationsPaged(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 10000000)
	// A manager who also asks for refunds: hers are decided by Max, others' wait.
	tessKey := "idp|tess"
	tess := Reader{Key: tessKey, Email: "tess@x", Roles: []string{"support", "manager"}}
	var want []int64
	for i := range 7 {
		r, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: int64(100 + i), Reason: "goodwill",
			RequestedBy: "tess@x", RequestedByKey: tessKey, IdempotencyKey: "t" + string(rune('a'+i)), NeedsApproval: true, ApprovalTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.RejectRefund(ctx, r.ID, "max@x", maxReader.Key, "no"); err != nil {
			t.Fatal(err)
		}
		requestBy(t, db, pid, int64(200+i), "a"+string(rune('a'+i)))
	}
	all := mustNotifications(t, db, tess)
	if len(all) != 14 {
		t.Fatalf("tess sees %d notifications, want 7 decisions and 7 requests of ann's", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("not newest first: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	for _, n := range all {
		want = append(want, n.ID)
	}
	var got []int64
	before := int64(0)
	for {
		page, err := db.Notifications(ctx, tess, before, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 4 {
			t.Fatalf("page of %d, want at most 4", len(page))
		}
		for _, n := range page {
			got = append(got, n.ID)
		}
		before = page[len(page)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("paged %v, want %v", got, want)
		}
	}
}

// TestNotificationsOfPayerLinks: the payer's answer is told to the person who made the
// link; a link made before keys tells nobody.
func TestNotificationsOfPayerLinks(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "powens", "EUR", 0)
	l, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: pid, Kind: "webview", URL: "https://webview.example/pay?t=1",
		Nonce: "n1", CreatedBy: "ann@x", CreatedByKey: annReader.Key, ExpiresAt: testEpoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if l2, err := db.PayerLinkByID(ctx, l.ID); err != nil || l2.CreatedByKey != annReader.Key {
		t.Fatalf("link read back = %+v, %v; want ann's key", l2, err)
	}
	if _, err := db.SetPayerLinkState(ctx, l.ID, "confirmed", "Powens reports the payment cancelled."); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db, annReader); c.Payer != 1 || c.Unread() != 1 {
		t.Errorf("ann's counts = %+v, want 1 payer answer", c)
	}
	ns := mustNotifications(t, db, annReader)
	if len(ns) != 1 || ns[0].Kind != NotifyPayerConfirmed || ns[0].LinkID != l.ID ||
		!strings.Contains(ns[0].Text, "The payer confirmed the cancellation") {
		t.Errorf("ann's notifications = %+v", ns)
	}
	if ns := mustNotifications(t, db, maxReader); len(ns) != 0 {
		t.Errorf("max sees ann's payer answer: %+v", ns)
	}

	// An expired link tells its maker; one made without a key tells nobody.
	pid2 := insertTestPayment(t, db, "powens", "EUR", 0)
	if _, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: pid2, Kind: "webview", URL: "https://webview.example/pay?t=2",
		Nonce: "n2", CreatedBy: "ann@x", CreatedByKey: annReader.Key, ExpiresAt: testEpoch.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pid3 := insertTestPayment(t, db, "powens", "EUR", 0)
	newLink(t, db, pid3, "n3") // made without the maker's key, as before migration 0024
	if n, err := db.ExpirePayerLinks(ctx, testEpoch.Add(25*time.Hour)); err != nil || n != 2 {
		t.Fatalf("ExpirePayerLinks = %d, %v", n, err)
	}
	ns = mustNotifications(t, db, annReader)
	if len(ns) != 2 || ns[0].Kind != NotifyPayerLinkEnded || ns[0].PaymentID != pid2 {
		t.Errorf("ann's notifications after the expiry = %+v", ns)
	}
	var total int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM notifications`).Scan(&total); err != nil || total != 2 {
		t.Errorf("%d notifications in all (%v), want 2: the keyless link's expiry tells nobody", total, err)
	}
}

// TestNotifyRefusesNonsense: Notify checks what it records; one to nobody records nothing.
func TestNotifyRefusesNonsense(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100)
	good := Notification{RecipientKey: "k", Kind: NotifyRequestDecided, PaymentID: pid, Text: "t", CreatedAt: testEpoch}
	bad := map[string]func(n *Notification){
		"both":     func(n *Notification) { n.RecipientRole = NotifyManagers },
		"role":     func(n *Notification) { n.RecipientKey, n.RecipientRole = "", "finance" },
		"kind":     func(n *Notification) { n.Kind = "gossip" },
		"payment":  func(n *Notification) { n.PaymentID = 0 },
		"text":     func(n *Notification) { n.Text = " " },
		"the time": func(n *Notification) { n.CreatedAt = time.Time{} },
	}
	for name, change := range bad {
		n := good
		change(&n)
		err := db.tx(ctx, func(tx *Tx) error { return tx.Notify(ctx, n) })
		if err == nil {
			t.Errorf("%s: Notify(%+v) accepted", name, n)
		}
	}
	nobody := good
	nobody.RecipientKey = ""
	if err := db.tx(ctx, func(tx *Tx) error { return tx.Notify(ctx, nobody) }); err != nil {
		t.Errorf("to nobody: %v, want nil", err)
	}
	var total int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM notifications`).Scan(&total); err != nil || total != 0 {
		t.Errorf("%d notifications recorded (%v), want 0", total, err)
	}
}
