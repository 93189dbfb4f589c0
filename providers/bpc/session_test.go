package bpc

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/simshape"
)

const docSession = `{"id":"ps_1","amount":20000,"created":"2024-03-29T05:33:26Z","currency":"EUR","customerDetails":{},` +
	`"merchantReferenceId":"4002","metadata":{},"paymentData":{"captureMethod":"automatic"},"paymentStatus":"unpaid","status":"open"%s}`

// TestSessionWithoutPayment: a session alone (the document's shape) is an awaiting
// payment that can only be expired; a session naming its payment carries the payment id
// before the payment is read, still shown by the session's status, with nothing but
// expiry offered until the payment is read; a session naming another payment than the one
// beside it is refused.
func TestSessionWithoutPayment(t *testing.T) {
	alone, err := ParseEnvelope([]byte(`{"provider":"bpc","session":` + strings.Replace(docSession, "%s", "", 1) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if alone.SessionID != "ps_1" || alone.PaymentID != "" || Normalise(alone) != providers.StatusAwaitingPayment {
		t.Errorf("session alone: %+v, want ps_1, no payment, awaiting payment", alone)
	}
	if el := Eligible(alone); !el.Expire.Allowed || el.Cancel.Allowed || !strings.Contains(el.Cancel.Reason, "expire the session instead") {
		t.Errorf("session alone: %+v", el)
	}

	named, err := ParseEnvelope([]byte(`{"provider":"bpc","session":` + strings.Replace(docSession, "%s", `,"paymentId":"p_1"`, 1) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if named.PaymentID != "p_1" || named.RawStatus != "open" || Normalise(named) != providers.StatusAwaitingPayment {
		t.Errorf("session naming p_1: payment %q raw %q status %s, want p_1, open, awaiting payment", named.PaymentID, named.RawStatus, Normalise(named))
	}
	el := Eligible(named)
	if !el.Expire.Allowed || el.Cancel.Allowed || el.Refund.Allowed || !strings.Contains(el.Cancel.Reason, "names payment p_1, which Paydesk has not read yet") {
		t.Errorf("session naming p_1: %+v", el)
	}

	other := `{"provider":"bpc","session":` + strings.Replace(docSession, "%s", `,"paymentId":"p_2"`, 1) +
		`,"payment":{"id":"p_1","amount":20000,"amountReceived":0,"currency":"EUR","status":"requiresPaymentMethod"}}`
	if _, err := ParseEnvelope([]byte(other)); err == nil || !strings.Contains(err.Error(), "session ps_1 names payment p_2, not p_1") {
		t.Errorf("session naming another payment: %v", err)
	}
}

// TestFetchSessionOnly: in the documents' shape the session never names its payment, so a
// refresh of a session alone reads the session alone; a ref that knows the payment reads
// both.
func TestFetchSessionOnly(t *testing.T) {
	f := newFixture(t, func(sc *SimConfig, _ *Config) { sc.Shapes = simshape.Documented })
	raw := []byte(`{"provider":"bpc","session":` + strings.Replace(docSession, "%s", "", 1) + `}`)
	if err := f.sim.Load(raw); err != nil {
		t.Fatal(err)
	}
	got, err := f.c.Fetch(context.Background(), providers.Ref{SessionID: "ps_1"})
	if err != nil || got.PaymentID != "" || got.SessionStatus != "open" {
		t.Fatalf("Fetch session alone: %+v, %v", got, err)
	}
	both := []byte(`{"provider":"bpc","session":` + strings.Replace(docSession, "%s", "", 1) +
		`,"payment":{"id":"p_1","amount":20000,"amountReceived":20000,"currency":"EUR","status":"succeeded"},"refunds":[]}`)
	if err := f.sim.Load(both); err != nil {
		t.Fatal(err)
	}
	if got, err = f.c.Fetch(context.Background(), providers.Ref{SessionID: "ps_1"}); err != nil || got.PaymentID != "" {
		t.Errorf("documented session, payment not named: %+v, %v; want the session alone", got, err)
	}
	if got, err = f.c.Fetch(context.Background(), providers.Ref{SessionID: "ps_1", PaymentID: "p_1"}); err != nil || got.PaymentID != "p_1" || Normalise(got) != providers.StatusPaid {
		t.Errorf("ref with both ids: %+v, %v; want the paid payment", got, err)
	}
	// Expired by the session id alone; the answer, in the document's shape, names no
	// payment, so the snapshot is the session's.
	out := f.c.Expire(context.Background(), providers.Ref{SessionID: "ps_1"})
	if out.Kind != providers.Done || out.Snapshot == nil || out.Snapshot.SessionStatus != "expired" || out.Snapshot.PaymentID != "" {
		t.Errorf("expire by session id: %s %q %+v", out.Kind, out.Message, out.Snapshot)
	}
	if n := f.count("POST /sessions/ps_1/expire"); n != 1 {
		t.Errorf("expire sent %d times, want once", n)
	}
}
