package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSavedViewsShipped: a fresh database has the four views Paydesk ships with, shared,
// ownerless, in their order, each a list query.
func TestSavedViewsShipped(t *testing.T) {
	db := newTestDB(t)
	list, err := db.SavedViews(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range list {
		if !v.Shared || !v.Builtin() || v.Query == "" {
			t.Errorf("shipped view %+v: want shared, ownerless, with a query", v)
		}
		got = append(got, v.Name+" ?"+v.Query)
	}
	want := "Needs attention ?attention=1|Cancelling without link ?link=none&status=cancelling|Awaiting approval ?refund=awaiting_approval|Refunded today ?refunded=today"
	if strings.Join(got, "|") != want {
		t.Errorf("shipped views:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}

// TestSavedViewsOwnersAndNames: private views are their owner's alone; a private name is
// unique per owner and a shared one among the shared (case aside); a view is updated and
// deleted by id.
func TestSavedViewsOwnersAndNames(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	save := func(name, owner string, shared bool) (SavedView, error) {
		return db.CreateSavedView(ctx, SavedView{Name: name, OwnerKey: owner, OwnerEmail: owner + "@x", Shared: shared, Query: "status=paid", UpdatedBy: owner + "@x"})
	}
	mine, err := save("Paid", "ann", false)
	if err != nil {
		t.Fatal(err)
	}
	if mine.ID == 0 || mine.Position <= 4 || mine.CreatedAt.IsZero() {
		t.Errorf("created %+v: want an id, a position after the shipped views, times", mine)
	}
	if _, err := save("paid", "ann", false); !errors.Is(err, ErrNameTaken) {
		t.Errorf("ann's second private %q: %v, want ErrNameTaken", "paid", err)
	}
	if _, err := save("Paid", "bob", false); err != nil {
		t.Errorf("bob's private Paid beside ann's: %v", err)
	}
	if _, err := save("NEEDS ATTENTION", "bob", true); !errors.Is(err, ErrNameTaken) {
		t.Errorf("a shared view named like a shipped one: %v, want ErrNameTaken", err)
	}
	if _, err := save("Needs attention", "bob", false); err != nil {
		t.Errorf("a private view named like a shared one: %v", err)
	}
	if _, err := save(strings.Repeat("x", 61), "ann", false); err == nil {
		t.Errorf("a 61-character name was stored")
	}
	shared, err := save("Paid", "carl", true)
	if err != nil {
		t.Fatal(err)
	}

	names := func(owner string) string {
		t.Helper()
		list, err := db.SavedViews(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range list {
			if !v.Builtin() {
				out = append(out, v.OwnerKey+":"+v.Name)
			}
		}
		return strings.Join(out, ",")
	}
	if got, want := names("ann"), "ann:Paid,carl:Paid"; got != want {
		t.Errorf("ann's views %q, want %q", got, want)
	}
	if got, want := names(""), "carl:Paid"; got != want {
		t.Errorf("nobody's views %q, want %q", got, want)
	}

	// Sharing ann's Paid collides with carl's shared Paid; renamed, it goes through.
	mine.Shared = true
	if _, err := db.UpdateSavedView(ctx, mine); !errors.Is(err, ErrNameTaken) {
		t.Errorf("sharing a second Paid: %v, want ErrNameTaken", err)
	}
	mine.Name, mine.Query, mine.UpdatedBy = "Paid (ann)", "currency=EUR&status=paid", "max@x"
	db.Now = func() time.Time { return testEpoch.Add(time.Hour) }
	if _, err := db.UpdateSavedView(ctx, mine); err != nil {
		t.Fatal(err)
	}
	got, err := db.SavedView(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Paid (ann)" || !got.Shared || got.Query != "currency=EUR&status=paid" || got.UpdatedBy != "max@x" ||
		!got.UpdatedAt.Equal(testEpoch.Add(time.Hour)) || !got.CreatedAt.Equal(mine.CreatedAt) {
		t.Errorf("after the update: %+v", got)
	}
	if err := db.DeleteSavedView(ctx, shared.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SavedView(ctx, shared.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted view read back: %v", err)
	}
	if err := db.DeleteSavedView(ctx, shared.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted twice: %v", err)
	}
	if _, err := db.UpdateSavedView(ctx, shared); !errors.Is(err, ErrNotFound) {
		t.Errorf("updated after delete: %v", err)
	}
}

// TestListRefundFilters: "awaiting approval" keeps the payments with a refund awaiting
// approval; "refunded" keeps those with a refund that succeeded in the range, and both
// count as the list counts (CountMatching).
func TestListRefundFilters(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	x := db.SQL()
	at := func(d time.Duration) int64 { return ms(testEpoch.Add(d)) }
	refund := func(pid int64, status string, updated time.Duration) {
		t.Helper()
		if _, err := x.Exec(`INSERT INTO refunds (payment_id, amount, currency, status, requested_by, requested_at, approval_expires_at, updated_at)
			VALUES (?, 100, 'EUR', ?, 'ann@x', ?, ?, ?)`, pid, status, at(updated-time.Hour), at(time.Hour), at(updated)); err != nil {
			t.Fatal(err)
		}
	}
	pay := func() int64 { return insertTestPayment(t, db, "powens", "EUR", 10000) }
	waiting, waiting2, today, todayTwice, yesterday, failedToday := pay(), pay(), pay(), pay(), pay(), pay()
	pay() // nothing
	refund(waiting, "awaiting_approval", -time.Hour)
	refund(waiting2, "awaiting_approval", -30*time.Hour)
	refund(today, "succeeded", -2*time.Hour)
	refund(todayTwice, "succeeded", -3*time.Hour)
	refund(todayTwice, "succeeded", -4*time.Hour)
	refund(yesterday, "succeeded", -30*time.Hour)
	refund(failedToday, "failed", -time.Hour)

	day := testEpoch.Add(-12 * time.Hour)
	for _, c := range []struct {
		name string
		f    PaymentFilter
		want []int64
	}{
		{"awaiting approval", PaymentFilter{AwaitingApproval: true}, []int64{waiting, waiting2}},
		{"refunded that day", PaymentFilter{RefundedFrom: day, RefundedTo: day.Add(24 * time.Hour)}, []int64{today, todayTwice}},
		{"refunded since the day before", PaymentFilter{RefundedFrom: day.Add(-24 * time.Hour)}, []int64{today, todayTwice, yesterday}},
		{"refunded until the day", PaymentFilter{RefundedTo: day}, []int64{yesterday}},
		{"both", PaymentFilter{AwaitingApproval: true, RefundedFrom: day}, nil},
	} {
		page := listPage(t, db, c.f)
		got := pageIDs(page)
		if !sameIDs(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		n, capped, err := db.CountMatching(ctx, c.f)
		if err != nil || capped || n != len(c.want) || page.Count != n {
			t.Errorf("%s: counted %d (capped %v, %v), page %d, want %d", c.name, n, capped, err, page.Count, len(c.want))
		}
	}
	if _, err := db.ListPayments(ctx, PaymentFilter{RefundedFrom: day, RefundedTo: day}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("an empty refunded range: %v, want ErrInvalidFilter", err)
	}
}

func sameIDs(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[int64]bool{}
	for _, id := range want {
		seen[id] = true
	}
	for _, id := range got {
		if !seen[id] {
			return false
		}
	}
	return true
}
