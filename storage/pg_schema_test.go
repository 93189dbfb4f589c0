// The PostgreSQL schema (migrations/postgres/0018_schema.sql) against what the SQLite
// migrations make: the same writes leave the same summaries, and the search finds the
// same payments.

package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"paydesk/storage/pgtest"
)

// newSchemaPostgres applies 0018_schema.sql to a fresh database of the test server
// (storage/pgtest) and returns a connection to it.
func newSchemaPostgres(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	schema, err := os.ReadFile("migrations/postgres/0018_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(schema)); err != nil {
		t.Fatalf("apply 0018_schema.sql: %v", err)
	}
	return conn
}

// newSchemaEngines is a SQLite database and a PostgreSQL one with the same schema. These
// comparisons run in the PostgreSQL pass of make test (PAYDESK_TEST_ENGINE=postgres).
func newSchemaEngines(t *testing.T) bothEngines {
	t.Helper()
	if !onPostgres() {
		t.Skip("compares SQLite with PostgreSQL: runs in the PostgreSQL pass (PAYDESK_TEST_ENGINE=postgres)")
	}
	lite, err := Open(context.Background(), filepath.Join(t.TempDir(), "paydesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	lite.Now = func() time.Time { return testEpoch }
	t.Cleanup(func() { lite.Close() })
	return bothEngines{t: t, lite: lite, pg: newSchemaPostgres(t)}
}

// bothEngines runs the same statements on a SQLite database and a PostgreSQL one.
type bothEngines struct {
	t    *testing.T
	lite *DB
	pg   *pgx.Conn
}

// dollars numbers the ? placeholders of q as $1, $2, … for PostgreSQL.
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs q on both engines, failing the test if either refuses it.
func (e bothEngines) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.lite.SQL().Exec(q, args...); err != nil {
		e.t.Fatalf("SQLite: %s: %v", q, err)
	}
	if _, err := e.pg.Exec(context.Background(), dollars(q), args...); err != nil {
		e.t.Fatalf("PostgreSQL: %s: %v", q, err)
	}
}

// rows returns each engine's rows of q, one string each, sorted.
func (e bothEngines) rows(q string, args ...any) (lite, pg []string) {
	e.t.Helper()
	lr, err := e.lite.SQL().Query(q, args...)
	if err != nil {
		e.t.Fatalf("SQLite: %s: %v", q, err)
	}
	defer lr.Close()
	cols, _ := lr.Columns()
	for lr.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := lr.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		lite = append(lite, joinValues(vals))
	}
	if err := lr.Err(); err != nil {
		e.t.Fatal(err)
	}
	pr, err := e.pg.Query(context.Background(), dollars(q), args...)
	if err != nil {
		e.t.Fatalf("PostgreSQL: %s: %v", q, err)
	}
	defer pr.Close()
	for pr.Next() {
		vals, err := pr.Values()
		if err != nil {
			e.t.Fatal(err)
		}
		pg = append(pg, joinValues(vals))
	}
	if err := pr.Err(); err != nil {
		e.t.Fatalf("PostgreSQL: %s: %v", q, err)
	}
	slices.Sort(lite)
	slices.Sort(pg)
	return lite, pg
}

// joinValues writes a row's values as one string.
func joinValues(vals []any) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, " | ")
}

// same fails the test when q's rows differ between the engines.
func (e bothEngines) same(q string, args ...any) []string {
	e.t.Helper()
	lite, pg := e.rows(q, args...)
	if !slices.Equal(lite, pg) {
		e.t.Errorf("%s:\nSQLite     %q\nPostgreSQL %q", q, lite, pg)
	}
	return pg
}

const dayMs = 86400000

