package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// request asks, as who, for a refund above the threshold and returns it.
func (f *fixture) request(who Person, p storage.Payment, amount int64) storage.Refund {
	f.t.Helper()
	k := key()
	if _, err := f.desk.Refund(context.Background(), who, p, RefundArgs{Amount: amount, Reason: "requested_by_customer", Key: k}); err != nil {
		f.t.Fatal(err)
	}
	rf, err := f.db.RefundByKey(context.Background(), k)
	if err != nil {
		f.t.Fatal(err)
	}
	return rf
}

// approve approves rf as who, bound to what the queue showed.
func (f *fixture) approve(who Person, rf storage.Refund, p storage.Payment, k string) (Result, error) {
	return f.desk.Approve(context.Background(), who, ApproveArgs{RefundID: rf.ID, Key: k,
		PaymentPublicID: p.PublicID, Amount: rf.Amount, Currency: rf.Currency, Reason: rf.Reason})
}

// TestApproveRunsTheRefund: another manager approves; the refund runs through the
// provider; the approval sent again is a duplicate that names the payment.
func TestApproveRunsTheRefund(t *testing.T) {
	f := newFixture(t)
	p := f.add(bpc.Name, 2, 100000)
	rf := f.request(mara, p, 60000)

	_, err := f.approve(mara, rf, p, key())
	refusedWith(t, err, ErrNotAllowed, "You asked for this refund")
	_, err = f.approve(sam, rf, p, key())
	refusedWith(t, err, ErrNotAllowed, "managers can")
	stale := mia
	stale.FreshSignIn = false
	_, err = f.approve(stale, rf, p, key())
	refusedWith(t, err, ErrStepUp, "Sign in again")

	k := key()
	res, err := f.approve(mia, rf, p, k)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tone != "success" || !strings.HasPrefix(res.Message, "Approved refund of ") {
		t.Errorf("result %+v, want the approved refund done", res)
	}
	if got, _ := f.db.RefundByID(context.Background(), rf.ID); got.Status != "succeeded" {
		t.Errorf("refund %s, want succeeded", got.Status)
	}
	res, err = f.approve(mia, rf, p, k)
	refusedWith(t, err, ErrDuplicate, "already sent once")
	if res.Payment != p.PublicID {
		t.Errorf("duplicate names payment %q, want %s", res.Payment, p.PublicID)
	}
	// The own-request refusal is audited.
	rows, err := f.db.ListAuditRows(context.Background(), storage.AuditFilter{Kind: "refused", Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].Actor != mara.Email {
		t.Errorf("audit of the refused decision = %+v, %v; want one entry by mara", rows, err)
	}
}

// TestReject: a reason is required while the request waits; the rejection releases the
// amount; the requester cannot reject their own request.
func TestReject(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 100000)
	rf := f.request(sam, p, 70000)

	_, err := f.desk.Reject(ctx, mia, rf.ID, "  ")
	refusedWith(t, err, ErrInvalid, "Say why the refund is rejected")
	_, err = f.desk.Reject(ctx, mia, rf.ID+100, "no")
	refusedWith(t, err, ErrNotFound, "no such refund")
	res, err := f.desk.Reject(ctx, mia, rf.ID, "duplicate of another request")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Message, "was rejected; its amount is released and "+sam.Email+" sees your reason") {
		t.Errorf("result %+v", res)
	}
	_, err = f.desk.Reject(ctx, mia, rf.ID, "")
	refusedWith(t, err, ErrConflict, "no longer awaiting approval: it is rejected")

	own := f.request(mara, p, 60000)
	_, err = f.desk.Reject(ctx, mara, own.ID, "changed my mind")
	refusedWith(t, err, ErrNotAllowed, "you cannot reject it")
}

// TestMaintainExpiresApprovals: a request nobody decided on expires after the TTL and
// its amount is released; the round is audited.
func TestMaintainExpiresApprovals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 100000)
	rf := f.request(sam, p, 60000)
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.RefundByID(ctx, rf.ID); got.Status != "awaiting_approval" {
		t.Fatalf("refund %s before the TTL, want awaiting_approval", got.Status)
	}
	f.clock.Advance(73 * time.Hour)
	if err := f.desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.RefundByID(ctx, rf.ID); got.Status != "expired" {
		t.Errorf("refund %s after the TTL, want expired", got.Status)
	}
	st, _ := f.desk.Decide(ctx, sam, p)
	if st.Balance.Reserved != 0 {
		t.Errorf("still reserved: %+v", st.Balance)
	}
	rows, _ := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "expiry", Limit: 10})
	if len(rows) != 1 || rows[0].Actor != "system" || !strings.Contains(rows[0].Message, "1 refund request expired") {
		t.Errorf("audit of the expiry = %+v", rows)
	}
}
