package ops

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/simfault"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
)

// hmacHex is the hex HMAC-SHA256 of body: how BPC and Powens sign their webhooks.
func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// bpcBody is a BPC webhook carrying object.
func bpcBody(typ string, object json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"created": "2026-01-02T03:04:05Z", "type": typ, "data": map[string]any{"object": object}})
	return b
}

// bpcObject is the payment object BPC holds for p now.
func (f *fixture) bpcObject(p storage.Payment) json.RawMessage {
	f.t.Helper()
	raw, err := f.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
	if err != nil {
		f.t.Fatal(err)
	}
	var env providers.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		f.t.Fatal(err)
	}
	return env.Payment
}

// webhooks are the webhooks recorded, newest first.
func (f *fixture) webhooks() []storage.WebhookEvent {
	f.t.Helper()
	list, err := f.db.ListWebhooks(context.Background(), 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// timeline is a payment's timeline as one string.
func (f *fixture) timeline(p storage.Payment) string {
	f.t.Helper()
	evs, err := f.db.Events(context.Background(), p.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Actor + ": " + e.Message + "\n")
	}
	return b.String()
}

// hookStep is one webhook handed to the Desk and what must become of it.
type hookStep struct {
	name        string
	body        []byte
	header      http.Header
	wantKind    WebhookKind
	wantVerdict string // VerdictRetryLater: nothing may be recorded
	wantPayment providers.Status
	wantTimes   string // on the payment's timeline afterwards
}

func (f *fixture) runHooks(n providers.Name, p storage.Payment, steps []hookStep) {
	f.t.Helper()
	t := f.t
	for _, st := range steps {
		before := len(f.webhooks())
		res := f.desk.ReceiveWebhook(context.Background(), n, st.header, st.body)
		if res.Verdict != st.wantVerdict || res.Kind != st.wantKind {
			t.Errorf("%s: verdict %q kind %d (%s), want %q kind %d", st.name, res.Verdict, res.Kind, res.Detail, st.wantVerdict, st.wantKind)
		}
		list := f.webhooks()
		switch {
		case st.wantVerdict == VerdictRetryLater && len(list) != before:
			t.Errorf("%s: a webhook was recorded, want none", st.name)
		case st.wantVerdict != VerdictRetryLater && len(list) != before+1:
			t.Errorf("%s: %d webhooks recorded, want 1", st.name, len(list)-before)
		case st.wantVerdict != VerdictRetryLater && (list[0].Verdict != st.wantVerdict || list[0].Detail != res.Detail):
			t.Errorf("%s: recorded %q (%s), want %q (%s)", st.name, list[0].Verdict, list[0].Detail, st.wantVerdict, res.Detail)
		}
		if got := f.payment(p).Status; got != st.wantPayment {
			t.Errorf("%s: payment is %s, want %s", st.name, got, st.wantPayment)
		}
		if st.wantTimes != "" && !strings.Contains(f.timeline(p), st.wantTimes) {
			t.Errorf("%s: the timeline does not say %q:\n%s", st.name, st.wantTimes, f.timeline(p))
		}
	}
}

// TestWebhookVerdicts: a BPC webhook is refused unsigned or badly signed, applied once,
// recognised as a duplicate, refused as older than the stored state, taken as about an
// unknown payment, refused as malformed — each recorded raw with its verdict, counted,
// and told on the payment's timeline.
func TestWebhookVerdicts(t *testing.T) {
	f := newFixture(t)
	p := f.add(bpc.Name, 8, 10000) // hosted, manual capture, authorised
	older := bpcBody("payment.updated", f.bpcObject(p))
	if err := f.bpc.SetPaymentStatus(p.PaymentID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	good := bpcBody("payment.succeeded", f.bpcObject(p))
	unknown := bpcBody("refund.updated", json.RawMessage(`{"id":"re_nowhere","amount":500,"currency":"EUR","paymentId":"p_nowhere","status":"succeeded"}`))
	signedAs := func(sig string) http.Header {
		return http.Header{"X-Signature": {sig}, "Api-Request-Id": {"req_1"}, "Content-Type": {"application/json"}}
	}
	signed := func(body []byte) http.Header { return signedAs(hmacHex(bpcWebhookSecret, body)) }
	notEvent := []byte(`{"type":"payment.succeeded","data":{"object":{"id":"` + p.PaymentID + `","amount":"lots"}}}`)
	again := bpcBody("payment.updated", f.bpcObject(p))
	b64 := "sha256=" + base64.StdEncoding.EncodeToString(mustHex(t, hmacHex(bpcWebhookSecret, again)))

	f.runHooks(bpc.Name, p, []hookStep{
		{name: "bad signature", body: good, header: signedAs(hmacHex("another-secret", good)), wantKind: WebhookBadSignature, wantVerdict: VerdictBadSignature, wantPayment: providers.StatusAuthorized},
		{name: "no signature", body: good, header: http.Header{}, wantKind: WebhookBadSignature, wantVerdict: VerdictBadSignature, wantPayment: providers.StatusAuthorized},
		{name: "good", body: good, header: signed(good), wantKind: WebhookTaken, wantVerdict: VerdictApplied, wantPayment: providers.StatusPaid, wantTimes: "webhook: Updated by webhook: status authorised → paid"},
		{name: "duplicate", body: good, header: signed(good), wantKind: WebhookTaken, wantVerdict: VerdictDuplicate, wantPayment: providers.StatusPaid, wantTimes: "BPC webhook payment.succeeded received again: a duplicate of one already received (applied, or recorded as a conflict); nothing changed"},
		{name: "out of order", body: older, header: signed(older), wantKind: WebhookTaken, wantVerdict: VerdictStale, wantPayment: providers.StatusPaid, wantTimes: "BPC webhook payment.updated received out of order: it says authorised, Paydesk already has paid; nothing changed"},
		{name: "unknown payment", body: unknown, header: signed(unknown), wantKind: WebhookTaken, wantVerdict: VerdictUnknownPayment, wantPayment: providers.StatusPaid},
		{name: "garbage", body: []byte("{this is not json"), header: signed([]byte("{this is not json")), wantKind: WebhookMalformed, wantVerdict: VerdictMalformed, wantPayment: providers.StatusPaid},
		{name: "signed, not an event", body: notEvent, header: signed(notEvent), wantKind: WebhookMalformed, wantVerdict: VerdictMalformed, wantPayment: providers.StatusPaid},
		{name: "sha256= prefix and base64", body: again, header: signedAs(b64), wantKind: WebhookTaken, wantVerdict: VerdictApplied, wantPayment: providers.StatusPaid, wantTimes: "BPC webhook payment.updated received: nothing changed"},
	})

	// Stored raw, with its event, its payment and the headers it came with.
	var applied storage.WebhookEvent
	for _, e := range f.webhooks() {
		if e.Verdict == VerdictApplied && string(e.Body) == string(good) {
			applied = e
		}
	}
	if applied.ID == 0 {
		t.Fatal("the applied webhook is not stored raw")
	}
	if applied.PaymentID != p.ID || applied.EventType != "payment.succeeded" || applied.Detail != "applied" ||
		!strings.Contains(string(applied.Headers), `"Api-Request-Id":"req_1"`) {
		t.Errorf("stored webhook = payment %d, type %q, detail %q, headers %s", applied.PaymentID, applied.EventType, applied.Detail, applied.Headers)
	}

	// Counted by provider and verdict.
	for verdict, want := range map[string]int{VerdictBadSignature: 2, VerdictApplied: 2, VerdictDuplicate: 1, VerdictStale: 1, VerdictUnknownPayment: 1, VerdictMalformed: 2} {
		if got := f.metrics.get("webhook bpc " + verdict); got != want {
			t.Errorf("webhooks counted %s: %d, want %d", verdict, got, want)
		}
	}

	// A refund made at BPC arrives by webhook and is counted in the balance.
	refund := bpcBody("refund.updated", json.RawMessage(`{"id":"re_webhook1","amount":2500,"currency":"EUR","paymentId":"`+p.PaymentID+`","status":"succeeded","created":"2026-01-02T03:04:05Z"}`))
	if res := f.desk.ReceiveWebhook(context.Background(), bpc.Name, signed(refund), refund); res.Verdict != VerdictApplied || res.Payment != p.PublicID {
		t.Fatalf("refund webhook: %+v", res)
	}
	if got := f.payment(p); got.Status != providers.StatusPartiallyRefunded || got.Refunded != 2500 {
		t.Errorf("after a refund webhook: %s, refunded %d; want partially refunded, 2500", got.Status, got.Refunded)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebhookNotConfigured: a Desk without a provider's receiver refuses its webhooks as
// not configured (the provider sends them again later) and records them.
func TestWebhookNotConfigured(t *testing.T) {
	f := newFixture(t)
	desk, err := New(Config{BaseURL: "http://paydesk.test", LinkSecret: []byte(strings.Repeat("k", 32)), Now: f.clock.Now},
		f.db, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []providers.Name{bpc.Name, tranzzo.Name} {
		if hs := desk.AccountWebhookHeaders(n, ""); len(hs) != 0 {
			t.Errorf("%s unconfigured keeps headers %v", n, hs)
		}
		res := desk.ReceiveWebhook(context.Background(), n, nil, []byte(`{}`))
		if res.Kind != WebhookNotConfigured || res.Verdict != VerdictBadSignature || !strings.Contains(res.Detail, "not configured") {
			t.Errorf("%s unconfigured: %+v", n, res)
		}
		if list := f.webhooks(); len(list) == 0 || list[0].Provider != string(n) || list[0].Verdict != VerdictBadSignature {
			t.Errorf("%s unconfigured: recorded %+v", n, list)
		}
	}
}

// TestWebhookTranzzo: Tranzzo's signature is its own; a transaction of an order Paydesk
// does not hold brings the payment in.
func TestWebhookTranzzo(t *testing.T) {
	f := newFixture(t)
	form := func(secret string, tx []byte) []byte {
		data := base64.URLEncoding.EncodeToString(tx)
		return []byte(url.Values{"data": {data}, "signature": {tranzzo.Signature([]byte(secret), data)}}.Encode())
	}
	raw, err := tranzzo.Demo{}.Envelope(providers.DemoSpec{Seq: 77, Name: "Grace Hopper", Email: "grace@example.com", Amount: 4200,
		Currency: "UAH", CreatedAt: f.clock.Now().Add(-time.Hour), Variant: tranzzo.VariantPurchaseSuccess, Reference: "NEW-77"})
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	json.Unmarshal(raw, &env)
	var txs []json.RawMessage
	json.Unmarshal(env.Transactions, &txs)
	snap, err := tranzzo.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if res := f.desk.ReceiveWebhook(ctx, tranzzo.Name, nil, form("not-the-secret", txs[0])); res.Kind != WebhookBadSignature {
		t.Errorf("wrong secret: %+v", res)
	}
	// docs/providers.md's test vector: a correct signature over data that is not a transaction.
	vector := []byte(url.Values{"data": {"eyJuYW1lIjoiSm9lIiwiYWdlIjoyMH0="}, "signature": {"Bcj3hb-h00HrEMIoJ5nPW5ZHlVQ="}}.Encode())
	if res := f.desk.ReceiveWebhook(ctx, tranzzo.Name, nil, vector); res.Kind != WebhookMalformed || res.Verdict != VerdictMalformed {
		t.Errorf("test vector: %+v", res)
	}
	res := f.desk.ReceiveWebhook(ctx, tranzzo.Name, nil, form(tranzzoWebhookSecret, txs[0]))
	if res.Verdict != VerdictApplied || res.Kind != WebhookTaken || res.Payment == "" {
		t.Fatalf("new order: %+v", res)
	}
	created, err := f.db.PaymentByProviderID(ctx, tranzzo.Name, snap.OrderID)
	if err != nil || created.Status != providers.StatusPaid || created.Amount != 4200 || created.PublicID != res.Payment {
		t.Fatalf("the new order by webhook: %+v, %v", created, err)
	}
	if tl := f.timeline(created); !strings.Contains(tl, "Received by webhook from Tranzzo") {
		t.Errorf("timeline of the new payment:\n%s", tl)
	}
}

// TestWebhookPowensHints: a Powens webhook is a hint: Powens is read. When it cannot be,
// nothing is decided or recorded and the provider is to send it again.
func TestWebhookPowensHints(t *testing.T) {
	f := newFixture(t)
	p := f.add(powens.Name, 2, 10000) // pending
	hint := func(state string) []byte {
		return []byte(`{"type":"PAYMENT_UPDATED","payment":{"id":` + p.PaymentID + `,"state":"` + state + `"}}`)
	}
	signed := func(body []byte) http.Header {
		return http.Header{"X-Signature": {hmacHex(powensWebhookSecret, body)}}
	}
	if err := f.powens.SetState(p.PaymentID, "done", "", ""); err != nil {
		t.Fatal(err)
	}
	garbage := []byte("<html>oops</html>")
	f.runHooks(powens.Name, p, []hookStep{
		{name: "bad signature", body: hint("done"), header: http.Header{"X-Signature": {hmacHex("nope", hint("done"))}}, wantKind: WebhookBadSignature, wantVerdict: VerdictBadSignature, wantPayment: providers.StatusProcessing},
		{name: "good (Powens is read)", body: hint("done"), header: signed(hint("done")), wantKind: WebhookTaken, wantVerdict: VerdictApplied, wantPayment: providers.StatusPaid, wantTimes: "Updated by webhook: status processing → paid"},
		{name: "duplicate", body: hint("done"), header: signed(hint("done")), wantKind: WebhookTaken, wantVerdict: VerdictDuplicate, wantPayment: providers.StatusPaid},
		{name: "out of order (Powens read again)", body: hint("pending"), header: signed(hint("pending")), wantKind: WebhookTaken, wantVerdict: VerdictApplied, wantPayment: providers.StatusPaid, wantTimes: "nothing changed"},
		{name: "unknown payment", body: []byte(`{"id":99999999}`), header: signed([]byte(`{"id":99999999}`)), wantKind: WebhookTaken, wantVerdict: VerdictUnknownPayment, wantPayment: providers.StatusPaid},
		{name: "garbage", body: garbage, header: signed(garbage), wantKind: WebhookMalformed, wantVerdict: VerdictMalformed, wantPayment: providers.StatusPaid},
	})

	f.powens.FailNext(3, simfault.Unavailable)
	f.runHooks(powens.Name, p, []hookStep{
		{name: "Powens unreachable", body: hint("done-again"), header: signed(hint("done-again")), wantKind: WebhookRetry, wantVerdict: VerdictRetryLater, wantPayment: providers.StatusPaid,
			wantTimes: "Powens webhook PAYMENT_UPDATED received, but Powens could not be read to follow it; it will be sent again"},
	})
	f.powens.ClearFaults()
	if got := f.metrics.get("webhook powens " + VerdictRetryLater); got != 1 {
		t.Errorf("retry_later counted %d times, want 1", got)
	}
}

// TestWebhookSettlesPayerLink: a cancellation waits for the payer; the webhook that shows
// the payment cancelled confirms the payer link and settles the journal; one that shows
// the payment went on ends the link and fails the cancellation.
func TestWebhookSettlesPayerLink(t *testing.T) {
	for _, c := range []struct {
		name                   string
		state, reason          string
		wantLink, wantAction   string
		wantStatus             providers.Status
		wantLinkOutcomeContain string
	}{
		{"the payer confirmed", "rejected", "cancelledByUser", "confirmed", "succeeded", providers.StatusCancelled, "reports the payment cancelled (webhook)"},
		{"the payer paid", "done", "", "expired", "failed", providers.StatusPaid, "so the cancellation did not happen"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			p := f.add(powens.Name, 2, 10000) // pending
			f.powens.SetCancelScenario(p.PaymentID, powens.CancelNeedsPayerWebview)
			if res, err := f.desk.Cancel(ctx, sam, p, key()); err != nil || res.Outcome != providers.NeedsPayer {
				t.Fatalf("cancel: %+v, %v; want needs_payer", res, err)
			}
			link, err := f.db.LivePayerLink(ctx, p.ID)
			if err != nil || link.ActionID == 0 {
				t.Fatalf("live link %+v, %v", link, err)
			}
			if err := f.powens.SetState(p.PaymentID, c.state, "", c.reason); err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"type":"PAYMENT_UPDATED","payment":{"id":` + p.PaymentID + `,"state":"` + c.state + `"}}`)
			res := f.desk.ReceiveWebhook(ctx, powens.Name, http.Header{"X-Signature": {hmacHex(powensWebhookSecret, body)}}, body)
			if res.Verdict != VerdictApplied || res.Payment != p.PublicID {
				t.Fatalf("webhook: %+v", res)
			}
			got, err := f.db.PayerLinkByID(ctx, link.ID)
			if err != nil || got.State != c.wantLink || !strings.Contains(got.Outcome, c.wantLinkOutcomeContain) {
				t.Errorf("link %s (%q), %v; want %s saying %q", got.State, got.Outcome, err, c.wantLink, c.wantLinkOutcomeContain)
			}
			if a := f.lastAction(p); a.ID != link.ActionID || a.State != c.wantAction {
				t.Errorf("action %d %s, want %d %s", a.ID, a.State, link.ActionID, c.wantAction)
			}
			if st := f.payment(p).Status; st != c.wantStatus {
				t.Errorf("payment %s, want %s", st, c.wantStatus)
			}
		})
	}
}

// TestWebhookSettlesUnknownRefund: a webhook that shows the refund settles the unknown
// action at once, before any reconciler run.
func TestWebhookSettlesUnknownRefund(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 10000)
	f.bpc.FailNext(1, simfault.DropAnswer)
	if _, err := f.desk.Refund(ctx, sam, p, RefundArgs{Amount: 1200, Reason: "requested_by_customer", Key: key()}); err != nil {
		t.Fatal(err)
	}
	a := f.lastAction(p)
	if a.Kind != "refund" || a.State != "unknown" {
		t.Fatalf("action %s %s, want refund unknown", a.Kind, a.State)
	}
	raw, err := f.bpc.Envelope(providers.Ref{PaymentID: p.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	var env providers.Envelope
	json.Unmarshal(raw, &env)
	var refunds []json.RawMessage
	json.Unmarshal(env.Refunds, &refunds)
	body := bpcBody("refund.updated", refunds[len(refunds)-1])
	if res := f.desk.ReceiveWebhook(ctx, bpc.Name, http.Header{"X-Signature": {hmacHex(bpcWebhookSecret, body)}}, body); res.Verdict != VerdictApplied {
		t.Fatalf("webhook: %+v", res)
	}
	a, _ = f.db.ActionByID(ctx, a.ID)
	if a.State != "succeeded" {
		t.Errorf("after the webhook the action is %s, want succeeded", a.State)
	}
	if f.metrics.get("reconciled") != 1 {
		t.Errorf("the settling was counted %d times, want 1", f.metrics.get("reconciled"))
	}
}