// insertPaymentSQL inserts a payment with its id and searchable fields.
const insertPaymentSQL = `INSERT INTO payments (id, public_id, provider, provider_payment_id, session_id, order_id,
	merchant_reference, amount, currency, status, customer_name, customer_email, card_last4, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func TestPostgresSchemaTriggersMatchSQLite(t *testing.T) {
	e := newSchemaEngines(t)
	ctx := context.Background()
	day := func(d int64) int64 { return 20000*dayMs + d*dayMs + 3600000 }
	pay := func(id int64, provider, status, currency, name string) {
		e.exec(insertPaymentSQL, id, fmt.Sprintf("pd_%d", id), provider, fmt.Sprintf("p_%d", id), "", "", "",
			1000, currency, status, name, "", "", day(0), day(0))
	}
	pay(1, "bpc", "paid", "EUR", "Jules Thomas")
	pay(2, "powens", "paid", "EUR", "Élodie Dupont")
	pay(3, "tranzzo", "paid", "UAH", "Zoë O'Brien")
	pay(4, "bpc", "paid", "EUR", "Gone Soon")
	// Refunds name no provider, payment id or customer: refunds_fill_payment fills them.
	refund := func(id, paymentID, amount int64, currency, status, reason, by string, at int64) {
		e.exec(`INSERT INTO refunds (id, payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, paymentID, amount, currency, status, reason, by, at, at)
	}
	refund(1, 1, 100, "EUR", "awaiting_approval", "duplicate", "Ann@Shop.example", day(0))
	refund(2, 1, 200, "EUR", "succeeded", "duplicate", "ann@shop.example", day(0)+5) // Ann's group, without case
	refund(3, 2, 50, "EUR", "pending", "fraud", "bob@shop.example", day(1))
	refund(4, 3, 70, "UAH", "succeeded", "", "provider", day(1))
	refund(5, 2, 30, "EUR", "awaiting_approval", "fraud", "bob@shop.example", day(1))
	// Carl's three refunds are one group of refund_days_people whatever the case.
	refund(6, 1, 10, "EUR", "succeeded", "other", "Carl@Shop.example", day(3))
	refund(7, 1, 20, "EUR", "succeeded", "other", "carl@shop.example", day(3)+1)
	refund(8, 1, 40, "EUR", "succeeded", "other", "CARL@shop.example", day(3)+2)
	decide := func(id, refundID int64, by, decision string) {
		e.exec(`INSERT INTO refund_approvals (id, refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
			SELECT ?, id, ?, ?, ?, amount, currency, payment_id FROM refunds WHERE id = ?`, id, by, decision, day(2), refundID)
	}
	decide(1, 1, "Mia@shop.example", "approved")
	decide(2, 3, "mia@shop.example", "rejected")
	decide(3, 5, "max@shop.example", "approved")
	for _, q := range []string{
		`UPDATE refunds SET status = 'succeeded' WHERE id = 1`,
		`UPDATE refund_approvals SET decision = 'approved' WHERE id = 2`,
		`UPDATE refund_approvals SET decided_by = 'Max@shop.example' WHERE id = 1`,
		`UPDATE refund_approvals SET refund_id = 2 WHERE id = 1`,
		`UPDATE refunds SET requested_at = requested_at + 2 * 86400000, amount = 150 WHERE id = 2`,
		`UPDATE refunds SET requested_by = 'ANN@shop.example' WHERE id = 1`,
		`UPDATE refunds SET note = 'no summary moves' WHERE id = 4`,
		`DELETE FROM refund_approvals WHERE id = 3`,
		`DELETE FROM refund_approvals WHERE id = 2`,
		`DELETE FROM refunds WHERE id = 3`,
		`DELETE FROM refunds WHERE id = 6`,
		`UPDATE payments SET status = 'refunded' WHERE id = 1`,
		`UPDATE payments SET currency = 'USD', status = 'failed' WHERE id = 2`,
		`UPDATE payments SET customer_name = 'Jules Thomas-Martin' WHERE id = 1`,
		`DELETE FROM payments WHERE id = 4`,
	} {
		e.exec(q)
	}
	if got := e.same(`SELECT id, provider, payment_public_id, customer_name FROM refunds`); len(got) != 6 ||
		got[0] != "1 | bpc | pd_1 | Jules Thomas-Martin" {
		t.Errorf("refunds = %q, want 4 filled from their payments", got)
	}
	e.same(`SELECT provider, status, currency, n FROM payment_counts`)
	e.same(`SELECT day, provider, currency, status, reason, n, amount FROM refund_days`)
	if got := e.same(`SELECT requested_by, approved_by, day, provider, currency, status, reason, n, amount FROM refund_days_people`); !slices.Contains(got, "Carl@Shop.example |  | 20003 | bpc | EUR | succeeded | other | 2 | 60") {
		t.Errorf("refund_days_people = %q, want Carl's refunds in one group", got)
	}
	if got := e.same(`SELECT day, currency, provider, status, n, amount FROM refund_day_totals`); len(got) < 3 {
		t.Errorf("refund_day_totals = %q, want the days' groups", got)
	}
	// The summaries are what the refunds add up to, as the bulk loader rebuilds them.
	e.same(`SELECT r.requested_at / 86400000, r.currency, r.provider, r.status, count(*), sum(r.amount) FROM refunds r
		GROUP BY 1, 2, 3, 4 EXCEPT SELECT day, currency, provider, status, n, amount FROM refund_day_totals`)
	var v int64
	if err := e.pg.QueryRow(ctx, `SELECT v FROM refund_summary_version`).Scan(&v); err != nil || v < 10 {
		t.Errorf("refund_summary_version = %d, %v: want moved by every change", v, err)
	}

	// Ids copied in explicitly leave the identity behind until paydesk_reset_identities.
	newPayment := `INSERT INTO payments (public_id, provider, amount, currency, status, created_at, updated_at)
		VALUES ('pd_new', 'bpc', 1, 'EUR', 'paid', 0, 0)`
	if _, err := e.pg.Exec(ctx, newPayment); err == nil {
		t.Error("a default id after explicit ones was accepted before the reset, want a duplicate key")
	}
	if _, err := e.pg.Exec(ctx, `SELECT paydesk_reset_identities()`); err != nil {
		t.Fatal(err)
	}
	e.exec(newPayment)
	e.same(`SELECT id FROM payments WHERE public_id = 'pd_new'`)

	if _, err := e.pg.Exec(ctx, `INSERT INTO audit_log (at, actor, kind, message, prev_hash, hash)
		VALUES (1, 'ann@shop.example', 'sign_in', 'Signed in', '', 'h')`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET message = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := e.pg.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("PostgreSQL %s = %v, want refused as append-only", q, err)
		}
	}
}

