package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage/pgtest"
)

// copySource makes a SQLite database (whatever engine the run's other tests use) holding
// a bit of every table: payments in three currencies, refunds in every state with
// approvals, actions, payer links, webhooks, audit entries, sessions, settings (bytes
// that are not text), an anomaly and the summaries the triggers keep.
func copySource(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testEpoch
	db.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }

	var pids []int64
	for i, spec := range []struct {
		provider, currency string
		captured           int64
	}{{"bpc", "EUR", 100000}, {"tranzzo", "EUR", 25000}, {"bpc", "GBP", 99999}, {"tranzzo", "JPY", 500000},
		{"powens", "EUR", 0}, {"bpc", "EUR", 70000}, {"tranzzo", "GBP", 12345}, {"bpc", "JPY", 800}} {
		pids = append(pids, insertTestPayment(t, db, spec.provider, spec.currency, spec.captured))
		if i == 0 {
			// A gap in the ids, as deleted rows would leave: the ids are copied as they are.
			if _, err := db.SQL().Exec("INSERT INTO payments (id, public_id, provider, amount, currency, status, created_at, updated_at) VALUES (50, 'pd_gap', 'bpc', 5, 'EUR', 'paid', 1, 1)"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A payment imported with its provider's refunds, a timeline, and a name that is not ASCII.
	snap := paidBPC("p_copy_1", 1500, 2500)
	snap.CustomerName, snap.CustomerEmail = "Zoë Ångström", "zoe@example.com"
	p, _ := upsertForTest(t, db, snap, UpsertOptions{Actor: "import"})
	pids = append(pids, p.ID)

	// Refunds: succeeded, failed, pending, awaiting approval, approved then succeeded, rejected.
	request := func(pid, amount int64, key string, approval bool) (Refund, *Action) {
		r, act, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: amount, Reason: "goodwill", Note: "n",
			RequestedBy: "ann@x", IdempotencyKey: key, NeedsApproval: approval, ApprovalTTL: time.Hour})
		if err != nil {
			t.Fatalf("refund %s: %v", key, err)
		}
		return r, act
	}
	_, a1 := request(pids[0], 1000, "r1", false)
	if _, err := db.FinishAction(ctx, a1.ID, "succeeded", "", "", ""); err != nil {
		t.Fatal(err)
	}
	_, a2 := request(pids[2], 999, "r2", false)
	if _, err := db.FinishAction(ctx, a2.ID, "failed", "", "declined", ""); err != nil {
		t.Fatal(err)
	}
	request(pids[3], 7000, "r3", false)
	request(pids[1], 300, "r4", true)
	r5, _ := request(pids[5], 40000, "r5", true)
	_, a5, err := db.ApproveRefund(ctx, r5.ID, "max@x", "approve-5", expectationOf(r5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishAction(ctx, a5.ID, "succeeded", "", "", ""); err != nil {
		t.Fatal(err)
	}
	r6, _ := request(pids[6], 2000, "r6", true)
	if _, err := db.RejectRefund(ctx, r6.ID, "kim@x", "", "not justified"); err != nil {
		t.Fatal(err)
	}

	// A cancel action with its payer link.
	act, err := db.StartAction(ctx, Action{PaymentID: pids[4], Kind: "cancel", IdempotencyKey: "c1", Actor: "ann@x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: pids[4], ActionID: act.ID, Kind: "validate_uri",
		URL: "https://bank.example/validate/1", Nonce: "n1", CreatedBy: "ann@x", ExpiresAt: testEpoch.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "bpc", EventKey: "req-1", EventType: "payment.succeeded",
		PaymentID: pids[0], Verdict: "applied", Headers: json.RawMessage(`{"Api-Request-Id":"req-1"}`), Body: []byte(`{"id":"p_1"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordWebhook(ctx, WebhookEvent{Provider: "tranzzo", Verdict: "malformed", Body: []byte("\x00\xff not json")}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.Audit(ctx, AuditEntry{Actor: "ann@x", Remote: "10.0.0.1", Kind: "export", PaymentID: pids[i%len(pids)],
			Message: fmt.Sprintf("export %d", i), Data: json.RawMessage(`{"rows": 3}`)}); err != nil {
			t.Fatal(err)
		}
	}
	hash := make([]byte, 32)
	for i := range hash {
		hash[i] = byte(255 - i)
	}
	if err := db.InsertSession(ctx, Session{IDHash: hash, Subject: "ann", Email: "ann@x", Name: "Ann", UserAgent: "test",
		SignedInAt: testEpoch, LastSeen: testEpoch, ExpiresAt: testEpoch.Add(time.Hour), Data: []byte(`{"csrf":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(ctx, "demo_key", []byte{0, 1, 2, 0xfe, 0xff}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec("INSERT INTO payment_anomalies (payment_id, message, since, actor) VALUES (?, 'refunded more than captured', 1, 'webhook')", pids[7]); err != nil {
		t.Fatal(err)
	}
	return db
}

// copyTarget opens a fresh, empty PostgreSQL database (migrated by Open).
func copyTarget(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return testEpoch.Add(24 * time.Hour) }
	t.Cleanup(func() { db.Close() })
	return db
}

// tableDump returns every row of a table, each rendered as text, sorted (the two engines
// order text differently): equal dumps mean equal contents.
func tableDump(t *testing.T, db *DB, table string, columns []string) []string {
	t.Helper()
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = quoteName(c)
	}
	rows, err := db.SQL().Query("SELECT " + strings.Join(cols, ", ") + " FROM " + quoteName(table))
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	var out []string
	vals := make([]any, len(columns))
	dest := make([]any, len(columns))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if str, ok := v.(string); ok {
				v, _ = postgresText(str) // what PostgreSQL text can hold (CopyReport.Replaced)
			}
			parts[i] = fmt.Sprintf("%T:%q", v, fmt.Sprint(v))
			if b, ok := v.([]byte); ok {
				parts[i] = fmt.Sprintf("bytes:%x", b)
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestCopyDatabase(t *testing.T) {
	ctx := context.Background()
	src := copySource(t)
	dst := copyTarget(t) // also proves a freshly migrated target counts as empty (seededTables)

	indexes := indexDefs(t, dst)
	progress := map[string]int64{}
	report, err := CopyDatabase(ctx, src, dst, func(table string, n int64) { progress[table] = n })
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	// The indexes dropped for the copy are all back, as they were.
	if after := indexDefs(t, dst); !slices.Equal(indexes, after) || len(after) < 20 {
		t.Errorf("indexes after the copy:\n%q\nwant\n%q", after, indexes)
	}
	if progress["index payments_search_words"] == 0 {
		t.Errorf("progress = %v, want the index builds too", progress)
	}
	// Parents before children: every table after those its foreign keys name.
	at := map[string]int{}
	for i, tb := range report.Tables {
		at[tb.Name] = i
	}
	for child, parent := range map[string]string{"events": "payments", "refunds": "payments", "refund_approvals": "refunds",
		"actions": "refunds", "payer_links": "actions", "webhook_events": "payments", "payment_anomalies": "payments"} {
		if at[child] < at[parent] {
			t.Errorf("%s copied before %s", child, parent)
		}
	}
	if _, ok := at["schema_migrations"]; ok {
		t.Error("schema_migrations was copied: each database keeps its own")
	}

	// Every table holds exactly the source's rows (generated columns aside).
	var total int64
	for _, tb := range report.Tables {
		total += tb.Rows
		if progress[tb.Name] != tb.Rows {
			t.Errorf("progress of %s = %d, want %d", tb.Name, progress[tb.Name], tb.Rows)
		}
		if slices.Contains(tb.Columns, "search_words") {
			t.Errorf("%s: the generated column search_words was copied", tb.Name)
		}
		want, got := tableDump(t, src, tb.Name, tb.Columns), tableDump(t, dst, tb.Name, tb.Columns)
		if !slices.Equal(want, got) {
			t.Errorf("table %s differs:\nsource %q\ntarget %q", tb.Name, want, got)
		}
	}
	if want := []ReplacedText{{Table: "webhook_events", Column: "excerpt", Values: 1}}; !reflect.DeepEqual(report.Replaced, want) {
		t.Errorf("replaced = %+v, want %+v (the refused webhook's NUL)", report.Replaced, want)
	}
	if total != report.Rows || total == 0 {
		t.Errorf("report rows = %d, tables sum to %d", report.Rows, total)
	}
	for _, name := range []string{"payments", "events", "refunds", "refund_approvals", "actions", "payer_links", "webhook_events",
		"audit_log", "sessions", "settings", "payment_anomalies", "refund_days", "refund_days_people", "refund_day_totals",
		"refund_summary_version", "payment_counts"} {
		if report.Tables[at[name]].Name != name || report.Tables[at[name]].Rows == 0 {
			t.Errorf("table %s: not copied, or the fixture left it empty", name)
		}
	}

	check, err := VerifyCopy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !check.OK() || len(check.Warnings) > 0 {
		t.Fatalf("verify: differences %q, warnings %q", check.Differences, check.Warnings)
	}
	if !check.Audit.Target.OK || check.Audit.TargetEntries != 5 || check.Audit.TargetLast == "" || check.Audit.TargetLast != check.Audit.SourceLast {
		t.Errorf("audit = %+v", check.Audit)
	}
	var eurCaptured int64
	for _, m := range check.Money {
		if m.Table == "payments" && m.Column == "captured" && m.Currency == "EUR" {
			eurCaptured = m.Target
		}
	}
	if eurCaptured != 100000+25000+0+70000+100000 {
		t.Errorf("EUR captured on the target = %d", eurCaptured)
	}

	// Read back through the storage API: the same payments, refunds, audit, sessions (at
	// the same time: what is reserved depends on it).
	src.Now = func() time.Time { return testEpoch.Add(time.Hour) }
	dst.Now = src.Now
	var ids []int64
	rows, err := src.SQL().Query("SELECT id FROM payments ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		want, err := src.PaymentByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.PaymentByID(ctx, id)
		if err != nil {
			t.Fatalf("target PaymentByID(%d): %v", id, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("payment %d:\nsource %+v\ntarget %+v", id, want, got)
		}
		for _, read := range []func(*DB) (any, error){
			func(db *DB) (any, error) { return db.RefundsOfPayment(ctx, id) },
			func(db *DB) (any, error) { return db.ActionsOfPayment(ctx, id) },
			func(db *DB) (any, error) { return db.PayerLinksOfPayment(ctx, id) },
			func(db *DB) (any, error) { return db.Events(ctx, id) },
			func(db *DB) (any, error) { return db.Balance(ctx, id) },
		} {
			want, err1 := read(src)
			got, err2 := read(dst)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(want, got) {
				t.Errorf("payment %d: source %+v (%v), target %+v (%v)", id, want, err1, got, err2)
			}
		}
	}
	wantRefunds, err := src.ListRefunds(ctx, RefundFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	gotRefunds, err := dst.ListRefunds(ctx, RefundFilter{Limit: 100})
	if err != nil {
		t.Fatalf("target ListRefunds: %v", err)
	}
	if len(wantRefunds) < 8 || !reflect.DeepEqual(wantRefunds, gotRefunds) {
		t.Errorf("refund history:\nsource %+v\ntarget %+v", wantRefunds, gotRefunds)
	}
	wantAudit, _ := src.ListAudit(ctx, AuditFilter{})
	gotAudit, err := dst.ListAudit(ctx, AuditFilter{})
	if err != nil || !reflect.DeepEqual(wantAudit, gotAudit) {
		t.Errorf("audit (%v):\nsource %+v\ntarget %+v", err, wantAudit, gotAudit)
	}
	sess, err := dst.Session(ctx, onlySessionHash(t, src))
	if err != nil || sess.Email != "ann@x" || string(sess.Data) != `{"csrf":"x"}` {
		t.Errorf("session = %+v, %v", sess, err)
	}
	if v, err := dst.Setting(ctx, "demo_key"); err != nil || !slices.Equal(v, []byte{0, 1, 2, 0xfe, 0xff}) {
		t.Errorf("setting = %x, %v", v, err)
	}

	// The target works on: new ids follow the copied ones, the triggers run again, the
	// audit chain goes on from the copied hash.
	before := countRows(t, dst, "payment_counts")
	var newID int64
	if err := dst.SQL().QueryRow(`INSERT INTO payments (public_id, provider, amount, currency, status, created_at, updated_at)
		VALUES ('pd_after', 'bpc', 1, 'CHF', 'paid', 1, 1) RETURNING id`).Scan(&newID); err != nil {
		t.Fatalf("insert after the copy: %v", err)
	}
	if newID <= slices.Max(ids) {
		t.Errorf("new payment id %d, want above the copied %d (identities reset)", newID, slices.Max(ids))
	}
	if after := countRows(t, dst, "payment_counts"); after != before+1 {
		t.Errorf("payment_counts %d -> %d rows after a CHF payment: its trigger is off", before, after)
	}
	e, err := dst.Audit(ctx, AuditEntry{Actor: "ann@x", Kind: "export", Message: "after the move"})
	if err != nil || e.PrevHash != check.Audit.SourceLast {
		t.Errorf("audit after the copy = %+v, %v; want it to follow %s", e, err, check.Audit.SourceLast)
	}
	if v, err := dst.VerifyAudit(ctx); err != nil || !v.OK {
		t.Errorf("verify after the copy = %+v, %v", v, err)
	}
}

// indexDefs lists the definitions of the indexes of a PostgreSQL database.
func indexDefs(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.SQL().Query("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// onlySessionHash returns the id hash of the one session in db.
func onlySessionHash(t *testing.T, db *DB) []byte {
	t.Helper()
	var h []byte
	if err := db.SQL().QueryRow("SELECT id_hash FROM sessions").Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	ctx := context.Background()
	src := copySource(t)
	dst := copyTarget(t)
	if err := dst.SetSetting(ctx, "mine", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	_, err := CopyDatabase(ctx, src, dst, nil)
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "settings") {
		t.Fatalf("copy into a non-empty target = %v, want ErrTargetNotEmpty naming settings", err)
	}
	// Left as it was: nothing copied, the setting there, the triggers on.
	if n := countRows(t, dst, "payments"); n != 0 {
		t.Errorf("payments = %d after a refused copy", n)
	}
	if v, err := dst.Setting(ctx, "mine"); err != nil || string(v) != "kept" {
		t.Errorf("setting = %q, %v", v, err)
	}
	var off int
	if err := dst.SQL().QueryRow(`SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'`).Scan(&off); err != nil || off != 0 {
		t.Errorf("%d triggers left off (%v)", off, err)
	}
}

func TestVerifyCopyReportsDifferences(t *testing.T) {
	ctx := context.Background()
	src := copySource(t)
	dst := copyTarget(t)
	if _, err := CopyDatabase(ctx, src, dst, nil); err != nil {
		t.Fatal(err)
	}
	// After the copy, the target is changed: a refund's amount, and one session more.
	var id int64
	var currency, status string
	if err := dst.SQL().QueryRow("SELECT id, currency, status FROM refunds WHERE status = 'succeeded' ORDER BY id LIMIT 1").Scan(&id, &currency, &status); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.SQL().Exec("UPDATE refunds SET amount = amount + 1 WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	h := make([]byte, 32)
	if err := dst.InsertSession(ctx, Session{IDHash: h, SignedInAt: testEpoch, LastSeen: testEpoch, ExpiresAt: testEpoch, Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	check, err := VerifyCopy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if check.OK() {
		t.Fatal("verify found nothing after the target was changed")
	}
	diff := strings.Join(check.Differences, "\n")
	for _, want := range []string{"refunds.amount " + currency + " " + status + ":", "table sessions: 1 rows in the source, 2 in the target"} {
		if !strings.Contains(diff, want) {
			t.Errorf("differences %q, want one saying %q", diff, want)
		}
	}
	if strings.Contains(diff, "payments.") || strings.Contains(diff, "audit") {
		t.Errorf("differences %q name what did not change", diff)
	}
}

func TestParentsFirstRefusesACycle(t *testing.T) {
	plan := []copyTable{{name: "a"}, {name: "b"}, {name: "c"}}
	if _, err := parentsFirst(plan, map[string][]string{"a": {"b"}, "b": {"a"}}); err == nil || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("cycle: err = %v", err)
	}
	got, err := parentsFirst(plan, map[string][]string{"a": {"c", "a"}, "b": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range got {
		names = append(names, tb.name)
	}
	if strings.Join(names, " ") != "c a b" {
		t.Errorf("order = %v, want c a b", names)
	}
}

func TestCopyValue(t *testing.T) {
	for _, tt := range []struct {
		in       any
		pgType   string
		want     any
		replaced bool
		err      string
	}{
		{int64(5), "int8", int64(5), false, ""},
		{"12", "int8", int64(12), false, ""},
		{"twelve", "int8", nil, false, "not an integer"},
		{"text", "bytea", []byte("text"), false, ""},
		{[]byte("été"), "text", "été", false, ""},
		{"a\x00b", "text", "a\uFFFDb", true, ""},
		{"a\xff\xfe\xfdb", "text", "a\uFFFDb", true, ""},
		{int64(1), "bool", true, false, ""},
		{nil, "int8", nil, false, ""},
		{providers.Name(bpc.Name), "unknown_type", providers.Name(bpc.Name), false, ""},
	} {
		got, replaced, err := copyValue(tt.in, tt.pgType)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("copyValue(%#v, %s) error = %v, want %q", tt.in, tt.pgType, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || replaced != tt.replaced {
			t.Errorf("copyValue(%#v, %s) = %#v, %v, %v; want %#v, %v", tt.in, tt.pgType, got, replaced, err, tt.want, tt.replaced)
		}
	}
}
