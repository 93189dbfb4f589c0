package ops

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/storage"
)

// With person keys, as a signed-in person has.
var (
	samKeyed = Person{Email: "sam@paydesk.test", Key: "idp|sam", Roles: []Role{RoleSupport}, FreshSignIn: true}
	miaKeyed = Person{Email: "mia@paydesk.test", Key: "idp|mia", Roles: []Role{RoleManager}, FreshSignIn: true}
)

// TestPayersAnswerToldToTheLinksMaker: however the news arrives (here a webhook), the
// payer's answer is told to who made the live link — a colleague who made a fresh link,
// not the one who started the cancellation — and to nobody else.
func TestPayersAnswerToldToTheLinksMaker(t *testing.T) {
	for _, c := range []struct {
		name, state, reason, kind, words string
	}{
		{"confirmed", "rejected", "cancelledByUser", storage.NotifyPayerConfirmed, "The payer confirmed the cancellation"},
		{"paid instead", "done", "", storage.NotifyPayerLinkEnded, "so the cancellation did not happen"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			p := f.add(powens.Name, 2, 10000) // pending
			f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
			if res, err := f.desk.Cancel(ctx, samKeyed, p, key()); err != nil || res.Outcome != providers.NeedsPayer {
				t.Fatalf("cancel: %+v, %v; want needs_payer", res, err)
			}
			if l, err := f.db.LivePayerLink(ctx, p.ID); err != nil || l.CreatedByKey != samKeyed.Key {
				t.Fatalf("sam's link %+v, %v; want it made by his key", l, err)
			}
			second, err := f.desk.NewPayerLink(ctx, miaKeyed, f.payment(p))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.powens.SetState(p.PaymentID, c.state, "", c.reason); err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"type":"PAYMENT_UPDATED","payment":{"id":` + p.PaymentID + `,"state":"` + c.state + `"}}`)
			if res := f.desk.ReceiveWebhook(ctx, powens.Name, http.Header{"X-Signature": {hmacHex(powensWebhookSecret, body)}}, body); res.Verdict != VerdictApplied {
				t.Fatalf("webhook: %+v", res)
			}
			ns, err := f.desk.Notifications(ctx, miaKeyed, 0, 10)
			if err != nil || len(ns) != 1 || ns[0].Kind != c.kind || ns[0].LinkID != second.ID || !strings.Contains(ns[0].Text, c.words) {
				t.Errorf("mia's notifications = %+v, %v; want one %s about link %d", ns, err, c.kind, second.ID)
			}
			if counts, _ := f.desk.NotificationCounts(ctx, miaKeyed); counts.Payer != 1 {
				t.Errorf("mia's counts = %+v, want 1 payer answer", counts)
			}
			if ns, err := f.desk.Notifications(ctx, samKeyed, 0, 10); err != nil || len(ns) != 0 {
				t.Errorf("sam's notifications = %+v, %v; want none: his link was superseded", ns, err)
			}
		})
	}
}

// TestNotificationsFollowTheRole: the managers' notifications and count go to whoever
// holds the role now; someone without a role to view payments gets nothing.
func TestNotificationsFollowTheRole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 100000) // captured
	if _, _, err := f.db.RequestRefund(ctx, storage.RefundRequest{PaymentID: p.ID, Amount: 60000, Reason: "goodwill",
		RequestedBy: samKeyed.Email, RequestedByKey: samKeyed.Key, IdempotencyKey: key(), NeedsApproval: true, ApprovalTTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.desk.NotificationCounts(ctx, miaKeyed); c.ApprovalsWaiting != 1 {
		t.Errorf("manager's counts = %+v, want 1 waiting", c)
	}
	if ns, _ := f.desk.Notifications(ctx, miaKeyed, 0, 10); len(ns) != 1 || ns[0].Kind != storage.NotifyApprovalRequested {
		t.Errorf("manager's notifications = %+v", ns)
	}
	// The same person without the role (their groups changed at the provider).
	former := miaKeyed
	former.Roles = []Role{RoleFinance}
	if c, _ := f.desk.NotificationCounts(ctx, former); c.ApprovalsWaiting != 0 {
		t.Errorf("former manager's counts = %+v, want none", c)
	}
	if ns, _ := f.desk.Notifications(ctx, former, 0, 10); len(ns) != 0 {
		t.Errorf("former manager's notifications = %+v, want none", ns)
	}
	nobody := Person{Email: "nora@paydesk.test", Key: "idp|nora"}
	if _, err := f.desk.Notifications(ctx, nobody, 0, 10); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("no role: %v, want ErrNotAllowed", err)
	}
	if err := f.desk.ReadAllNotifications(ctx, nobody); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("no role marks all: %v, want ErrNotAllowed", err)
	}
}