func TestPostgresCompatFunctions(t *testing.T) {
	e := newSchemaEngines(t)
	e.same(`SELECT instr('jules.thomas31@mail.example', 'thomas'), instr('abc', 'B'), instr('abc', ''), instr('élan', 'l')`)
	e.same(`SELECT iif(1 = 1, 5, 0), iif(1 = 2, 'a', 'b'), iif(NULL, 1, 2)`)
	// (A comparison is 1 or 0 on SQLite, a boolean on PostgreSQL.)
	e.same(`SELECT CASE WHEN 'Ann@Shop.example' = 'ann@shop.EXAMPLE' COLLATE NOCASE THEN 1 ELSE 0 END,
		CASE WHEN 'Ann' = 'ann' THEN 1 ELSE 0 END`)
	// A column compared COLLATE NOCASE finds its index, as payments_email does on SQLite.
	ctx := context.Background()
	if _, err := e.pg.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for q, index := range map[string]string{
		`SELECT id FROM payments WHERE customer_email = 'A@b.c' COLLATE NOCASE ORDER BY created_at DESC`:       "payments_email",
		`SELECT refund_id FROM refund_approvals WHERE decided_by = 'A@b.c' COLLATE NOCASE`:                     "refund_approvals_decider",
		`SELECT id FROM refunds WHERE requested_by_key = '' AND requested_by = 'A@b.c' COLLATE NOCASE`:         "refunds_requester_key",
		`SELECT id FROM payments WHERE search_words @@ '''thomas31'':* & ''jul'':*'::tsquery`:                  "payments_search_words",
		`SELECT id FROM payments WHERE paydesk_words(customer_email) @@ '''jules'' <-> ''thomas31'''::tsquery`: "payments_email_words",
	} {
		var plan strings.Builder
		rows, err := e.pg.Query(ctx, "EXPLAIN "+q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), index) {
			t.Errorf("%s does not use %s:\n%s", q, index, plan.String())
		}
	}
}

