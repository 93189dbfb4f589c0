package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// requestAs records a refund awaiting approval by a person with a name and a key.
func requestAs(t *testing.T, db *DB, paymentID int64, name, personKey, key string) Refund {
	t.Helper()
	r, _, err := db.RequestRefund(context.Background(), RefundRequest{PaymentID: paymentID, Amount: 1000,
		Reason: "goodwill", RequestedBy: name, RequestedByKey: personKey, IdempotencyKey: key, NeedsApproval: true, ApprovalTTL: time.Hour})
	if err != nil {
		t.Fatalf("request refund: %v", err)
	}
	return r
}

// Whose request a refund is goes by the person key: two people who share a name (no
// e-mail from the provider) are two people; one person is refused on their own request
// whatever name they show. Requests from before keys (key ”) compare by the name.
func TestSelfApprovalByPersonKey(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)

	alex1 := requestAs(t, db, pid, "Alex", "p1:aaa", "k-1")
	if got, err := db.RefundByID(ctx, alex1.ID); err != nil || got.RequestedByKey != "p1:aaa" {
		t.Fatalf("RefundByID: got %+v, %v; want the requester's key", got, err)
	}
	// Another Alex approves: allowed.
	exp := expectationOf(alex1)
	exp.DeciderKey = "p1:bbb"
	if _, _, err := db.ApproveRefund(ctx, alex1.ID, "Alex", "approve-1", exp); err != nil {
		t.Errorf("another person with the same name: got %v; want the approval", err)
	}
	// The same person under another name: refused, approving or rejecting.
	own := requestAs(t, db, pid, "Alex", "p1:aaa", "k-2")
	exp = expectationOf(own)
	exp.DeciderKey = "p1:aaa"
	if _, _, err := db.ApproveRefund(ctx, own.ID, "alex@new.example", "approve-2", exp); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("own request under another name: got %v; want ErrSelfApproval", err)
	}
	if _, err := db.RejectRefund(ctx, own.ID, "alex@new.example", "p1:aaa", "no"); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("rejecting one's own request: got %v; want ErrSelfApproval", err)
	}
	// A request from before keys: by the e-mail, as before.
	old := requestAs(t, db, pid, "ann@x", "", "k-3")
	exp = expectationOf(old)
	exp.DeciderKey = "p1:ann"
	if _, _, err := db.ApproveRefund(ctx, old.ID, "ANN@x", "approve-3", exp); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("a keyless request by the same e-mail: got %v; want ErrSelfApproval", err)
	}
}

// "My refunds" is the person's by key, and by e-mail for the rows from before keys; a
// person with neither sees nothing, never everyone's.
func TestMyRefundsByPersonKey(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	mine := requestAs(t, db, pid, "Pat", "p1:pat", "k-1")
	otherPat := requestAs(t, db, pid, "Pat", "p1:other", "k-2")
	oldMine := requestAs(t, db, pid, "pat@x", "", "k-3")
	requestAs(t, db, pid, "sam@x", "", "k-4")

	ids := func(q Requester) map[int64]bool {
		rows, err := db.ListRefunds(ctx, RefundFilter{Mine: &q, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for _, r := range rows {
			out[r.ID] = true
		}
		return out
	}
	if got := ids(Requester{Key: "p1:pat", Email: "PAT@x"}); len(got) != 2 || !got[mine.ID] || !got[oldMine.ID] {
		t.Errorf("Pat with key and e-mail: got %v; want %d and %d", got, mine.ID, oldMine.ID)
	}
	if got := ids(Requester{Key: "p1:other"}); len(got) != 1 || !got[otherPat.ID] {
		t.Errorf("the other Pat, without e-mail: got %v; want only %d", got, otherPat.ID)
	}
	if got := ids(Requester{}); len(got) != 0 {
		t.Errorf("nobody: got %v; want nothing", got)
	}
}
