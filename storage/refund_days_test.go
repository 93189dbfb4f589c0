package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
)

// The refund history's daily summaries: refund_days and refund_days_people (migration
// 0005), refund_day_totals (0006) and the copy of it kept in memory while its version
// (0007) stays the same; kept by triggers, rebuilt by the bulk loader. These tests hold
// them against the refunds themselves.

// summaryGroup is one row of a summary table: a key and what it adds up.
type summaryGroup struct{ n, amount int64 }

// summaryTables reads refund_days and refund_days_people as maps, the people's e-mails
// lower-cased (the tables compare them without case, so which spelling a group keeps is
// whichever came first).
func summaryTables(t *testing.T, db *DB) (days, people map[string]summaryGroup) {
	t.Helper()
	read := func(q string) map[string]summaryGroup { return readGroups(t, db, q) }
	days = read(`SELECT concat_ws('|', day, provider, currency, status, reason), n, amount FROM refund_days`)
	people = read(`SELECT concat_ws('|', lower(requested_by), lower(approved_by), day, provider, currency, status, reason), n, amount
		FROM refund_days_people`)
	return days, people
}

// wantSummaryTables adds the refunds up in Go, from their rows and decisions, as the
// summary tables should hold them: no group of zero refunds.
func wantSummaryTables(t *testing.T, db *DB) (days, people map[string]summaryGroup) {
	t.Helper()
	rows, err := db.db.Query(`SELECT r.requested_at, r.provider, r.currency, r.status, r.reason, r.requested_by, r.amount,
		coalesce(ap.decision, ''), coalesce(ap.decided_by, '')
		FROM refunds r LEFT JOIN refund_approvals ap ON ap.refund_id = r.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	days, people = map[string]summaryGroup{}, map[string]summaryGroup{}
	for rows.Next() {
		var at, amount int64
		var provider, currency, status, reason, by, decision, decider string
		if err := rows.Scan(&at, &provider, &currency, &status, &reason, &by, &amount, &decision, &decider); err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			t.Fatalf("a refund requested before 1970 (%d): the test's days assume otherwise", at)
		}
		approver := ""
		if decision == "approved" {
			approver = decider
		}
		key := fmt.Sprintf("%d|%s|%s|%s|%s", at/msPerDay, provider, currency, status, reason)
		g := days[key]
		days[key] = summaryGroup{g.n + 1, g.amount + amount}
		key = strings.ToLower(by) + "|" + strings.ToLower(approver) + "|" + key
		g = people[key]
		people[key] = summaryGroup{g.n + 1, g.amount + amount}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return days, people
}

// checkSummaryTables fails the test unless the summary tables hold exactly what the
// refunds add up to.
func checkSummaryTables(t *testing.T, db *DB, when string) {
	t.Helper()
	gotDays, gotPeople := summaryTables(t, db)
	wantDays, wantPeople := wantSummaryTables(t, db)
	diff := func(name string, got, want map[string]summaryGroup) {
		n := 0
		for k, w := range want {
			if g := got[k]; g != w && n < 5 {
				t.Errorf("%s: %s group %s = %+v, want %+v", when, name, k, g, w)
				n++
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok && n < 5 {
				t.Errorf("%s: %s has group %s = %+v, which no refund makes", when, name, k, g)
				n++
			}
		}
	}
	diff("refund_days", gotDays, wantDays)
	diff("refund_days_people", gotPeople, wantPeople)
	// refund_day_totals (0006) is refund_days summed over the reasons.
	wantTotals := map[string]summaryGroup{}
	for k, g := range wantDays {
		key := k[:strings.LastIndexByte(k, '|')] // day|provider|currency|status
		w := wantTotals[key]
		wantTotals[key] = summaryGroup{w.n + g.n, w.amount + g.amount}
	}
	diff("refund_day_totals", dayTotals(t, db), wantTotals)
	// What the history keeps of it in memory (0007) is the table as it is now: kept before
	// a change, it was read again because the change moved the version on.
	diff("refund_day_totals kept in memory", keptDayTotals(t, db), wantTotals)
}

// keptDayTotals returns the refund_day_totals groups the refund history adds up (kept in
// memory, or read again if the version moved), keyed as dayTotals, after checking that
// they are in the table's order.
func keptDayTotals(t *testing.T, db *DB) map[string]summaryGroup {
	t.Helper()
	groups, err := db.refundDayTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]summaryGroup{}
	for i, g := range groups {
		if i > 0 {
			p := groups[i-1]
			if cmp.Or(cmp.Compare(p.day, g.day), strings.Compare(p.currency, g.currency), strings.Compare(p.provider, g.provider),
				strings.Compare(p.status, g.status)) >= 0 {
				t.Fatalf("kept groups out of the table's order: %+v before %+v", p, g)
			}
		}
		out[fmt.Sprintf("%d|%s|%s|%s", g.day, g.provider, g.currency, g.status)] = summaryGroup{g.n, g.amount}
	}
	return out
}

// summaryVersion reads refund_summary_version (0007).
func summaryVersion(t *testing.T, db *DB) int64 {
	t.Helper()
	var v int64
	if err := db.db.QueryRow(`SELECT v FROM refund_summary_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// dayTotals reads refund_day_totals, keyed day|provider|currency|status.
func dayTotals(t *testing.T, db *DB) map[string]summaryGroup {
	t.Helper()
	return readGroups(t, db, `SELECT concat_ws('|', day, provider, currency, status), n, amount FROM refund_day_totals`)
}

// readGroups reads summary groups: q selects a key, a count and an amount.
func readGroups(t *testing.T, db *DB, q string) map[string]summaryGroup {
	t.Helper()
	rows, err := db.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]summaryGroup{}
	for rows.Next() {
		var key string
		var g summaryGroup
		if err := rows.Scan(&key, &g.n, &g.amount); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[key]; dup {
			t.Fatalf("two groups for %s", key)
		}
		out[key] = g
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compareSummaryPaths fails the test unless, for f, the summary path (the daily tables)
// gives exactly what the raw path (the refunds themselves) gives, through each public
// function.
func compareSummaryPaths(t *testing.T, db *DB, f RefundFilter) {
	t.Helper()
	ctx := context.Background()
	if !f.summarized() {
		t.Fatalf("filter %+v is not answered by the summary: the comparison would prove nothing", f)
	}
	want, err := db.refundSummaryFromRefunds(ctx, f, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.RefundSummary(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if !equalSummaries(got, want) {
		t.Errorf("summary of %+v:\n got %+v\nwant %+v", f, got, want)
	}
	totals, err := db.RefundTotals(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	wantTotals, err := totalsFromRefunds(ctx, db, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != len(wantTotals) || (len(totals) > 0 && !reflect.DeepEqual(totals, wantTotals)) {
		t.Errorf("totals of %+v:\n got %+v\nwant %+v", f, totals, wantTotals)
	}
	days, err := db.RefundSeries(ctx, f, "day")
	if err != nil {
		t.Fatal(err)
	}
	if !equalSummaries(RefundSummary{Days: days}, RefundSummary{Days: want.Days}) {
		t.Errorf("daily series of %+v:\n got %+v\nwant %+v", f, days, want.Days)
	}
}

// totalsFromRefunds is RefundTotals by a GROUP BY per currency over the refunds, apart
// from the code under test: what the daily groups must add up to.
func totalsFromRefunds(ctx context.Context, db *DB, f RefundFilter) ([]CurrencyTotal, error) {
	where, args, err := f.where(false)
	if err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT r.currency, count(*), coalesce(sum(r.amount), 0),
			coalesce(sum(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN r.status = 'succeeded' THEN r.amount END), 0)`+
		f.aggregateFrom()+where+` GROUP BY r.currency ORDER BY r.currency`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CurrencyTotal
	for rows.Next() {
		var t CurrencyTotal
		if err := rows.Scan(&t.Currency, &t.Count, &t.Amount, &t.SucceededCount, &t.SucceededAmount); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// equalSummaries compares two summaries, an empty list equal to none.
func equalSummaries(a, b RefundSummary) bool {
	return len(a.Totals) == len(b.Totals) && len(a.Days) == len(b.Days) &&
		(len(a.Totals) == 0 || reflect.DeepEqual(a.Totals, b.Totals)) &&
		(len(a.Days) == 0 || reflect.DeepEqual(a.Days, b.Days))
}

// summaryFilters are the filters the comparison tries: each filter alone, combinations,
// whole-day ranges and the people filters in several spellings.
func summaryFilters(day0 time.Time) []RefundFilter {
	d := func(n int) time.Time { return day0.AddDate(0, 0, n) }
	fs := []RefundFilter{{}}
	for _, p := range providers.Names {
		fs = append(fs, RefundFilter{Provider: p})
	}
	for _, c := range []string{"EUR", "GBP", "UAH", "JPY"} {
		fs = append(fs, RefundFilter{Currency: c})
	}
	for _, s := range RefundStatuses {
		fs = append(fs, RefundFilter{Status: s})
	}
	for _, r := range RefundReasons {
		fs = append(fs, RefundFilter{Reason: r.Code})
	}
	fs = append(fs, RefundFilter{Reason: ProviderRefundReason})
	for _, who := range []string{"sam@x.test", "SAM@X.TEST", "Tess@x.test", "provider", "nobody@x.test"} {
		fs = append(fs, RefundFilter{RequestedBy: who})
	}
	for _, who := range []string{"max@x.test", "MAX@x.test", "mia@x.test", "sam@x.test"} {
		fs = append(fs, RefundFilter{ApprovedBy: who})
	}
	return append(fs,
		RefundFilter{Provider: bpc.Name, Status: "succeeded"},
		RefundFilter{Currency: "EUR", Reason: "goodwill"},
		RefundFilter{Provider: tranzzo.Name, Currency: "GBP", Status: "failed", Reason: ProviderRefundReason},
		RefundFilter{Status: "awaiting_approval", Currency: "UAH"},
		RefundFilter{RequestedBy: "sam@X.test", Status: "succeeded"},
		RefundFilter{RequestedBy: "tess@x.test", Currency: "EUR", Reason: "duplicate"},
		RefundFilter{ApprovedBy: "Max@x.test", Currency: "GBP"},
		RefundFilter{ApprovedBy: "mia@x.test", Status: "pending"},
		RefundFilter{RequestedBy: "sam@x.test", ApprovedBy: "max@x.test"},
		RefundFilter{RequestedBy: "TESS@x.test", ApprovedBy: "mia@X.TEST", Provider: bpc.Name},
		RefundFilter{From: d(3)},
		RefundFilter{To: d(4)},
		RefundFilter{From: d(2), To: d(5)},
		RefundFilter{From: d(6), To: d(7)}, // one day
		RefundFilter{From: d(40), To: d(50)},
		RefundFilter{From: d(-30), To: d(1)},
		RefundFilter{From: d(1), To: d(9), Status: "succeeded", Currency: "EUR"},
		RefundFilter{From: d(3), RequestedBy: "Sam@x.test"},
		RefundFilter{To: d(5), ApprovedBy: "max@x.test"},
		RefundFilter{From: d(2), To: d(8), RequestedBy: "tess@x.test", ApprovedBy: "MIA@x.test", Status: "failed"},
	)
}

// refundChanger makes random changes to refunds and decisions, through the application's
// functions and through plain SQL, from one seed.
type refundChanger struct {
	t        *testing.T
	db       *DB
	r        *rand.Rand
	day0     time.Time
	payments []int64
	seq      int
}

var (
	changerStaff    = []string{"sam@x.test", "Sam@X.test", "SAM@X.TEST", "tess@x.test", "Tess@x.test", "provider"}
	changerManagers = []string{"max@x.test", "Max@x.test", "mia@x.test", "MIA@X.TEST", "sam@x.test"}
	changerReasons  = append(slices.Collect(func(yield func(string) bool) {
		for _, r := range RefundReasons {
			if !yield(r.Code) {
				return
			}
		}
	}), ProviderRefundReason)
)

func (c *refundChanger) pick(from []string) string { return from[c.r.IntN(len(from))] }

// at is a time within the test's ten days, at midnight exactly one time in four.
func (c *refundChanger) at() int64 {
	t := c.day0.AddDate(0, 0, c.r.IntN(10))
	if c.r.IntN(4) > 0 {
		t = t.Add(time.Duration(c.r.Int64N(int64(24 * time.Hour))))
	}
	return ms(t)
}

func (c *refundChanger) exec(q string, args ...any) {
	c.t.Helper()
	if _, err := c.db.db.Exec(q, args...); err != nil {
		c.t.Fatalf("%s %v: %v", q, args, err)
	}
}

// ids returns the ids a query selects.
func (c *refundChanger) ids(q string) []int64 {
	c.t.Helper()
	rows, err := c.db.db.Query(q)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// some returns one of ids, or 0 if there are none.
func (c *refundChanger) some(ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[c.r.IntN(len(ids))]
}

// step makes one random change.
func (c *refundChanger) step() {
	t, ctx := c.t, context.Background()
	c.seq++
	switch op := c.r.IntN(17); op {
	case 0, 1, 2: // a refund inserted as UpsertPayment and the import do: the trigger fills the provider
		c.exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0)`, c.some(c.payments), 1+c.r.Int64N(5000), c.pick([]string{"EUR", "GBP", "UAH"}),
			c.pick(RefundStatuses), c.pick(changerReasons), c.pick(changerStaff), c.at())
	case 3: // a refund requested through Paydesk, maybe waiting for a manager
		c.db.Now = func() time.Time { return fromMS(c.at()) }
		_, _, err := c.db.RequestRefund(ctx, RefundRequest{PaymentID: c.some(c.payments), Amount: 1 + c.r.Int64N(5000),
			Reason: "goodwill", RequestedBy: c.pick(changerStaff[:5]), IdempotencyKey: fmt.Sprintf("k%d", c.seq),
			NeedsApproval: c.r.IntN(2) == 0, ApprovalTTL: time.Hour})
		if err != nil && !strings.Contains(err.Error(), "in flight") {
			t.Fatal(err)
		}
	case 4: // a manager decides through Paydesk
		id := c.some(c.ids(`SELECT id FROM refunds WHERE status = 'awaiting_approval'
			AND id NOT IN (SELECT refund_id FROM refund_approvals)`))
		if id == 0 {
			return
		}
		r, err := c.db.RefundByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c.db.Now = func() time.Time { return r.RequestedAt }
		manager := c.pick(changerManagers[:4])
		if c.r.IntN(2) == 0 {
			_, _, err = c.db.ApproveRefund(ctx, id, manager, fmt.Sprintf("a%d", c.seq),
				Expectation{PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency, Reason: r.Reason})
		} else {
			_, err = c.db.RejectRefund(ctx, id, manager, "", "no")
		}
		if err != nil && !strings.Contains(err.Error(), "conflict") && !strings.Contains(err.Error(), "insufficient") &&
			!strings.Contains(err.Error(), "own request") {
			t.Fatal(err)
		}
	case 5:
		c.exec(`UPDATE refunds SET status = ? WHERE id = ?`, c.pick(RefundStatuses), c.some(c.ids(`SELECT id FROM refunds`)))
	case 6:
		c.exec(`UPDATE refunds SET amount = ? WHERE id = ?`, 1+c.r.Int64N(5000), c.some(c.ids(`SELECT id FROM refunds`)))
	case 7:
		c.exec(`UPDATE refunds SET reason = ? WHERE id = ?`, c.pick(changerReasons), c.some(c.ids(`SELECT id FROM refunds`)))
	case 8:
		c.exec(`UPDATE refunds SET requested_at = ? WHERE id = ?`, c.at(), c.some(c.ids(`SELECT id FROM refunds`)))
	case 9: // another spelling of the same person, or another person
		c.exec(`UPDATE refunds SET requested_by = ? WHERE id = ?`, c.pick(changerStaff), c.some(c.ids(`SELECT id FROM refunds`)))
	case 10: // several columns at once, and columns the summary ignores
		c.exec(`UPDATE refunds SET currency = ?, status = ?, amount = amount + 1, message = 'changed', updated_at = 1 WHERE id = ?`,
			c.pick([]string{"EUR", "GBP", "UAH", "JPY"}), c.pick(RefundStatuses), c.some(c.ids(`SELECT id FROM refunds`)))
	case 11, 16: // a decision written directly
		id := c.some(c.ids(`SELECT id FROM refunds WHERE id NOT IN (SELECT refund_id FROM refund_approvals)`))
		if id == 0 {
			return
		}
		c.exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
			SELECT id, ?, ?, 0, amount, currency, payment_id FROM refunds WHERE id = ?`,
			c.pick(changerManagers), c.pick([]string{"approved", "approved", "rejected"}), id)
	case 12: // a decision changed: who, what, or which refund
		ap := c.some(c.ids(`SELECT id FROM refund_approvals`))
		switch c.r.IntN(3) {
		case 0:
			c.exec(`UPDATE refund_approvals SET decided_by = ? WHERE id = ?`, c.pick(changerManagers), ap)
		case 1:
			c.exec(`UPDATE refund_approvals SET decision = iif(decision = 'approved', 'rejected', 'approved') WHERE id = ?`, ap)
		default:
			to := c.some(c.ids(`SELECT id FROM refunds WHERE id NOT IN (SELECT refund_id FROM refund_approvals)`))
			if to != 0 {
				c.exec(`UPDATE refund_approvals SET refund_id = ?, decided_by = ? WHERE id = ?`, to, c.pick(changerManagers), ap)
			}
		}
	case 13:
		c.exec(`DELETE FROM refund_approvals WHERE id = ?`, c.some(c.ids(`SELECT id FROM refund_approvals`)))
	case 14: // a refund deleted with what points at it
		id := c.some(c.ids(`SELECT id FROM refunds`))
		c.exec(`DELETE FROM refund_approvals WHERE refund_id = ?`, id)
		c.exec(`DELETE FROM actions WHERE refund_id = ?`, id)
		c.exec(`DELETE FROM refunds WHERE id = ?`, id)
	case 15: // several changes in one transaction
		tx, err := c.db.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		ids := c.ids(`SELECT id FROM refunds`)
		for range 3 {
			if _, err := tx.Exec(`UPDATE refunds SET status = ?, requested_by = ? WHERE id = ?`,
				c.pick(RefundStatuses), c.pick(changerStaff), c.some(ids)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			VALUES (?, 7, 'EUR', 'succeeded', 'duplicate', 'tess@x.test', ?, 0)`, c.some(c.payments), c.at()); err != nil {
			t.Fatal(err)
		}
		if c.r.IntN(3) == 0 {
			err = tx.Rollback()
		} else {
			err = tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRefundDaysFollowChanges: whatever happens to refunds and decisions, the summary
// tables (and the copy of refund_day_totals kept in memory) hold exactly what the refunds
// add up to, and for every kind of filter the history's totals and chart read from them
// equal those read from the refunds. Run with SQLite firing refunds_fill_payment (which
// updates a refund right after its insert) before and after the summary's triggers.
func TestRefundDaysFollowChanges(t *testing.T) {
	for _, order := range []string{"migration order", "refunds_fill_payment last"} {
		if order != "migration order" && onPostgres() {
			// PostgreSQL fires a table's triggers in the order of their names, whatever
			// the order they were made in: there is no other order to try.
			continue
		}
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/seed %d", order, seed), func(t *testing.T) {
				db := newTestDB(t)
				if order == "refunds_fill_payment last" {
					// SQLite fires the newest trigger first: recreating it changes the order.
					var def string
					if err := db.db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'refunds_fill_payment'`).Scan(&def); err != nil {
						t.Fatal(err)
					}
					for _, q := range []string{`DROP TRIGGER refunds_fill_payment`, def} {
						if _, err := db.db.Exec(q); err != nil {
							t.Fatal(err)
						}
					}
				}
				c := &refundChanger{t: t, db: db, r: rand.New(rand.NewPCG(seed, 8)),
					day0: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
				for i, p := range []string{"bpc", "tranzzo", "powens"} {
					for _, cur := range []string{"EUR", "GBP", "UAH"} {
						c.payments = append(c.payments, insertTestPayment(t, db, p, cur, 1_000_000*int64(i+1)))
					}
				}
				version, totals := summaryVersion(t, db), dayTotals(t, db)
				for round := range 8 {
					for range 80 {
						c.step()
						// Whatever changes refund_day_totals moves its version on (what the
						// history keeps in memory is read again).
						v, now := summaryVersion(t, db), dayTotals(t, db)
						if v == version && !maps.Equal(now, totals) {
							t.Fatalf("round %d, change %d: refund_day_totals changed, its version stayed %d", round, c.seq, v)
						}
						version, totals = v, now
					}
					checkSummaryTables(t, db, fmt.Sprintf("round %d", round))
					// The views read from memory, after the changes since the last round.
					for _, f := range summaryFilters(c.day0) {
						if f.Reason == "" && f.RequestedBy == "" && f.ApprovedBy == "" {
							compareSummaryPaths(t, db, f)
						}
					}
					if t.Failed() {
						return
					}
				}
				var n, decided int
				db.db.QueryRow(`SELECT count(*), (SELECT count(*) FROM refund_approvals WHERE decision = 'approved') FROM refunds`).Scan(&n, &decided)
				if n < 50 || decided < 5 {
					t.Fatalf("%d refunds, %d approved: too few for the test to mean much", n, decided)
				}
				for _, f := range summaryFilters(c.day0) {
					compareSummaryPaths(t, db, f)
				}
			})
		}
	}
}

// TestRefundSummaryFallsBack: filters the summary cannot answer (times within a day,
// before 1970) read the refunds, and still agree with the daily path where both apply.
func TestRefundSummaryFallsBack(t *testing.T) {
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		f    RefundFilter
		want bool
	}{
		{RefundFilter{}, true},
		{RefundFilter{From: day, To: day.AddDate(0, 0, 2), Status: "failed", RequestedBy: "x", ApprovedBy: "y"}, true},
		{RefundFilter{From: day.Add(time.Hour)}, false},
		{RefundFilter{To: day.Add(time.Millisecond)}, false},
		{RefundFilter{From: day.In(time.FixedZone("UTC+2", 7200))}, true}, // the same instant
		{RefundFilter{From: time.Date(2025, 3, 4, 0, 0, 0, 0, time.FixedZone("UTC+2", 7200))}, false},
		{RefundFilter{From: time.Unix(0, 0)}, false},
		{RefundFilter{To: time.Unix(-86400, 0)}, false},
	} {
		if got := tt.f.summarized(); got != tt.want {
			t.Errorf("%+v summarized = %v, want %v", tt.f, got, tt.want)
		}
	}

	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100_000)
	for i, at := range []time.Time{day.Add(-time.Minute), day, day.Add(90 * time.Minute), day.Add(23 * time.Hour), day.AddDate(0, 0, 1)} {
		if _, err := db.db.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			VALUES (?, ?, 'EUR', 'succeeded', 'duplicate', 'sam@x.test', ?, 0)`, pid, 100*(i+1), ms(at)); err != nil {
			t.Fatal(err)
		}
	}
	// Within the day: the refunds from 01:00 on (300 + 400), read from the refunds.
	got, err := db.RefundSummary(ctx, RefundFilter{From: day.Add(time.Hour), To: day.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	want := []CurrencyTotal{{Currency: "EUR", Count: 2, Amount: 700, SucceededCount: 2, SucceededAmount: 700}}
	if !reflect.DeepEqual(got.Totals, want) || len(got.Days) != 1 || got.Days[0].Amount != 700 {
		t.Errorf("within a day: %+v, want totals %+v and one day of 700", got, want)
	}
	// The whole day: the first three of the day (200 + 300 + 400), from the summary.
	got, err = db.RefundSummary(ctx, RefundFilter{From: day, To: day.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Totals) != 1 || got.Totals[0].Amount != 900 || got.Totals[0].Count != 3 {
		t.Errorf("the whole day: %+v, want 3 refunds, 900", got.Totals)
	}
	compareSummaryPaths(t, db, RefundFilter{From: day, To: day.AddDate(0, 0, 1)})
}

// summaryBulkPayments are payments with provider refunds and staff requests in several
// statuses, decided by managers whose e-mails differ in case.
func summaryBulkPayments(seed uint64, n int) []BulkPayment {
	r := rand.New(rand.NewPCG(seed, 5))
	var out []BulkPayment
	for i := range n {
		created := testEpoch.Add(-time.Duration(r.IntN(20*24)) * time.Hour)
		prov := []providers.Name{bpc.Name, tranzzo.Name}[i%2]
		cur := []string{"EUR", "GBP", "UAH"}[r.IntN(3)]
		amount := int64(1000 + r.IntN(100_000))
		s := providers.Snapshot{Provider: prov, PaymentID: fmt.Sprintf("p_%d_%d", seed, i), Amount: amount, Captured: amount,
			Currency: cur, RawStatus: "succeeded", CreatedAt: created, CustomerName: fmt.Sprintf("Customer %d", i)}
		if prov == tranzzo.Name {
			s.RawStatus, s.Method = "success", "purchase"
		}
		p := BulkPayment{}
		for k := range r.IntN(3) {
			id := fmt.Sprintf("re_%d_%d", i, k)
			ok := r.IntN(4) > 0
			s.Refunds = append(s.Refunds, providers.RefundSnapshot{ID: id, Amount: amount / 4,
				Status: map[bool]string{true: "succeeded", false: "failed"}[ok], Succeeded: ok, Failed: !ok,
				CreatedAt: created.Add(time.Duration(1+r.IntN(100)) * time.Hour)})
			if r.IntN(2) == 0 {
				q := BulkRefund{ProviderRefundID: id, Amount: amount / 4, Reason: "goodwill",
					RequestedBy: changerStaff[r.IntN(5)], RequestedAt: created.Add(30 * time.Minute)}
				if r.IntN(2) == 0 {
					q.Decision, q.DecidedBy, q.DecidedAt = "approved", []string{"max@x.test", "MAX@x.test", "mia@x.test"}[r.IntN(3)], created.Add(time.Hour)
				}
				p.Requests = append(p.Requests, q)
			}
		}
		if r.IntN(4) == 0 {
			st := []string{"rejected", "expired", "awaiting_approval", "failed"}[r.IntN(4)]
			q := BulkRefund{Amount: amount / 10, Status: st, Reason: "duplicate", RequestedBy: changerStaff[r.IntN(5)],
				RequestedAt: created.Add(2 * time.Hour)}
			if st == "rejected" {
				q.Decision, q.DecidedBy, q.DecidedAt = "rejected", "mia@x.test", created.Add(3*time.Hour)
			}
			p.Requests = append(p.Requests, q)
		}
		p.Snapshot = s
		out = append(out, p)
	}
	return out
}

// TestBulkLoadRebuildsRefundDays: a bulk load, onto refunds made one by one, leaves the
// summary equal to the refunds, with its triggers back; refunds made after it are counted
// again by the triggers.
func TestBulkLoadRebuildsRefundDays(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100_000)
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 500, Reason: "goodwill",
		RequestedBy: "sam@x.test", IdempotencyKey: "before"}); err != nil {
		t.Fatal(err)
	}
	checkSummaryTables(t, db, "before the load") // and refund_day_totals kept in memory
	fresh := schemaOf(t, db)
	stats := bulkLoad(t, db, BulkOptions{BatchRows: 70}, summaryBulkPayments(1, 300)...)
	if stats.Refunds < 100 || stats.Approvals < 20 {
		t.Fatalf("the load made %d refunds and %d decisions: too few for the test to mean much", stats.Refunds, stats.Approvals)
	}
	if got := schemaOf(t, db); !reflect.DeepEqual(got, fresh) {
		t.Errorf("schema after the load differs:\n got %q\nwant %q", got, fresh)
	}
	checkSummaryTables(t, db, "after the load")
	for _, f := range summaryFilters(testEpoch.AddDate(0, 0, -10).Truncate(24 * time.Hour)) {
		compareSummaryPaths(t, db, f)
	}
	// The triggers are back: a refund made now is counted.
	pid = insertTestPayment(t, db, "tranzzo", "UAH", 100_000)
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: pid, Amount: 700, Reason: "duplicate",
		RequestedBy: "tess@x.test", IdempotencyKey: "after"}); err != nil {
		t.Fatal(err)
	}
	checkSummaryTables(t, db, "after a refund following the load")
}

// TestBulkLoadAbortLeavesRefundDaysRight: an aborted load keeps its committed batches and
// rolls back the last one; the summary counts exactly what stayed.
func TestBulkLoadAbortLeavesRefundDaysRight(t *testing.T) {
	db := newTestDB(t)
	checkSummaryTables(t, db, "before the load") // no group kept in memory
	l, err := db.NewBulkLoader(context.Background(), BulkOptions{BatchRows: 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range summaryBulkPayments(4, 100) { // two batches committed, the third open
		if _, err := l.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	l.Abort()
	if n := rowCount(t, db, "payments"); n != 80 {
		t.Fatalf("%d payments after the abort, want the 80 committed", n)
	}
	checkSummaryTables(t, db, "after an aborted load")
}

// TestBulkLoadCrashLeavesRefundDaysRight: a load cut short by a crash (its triggers
// dropped, the summary stale) is finished by the next Open, summary included.
func TestBulkLoadCrashLeavesRefundDaysRight(t *testing.T) {
	ctx := context.Background()
	db, path, fresh := crashFixture(t)
	bulkLoad(t, db, BulkOptions{}, summaryBulkPayments(2, 50)...) // a first, complete load
	// Another process (a server next to `paydesk import`) keeps refund_day_totals in memory.
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	checkSummaryTables(t, other, "another process, before the load")
	l, err := db.NewBulkLoader(ctx, BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range summaryBulkPayments(3, 200) {
		if _, err := l.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	// The batch commits, then the process "dies": nothing is put back.
	if err := l.commit(); err != nil {
		t.Fatal(err)
	}
	l.done = true
	l.conn.Close()
	var triggers int
	query := `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'refund_days_%'`
	if onPostgres() {
		query = `SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'refund_days_%'`
	}
	if err := db.db.QueryRow(query).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	gotDays, _ := summaryTables(t, db)
	wantDays, _ := wantSummaryTables(t, db)
	if triggers != 0 || reflect.DeepEqual(gotDays, wantDays) {
		t.Fatalf("mid-load: %d summary triggers, summary already right: the test proves nothing", triggers)
	}
	db.Close()

	db = reopenRecovered(t, path, fresh)
	defer db.Close()
	checkSummaryTables(t, db, "after recovery")
	compareSummaryPaths(t, db, RefundFilter{})
	compareSummaryPaths(t, db, RefundFilter{ApprovedBy: "max@x.test"})
	// The recovery moved the version on: the other process reads the groups again.
	checkSummaryTables(t, other, "another process, after recovery")
	compareSummaryPaths(t, other, RefundFilter{Provider: tranzzo.Name})
}

// TestMigrationFillsRefundDays: a database whose refunds were made before migration 0005,
// 0006 or 0007 gets summaries equal to them (the one kept in memory included), and its
// refunds their payment's id and customer.
func TestMigrationFillsRefundDays(t *testing.T) {
	for _, before := range []string{"0005", "0006", "0007"} {
		t.Run("before "+before, func(t *testing.T) { testMigrationFillsRefundDays(t, before) })
	}
}

func testMigrationFillsRefundDays(t *testing.T, before string) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	// The schema as it was before that migration: the earlier ones only.
	old, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		if base >= before {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		var version int
		fmt.Sscanf(base, "%d", &version)
		if _, err := old.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, version, base); err != nil {
			t.Fatal(err)
		}
	}
	// Refunds and decisions as the old schema stored them (its trigger fills the provider).
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 30 {
		var pid int64
		err := old.QueryRow(`INSERT INTO payments (public_id, provider, amount, captured, currency, status, customer_name, created_at, updated_at)
			VALUES (?, ?, 100000, 100000, ?, 'paid', ?, 0, 0) RETURNING id`, fmt.Sprintf("pd_old%d", i), []string{"bpc", "tranzzo"}[i%2],
			[]string{"EUR", "GBP"}[r.IntN(2)], fmt.Sprintf("Old Customer %d", i)).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 1 + r.IntN(4) {
			var rid int64
			err := old.QueryRow(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
				SELECT id, ?, currency, ?, ?, ?, ?, 0 FROM payments WHERE id = ? RETURNING id`, 100+r.Int64N(900), RefundStatuses[r.IntN(len(RefundStatuses))],
				changerReasons[r.IntN(len(changerReasons))], changerStaff[r.IntN(len(changerStaff))],
				ms(testEpoch.Add(time.Duration(r.IntN(500))*time.Hour)), pid).Scan(&rid)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 && r.IntN(2) == 0 {
				if _, err := old.Exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
					SELECT id, ?, ?, 0, amount, currency, payment_id FROM refunds WHERE id = ?`,
					changerManagers[r.IntN(len(changerManagers))], []string{"approved", "rejected"}[r.IntN(2)], rid); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The same group under several spellings of the same people: one group each in the
	// summary, whose filters ignore case.
	for i, by := range []string{"sam@x.test", "SAM@X.TEST", "Sam@X.test"} {
		var rid int64
		err := old.QueryRow(`INSERT INTO refunds (payment_id, amount, currency, status, reason, requested_by, requested_at, updated_at)
			SELECT id, 10, currency, 'pending', 'duplicate', ?, ?, 0 FROM payments WHERE id = 1 RETURNING id`, by, ms(testEpoch)).Scan(&rid)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if _, err := old.Exec(`INSERT INTO refund_approvals (refund_id, decided_by, decision, decided_at, amount, currency, payment_id)
				SELECT id, ?, 'approved', 0, amount, currency, payment_id FROM refunds WHERE id = ?`,
				[]string{"", "max@x.test", "MAX@x.test"}[i], rid); err != nil {
				t.Fatal(err)
			}
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v < 7 {
		t.Fatalf("schema version %d (%v), want 7 or later", v, err)
	}
	checkSummaryTables(t, db, "after the migration")
	if days, _ := summaryTables(t, db); len(days) < 20 {
		t.Fatalf("%d summary groups: too few for the test to mean much", len(days))
	}
	for _, f := range summaryFilters(testEpoch.Truncate(24 * time.Hour)) {
		compareSummaryPaths(t, db, f)
	}
	var wrong int
	if err := db.db.QueryRow(`SELECT count(*) FROM refunds r JOIN payments p ON p.id = r.payment_id
		WHERE r.payment_public_id IS NOT p.public_id OR r.customer_name IS NOT p.customer_name OR r.provider IS NOT p.provider`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%d refunds do not carry their payment's id, customer and provider", wrong)
	}
}

// TestRefundsCarryTheirPayment: a refund carries its payment's public id, provider and
// customer name whichever way it is made, and follows a change of the customer's name.
func TestRefundsCarryTheirPayment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	snap := providers.Snapshot{Provider: bpc.Name, PaymentID: "p_carry", Amount: 5000, Captured: 5000, Currency: "EUR",
		RawStatus: "succeeded", CustomerName: "Ada Lovelace", CreatedAt: testEpoch,
		Refunds: []providers.RefundSnapshot{{ID: "re_1", Amount: 1000, Status: "succeeded", Succeeded: true, CreatedAt: testEpoch}}}
	p, _, err := db.UpsertPayment(ctx, snap, UpsertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RequestRefund(ctx, RefundRequest{PaymentID: p.ID, Amount: 500, Reason: "goodwill",
		RequestedBy: "sam@x.test", IdempotencyKey: "carry"}); err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, db, BulkOptions{}, BulkPayment{Snapshot: providers.Snapshot{Provider: tranzzo.Name, PaymentID: "p_bulk",
		Amount: 3000, Captured: 3000, Currency: "UAH", RawStatus: "success", Method: "purchase", CustomerName: "Grace Hopper",
		CreatedAt: testEpoch, Refunds: []providers.RefundSnapshot{{ID: "re_2", Amount: 300, Status: "success", Succeeded: true, CreatedAt: testEpoch}}}})
	check := func(when string) {
		t.Helper()
		var n int
		err := db.EachRefund(ctx, RefundFilter{}, func(r RefundRow) error {
			n++
			var want RefundRow
			if err := db.db.QueryRow(`SELECT public_id, provider, customer_name FROM payments WHERE id = ?`, r.PaymentID).
				Scan(&want.PaymentPublicID, &want.Provider, &want.CustomerName); err != nil {
				return err
			}
			if r.PaymentPublicID != want.PaymentPublicID || r.Provider != want.Provider || r.CustomerName != want.CustomerName {
				t.Errorf("%s: refund %d shows %q %q %q, want its payment's %q %q %q", when, r.ID, r.PaymentPublicID, r.Provider,
					r.CustomerName, want.PaymentPublicID, want.Provider, want.CustomerName)
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Fatalf("%s: %d refunds (%v), want 3", when, n, err)
		}
	}
	check("made")
	snap.CustomerName = "Ada King"
	if _, _, err := db.UpsertPayment(ctx, snap, UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after the customer's name changed")
	rows, err := db.ListRefunds(ctx, RefundFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rows {
		names[r.CustomerName] = true
	}
	if !names["Ada King"] || names["Ada Lovelace"] || !names["Grace Hopper"] {
		t.Errorf("customers on the page: %v", names)
	}
}
