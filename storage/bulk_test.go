package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/tranzzo"
)

// bulkSnapshots is a small, varied set of new payments: the three providers, refunds
// reported by the provider, search material (names, e-mails, last 4).
func bulkSnapshots() []providers.Snapshot {
	created := testEpoch.Add(-48 * time.Hour)
	return []providers.Snapshot{
		{Provider: powens.Name, PaymentID: "4821", MerchantReference: "INV-1001", Amount: 5090, Captured: 5090,
			Currency: "EUR", RawStatus: "done", CustomerName: "Jean Dupont", CustomerEmail: "jean@example.com",
			CreatedAt: created, Raw: []byte(`{ "provider": "powens", "payment": {"id": 4821} }`)},
		{Provider: bpc.Name, SessionID: "ps_1", PaymentID: "p_1", Amount: 20000, Captured: 20000, Refunded: 7000,
			Currency: "EUR", RawStatus: "succeeded", SessionStatus: "completed", CardLast4: "4242",
			CustomerName: "Olena Shevchenko", CustomerEmail: "olena@example.org", CreatedAt: created.Add(time.Minute),
			Refunds: []providers.RefundSnapshot{
				{ID: "re_1", Amount: 5000, Status: "succeeded", Succeeded: true, CreatedAt: created.Add(24 * time.Hour)},
				{ID: "re_2", Amount: 2000, Status: "failed", Failed: true, CreatedAt: created.Add(25 * time.Hour)},
			}},
		{Provider: tranzzo.Name, PaymentID: "tz_1", OrderID: "ord-1", Amount: 150000, Captured: 150000,
			Currency: "UAH", RawStatus: "success", Method: "purchase", Mode: "hosted", CardLast4: "1111",
			CustomerName: "Taras Kovalenko", CustomerEmail: "taras@example.net", CreatedAt: created.Add(2 * time.Minute),
			Refunds: []providers.RefundSnapshot{{ID: "tz_r1", Amount: 150000, Status: "success", Succeeded: true}}},
		{Provider: bpc.Name, SessionID: "ps_2", Amount: 999, Currency: "GBP", RawStatus: "open", SessionStatus: "open",
			CustomerName: "Ada Lovelace", CreatedAt: created.Add(3 * time.Minute)},
	}
}

