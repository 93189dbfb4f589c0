package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

func mail(key string) Mail {
	return Mail{Kind: MailDecision, To: "ann@x.example", Subject: "Subject " + key, Body: "Body of " + key, Ref: "refund:1", Key: key}
}

func TestEnqueueMailCommitsAndRollsBackWithItsTransaction(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	boom := errors.New("the event failed")
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.EnqueueMail(ctx, mail("rolled-back")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if created, err := db.EnqueueMail(ctx, mail("kept")); err != nil || !created {
		t.Fatalf("EnqueueMail = %v, %v", created, err)
	}
	// The same key again adds nothing.
	if created, err := db.EnqueueMail(ctx, mail("kept")); err != nil || created {
		t.Fatalf("EnqueueMail again = %v, %v; want nothing added", created, err)
	}
	list, err := db.Outbox(ctx, OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "kept" || list[0].State != MailQueued || list[0].Attempts != 0 ||
		!list[0].NextAttemptAt.Equal(testEpoch) || list[0].Body != "Body of kept" || list[0].To != "ann@x.example" {
		t.Fatalf("outbox = %+v, want the committed message alone, queued", list)
	}
	for _, bad := range []Mail{{Kind: "x", To: "nobody", Subject: "s", Key: "k1"}, {Kind: "x", To: "a@b", Subject: "s"}, {To: "a@b", Key: "k2"}} {
		if _, err := db.EnqueueMail(ctx, bad); err == nil {
			t.Errorf("EnqueueMail(%+v) accepted", bad)
		}
	}
}

func TestClaimMailRetriesAndFails(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := db.EnqueueMail(ctx, mail(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	now := testEpoch
	got, err := db.ClaimMail(ctx, now, time.Minute, 2)
	if err != nil || len(got) != 2 || got[0].Key != "m0" || got[1].Key != "m1" || got[0].State != MailSending || got[0].Attempts != 1 {
		t.Fatalf("claim = %+v, %v; want m0 and m1, sending, first attempt", got, err)
	}
	// Claimed messages are not claimed again while their claim lasts.
	again, err := db.ClaimMail(ctx, now.Add(30*time.Second), time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Key != "m2" {
		t.Fatalf("second claim = %+v, %v; want m2 alone", again, err)
	}
	if err := db.MarkMailSent(ctx, got[0].ID, 1, now); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailFailed(ctx, got[1].ID, 1, "451 busy", now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m1, _ := db.MailByID(ctx, got[1].ID)
	if m1.State != MailQueued || m1.LastError != "451 busy" || !m1.NextAttemptAt.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("after a failed attempt: %+v", m1)
	}
	// m2's sender died: once its claim runs out it is claimed again, and the dead
	// sender's late "sent" does not count.
	later := now.Add(2 * time.Minute)
	re, err := db.ClaimMail(ctx, later, time.Minute, 10)
	if err != nil || len(re) != 1 || re[0].Key != "m2" || re[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v; want m2 on its second attempt", re, err)
	}
	if err := db.MarkMailSent(ctx, again[0].ID, 1, later); err != nil {
		t.Fatal(err)
	}
	if m2, _ := db.MailByID(ctx, again[0].ID); m2.State != MailSending {
		t.Errorf("a stale claim marked the message %s", m2.State)
	}
	// The last attempt fails for good; retry now queues it again.
	if err := db.MarkMailFailed(ctx, re[0].ID, 2, "550 no such user", time.Time{}); err != nil {
		t.Fatal(err)
	}
	counts, err := db.OutboxCounts(ctx)
	if err != nil || counts[MailSent] != 1 || counts[MailQueued] != 1 || counts[MailFailed] != 1 || counts[MailSending] != 0 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
	failed, _ := db.Outbox(ctx, OutboxFilter{States: []string{MailFailed}})
	if len(failed) != 1 || failed[0].LastError != "550 no such user" {
		t.Fatalf("failed = %+v", failed)
	}
	if _, err := db.RetryMail(ctx, got[1].ID, later); !errors.Is(err, ErrConflict) {
		t.Errorf("retrying a queued message: %v, want ErrConflict", err)
	}
	if _, err := db.RetryMail(ctx, 999, later); !errors.Is(err, ErrNotFound) {
		t.Errorf("retrying a missing message: %v, want ErrNotFound", err)
	}
	m, err := db.RetryMail(ctx, re[0].ID, later)
	if err != nil || m.State != MailQueued || m.Attempts != 0 {
		t.Fatalf("retry = %+v, %v", m, err)
	}
	if c, _ := db.ClaimMail(ctx, later, time.Minute, 10); len(c) != 1 || c[0].ID != re[0].ID {
		t.Errorf("after retry now the claim is %+v", c)
	}
}

// Two handles on one database (two instances) claim at once: each message goes to one.
func TestClaimMailTwoSendersNeverShareAMessage(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	var handles [2]*DB
	for i := range handles {
		h, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		h.Now = func() time.Time { return testEpoch }
		handles[i] = h
	}
	db, other := handles[0], handles[1]
	const n = 60
	for i := range n {
		if _, err := db.EnqueueMail(ctx, mail(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for _, h := range []*DB{db, other, db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := h.ClaimMail(ctx, testEpoch, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var twice []int64
	for id, c := range claimed {
		if c != 1 {
			twice = append(twice, id)
		}
	}
	sort.Slice(twice, func(i, j int) bool { return twice[i] < twice[j] })
	if len(claimed) != n || len(twice) > 0 {
		t.Fatalf("%d of %d messages claimed; claimed more than once: %v", len(claimed), n, twice)
	}
}

func TestPeopleAndMailPreferences(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	if ok, err := db.WantsMail(ctx, "never-seen", MailDecision); err != nil || !ok {
		t.Fatalf("a person never seen: %v, %v; want every mail", ok, err)
	}
	for _, p := range []struct {
		key, email string
		manager    bool
	}{{"k-max", "max@x.example", true}, {"k-mia", "mia@x.example", true}, {"k-sam", "sam@x.example", false}, {"k-noemail", "Nameless", true}} {
		if err := db.RecordPerson(ctx, p.key, p.email, "", p.manager); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetMailPrefs(ctx, "k-mia", MailPrefs{Approvals: false, Decisions: true, PayerLinks: false}); err != nil {
		t.Fatal(err)
	}
	// Signing in again keeps the preferences and follows the role.
	if err := db.RecordPerson(ctx, "k-mia", "mia@x.example", "Mia", true); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.MailPrefsOf(ctx, "k-mia"); p != (MailPrefs{Decisions: true}) {
		t.Errorf("mia's preferences after signing in again: %+v", p)
	}
	if ok, _ := db.WantsMail(ctx, "k-mia", MailApprovalRequest); ok {
		t.Error("mia turned approval requests off but wants them")
	}
	if ok, _ := db.WantsMail(ctx, "k-mia", MailDecision); !ok {
		t.Error("mia wants decisions")
	}
	db.tx(ctx, func(tx *Tx) error {
		for addr, want := range map[string]bool{"MIA@x.example": false, "max@x.example": true, "stranger@x.example": true} {
			if ok, err := tx.WantsMailAt(ctx, addr, MailPayerConfirmed); err != nil || ok != want {
				t.Errorf("WantsMailAt(%s) = %v, %v; want %v", addr, ok, err, want)
			}
		}
		return nil
	})
	var names []string
	err := db.tx(ctx, func(tx *Tx) error {
		ms, err := tx.Managers(ctx, MailApprovalRequest)
		for _, m := range ms {
			names = append(names, m.Email)
		}
		return err
	})
	if err != nil || fmt.Sprint(names) != "[max@x.example]" {
		t.Fatalf("managers who want approval requests = %v, %v; want max alone (mia said no, sam is no manager, one has no address)", names, err)
	}
	if err := db.RecordPerson(ctx, "k-max", "max@x.example", "", false); err != nil {
		t.Fatal(err)
	}
	db.tx(ctx, func(tx *Tx) error {
		ms, _ := tx.Managers(ctx, MailApprovalRequest)
		if len(ms) != 0 {
			t.Errorf("max lost the manager role but is still listed: %+v", ms)
		}
		return nil
	})
}

// The hooks of a refund's events run in their transactions: what they write commits with
// the event, and their failure rolls the event back.
func TestRefundHooksShareTheEventsTransaction(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	enqueue := func(what string) TxHook {
		return func(ctx context.Context, tx *Tx, r Refund, now time.Time) error {
			_, err := tx.EnqueueMail(ctx, Mail{Kind: what, To: "ann@x.example", Subject: what + " " + r.Status,
				Key: fmt.Sprintf("%s/%d", what, r.ID), CreatedAt: now})
			return err
		}
	}
	fail := func(context.Context, *Tx, Refund, time.Time) error { return errors.New("no") }
	req := RefundRequest{PaymentID: pid, Amount: 60000, Reason: "goodwill", RequestedBy: "ann@x.example", IdempotencyKey: "r1",
		NeedsApproval: true, ApprovalTTL: time.Hour, Then: fail}
	if _, _, err := db.RequestRefund(ctx, req); err == nil {
		t.Fatal("a failing hook did not fail the request")
	}
	if rs, _ := db.RefundsOfPayment(ctx, pid); len(rs) != 0 {
		t.Fatalf("the request was kept although its hook failed: %+v", rs)
	}
	req.Then = enqueue(MailApprovalRequest)
	r, _, err := db.RequestRefund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// An immediate refund (no approval) runs no hook.
	req2 := RefundRequest{PaymentID: pid, Amount: 100, Reason: "goodwill", RequestedBy: "ann@x.example", IdempotencyKey: "r2", Then: enqueue("immediate")}
	if _, _, err := db.RequestRefund(ctx, req2); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RejectRefund(ctx, r.ID, "max@x.example", "", "no reason", fail); err == nil {
		t.Fatal("a failing hook did not fail the rejection")
	}
	if got, _ := db.RefundByID(ctx, r.ID); got.Status != "awaiting_approval" {
		t.Fatalf("the rejection was kept although its hook failed: %s", got.Status)
	}
	if _, err := db.RejectRefund(ctx, r.ID, "max@x.example", "", "no reason", enqueue(MailDecision)); err != nil {
		t.Fatal(err)
	}
	list, _ := db.Outbox(ctx, OutboxFilter{})
	var subjects []string
	for _, m := range list {
		subjects = append(subjects, m.Subject)
	}
	if fmt.Sprint(subjects) != "[decision rejected approval_request awaiting_approval]" {
		t.Fatalf("outbox subjects = %v", subjects)
	}
}

func TestEmailPayerLink(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "bpc", "EUR", 100000)
	l := newLink(t, db, pid, "n1")
	m := Mail{Kind: MailPayerLink, To: "payer@x.example", Subject: "Confirm", Body: "Open the link", Key: "pl/1"}
	got, err := db.EmailPayerLink(ctx, l.ID, "payer@x.example", "sam@x.example", m)
	if err != nil {
		t.Fatal(err)
	}
	if got.EmailedTo != "payer@x.example" || got.EmailedBy != "sam@x.example" || !got.EmailedAt.Equal(testEpoch) {
		t.Errorf("link = %+v", got)
	}
	events, err := db.Events(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		found = found || e.Kind == "link_emailed" && e.Message == fmt.Sprintf("Payer link %d e-mailed to payer@x.example by sam@x.example", l.ID)
	}
	if !found {
		t.Errorf("no timeline entry in %+v", events)
	}
	if list, _ := db.Outbox(ctx, OutboxFilter{}); len(list) != 1 || list[0].To != "payer@x.example" {
		t.Errorf("outbox = %+v", list)
	}
	// A link no longer live: nothing recorded, nothing queued.
	if _, err := db.SetPayerLinkState(ctx, l.ID, "expired", ""); err != nil {
		t.Fatal(err)
	}
	m.Key = "pl/2"
	if _, err := db.EmailPayerLink(ctx, l.ID, "payer@x.example", "sam@x.example", m); !errors.Is(err, ErrConflict) {
		t.Errorf("e-mailing an expired link: %v", err)
	}
	if list, _ := db.Outbox(ctx, OutboxFilter{}); len(list) != 1 {
		t.Errorf("outbox after the refusal = %+v", list)
	}
}

// A sender's round that finds nothing due writes nothing: the page cache's data version
// stays (the sender asks every two seconds).
func TestClaimMailWithNothingDueWritesNothing(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	if _, err := db.EnqueueMail(ctx, mail("later")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ClaimMail(ctx, testEpoch, time.Minute, 10); err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	// PostgreSQL: once this handle hears the notifications (until then every read is a
	// new version), and they have settled.
	for end := time.Now().Add(10 * time.Second); !db.Listening() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	before, err := db.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, err := db.ClaimMail(ctx, testEpoch.Add(time.Second), time.Minute, 10); err != nil || len(got) != 0 {
			t.Fatalf("claim = %v, %v; want nothing", got, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if after, err := db.DataVersion(ctx); err != nil || after != before {
		t.Errorf("the data version moved from %d to %d (%v) with nothing to send", before, after, err)
	}
}

// A manager seen under two keys (the identity provider's issuer URL changed, as the
// demo's does at each start) gets one message at their address, with the preferences of
// the key seen last.
func TestManagersOneMessagePerAddress(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	at := testEpoch
	db.Now = func() time.Time { return at }
	if err := db.RecordPerson(ctx, "old-max", "max@x.example", "Max", true); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Hour)
	if err := db.RecordPerson(ctx, "new-max", "Max@X.example", "Max", true); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordPerson(ctx, "mia", "mia@x.example", "Mia", true); err != nil {
		t.Fatal(err)
	}
	managers := func() (keys []string) {
		t.Helper()
		err := db.tx(ctx, func(tx *Tx) error {
			ms, err := tx.Managers(ctx, MailApprovalRequest)
			for _, m := range ms {
				keys = append(keys, m.Key)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := fmt.Sprint(managers()); got != "[new-max mia]" {
		t.Fatalf("managers = %s, want max once (his newest key) and mia", got)
	}
	// Max, under his newest key, turns approval requests off: his old key does not bring
	// them back.
	if err := db.SetMailPrefs(ctx, "new-max", MailPrefs{Decisions: true}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(managers()); got != "[mia]" {
		t.Errorf("after max said no: managers = %s, want mia alone", got)
	}
}
