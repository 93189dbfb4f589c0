package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

var maraKeyed = Person{Email: "mara@paydesk.test", Key: "idp|mara", Roles: []Role{RoleManager}, FreshSignIn: true}

// news returns who's notifications about batches, newest first.
func (f *fixture) news(who Person) []storage.Notification {
	f.t.Helper()
	ns, err := f.desk.Notifications(context.Background(), who, 0, 50)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []storage.Notification
	for _, n := range ns {
		if n.BatchID != 0 {
			out = append(out, n)
		}
	}
	return out
}

// TestBatchNewsToldToWhoItConcerns: a batch waiting for approval is told to the managers
// but its requester (a manager's own request too); the decision, the end and a
// cancellation by someone else are told to the requester alone, with who, why and the
// counts; the requester's own cancellation tells no one.
func TestBatchNewsToldToWhoItConcerns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	big, big2, small := f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 10000)

	held, _ := f.requestBatch(samKeyed, BatchRefund, "payment,amount,reason,note\n"+big.PublicID+",600,fraudulent,\n"+small.PublicID+",5,duplicate,\n")
	if held.State != storage.BatchAwaitingApproval {
		t.Fatalf("held: %s", held.State)
	}
	for _, m := range []Person{miaKeyed, maraKeyed} {
		ns := f.news(m)
		if len(ns) != 1 || ns[0].Kind != storage.NotifyBatchApprovalRequested || ns[0].BatchPublicID != held.PublicID ||
			!strings.Contains(ns[0].Text, "sam@paydesk.test asks to run batch "+held.PublicID+" of 2 refunds (605.00 EUR)") ||
			!strings.Contains(ns[0].Text, "Why: 1 item meets the rule") {
			t.Errorf("%s's batch news = %+v", m.Email, ns)
		}
		if c, _ := f.desk.NotificationCounts(ctx, m); c.ApprovalsWaiting != 1 {
			t.Errorf("%s's counts = %+v, want the batch waiting", m.Email, c)
		}
	}
	if ns := f.news(samKeyed); len(ns) != 0 {
		t.Errorf("sam hears of his own request: %+v", ns)
	}
	// A manager's own batch: the other manager hears of it, not her.
	own, _ := f.requestBatch(maraKeyed, BatchRefund, "payment,amount,reason,note\n"+big2.PublicID+",600,fraudulent,\n")
	if ns := f.news(maraKeyed); len(ns) != 1 || ns[0].BatchPublicID != held.PublicID {
		t.Errorf("mara's news = %+v, want sam's batch only", ns)
	}
	if ns := f.news(miaKeyed); len(ns) != 2 || ns[0].BatchPublicID != own.PublicID {
		t.Errorf("mia's news = %+v, want mara's batch too", ns)
	}

	// Approved by mia: sam hears when it starts.
	if _, _, err := f.desk.ApproveBatch(ctx, miaKeyed, held.PublicID, held.Digest); err != nil {
		t.Fatal(err)
	}
	ns := f.news(samKeyed)
	if len(ns) != 1 || ns[0].Kind != storage.NotifyBatchDecided || ns[0].ActorKey != miaKeyed.Key ||
		!strings.Contains(ns[0].Text, "was approved by mia@paydesk.test. It starts at ") || !strings.Contains(ns[0].Text, "when its undo window of 10 minutes ends") {
		t.Errorf("sam's news after the approval = %+v", ns)
	}
	if c, _ := f.desk.NotificationCounts(ctx, samKeyed); c.Batches != 1 || c.Unread() != 1 {
		t.Errorf("sam's counts = %+v, want 1 batch update", c)
	}
	if ns := f.news(maraKeyed); len(ns) != 1 {
		t.Errorf("mara hears of the approval: %+v", ns)
	}
	// It runs: sam hears how it ended.
	f.clock.Advance(DefaultBatchUndo)
	f.round()
	ns = f.news(samKeyed)
	if len(ns) != 2 || ns[0].Kind != storage.NotifyBatchFinished || !strings.Contains(ns[0].Text, "finished: 2 succeeded.") {
		t.Errorf("sam's news after the run = %+v", ns)
	}

	// Mara's batch rejected by mia: mara hears why.
	if _, _, err := f.desk.RejectBatch(ctx, miaKeyed, own.PublicID, "Not a fraud wave"); err != nil {
		t.Fatal(err)
	}
	if ns := f.news(maraKeyed); len(ns) != 2 || ns[0].Kind != storage.NotifyBatchDecided || !strings.Contains(ns[0].Text, "rejected by mia@paydesk.test: Not a fraud wave. Nothing of it runs.") {
		t.Errorf("mara's news after the rejection = %+v", ns)
	}

	// Cancelled by a manager in its undo window: sam hears who and why; by himself: nothing.
	sched, _ := f.requestBatch(samKeyed, BatchRefund, "payment,amount,reason,note\n"+small.PublicID+",1,duplicate,\n")
	if _, _, err := f.desk.CancelBatch(ctx, maraKeyed, sched.PublicID, "wrong file"); err != nil {
		t.Fatal(err)
	}
	ns = f.news(samKeyed)
	if len(ns) != 3 || ns[0].Kind != storage.NotifyBatchCancelled ||
		!strings.Contains(ns[0].Text, "was cancelled by mara@paydesk.test while scheduled: wrong file. Nothing of it was run.") {
		t.Errorf("sam's news after mara's cancellation = %+v", ns)
	}
	mine, _ := f.requestBatch(samKeyed, BatchRefund, "payment,amount,reason,note\n"+small.PublicID+",1,goodwill,\n")
	f.clock.Advance(time.Minute)
	if _, _, err := f.desk.CancelBatch(ctx, samKeyed, mine.PublicID, ""); err != nil {
		t.Fatal(err)
	}
	if ns := f.news(samKeyed); len(ns) != 3 {
		t.Errorf("sam told of his own cancellation: %+v", ns[0])
	}
}
