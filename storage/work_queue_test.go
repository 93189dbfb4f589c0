package storage

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestWorkQueue seeds one or more payments of each kind of "needs someone", checks each
// count and oldest time, and checks that the payments list's filter for each kind finds
// exactly the payments counted (the dashboard links to it).
func TestWorkQueue(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	x := db.SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := x.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := func(d time.Duration) int64 { return ms(testEpoch.Add(d)) }
	pay := func(status string, created time.Duration) int64 {
		t.Helper()
		id := insertTestPayment(t, db, "powens", "EUR", 10000)
		exec(`UPDATE payments SET status = ?, created_at = ? WHERE id = ?`, status, at(created), id)
		return id
	}
	day := 24 * time.Hour
	since := testEpoch.Add(-7 * day)

	// Unknown provider status: two, the older created 30 days ago.
	pay("unknown", -30*day)
	pay("unknown", -day)
	// Cancelling: three, one with an active link, one with an abandoned link, one without
	// (and an expired link, which is not live).
	linked := pay("cancelling", -5*day)
	abandoned := pay("cancelling", -4*day)
	bare := pay("cancelling", -3*day)
	link := func(pid int64, state, nonce string, created time.Duration) {
		exec(`INSERT INTO payer_links (payment_id, state, kind, url, nonce, created_by, created_at, expires_at, updated_at)
			VALUES (?, ?, 'webview', 'https://x.example/', ?, 'ann@x', ?, ?, ?)`, pid, state, nonce, at(created), at(day), at(created))
	}
	link(linked, "active", "n1", -2*day)
	link(abandoned, "abandoned", "n2", -3*day)
	link(bare, "expired", "n3", -4*day)
	// Actions: one unknown outcome (started 2 hours ago), one failed recently, one failed
	// long ago (not recent).
	unknownPay := pay("paid", -10*day)
	recentFail := pay("paid", -10*day)
	oldFail := pay("paid", -40*day)
	action := func(pid int64, state, key string, started time.Duration) {
		exec(`INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at) VALUES (?, 'refund', ?, ?, 'ann@x', ?)`,
			pid, state, key, at(started))
	}
	action(unknownPay, "unknown", "k1", -2*time.Hour)
	action(recentFail, "failed", "k2", -6*day)
	action(oldFail, "failed", "k3", -20*day)
	// Refunds: a failed one updated yesterday on another payment, one awaiting approval,
	// one of ann's decided two days ago and one of bob's.
	refundFail := pay("paid", -10*day)
	refund := func(pid int64, status, by string, updated time.Duration) int64 {
		var id int64
		err := x.QueryRow(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, approval_expires_at, updated_at)
			VALUES (?, 100, 'EUR', ?, ?, ?, ?, ?) RETURNING id`, pid, status, by, at(updated-time.Hour), at(time.Hour), at(updated)).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	refund(refundFail, "failed", "ann@x", -day)
	refund(pay("paid", -2*day), "awaiting_approval", "bob@x", -3*time.Hour)
	mineDecided := refund(pay("paid", -3*day), "rejected", "ann@x", -2*day)
	bobDecided := refund(pay("paid", -3*day), "rejected", "bob@x", -2*day)
	for _, r := range []int64{mineDecided, bobDecided} {
		exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
			SELECT id, 'max@x', 'rejected', ?, amount, currency, payment_id FROM refunds WHERE id = ?`, at(-2*day), r)
	}
	// An anomaly.
	exec(`INSERT INTO payment_anomalies (payment_id, message, since, actor) VALUES (?, 'more refunded than captured', ?, 'system')`,
		pay("paid", -9*day), at(-8*day))

	q, err := db.WorkQueue(ctx, WorkQueueFilter{Since: since, Links: true, Approvals: true, Mine: &Requester{Email: "ANN@x"}})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name   string
		got    QueueCount
		n      int
		oldest time.Duration
		list   PaymentFilter // the list's filter for the same payments
	}{
		{"unknown status", q.UnknownStatus, 2, -30 * day, PaymentFilter{Status: "unknown"}},
		{"unknown outcome", q.UnknownOutcome, 1, -2 * time.Hour, PaymentFilter{UnknownOutcome: true}},
		{"cancelling without link", q.CancellingNoLink, 1, -3 * day, PaymentFilter{Status: "cancelling", Link: LinkNone}},
		{"links waiting", q.LinksWaiting, 1, -2 * day, PaymentFilter{Link: LinkActive}},
		{"links abandoned", q.LinksAbandoned, 1, -3 * day, PaymentFilter{Link: LinkAbandoned}},
		{"approvals", q.Approvals, 1, -4 * time.Hour, PaymentFilter{}},
		{"my decided", q.MyDecided, 1, -2 * day, PaymentFilter{}},
		{"failures", q.Failures, 2, -6 * day, PaymentFilter{FailedSince: since}},
		{"anomalies", q.Anomalies, 1, -8 * day, PaymentFilter{Anomaly: true}},
	}
	for _, c := range checks {
		if c.got.N != c.n || !c.got.Oldest.Equal(testEpoch.Add(c.oldest)) {
			t.Errorf("%s = %d, oldest %s; want %d, oldest %s", c.name, c.got.N, c.got.Oldest, c.n, testEpoch.Add(c.oldest))
		}
		if reflect.DeepEqual(c.list, PaymentFilter{}) {
			continue
		}
		page, err := db.ListPayments(ctx, c.list)
		if err != nil {
			t.Fatalf("%s: list: %v", c.name, err)
		}
		if page.Count != c.n || len(page.Payments) != c.n {
			t.Errorf("%s: the list finds %d payments (count %d), the dashboard counts %d", c.name, len(page.Payments), page.Count, c.n)
		}
	}

	// What the filter does not ask for stays zero (a role that cannot act on it).
	q, err = db.WorkQueue(ctx, WorkQueueFilter{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if q.CancellingNoLink.N != 0 || q.LinksWaiting.N != 0 || q.Approvals.N != 0 || q.MyDecided.N != 0 || q.UnknownStatus.N != 2 {
		t.Errorf("work queue without links, approvals or person = %+v", q)
	}
	checkStatusCounts(t, db)
	if _, err := db.ListPayments(ctx, PaymentFilter{Link: "lost"}); err == nil {
		t.Error("an unknown link state is accepted")
	}
}

// checkStatusCounts fails unless the kept counts of payments by status are the table's.
func checkStatusCounts(t *testing.T, db *DB) {
	t.Helper()
	var diff int
	err := db.SQL().QueryRow(`SELECT count(*) FROM (
		SELECT status, count(*) AS n FROM payments GROUP BY status
		EXCEPT SELECT status, sum(n) FROM payment_counts GROUP BY status HAVING sum(n) <> 0) AS differing`).Scan(&diff)
	if err != nil {
		t.Fatal(err)
	}
	var extra int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM (SELECT status, sum(n) AS n FROM payment_counts GROUP BY status) c
		WHERE n <> (SELECT count(*) FROM payments p WHERE p.status = c.status)`).Scan(&extra); err != nil {
		t.Fatal(err)
	}
	if diff != 0 || extra != 0 {
		t.Errorf("payment_counts is not the payments' count by status (%d, %d groups differ)", diff, extra)
	}
}

// TestStatusCountsFollowEveryWrite: the counts by status the dashboard reads stay right
// through upserts, status changes, deletions and a bulk load (which drops their triggers
// and counts again).
func TestStatusCountsFollowEveryWrite(t *testing.T) {
	db := newTestDB(t)
	snaps := bulkSnapshots()
	upsertForTest(t, db, snaps[0], UpsertOptions{})
	checkStatusCounts(t, db)
	id := insertTestPayment(t, db, "powens", "EUR", 100)
	for _, st := range []string{"unknown", "cancelling", "cancelling", "paid"} {
		if _, err := db.SQL().Exec(`UPDATE payments SET status = ? WHERE id = ?`, st, id); err != nil {
			t.Fatal(err)
		}
		checkStatusCounts(t, db)
	}
	bulkLoad(t, db, BulkOptions{BatchRows: 2}, BulkPayment{Snapshot: snaps[1]}, BulkPayment{Snapshot: snaps[2]}, BulkPayment{Snapshot: snaps[3]})
	checkStatusCounts(t, db)
	if _, err := db.SQL().Exec(`UPDATE payments SET status = 'unknown' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	checkStatusCounts(t, db)
	var n int
	if err := db.SQL().QueryRow(`SELECT sum(n) FROM payment_counts WHERE status = 'unknown'`).Scan(&n); err != nil || n < 1 {
		t.Errorf("unknown count after the load = %d (%v): the triggers are not back", n, err)
	}
}

// TestQueueSetsReadManyInDateOrder: a work-queue filter matching more payments than the
// list counts is read in date order (chooseQueueSets), and gives the same pages as when
// it matches few.
func TestQueueSetsReadManyInDateOrder(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	n := CountCap + 20
	ids := seedOrdered(t, db, n+30, func(i int) time.Time { return testEpoch.Add(-time.Duration(i) * time.Minute) })
	// Every payment but the first 30 (the newest) has a failed action.
	for i, id := range ids[30:] {
		if _, err := db.SQL().Exec(`INSERT INTO actions (payment_id, kind, state, idempotency_key, actor, started_at)
			VALUES (?, 'refund', 'failed', ?, 'ann@x', ?)`, id, fmt.Sprint("k", i), ms(testEpoch)); err != nil {
			t.Fatal(err)
		}
	}
	f := PaymentFilter{FailedSince: testEpoch.Add(-time.Hour)}
	var seen []int64
	for page := 0; ; page++ {
		p, err := db.ListPayments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 && (p.Count != CountCap || !p.CountCapped) {
			t.Errorf("count = %d (capped %v), want %d capped", p.Count, p.CountCapped, CountCap)
		}
		seen = append(seen, pageIDs(p)...)
		if p.Next == nil {
			break
		}
		f.After = p.Next
	}
	if !slices.Equal(seen, ids[30:]) {
		t.Errorf("the pages list %d payments, want the %d with a failure, newest first", len(seen), n)
	}
	// The same filter with another term: the set is still read in date order, the
	// count is the rows'.
	p, err := db.ListPayments(ctx, PaymentFilter{FailedSince: testEpoch.Add(-time.Hour), Currency: "EUR", Limit: 10})
	if err != nil || len(p.Payments) != 10 || p.Payments[0].ID != ids[30] || !p.CountCapped {
		t.Errorf("with a currency: %d payments, first %v, capped %v (%v)", len(p.Payments), pageIDs(p), p.CountCapped, err)
	}
}