func TestPostgresSearchMatchesSQLite(t *testing.T) {
	e := newSchemaEngines(t)
	for i, p := range [][]string{
		// public id, provider payment id, session, order, reference, name, e-mail, last 4
		{"pd_abc123", "p_1", "ps_1", "", "INV-2025-001", "Jules Thomas", "jules.thomas31@mail.example", "4242"},
		{"pd_abd456", "", "", "3f2a9c1e-77b0-4c1e-9a55-0d6c1f7e2b10", "", "Élodie Dupont", "elodie.dupont@exemple.fr", ""},
		{"pd_x1", "pw_9", "", "", "order.77", "Zoë O'Brien", "zoe_obrien@mail.example", "1881"},
		{"pd_x2", "", "", "", "", "Łukasz Ørsted-Ñúñez", "LUKASZ@Firma.PL", ""},
		{"pd_x3", "", "", "", "", "Thomas Jules", "tj@mail.example", ""},
		{"pd_x4", "", "", "", "", "ÉLODIE MARTIN", "e.martin@exemple.fr", ""},
	} {
		id := int64(i + 1)
		e.exec(insertPaymentSQL, id, p[0], "bpc", p[1], p[2], p[3], p[4], 100, "EUR", "paid", p[5], p[6], p[7], 0, 0)
	}
	ctx := context.Background()
	tests := []struct {
		fts     string // SQLite's MATCH expression, as payments_list.go builds it
		tsquery string // the same search for PostgreSQL
		email   bool   // an e-mail part: customer_email alone
		want    []int64
	}{
		{`"thomas31"* AND "jul"*`, `'thomas31':* & 'jul':*`, false, []int64{1}},
		{`"jules"* AND "thomas"*`, `'jules':* & 'thomas':*`, false, []int64{1, 5}},
		{`"elodie"*`, `'elodie':*`, false, []int64{2, 6}},
		{`"pd_ab"*`, `'pd_ab':*`, false, []int64{1, 2}},
		{`"pd"*`, `'pd':*`, false, []int64{1, 2, 3, 4, 5, 6}},
		{`"abc123"*`, `'abc123':*`, false, nil}, // '_' joins: pd_abc123 is one word
		{`"3f2a9c1e-77b0"*`, `'3f2a9c1e-77b0':*`, false, []int64{2}},
		{`"inv-2025"*`, `'inv-2025':*`, false, []int64{1}},
		{`"77"*`, `'77':*`, false, []int64{3}}, // '.' separates: order.77
		{`"o"* AND "brien"*`, `'o':* & 'brien':*`, false, []int64{3}},
		{`"nunez"*`, `'nunez':*`, false, nil}, // '-' joins: ørsted-nunez is one word
		{`"orsted-nu"*`, `'orsted-nu':*`, false, nil},
		{`"ørsted-nu"*`, `'ørsted-nu':*`, false, []int64{4}},
		{`"orsted"*`, `'orsted':*`, false, nil}, // ø is a letter of its own, not an o with a mark
		{`"ørsted"*`, `'ørsted':*`, false, []int64{4}},
		{`"lukasz"*`, `'lukasz':*`, false, []int64{4}}, // the e-mail, not the name (ł stays)
		{`"firma"*`, `'firma':*`, false, []int64{4}},
		{`"4242"*`, `'4242':*`, false, []int64{1}},
		{`"mail"*`, `'mail':*`, false, []int64{1, 3, 5}},
		{`customer_email : "jules.thomas31"`, `'jules' <-> 'thomas31'`, true, []int64{1}},
		{`customer_email : "thomas31.jules"`, `'thomas31' <-> 'jules'`, true, nil},
		{`customer_email : "mail.exam"*`, `'mail' <-> 'exam':*`, true, []int64{1, 3, 5}},
		{`customer_email : "zoe_obrien"`, `'zoe_obrien'`, true, []int64{3}},
		{`customer_email : "jules"`, `'jules'`, true, []int64{1}}, // not payment 5's name
	}
	for _, tt := range tests {
		var lite []int64
		rows, err := e.lite.SQL().Query(`SELECT rowid FROM payments_fts WHERE payments_fts MATCH ? ORDER BY rowid`, tt.fts)
		if err != nil {
			t.Fatalf("SQLite %s: %v", tt.fts, err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			lite = append(lite, id)
		}
		rows.Close()
		q := `SELECT id FROM payments WHERE search_words @@ $1::tsquery ORDER BY id`
		if tt.email {
			q = `SELECT id FROM payments WHERE paydesk_words(customer_email) @@ $1::tsquery ORDER BY id`
		}
		prow, err := e.pg.Query(ctx, q, tt.tsquery)
		if err != nil {
			t.Fatalf("PostgreSQL %s: %v", tt.tsquery, err)
		}
		pg, err := pgx.CollectRows(prow, pgx.RowTo[int64])
		if err != nil {
			t.Fatalf("PostgreSQL %s: %v", tt.tsquery, err)
		}
		if !slices.Equal(lite, tt.want) || !slices.Equal(pg, tt.want) {
			t.Errorf("%s: SQLite %v, PostgreSQL (%s) %v, want %v", tt.fts, lite, tt.tsquery, pg, tt.want)
		}
	}
	// Search words are folded by paydesk_fold: a search typed with capitals and accents.
	var n int
	if err := e.pg.QueryRow(ctx, `SELECT count(*) FROM payments WHERE search_words @@ paydesk_fold($1)::tsquery`,
		`'ÉLODIE':*`).Scan(&n); err != nil || n != 2 {
		t.Errorf("search for 'ÉLODIE':* folded = %d, %v; want 2", n, err)
	}
	// Words change with the row: the generated column follows an update.
	e.exec(`UPDATE payments SET customer_name = 'Jade Thomas' WHERE id = 1`)
	if err := e.pg.QueryRow(ctx, `SELECT count(*) FROM payments WHERE search_words @@ 'jade'::tsquery`).Scan(&n); err != nil || n != 1 {
		t.Errorf("search for jade after the update = %d, %v; want 1", n, err)
	}
}

// TestPostgresWordsFoldAsFTS5 checks paydesk_words against FTS5's tokenizer, letter by
// letter, over the Latin blocks its diacritics table covers and the Greek and Cyrillic
// ones: each letter between two q's is one word, the same word on both, or splits the
// same way.
func TestPostgresWordsFoldAsFTS5(t *testing.T) {
	e := newSchemaEngines(t)
	ctx := context.Background()
	var words []string
	for _, block := range [][2]rune{{0x20, 0x24f}, {0x370, 0x4ff}, {0x1e00, 0x1eff}} {
		for r := block[0]; r <= block[1]; r++ {
			// Numbers other than digits (², ½, Ⅻ) are words for FTS5, separators for
			// PostgreSQL's [:alnum:]; unassigned code points are words for FTS5 too.
			if unicode.In(r, unicode.No, unicode.Nl) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z) {
				continue
			}
			// Greek letters Unicode added after 6.1, FTS5's tables.
			if r == 0x37f || (r >= 0x528 && r <= 0x52f) {
				continue
			}
			words = append(words, "q"+string(r)+"q")
		}
	}
	// One row per word: a lexeme of a tsvector keeps at most 256 positions.
	tx, err := e.lite.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`CREATE VIRTUAL TABLE fold USING fts5 (a, tokenize = "unicode61 remove_diacritics 2 tokenchars '_-'");
		CREATE VIRTUAL TABLE fold_terms USING fts5vocab (fold, instance)`); err != nil {
		t.Fatal(err)
	}
	for i, w := range words {
		if _, err := tx.Exec(`INSERT INTO fold (rowid, a) VALUES (?, ?)`, i+1, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := e.lite.SQL().Query(`SELECT doc || ' ' || term FROM fold_terms ORDER BY doc, offset`)
	if err != nil {
		t.Fatal(err)
	}
	var lite []string
	for rows.Next() {
		var term string
		rows.Scan(&term)
		lite = append(lite, term)
	}
	rows.Close()
	prow, err := e.pg.Query(ctx, `SELECT w.i || ' ' || u.lexeme FROM unnest($1::text[]) WITH ORDINALITY AS w (s, i),
		unnest(paydesk_words(w.s)) u, unnest(u.positions) p ORDER BY w.i, p`, words)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := pgx.CollectRows(prow, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) < len(words) {
		t.Fatalf("FTS5 found %d words in %d", len(lite), len(words))
	}
	for i := range max(len(lite), len(pg)) {
		l, p := "", ""
		if i < len(lite) {
			l = lite[i]
		}
		if i < len(pg) {
			p = pg[i]
		}
		if l != p {
			t.Fatalf("word %d: FTS5 %q, paydesk_words %q (around %q)", i, l, p, lite[max(0, i-3):min(len(lite), i+3)])
		}
	}
}
