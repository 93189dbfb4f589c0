package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// twoBPCRows stores a BPC session and its payment as two separate payments (as two
// imports of their own would) and loads BPC's simulator with the session naming the
// payment: BPC's next answer links the two rows.
func (f *fixture) twoBPCRows(sid, pid string) (sess, pay storage.Payment) {
	f.t.Helper()
	ctx := context.Background()
	store := func(env providers.Envelope) storage.Payment {
		raw, _ := json.Marshal(env)
		snap, err := bpc.ParseEnvelope(raw)
		if err != nil {
			f.t.Fatal(err)
		}
		p, _, err := f.db.UpsertPayment(ctx, snap, storage.UpsertOptions{Actor: "import", Kind: "imported"})
		if err != nil {
			f.t.Fatal(err)
		}
		return p
	}
	sess = store(providers.Envelope{Provider: bpc.Name, Session: bpcDocSession(sid, "")})
	pay = store(providers.Envelope{Provider: bpc.Name, Payment: bpcDocPayment(pid, "succeeded"), Refunds: json.RawMessage(`[]`)})
	raw, _ := json.Marshal(providers.Envelope{Provider: bpc.Name, Session: bpcDocSession(sid, `,"paymentId":"`+pid+`"`),
		Payment: bpcDocPayment(pid, "succeeded"), Refunds: json.RawMessage(`[]`)})
	if err := f.bpc.Load(raw); err != nil {
		f.t.Fatal(err)
	}
	if sess.ID == pay.ID {
		f.t.Fatal("the session and the payment were stored as one row")
	}
	return sess, pay
}

// anomaly is a payment's anomaly words ("" when none).
func (f *fixture) anomaly(p storage.Payment) string {
	f.t.Helper()
	a, _, err := f.db.PaymentAnomaly(context.Background(), p.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Message
}

// sameRow fails when a stored payment differs from before in what an answer could change.
func (f *fixture) sameRow(name string, before storage.Payment) {
	f.t.Helper()
	after := f.payment(before)
	if after.PaymentID != before.PaymentID || after.SessionID != before.SessionID || after.Status != before.Status ||
		after.Captured != before.Captured || after.Amount != before.Amount || !after.UpdatedAt.Equal(before.UpdatedAt) {
		f.t.Errorf("%s: %s changed: %+v → %+v", name, before.PublicID, before, after)
	}
}

// TestWebhookLinkingTwoPayments: a BPC session webhook naming a payment Paydesk holds as
// another row is decided (verdict conflict, answered as taken: BPC must not send it again),
// changes neither row, records the anomaly on both naming the other, and the same webhook
// again is a duplicate. Other storage failures still ask for the webhook again.
func TestWebhookLinkingTwoPayments(t *testing.T) {
	f := newFixture(t)
	sess, pay := f.twoBPCRows("ps_two", "p_two")
	signed := func(body []byte) http.Header {
		return http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, body)}, "Content-Type": {"application/json"}}
	}
	completed := bpcDocSession("ps_two", `,"paymentId":"p_two"`)
	completed = json.RawMessage(strings.Replace(string(completed), `"status":"open"`, `"status":"completed"`, 1))
	body := bpcBody("session.completed", completed)
	f.runHooks(bpc.Name, sess, []hookStep{
		{name: "session.completed links the two rows", body: body, header: signed(body), wantKind: WebhookTaken, wantVerdict: VerdictConflict,
			wantPayment: providers.StatusAwaitingPayment, wantTimes: "Anomaly: Linked payments: BPC says this payment and " + pay.PublicID},
	})
	hook := f.webhooks()[0]
	if hook.PaymentID != sess.ID || !strings.Contains(hook.Detail, sess.PublicID) || !strings.Contains(hook.Detail, pay.PublicID) {
		t.Errorf("recorded webhook: payment %d, detail %q; want %s's row and a detail naming both payments", hook.PaymentID, hook.Detail, sess.PublicID)
	}
	f.sameRow("webhook", sess)
	f.sameRow("webhook", pay)
	if f.paymentRows() != 2 {
		t.Errorf("%d payment rows, want the two kept", f.paymentRows())
	}
	for _, c := range []struct{ p, other storage.Payment }{{sess, pay}, {pay, sess}} {
		a := f.anomaly(c.p)
		for _, want := range []string{"BPC says this payment and " + c.other.PublicID + " are one payment (session ps_two and payment p_two)",
			"Paydesk does not merge them by itself", "Check both with BPC"} {
			if !strings.Contains(a, want) {
				t.Errorf("anomaly of %s = %q, want it to say %q", c.p.PublicID, a, want)
			}
		}
	}
	if got := f.metrics.get("webhook bpc " + VerdictConflict); got != 1 {
		t.Errorf("conflict counted %d times, want 1", got)
	}

	// BPC sends it again anyway: a duplicate, nothing more recorded on the payments.
	before := f.timeline(pay)
	f.runHooks(bpc.Name, sess, []hookStep{
		{name: "the same webhook again", body: body, header: signed(body), wantKind: WebhookTaken, wantVerdict: VerdictDuplicate,
			wantPayment: providers.StatusAwaitingPayment},
	})
	if f.timeline(pay) != before {
		t.Errorf("the duplicate wrote on %s's timeline:\n%s", pay.PublicID, f.timeline(pay))
	}

	// A later answer about one of them alone keeps the link: it is not "consistent again".
	payBody := bpcBody("payment.succeeded", bpcDocPayment("p_two", "succeeded"))
	res := f.desk.ReceiveWebhook(context.Background(), bpc.Name, signed(payBody), payBody)
	if res.Verdict != VerdictApplied {
		t.Fatalf("payment.succeeded: %q (%s), want applied", res.Verdict, res.Detail)
	}
	if a := f.anomaly(pay); !strings.Contains(a, "Linked payments: ") {
		t.Errorf("after an answer about %s alone, the anomaly is %q; want the link kept", pay.PublicID, a)
	}
}