// schemaOf lists the database's tables, indexes and triggers with their SQL (on
// PostgreSQL, and its constraints: the loader drops the foreign keys there).
func schemaOf(t *testing.T, db *DB) []string {
	t.Helper()
	query := "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
	if onPostgres() {
		query = `SELECT s FROM (
			SELECT 'table ' || tablename AS s FROM pg_tables WHERE schemaname = current_schema()
			UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
				FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
			UNION ALL SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
		) q ORDER BY s`
	}
	rows, err := db.db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// searchIDs returns the public ids a search finds.
func searchIDs(t *testing.T, db *DB, q string) []string {
	t.Helper()
	page, err := db.ListPayments(context.Background(), PaymentFilter{Query: q})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var ids []string
	for _, p := range page.Payments {
		ids = append(ids, p.PublicID)
	}
	return ids
}

// bulkLoad loads payments with a BulkLoader and fails the test on any error.
func bulkLoad(t *testing.T, db *DB, opt BulkOptions, payments ...BulkPayment) BulkStats {
	t.Helper()
	l, err := db.NewBulkLoader(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Abort()
	for _, p := range payments {
		if _, err := l.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := l.Close()
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// TestBulkLoadMatchesUpsert: a bulk load stores what UpsertPayment would (rows, provider
// refunds, imported events, search index), and leaves the schema as it found it.
func TestBulkLoadMatchesUpsert(t *testing.T) {
	ctx := context.Background()
	upserted := newTestDB(t)
	loaded := newTestDB(t)
	fresh := schemaOf(t, loaded)
	var payments []BulkPayment
	for _, s := range bulkSnapshots() {
		upsertForTest(t, upserted, s, UpsertOptions{Actor: "import", Kind: "imported"})
		payments = append(payments, BulkPayment{Snapshot: s})
	}
	// Batches of 3 rows: the load spans two transactions.
	stats := bulkLoad(t, loaded, BulkOptions{BatchRows: 3, Events: true}, payments...)
	if got, want := stats, (BulkStats{Payments: 4, Refunds: 3, Events: 4}); got.Payments != want.Payments || got.Refunds != want.Refunds || got.Events != want.Events {
		t.Errorf("stats: got %+v, want %+v", got, want)
	}

	if got := schemaOf(t, loaded); !reflect.DeepEqual(got, fresh) {
		t.Errorf("schema after the load differs from a fresh database's:\n got %q\nwant %q", got, fresh)
	}
	if _, err := loaded.Setting(ctx, bulkSetting); !errors.Is(err, ErrNotFound) {
		t.Errorf("the restore record is still there: %v", err)
	}
	for _, s := range bulkSnapshots() {
		want, err := upserted.PaymentByProviderID(ctx, s.Provider, snapshotKey(s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := loaded.PaymentByPublicID(ctx, want.PublicID)
		if err != nil {
			t.Fatalf("%s not loaded: %v", want.PublicID, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", want.PublicID, got, want)
		}
		if g, w := refundsOf(t, loaded, got.ID), refundsOf(t, upserted, want.ID); !reflect.DeepEqual(g, w) {
			t.Errorf("%s refunds:\n got %+v\nwant %+v", want.PublicID, g, w)
		}
		ge, we := eventsOf(t, loaded, got.ID), eventsOf(t, upserted, want.ID)
		if len(ge) != len(we) {
			t.Fatalf("%s events: got %d, want %d", want.PublicID, len(ge), len(we))
		}
		for i := range ge {
			ge[i].ID, we[i].ID, ge[i].PaymentID, we[i].PaymentID = 0, 0, 0, 0
			if !reflect.DeepEqual(ge[i], we[i]) {
				t.Errorf("%s event %d:\n got %+v\nwant %+v", want.PublicID, i, ge[i], we[i])
			}
		}
	}
	for _, q := range []string{"shevchenko", "olen", "jean@example.com", "4242", "ps_2", "ord-1", "INV-1001", "4821", "ada love"} {
		if got, want := searchIDs(t, loaded, q), searchIDs(t, upserted, q); !reflect.DeepEqual(got, want) || len(got) == 0 {
			t.Errorf("search %q: got %v, want %v (not empty)", q, got, want)
		}
	}
	// The search index stays in step with later writes (the insert trigger is back).
	p, _ := upsertForTest(t, loaded, providers.Snapshot{Provider: powens.Name, PaymentID: "9000", Amount: 100,
		Currency: "EUR", RawStatus: "done", CustomerName: "Grace Hopper"}, UpsertOptions{})
	if got := searchIDs(t, loaded, "hopper"); !reflect.DeepEqual(got, []string{p.PublicID}) {
		t.Errorf("search after the load for a new payment: got %v, want [%s]", got, p.PublicID)
	}
}

// TestBulkLoadIntoExistingRows: rows already there are indexed with the new ones.
func TestBulkLoadIntoExistingRows(t *testing.T) {
	db := newTestDB(t)
	snaps := bulkSnapshots()
	first, _ := upsertForTest(t, db, snaps[0], UpsertOptions{})
	bulkLoad(t, db, BulkOptions{}, BulkPayment{Snapshot: snaps[1]})
	if got := searchIDs(t, db, "dupont"); !reflect.DeepEqual(got, []string{first.PublicID}) {
		t.Errorf("search for the row stored before the load: got %v", got)
	}
	if got := searchIDs(t, db, "olena"); len(got) != 1 {
		t.Errorf("search for the loaded row: got %v", got)
	}
	// Without Events, a loaded payment has no timeline.
	p, err := db.PaymentByProviderID(context.Background(), bpc.Name, "p_1")
	if err != nil {
		t.Fatal(err)
	}
	if evs := eventsOf(t, db, p.ID); len(evs) != 0 {
		t.Errorf("events without Events: got %d, want 0", len(evs))
	}
}

// TestBulkLoadRequests: refunds asked through Paydesk are stored with their requester,
// reason and decision; one that became a provider refund is stored once.
func TestBulkLoadRequests(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	snaps := bulkSnapshots()
	asked := testEpoch.Add(-30 * time.Hour)
	bpcPayment := BulkPayment{Snapshot: snaps[1], Requests: []BulkRefund{
		// re_1 was asked by sam and approved by max.
		{ProviderRefundID: "re_1", Amount: 5000, Reason: "requested_by_customer", RequestedBy: "sam@paydesk.example",
			RequestedAt: asked, ApprovalExpiresAt: asked.Add(72 * time.Hour),
			Decision: "approved", DecidedBy: "max@paydesk.example", DecidedAt: asked.Add(time.Hour)},
		// A request max rejected: it never reached BPC.
		{Amount: 3000, Status: "rejected", Reason: "other", Note: "asked twice", RequestedBy: "tess@paydesk.example",
			RequestedAt: asked.Add(2 * time.Hour), ApprovalExpiresAt: asked.Add(74 * time.Hour),
			Decision: "rejected", DecidedBy: "max@paydesk.example", DecisionReason: "duplicate request", DecidedAt: asked.Add(3 * time.Hour)},
		// One still waiting for a manager: it reserves its amount.
		{Amount: 4000, Status: "awaiting_approval", Reason: "goodwill", RequestedBy: "sam@paydesk.example",
			RequestedAt: testEpoch.Add(-time.Hour), ApprovalExpiresAt: testEpoch.Add(71 * time.Hour)},
	}}
	stats := bulkLoad(t, db, BulkOptions{Events: true}, bpcPayment, BulkPayment{Snapshot: snaps[2]})
	if stats.Refunds != 5 || stats.Approvals != 2 {
		t.Errorf("stats: got %+v, want 5 refunds and 2 approvals", stats)
	}
	p, err := db.PaymentByProviderID(ctx, bpc.Name, "p_1")
	if err != nil {
		t.Fatal(err)
	}
	refunds, err := db.RefundsOfPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ provider, status, reason, by, decidedBy string }
	var got []seen
	for _, r := range refunds {
		got = append(got, seen{r.ProviderRefundID, r.Status, r.Reason, r.RequestedBy, r.DecidedBy})
	}
	want := []seen{
		{"re_1", "succeeded", "requested_by_customer", "sam@paydesk.example", "max@paydesk.example"},
		{"", "rejected", "other", "tess@paydesk.example", "max@paydesk.example"},
		{"re_2", "failed", "provider", "provider", ""},
		{"", "awaiting_approval", "goodwill", "sam@paydesk.example", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refunds:\n got %+v\nwant %+v", got, want)
	}
	b, err := db.Balance(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	// captured 200.00 − succeeded max(50.00 held, 70.00 reported) − reserved 40.00.
	if b.Refundable != 20000-7000-4000 || b.Reserved != 4000 {
		t.Errorf("balance: got %+v, want 90.00 refundable with 40.00 reserved", b)
	}
	approved, err := db.ListRefunds(ctx, RefundFilter{ApprovedBy: "max@paydesk.example"})
	if err != nil || len(approved) != 1 || approved[0].ProviderRefundID != "re_1" {
		t.Errorf("refunds approved by max: got %+v (%v), want re_1", approved, err)
	}
	var kinds []string
	for _, e := range eventsOf(t, db, p.ID) {
		kinds = append(kinds, e.Kind)
	}
	if got, want := strings.Join(kinds, " "), "refund_requested refund_approved refund_requested refund_rejected refund_requested imported"; got != want {
		t.Errorf("timeline kinds: got %q, want %q", got, want)
	}
}

// TestBulkLoadRefusesBadPayments: a payment or request that cannot be stored is refused
// before anything is written, with a message saying why.
func TestBulkLoadRefusesBadPayments(t *testing.T) {
	good := bulkSnapshots()[1]
	req := BulkRefund{Amount: 100, Status: "rejected", Reason: "duplicate", RequestedBy: "sam@paydesk.example", RequestedAt: testEpoch}
	with := func(edit func(*BulkRefund)) BulkPayment {
		r := req
		edit(&r)
		return BulkPayment{Snapshot: good, Requests: []BulkRefund{r}}
	}
	tests := []struct {
		name string
		p    BulkPayment
		want string
	}{
		{"no provider", BulkPayment{Snapshot: providers.Snapshot{PaymentID: "x", Currency: "EUR"}}, "unknown provider"},
		{"bad currency", BulkPayment{Snapshot: providers.Snapshot{Provider: bpc.Name, PaymentID: "x", Currency: "EU"}}, "ISO 4217"},
		{"zero amount", with(func(r *BulkRefund) { r.Amount = 0 }), "not positive"},
		{"above the payment", with(func(r *BulkRefund) { r.Amount = good.Amount + 1 }), "above the payment"},
		{"unknown provider refund", with(func(r *BulkRefund) { r.ProviderRefundID = "re_9" }), "not one of the payment's"},
		{"unknown status", with(func(r *BulkRefund) { r.Status = "lost" }), "unknown status"},
		{"unknown reason", with(func(r *BulkRefund) { r.Reason = "whim" }), "unknown reason"},
		{"other without note", with(func(r *BulkRefund) { r.Reason = "other" }), "needs a note"},
		{"no requester", with(func(r *BulkRefund) { r.RequestedBy = "" }), "no requester"},
		{"unknown decision", with(func(r *BulkRefund) { r.Decision = "maybe" }), "unknown decision"},
		{"decision without who", with(func(r *BulkRefund) { r.Decision = "rejected" }), "needs who and when"},
		{"self approval", with(func(r *BulkRefund) {
			r.Decision, r.DecidedBy, r.DecidedAt = "approved", "SAM@paydesk.example", testEpoch
		}), ErrSelfApproval.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newTestDB(t)
			l, err := db.NewBulkLoader(context.Background(), BulkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Add(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add: got %v, want an error saying %q", err, tt.want)
			}
			if _, err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if n := rowCount(t, db, "payments") + rowCount(t, db, "refunds"); n != 0 {
				t.Errorf("%d rows written, want none", n)
			}
		})
	}
}

// TestBulkLoadAbort: an aborted load keeps its committed batches and puts the indexes back.
func TestBulkLoadAbort(t *testing.T) {
	db := newTestDB(t)
	fresh := schemaOf(t, db)
	l, err := db.NewBulkLoader(context.Background(), BulkOptions{BatchRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bulkSnapshots()[:3] {
		if _, err := l.Add(BulkPayment{Snapshot: s}); err != nil {
			t.Fatal(err)
		}
	}
	l.Abort()
	if _, err := l.Add(BulkPayment{Snapshot: bulkSnapshots()[3]}); err == nil {
		t.Error("Add after Abort: got no error")
	}
	if got := rowCount(t, db, "payments"); got != 2 {
		t.Errorf("payments after the abort: got %d, want the first batch's 2", got)
	}
	if got := schemaOf(t, db); !reflect.DeepEqual(got, fresh) {
		t.Errorf("schema after an abort differs from a fresh database's")
	}
	if got := searchIDs(t, db, "olena"); len(got) != 1 {
		t.Errorf("search after an abort: got %v, want the loaded payment", got)
	}
}

// TestBulkLoadRecoversAfterACrash: a process that dies during a load leaves the indexes
// dropped; the next Open puts them back and rebuilds the search index.
func TestBulkLoadRecoversAfterACrash(t *testing.T) {
	ctx := context.Background()
	db, path, fresh := crashFixture(t)
	l, err := db.NewBulkLoader(ctx, BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bulkSnapshots() {
		if _, err := l.Add(BulkPayment{Snapshot: s}); err != nil {
			t.Fatal(err)
		}
	}
	// The batch commits, then the process "dies": nothing is put back.
	if err := l.commit(); err != nil {
		t.Fatal(err)
	}
	l.done = true
	l.conn.Close()
	if got := schemaOf(t, db); reflect.DeepEqual(got, fresh) {
		t.Fatal("the load dropped nothing: the test proves nothing")
	}
	// A second load refuses to start on top of the unfinished one.
	if _, err := db.NewBulkLoader(ctx, BulkOptions{}); err == nil || !strings.Contains(err.Error(), "unfinished") {
		t.Errorf("second load: got %v, want an unfinished-load error", err)
	}
	db.Close()

	db = reopenRecovered(t, path, fresh)
	defer db.Close()
	if got := searchIDs(t, db, "kovalenko"); len(got) != 1 {
		t.Errorf("search after recovery: got %v, want the loaded payment", got)
	}
}

// TestBulkLoadBatches: many payments over several batches all arrive, in order.
func TestBulkLoadBatches(t *testing.T) {
	db := newTestDB(t)
	if id, err := db.LastPaymentID(context.Background()); err != nil || id != 0 {
		t.Errorf("LastPaymentID of an empty database: %d (%v), want 0", id, err)
	}
	var payments []BulkPayment
	for i := range 250 {
		payments = append(payments, BulkPayment{Snapshot: providers.Snapshot{Provider: powens.Name,
			PaymentID: fmt.Sprint(10_000 + i), Amount: int64(100 + i), Captured: int64(100 + i), Currency: "EUR",
			RawStatus: "done", CustomerName: fmt.Sprintf("Customer %d", i), CreatedAt: testEpoch.Add(time.Duration(i) * time.Minute)}})
		if i%7 == 0 { // some refunds, over several batches
			payments[i].Snapshot.Refunded = 50
			payments[i].Snapshot.Refunds = []providers.RefundSnapshot{{ID: fmt.Sprint("r", i), Amount: 50, Status: "done", Succeeded: true}}
		}
	}
	stats := bulkLoad(t, db, BulkOptions{BatchRows: 100}, payments...)
	if stats.Payments != 250 || rowCount(t, db, "payments") != 250 {
		t.Errorf("payments: stats %d, rows %d, want 250", stats.Payments, rowCount(t, db, "payments"))
	}
	if id, err := db.LastPaymentID(context.Background()); err != nil || id != 250 {
		t.Errorf("LastPaymentID: %d (%v), want 250, the number of payments", id, err)
	}
	// The ids the loader handed out are taken: the next payment (and refund) stored the
	// usual way follows them (on PostgreSQL, the loader moved the identity sequences).
	next, _ := upsertForTest(t, db, providers.Snapshot{Provider: powens.Name, PaymentID: "20000", Amount: 100, Captured: 100,
		Currency: "EUR", RawStatus: "done", CreatedAt: testEpoch, Refunds: []providers.RefundSnapshot{
			{ID: "r_after", Amount: 50, Status: "done", Succeeded: true}}}, UpsertOptions{})
	if next.ID != 251 {
		t.Errorf("payment stored after the load: id %d, want 251", next.ID)
	}
	var refundID int64
	if err := db.db.QueryRow("SELECT id FROM refunds WHERE payment_id = ?", next.ID).Scan(&refundID); err != nil ||
		stats.Refunds != 36 || refundID != 37 {
		t.Errorf("refund stored after the 36 of the load: id %d (%v), want 37", refundID, err)
	}
	page, err := db.ListPayments(context.Background(), PaymentFilter{Limit: 1})
	if err != nil || len(page.Payments) != 1 || page.Payments[0].PaymentID != "10249" {
		t.Errorf("newest payment: got %+v (%v), want 10249", page.Payments, err)
	}
}

// TestBulkLoadRawJSON: the loader compacts each payment's raw JSON and refuses JSON that
// is not, unless the caller vouches that it is compact already (RawCompact), when it is
// kept as given.
func TestBulkLoadRawJSON(t *testing.T) {
	ctx := context.Background()
	snap := func(id, raw string) BulkPayment {
		return BulkPayment{Snapshot: providers.Snapshot{Provider: powens.Name, PaymentID: id, Amount: 100, Currency: "EUR",
			RawStatus: "done", Captured: 100, CreatedAt: testEpoch, Raw: json.RawMessage(raw)}}
	}
	for _, c := range []struct {
		opt       BulkOptions
		raw, want string
	}{
		{BulkOptions{}, `{ "provider" : "powens" }`, `{"provider":"powens"}`},
		{BulkOptions{RawCompact: true}, `{"provider":"powens"}`, `{"provider":"powens"}`},
	} {
		db := newTestDB(t)
		bulkLoad(t, db, c.opt, snap("81001", c.raw))
		p, err := db.PaymentByProviderID(ctx, powens.Name, "81001")
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Raw) != c.want {
			t.Errorf("RawCompact %v: stored %s, want %s", c.opt.RawCompact, p.Raw, c.want)
		}
	}
	db := newTestDB(t)
	l, err := db.NewBulkLoader(ctx, BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Abort()
	if _, err := l.Add(snap("81002", `{"provider":`)); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("broken raw JSON: %v, want ErrInvalidSnapshot", err)
	}
}

// reopenRecovered opens the database at path again, as the next process would after a
// crash mid-load, and checks recovery left the schema of a fresh database (fresh).
func reopenRecovered(t *testing.T, path string, fresh []string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got := schemaOf(t, db); !reflect.DeepEqual(got, fresh) {
		t.Errorf("schema after recovery differs from a fresh database's:\n got %q\nwant %q", got, fresh)
	}
	return db
}

// crashFixture opens a new database file for a crash test: the handle, its path (to open
// again as the next process would) and its fresh schema (what recovery must restore).
func crashFixture(t *testing.T) (*DB, string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crash.db")
	if onPostgres() {
		path = testDSN(t)
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path, schemaOf(t, db)
}
