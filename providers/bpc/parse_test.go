package bpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// readFixture returns a testdata file (copied from the BPC seed).
func readFixture(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// objectOf decodes a JSON object into a map so a test can change fields.
func objectOf(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// envelope builds an import envelope from its parts; nil parts are left out.
func envelope(t *testing.T, sess, pay, refunds any) []byte {
	t.Helper()
	env := map[string]any{"provider": "bpc"}
	if sess != nil {
		env["session"] = sess
	}
	if pay != nil {
		env["payment"] = pay
	}
	if refunds != nil {
		env["refunds"] = refunds
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestSeedFixturesAreValidJSON(t *testing.T) {
	// The seed's four examples are valid JSON as published: no fixed second copy needed.
	for _, name := range []string{"seed_session_expired.json", "seed_payment_canceled.json", "seed_refund_request.json", "seed_refund_succeeded.json"} {
		if !json.Valid(readFixture(t, name)) {
			t.Errorf("%s is not valid JSON", name)
		}
	}
}

func TestParseEnvelopeSeedSession(t *testing.T) {
	raw := envelope(t, readFixture(t, "seed_session_expired.json"), nil, nil)
	got, err := ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Snapshot{
		Provider:          Name,
		SessionID:         "ps_2GRSigkh7nHdxwjV4Yf7PpdEevc1dAwEvssZuP8TJ6mjuNmPMoV9mB",
		SessionStatus:     "expired",
		RawStatus:         "expired",
		Amount:            20000,
		Currency:          "EUR",
		MerchantReference: "4002",
		CreatedAt:         mustTime(t, "2024-03-29T05:33:26Z"),
	}
	checkSnapshot(t, got, want)
	if got.Refunds != nil {
		t.Errorf("Refunds = %v, want nil for a session with no payment", got.Refunds)
	}
	if st := providers.Normalise(got); st != providers.StatusExpired {
		t.Errorf("Normalise = %s, want %s", st, providers.StatusExpired)
	}
}

func TestParseEnvelopeSeedPayment(t *testing.T) {
	raw := envelope(t, nil, readFixture(t, "seed_payment_canceled.json"), nil)
	got, err := ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Snapshot{
		Provider:  Name,
		PaymentID: "p_HbtjsyScZawhNKxmLPTFP3PDHmFq1B5BAZZ5mx8SP3wSMzVzwWob",
		RawStatus: "canceled",
		Amount:    10000,
		Captured:  0,
		Currency:  "EUR",
		// metadata is empty in the seed, so the reference falls back to merchantCustomerId.
		MerchantReference: "123",
		CustomerName:      "TEST CARDHOLDER",
		CustomerEmail:     "test@example.com",
		CardLast4:         "1111",
		Description:       "Some description",
		CreatedAt:         mustTime(t, "2024-03-29T08:09:17Z"),
	}
	checkSnapshot(t, got, want)
	if got.Refunds == nil || len(got.Refunds) != 0 {
		t.Errorf("Refunds = %#v, want an empty list", got.Refunds)
	}
	if st := providers.Normalise(got); st != providers.StatusCancelled {
		t.Errorf("Normalise = %s, want %s", st, providers.StatusCancelled)
	}
	// The normalised envelope keeps every field of the provider's object, even those
	// Paydesk does not model.
	for _, field := range []string{`"setupFutureUsage"`, `"paymentMethodOptions"`, `"postalCode":"Test postal code"`} {
		if !bytes.Contains(got.Raw, []byte(field)) {
			t.Errorf("Raw lost %s: %s", field, got.Raw)
		}
	}
}

func TestSeedRefund(t *testing.T) {
	rs, r, err := refundSnapshotOf(readFixture(t, "seed_refund_succeeded.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := providers.RefundSnapshot{
		ID:        "re_PCPaoQPuTeE293WF2Usq9enFQwVLwV5Kkz5uA9L52fYiDiTw8cmas5HhLMEaSzkEDuiMmPtbyZZnMZYqFbkw44ihSGRPEiL1F",
		Amount:    70000,
		Currency:  "EUR",
		Status:    "succeeded",
		Succeeded: true,
		CreatedAt: mustTime(t, "2024-03-31T23:52:06Z"),
	}
	if rs != want {
		t.Errorf("refund = %+v, want %+v", rs, want)
	}
	if got, want := r.PaymentID, "p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw"; got != want {
		t.Errorf("paymentId = %q, want %q", got, want)
	}

	// The seed's refund belongs to a payment of 1000.00 EUR that was captured: a payment
	// with that id plus the refund make a partly refunded snapshot.
	pay := objectOf(t, readFixture(t, "seed_payment_canceled.json"))
	pay["id"] = r.PaymentID
	pay["status"] = "succeeded"
	pay["amount"] = 100000
	pay["amountReceived"] = 100000
	delete(pay, "canceledAt")
	snap, err := ParseEnvelope(envelope(t, nil, pay, []json.RawMessage{readFixture(t, "seed_refund_succeeded.json")}))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Refunded != 70000 || snap.Captured != 100000 {
		t.Errorf("refunded/captured = %d/%d, want 70000/100000", snap.Refunded, snap.Captured)
	}
	if st := providers.Normalise(snap); st != providers.StatusPartiallyRefunded {
		t.Errorf("Normalise = %s, want %s", st, providers.StatusPartiallyRefunded)
	}
}

func TestSeedRefundRequest(t *testing.T) {
	seed := readFixture(t, "seed_refund_request.json")
	var req refundRequest
	if err := json.Unmarshal(seed, &req); err != nil {
		t.Fatal(err)
	}
	if req.Amount != 70000 || req.PaymentID != "p_HbtjsyTuig5SWYufjsFeTNAX3WisQFUSvbroA1C48Y5XN8Pstcdw" {
		t.Errorf("request = %+v, want amount 70000 for p_HbtjsyTuig…", req)
	}
	// What the client sends is the seed's body.
	ours, err := json.Marshal(refundRequest{Amount: 70000, PaymentID: req.PaymentID})
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, ours, seed) {
		t.Errorf("client body = %s, want %s", ours, seed)
	}
}

func TestParseEnvelopeRoundTrip(t *testing.T) {
	pay := objectOf(t, readFixture(t, "seed_payment_canceled.json"))
	cases := map[string][]byte{
		"session":            envelope(t, readFixture(t, "seed_session_expired.json"), nil, nil),
		"payment":            envelope(t, nil, pay, nil),
		"refunds as data":    envelope(t, nil, pay, map[string]any{"data": []any{}}),
		"refunds as refunds": envelope(t, nil, pay, map[string]any{"refunds": []any{}}),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			first, err := ParseEnvelope(raw)
			if err != nil {
				t.Fatal(err)
			}
			second, err := ParseEnvelope(first.Raw)
			if err != nil {
				t.Fatalf("ParseEnvelope(Raw): %v", err)
			}
			if !bytes.Equal(first.Raw, second.Raw) {
				t.Errorf("Raw is not stable:\n got %s\nwant %s", second.Raw, first.Raw)
			}
			checkSnapshot(t, second, first)
			var env providers.Envelope
			if err := json.Unmarshal(first.Raw, &env); err != nil {
				t.Fatal(err)
			}
			if env.Provider != Name {
				t.Errorf("provider = %q, want bpc", env.Provider)
			}
			if first.PaymentID != "" && !bytes.HasPrefix(env.Refunds, []byte("[")) {
				t.Errorf("refunds = %s, want a bare array", env.Refunds)
			}
		})
	}
}

func TestParseEnvelopeTolerates(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"id": "p_1", "amount": 5090, "amountReceived": 5090, "currency": "EUR", "status": "succeeded"}
	}
	tests := []struct {
		name  string
		edit  func(p map[string]any)
		check func(t *testing.T, s providers.Snapshot)
	}{
		{"quoted integer amount", func(p map[string]any) { p["amount"] = "5090" }, func(t *testing.T, s providers.Snapshot) {
			if s.Amount != 5090 {
				t.Errorf("Amount = %d, want 5090", s.Amount)
			}
		}},
		{"lower-case currency", func(p map[string]any) { p["currency"] = "eur" }, func(t *testing.T, s providers.Snapshot) {
			if s.Currency != "EUR" {
				t.Errorf("Currency = %q, want EUR", s.Currency)
			}
		}},
		{"unknown status kept verbatim", func(p map[string]any) { p["status"] = "underReview" }, func(t *testing.T, s providers.Snapshot) {
			if s.RawStatus != "underReview" || providers.Normalise(s) != providers.StatusUnknown {
				t.Errorf("status = %q/%s, want underReview/unknown", s.RawStatus, providers.Normalise(s))
			}
		}},
		{"reference from metadata", func(p map[string]any) {
			p["metadata"] = map[string]any{"orderId": "ORD-9"}
			p["merchantCustomerId"] = "cus_1"
		}, func(t *testing.T, s providers.Snapshot) {
			if s.MerchantReference != "ORD-9" {
				t.Errorf("MerchantReference = %q, want ORD-9", s.MerchantReference)
			}
		}},
		{"missing amountReceived is zero", func(p map[string]any) { delete(p, "amountReceived") }, func(t *testing.T, s providers.Snapshot) {
			if s.Captured != 0 {
				t.Errorf("Captured = %d, want 0", s.Captured)
			}
		}},
		{"card expiry as strings", func(p map[string]any) {
			p["paymentMethod"] = map[string]any{"card": map[string]any{"expiryMonth": "07", "expiryYear": "2029", "maskedNumber": "555544**0042"}}
		}, func(t *testing.T, s providers.Snapshot) {
			if s.CardLast4 != "0042" {
				t.Errorf("CardLast4 = %q, want 0042", s.CardLast4)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.edit(p)
			s, err := ParseEnvelope(envelope(t, nil, p, nil))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			tt.check(t, s)
		})
	}
}

func TestParseEnvelopeRefunds(t *testing.T) {
	pay := map[string]any{"id": "p_1", "amount": 10000, "amountReceived": 10000, "currency": "GBP", "status": "succeeded"}
	refunds := []any{
		map[string]any{"id": "re_1", "amount": 2500, "currency": "GBP", "paymentId": "p_1", "status": "succeeded", "created": "2024-04-01T10:00:00Z"},
		map[string]any{"id": "re_2", "amount": 1000, "paymentId": "p_1", "status": "pending"},
		map[string]any{"id": "re_3", "amount": 500, "currency": "GBP", "status": "failed"},
		map[string]any{"id": "re_4", "amount": 700, "currency": "GBP", "status": "succeeded"},
	}
	s, err := ParseEnvelope(envelope(t, nil, pay, refunds))
	if err != nil {
		t.Fatal(err)
	}
	if s.Refunded != 3200 {
		t.Errorf("Refunded = %d, want 3200 (succeeded refunds only)", s.Refunded)
	}
	want := []providers.RefundSnapshot{
		{ID: "re_1", Amount: 2500, Currency: "GBP", Status: "succeeded", Succeeded: true, CreatedAt: mustTime(t, "2024-04-01T10:00:00Z")},
		{ID: "re_2", Amount: 1000, Currency: "GBP", Status: "pending"},
		{ID: "re_3", Amount: 500, Currency: "GBP", Status: "failed", Failed: true},
		{ID: "re_4", Amount: 700, Currency: "GBP", Status: "succeeded", Succeeded: true},
	}
	if len(s.Refunds) != len(want) {
		t.Fatalf("got %d refunds, want %d", len(s.Refunds), len(want))
	}
	for i := range want {
		if s.Refunds[i] != want[i] {
			t.Errorf("refund %d = %+v, want %+v", i, s.Refunds[i], want[i])
		}
	}
	if st := providers.Normalise(s); st != providers.StatusPartiallyRefunded {
		t.Errorf("Normalise = %s, want %s", st, providers.StatusPartiallyRefunded)
	}
}

func TestParseEnvelopeSessionAndPayment(t *testing.T) {
	sess := map[string]any{"id": "ps_1", "amount": 1500, "currency": "JPY", "status": "completed",
		"created": "2024-05-01T09:00:00Z", "merchantReferenceId": "ORDER-1", "paymentId": "p_1",
		"customerDetails": map[string]any{"name": "Session Name", "email": "s@example.com"}}
	pay := map[string]any{"id": "p_1", "amount": 1500, "amountReceived": 1500, "currency": "JPY", "status": "succeeded",
		"created": "2024-05-01T09:02:00Z", "merchantCustomerId": "cus_9",
		"customerDetails": map[string]any{"name": "Card Holder"}}
	s, err := ParseEnvelope(envelope(t, sess, pay, []any{}))
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Snapshot{
		Provider: Name, SessionID: "ps_1", PaymentID: "p_1", SessionStatus: "completed",
		RawStatus: "succeeded", Amount: 1500, Captured: 1500, Currency: "JPY",
		MerchantReference: "ORDER-1", CustomerName: "Card Holder", CustomerEmail: "s@example.com",
		CreatedAt: mustTime(t, "2024-05-01T09:00:00Z"),
	}
	checkSnapshot(t, s, want)
}

func TestParseEnvelopeErrors(t *testing.T) {
	pay := func(edit func(map[string]any)) map[string]any {
		p := map[string]any{"id": "p_1", "amount": 5090, "amountReceived": 5090, "currency": "EUR", "status": "succeeded"}
		if edit != nil {
			edit(p)
		}
		return p
	}
	sess := func(edit func(map[string]any)) map[string]any {
		s := map[string]any{"id": "ps_1", "amount": 5090, "currency": "EUR", "status": "open"}
		if edit != nil {
			edit(s)
		}
		return s
	}
	tests := []struct {
		name      string
		raw       []byte
		want      string
		amountErr bool
	}{
		{"not JSON", []byte(`{"provider":"bpc",`), "bpc: envelope", false},
		{"no provider tag", []byte(`{"payment":{"id":"p_1"}}`), `"provider" tag is missing`, false},
		{"wrong provider", []byte(`{"provider":"tranzzo","transactions":[]}`), `provider is "tranzzo"`, false},
		{"neither session nor payment", []byte(`{"provider":"bpc"}`), "neither a session nor a payment", false},
		{"payment null", []byte(`{"provider":"bpc","payment":null}`), "neither a session nor a payment", false},
		{"session not an object", []byte(`{"provider":"bpc","session":"ps_1"}`), "session: not a JSON object", false},
		{"session without id", envelope(t, sess(func(s map[string]any) { delete(s, "id") }), nil, nil), "session: missing id", false},
		{"payment without id", envelope(t, nil, pay(func(p map[string]any) { p["id"] = "" }), nil), "payment: missing id", false},
		{"missing currency", envelope(t, nil, pay(func(p map[string]any) { delete(p, "currency") }), nil), "payment p_1: missing currency", false},
		{"invalid currency", envelope(t, nil, pay(func(p map[string]any) { p["currency"] = "EURO" }), nil), `invalid currency "EURO"`, false},
		{"currency not a string", envelope(t, nil, pay(func(p map[string]any) { p["currency"] = 978 }), nil), "payment p_1", false},
		{"missing amount", envelope(t, nil, pay(func(p map[string]any) { delete(p, "amount") }), nil), "payment p_1: missing amount", false},
		{"decimal amount", envelope(t, nil, pay(func(p map[string]any) { p["amount"] = 50.90 }), nil), "payment p_1: amount: invalid amount: 50.9 is not a whole number", true},
		{"exponent amount", []byte(`{"provider":"bpc","payment":{"id":"p_1","amount":1e3,"currency":"EUR","status":"succeeded"}}`), "amount: invalid amount: 1e3", true},
		{"text amount", envelope(t, nil, pay(func(p map[string]any) { p["amountReceived"] = "lots" }), nil), "payment p_1: amountReceived: invalid amount", true},
		{"amount too large", []byte(`{"provider":"bpc","payment":{"id":"p_1","amount":99999999999999999999,"currency":"EUR","status":"x"}}`), "out of range", true},
		{"negative amount", envelope(t, sess(func(s map[string]any) { s["amount"] = -1 }), nil, nil), "session ps_1: negative amount", false},
		{"bad created", envelope(t, nil, pay(func(p map[string]any) { p["created"] = "yesterday" }), nil), `created "yesterday" is not an RFC 3339 time`, false},
		{"bad canceledAt", envelope(t, nil, pay(func(p map[string]any) { p["canceledAt"] = "29/03/2024" }), nil), "canceledAt", false},
		{"session and payment currencies differ", envelope(t, sess(nil), pay(func(p map[string]any) { p["currency"] = "GBP" }), nil), "payment p_1 is in GBP but session ps_1 is in EUR", false},
		{"refunds without payment", envelope(t, sess(nil), nil, []any{map[string]any{"id": "re_1", "amount": 1}}), "refunds but no payment", false},
		{"refund without id", envelope(t, nil, pay(nil), []any{map[string]any{"amount": 1, "status": "succeeded"}}), "refund: missing id", false},
		{"refund of another payment", envelope(t, nil, pay(nil), []any{map[string]any{"id": "re_1", "amount": 1, "paymentId": "p_2"}}), "refund re_1 belongs to payment p_2", false},
		{"refund in another currency", envelope(t, nil, pay(nil), []any{map[string]any{"id": "re_1", "amount": 1, "currency": "GBP"}}), "refund re_1 is in GBP", false},
		{"refund decimal amount", envelope(t, nil, pay(nil), []any{map[string]any{"id": "re_1", "amount": "1.5"}}), "refund re_1: amount: invalid amount", true},
		{"refunds in an unknown shape", envelope(t, nil, pay(nil), map[string]any{"items": []any{}}), "refund list", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseEnvelope(tt.raw)
			if err == nil {
				t.Fatalf("ParseEnvelope = %+v, want an error containing %q", s, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "bpc: ") {
				t.Errorf("error = %q, want the bpc: prefix", err)
			}
			if got := errors.Is(err, providers.ErrAmount); got != tt.amountErr {
				t.Errorf("errors.Is(err, ErrAmount) = %v, want %v", got, tt.amountErr)
			}
		})
	}
}

func TestLast4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"411111**1111", "1111"},
		{"555544**0042", "0042"},
		{"4111 11** **** 4242", "4242"},
		{"**12", ""},
		{"411111******", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := last4(tt.in); got != tt.want {
			t.Errorf("last4(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeRefundList(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr bool
	}{
		{"bare array", `[{"id":"re_1"},{"id":"re_2"}]`, 2, false},
		{"data", `{"data":[{"id":"re_1"}],"hasMore":false}`, 1, false},
		{"refunds", `{"refunds":[{"id":"re_1"},{"id":"re_2"},{"id":"re_3"}]}`, 3, false},
		{"data null", `{"data":null}`, 0, false},
		{"empty", ``, 0, false},
		{"object without list", `{"items":[]}`, 0, true},
		{"data not a list", `{"data":{"id":"re_1"}}`, 0, true},
		{"broken", `[{"id":`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRefundList([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Errorf("got %d refunds, want %d", len(got), tt.want)
			}
		})
	}
}

func TestHashedID(t *testing.T) {
	a, b := hashedID("re_", "seed-1"), hashedID("re_", "seed-2")
	if a == b {
		t.Errorf("two seeds gave the same id %s", a)
	}
	if a != hashedID("re_", "seed-1") {
		t.Errorf("the same seed gave two ids")
	}
	if !strings.HasPrefix(a, "re_") || len(a) < 40 {
		t.Errorf("id = %q, want re_ and a long base58 tail", a)
	}
	if strings.ContainsAny(a[3:], "0OIl_+/=") {
		t.Errorf("id %q has characters outside base58", a)
	}
}

// checkSnapshot compares the fields a Snapshot carries, Raw and Refunds aside.
func checkSnapshot(t *testing.T, got, want providers.Snapshot) {
	t.Helper()
	got.Raw, want.Raw = nil, nil
	got.Refunds, want.Refunds = nil, nil
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot =\n %+v\nwant\n %+v", got, want)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