// TestWebhookStorageFailureRetries: a webhook whose payment cannot be stored for any other
// reason than two linked rows is still left for the provider to send again.
func TestWebhookStorageFailureRetries(t *testing.T) {
	f := newFixture(t)
	sess := f.addBPCSession("ps_fail")
	fail := []string{`CREATE TRIGGER test_fail BEFORE UPDATE ON payments BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`}
	if storagetest.Postgres() {
		fail = []string{`CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$`,
			`CREATE TRIGGER test_fail BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION test_fail()`}
	}
	for _, q := range fail {
		if _, err := f.db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	completed := bpcDocSession("ps_fail", `,"paymentId":"p_fail"`)
	completed = json.RawMessage(strings.Replace(string(completed), `"status":"open"`, `"status":"completed"`, 1))
	body := bpcBody("session.completed", completed)
	header := http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, body)}, "Content-Type": {"application/json"}}
	f.runHooks(bpc.Name, sess, []hookStep{
		{name: "the store fails", body: body, header: header, wantKind: WebhookRetry, wantVerdict: VerdictRetryLater,
			wantPayment: providers.StatusAwaitingPayment},
	})
	if a := f.anomaly(sess); a != "" {
		t.Errorf("anomaly %q recorded, want none", a)
	}
}

// TestRefreshLinkingTwoPayments: a refresh whose answer links the payment with another row
// is refused in plain words naming the other payment, changes neither, and records the
// anomaly on both.
func TestRefreshLinkingTwoPayments(t *testing.T) {
	f := newFixture(t)
	sess, pay := f.twoBPCRows("ps_twoRefresh", "p_twoRefresh")
	_, err := f.desk.Refresh(context.Background(), fin, sess)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("refresh: %v, want a conflict", err)
	}
	msg := Message(err, "")
	for _, want := range []string{"BPC says this payment and " + pay.PublicID + " are one payment", "nothing was changed",
		"Paydesk does not merge them by itself", "Check both with BPC"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refresh says %q, want %q in it", msg, want)
		}
	}
	f.sameRow("refresh", sess)
	f.sameRow("refresh", pay)
	for _, p := range []storage.Payment{sess, pay} {
		if a := f.anomaly(p); !strings.Contains(a, "Linked payments: ") {
			t.Errorf("anomaly of %s = %q, want the link", p.PublicID, a)
		}
	}
	if tl := f.timeline(pay); !strings.Contains(tl, fin.Email+": Anomaly: Linked payments:") {
		t.Errorf("%s's timeline does not say who found the link:\n%s", pay.PublicID, tl)
	}
}

// TestReconcilerLinkingTwoPayments: an action left pending on a row whose provider answer
// links it with another row can never be settled from that answer: the reconciler marks
// it unknown with the reason in words, records the anomaly on both, changes neither row,
// and counts no error (it is not retried as a failure every minute).
func TestReconcilerLinkingTwoPayments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess, pay := f.twoBPCRows("ps_twoReconcile", "p_twoReconcile")
	a, err := f.db.StartAction(ctx, storage.Action{PaymentID: sess.ID, Kind: "expire", IdempotencyKey: strings.Repeat("e", 32), Actor: "sam@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	res, err := f.desk.Reconcile(ctx)
	if err != nil || res.Errors != 0 || res.MarkedUnknown != 1 {
		t.Fatalf("reconcile: %+v, %v; want the action marked unknown, no error", res, err)
	}
	got, err := f.db.ActionsOfPayment(ctx, sess.ID)
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("actions: %+v, %v", got, err)
	}
	if got[0].State != "unknown" || !strings.Contains(got[0].Message, "are one payment") || !strings.Contains(got[0].Message, pay.PublicID) {
		t.Errorf("action %s: %q; want unknown, naming %s", got[0].State, got[0].Message, pay.PublicID)
	}
	f.sameRow("reconcile", sess)
	f.sameRow("reconcile", pay)
	for _, p := range []storage.Payment{sess, pay} {
		if an := f.anomaly(p); !strings.Contains(an, "Linked payments: ") {
			t.Errorf("anomaly of %s = %q, want the link", p.PublicID, an)
		}
	}
}
