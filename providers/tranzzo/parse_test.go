package tranzzo

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// diffSnapshot lists the fields where got differs from want (Raw is not compared).
func diffSnapshot(got, want providers.Snapshot) []string {
	var diffs []string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if name == "Raw" {
			continue
		}
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gt, ok := gf.(time.Time); ok {
			if !gt.Equal(wf.(time.Time)) {
				diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", name, gt, wf))
			}
			continue
		}
		if name == "Refunds" {
			gr, wr := got.Refunds, want.Refunds
			if len(gr) != len(wr) {
				diffs = append(diffs, fmt.Sprintf("Refunds: got %d, want %d: %+v", len(gr), len(wr), gr))
				continue
			}
			for j := range gr {
				if !gr[j].CreatedAt.Equal(wr[j].CreatedAt) {
					diffs = append(diffs, fmt.Sprintf("Refunds[%d].CreatedAt: got %v, want %v", j, gr[j].CreatedAt, wr[j].CreatedAt))
				}
				a, b := gr[j], wr[j]
				a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
				if a != b {
					diffs = append(diffs, fmt.Sprintf("Refunds[%d]: got %+v, want %+v", j, a, b))
				}
			}
			continue
		}
		if !reflect.DeepEqual(gf, wf) {
			diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", name, gf, wf))
		}
	}
	return diffs
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wrap tags an order's transactions as an import envelope.
func wrap(transactions string) []byte {
	return []byte(`{"provider":"tranzzo","transactions":` + transactions + `}`)
}

func TestSeedCancelResponse(t *testing.T) {
	t.Run("verbatim seed is refused", func(t *testing.T) {
		_, err := ParseEnvelope(wrap(string(readFixture(t, "seed_cancel_response.json"))))
		if err == nil {
			t.Fatal("got no error for the seed's unclosed quote, want one")
		}
		if !strings.HasPrefix(err.Error(), "tranzzo: envelope:") {
			t.Errorf("got error %q, want it prefixed with tranzzo: envelope:", err)
		}
		if _, err := answerTransaction(readFixture(t, "seed_cancel_response.json"), methodPurchase); err == nil {
			t.Error("answerTransaction: got no error for the verbatim seed, want one")
		}
	})

	fixed := readFixture(t, "seed_cancel_response_fixed.json")
	want := providers.Snapshot{
		Provider:          Name,
		PaymentID:         "9b1392a5-d030-4e85-b02d-9b7191ea2a5e",
		OrderID:           "123",
		MerchantReference: "123",
		Amount:            100,
		Currency:          "UAH",
		RawStatus:         "failure",
		ErrorCode:         "6007",
		Method:            "purchase",
		Mode:              "hosted",
		CustomerName:      "Tom Hanks",
		CustomerEmail:     "[email protected]",
		Description:       "Order description",
		CreatedAt:         time.Date(2018, 10, 10, 10, 10, 22, 100e6, time.UTC),
		UpdatedAt:         time.Date(2018, 10, 10, 10, 10, 23, 300e6, time.UTC),
	}

	t.Run("fixed seed as an envelope", func(t *testing.T) {
		got, err := ParseEnvelope(wrap(string(fixed)))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffSnapshot(got, want) {
			t.Error(d)
		}
		if st := providers.Normalise(got); st != providers.StatusCancelled {
			t.Errorf("Normalise: got %s, want %s", st, providers.StatusCancelled)
		}
	})

	t.Run("fixed seed through the wire struct", func(t *testing.T) {
		tx, err := answerTransaction(fixed, methodPurchase)
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct{ name, got, want string }{
			{"payment_id", string(tx.PaymentID), "9b1392a5-d030-4e85-b02d-9b7191ea2a5e"},
			{"pos_id", string(tx.POSID), "$dc728de1-51ef-4ef1-80f7-3b44b07b5667"},
			{"amount", string(tx.Amount), "1"},
			{"status", string(tx.Status), "failure"},
			{"status_code", string(tx.StatusCode), "6007"},
			{"status_description", string(tx.StatusDescription), "Payment has cancelled"},
			{"options_3ds", string(tx.Options3DS), "supported"},
			{"customer_ip", string(tx.CustomerIP), "194.183.171.239"},
			{"customer_phone", string(tx.CustomerPhone), "+380999999999"},
			{"customer_country", string(tx.CustomerCountry), "UA"},
			{"result_url", string(tx.ResultURL), "https://example.com/result"},
			{"gateway_order_id (null)", string(tx.GatewayOrderID), ""},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
			}
		}
		if tx.UserActionRequired {
			t.Error("user_action_required: got true, want false")
		}
	})

	t.Run("re-encoding keeps every documented field", func(t *testing.T) {
		var orig []map[string]any
		if err := json.Unmarshal(fixed, &orig); err != nil {
			t.Fatal(err)
		}
		var txs []transaction
		if err := json.Unmarshal(fixed, &txs); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(txs)
		if err != nil {
			t.Fatal(err)
		}
		var again []map[string]any
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, orig) {
			t.Errorf("round trip through transaction:\ngot  %v\nwant %v", again, orig)
		}
	})
}

// order builds a transactions array from JSON objects written with defaults filled in.
func order(txs ...string) string {
	return "[" + strings.Join(txs, ",") + "]"
}

// txJSON is a transaction of order "o-1" with the given fields overriding the defaults.
func txJSON(fields string) string {
	defaults := map[string]json.RawMessage{
		"payment_id": json.RawMessage(`"p-1"`),
		"order_id":   json.RawMessage(`"o-1"`),
		"mode":       json.RawMessage(`"hosted"`),
		"method":     json.RawMessage(`"purchase"`),
		"amount":     json.RawMessage(`100.00`),
		"currency":   json.RawMessage(`"UAH"`),
		"status":     json.RawMessage(`"success"`),
		"created_at": json.RawMessage(`"2024-05-01T10:00:00.000"`),
	}
	var over map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+fields+"}"), &over); err != nil {
		panic(err)
	}
	for k, v := range over {
		if string(v) == `"-"` { // "-" removes the field
			delete(defaults, k)
			continue
		}
		defaults[k] = v
	}
	b, err := json.Marshal(defaults)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseEnvelope(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2024, 5, 1, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		txs    string
		want   providers.Snapshot
		status providers.Status
	}{
		{
			name: "purchase success, decimal amount",
			txs: order(txJSON(`"amount":50.50,"status_code":"1000","cc_mask":"424242******4242",
				"customer_fname":"Olena","customer_lname":"Shevchenko","customer_email":"olena@example.com",
				"description":"Tea","processed_at":"2024-05-01T10:00:05.500"`)),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 5050, Captured: 5050, Currency: "UAH", RawStatus: "success", ErrorCode: "1000",
				Method: "purchase", Mode: "hosted", CustomerName: "Olena Shevchenko", CustomerEmail: "olena@example.com",
				CardLast4: "4242", Description: "Tea", CreatedAt: at(10, 0), UpdatedAt: at(10, 0).Add(5500 * time.Millisecond)},
			status: providers.StatusPaid,
		},
		{
			name: "integer amount, payload as reference, numeric status_code",
			txs:  order(txJSON(`"amount":250,"payload":"INV-7","status":"failure","status_code":2122`)),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "INV-7",
				Amount: 25000, Currency: "UAH", RawStatus: "failure", ErrorCode: "2122",
				Method: "purchase", Mode: "hosted", CreatedAt: at(10, 0), UpdatedAt: at(10, 0)},
			status: providers.StatusFailed,
		},
		{
			name: "quoted amount, XTS counts two decimals",
			txs:  order(txJSON(`"amount":"0.07","currency":"XTS","status":"init","mode":"direct"`)),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 7, Currency: "XTS", RawStatus: "init", Method: "purchase", Mode: "direct",
				CreatedAt: at(10, 0), UpdatedAt: at(10, 0)},
			status: providers.StatusAwaitingPayment,
		},
		{
			name: "refunds: success counted, failure and pending not; newest first in the array",
			txs: order(
				txJSON(`"payment_id":"r-3","method":"refund","currency":"EUR","amount":2,"status":"pending","created_at":"2024-05-01T12:00:00"`),
				txJSON(`"payment_id":"r-2","method":"refund","currency":"EUR","amount":1.00,"status":"failure","created_at":"2024-05-01T11:30:00"`),
				txJSON(`"payment_id":"r-1","method":"refund","currency":null,"amount":5.00,"created_at":"2024-05-01T11:00:00"`),
				txJSON(`"currency":"EUR","amount":19.99`),
			),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 1999, Captured: 1999, Refunded: 500, Currency: "EUR", RawStatus: "success",
				Method: "purchase", Mode: "hosted", CreatedAt: at(10, 0), UpdatedAt: at(12, 0),
				Refunds: []providers.RefundSnapshot{
					{ID: "r-3", Amount: 200, Currency: "EUR", Status: "pending", CreatedAt: at(12, 0)},
					{ID: "r-2", Amount: 100, Currency: "EUR", Status: "failure", Failed: true, CreatedAt: at(11, 30)},
					{ID: "r-1", Amount: 500, Currency: "EUR", Status: "success", Succeeded: true, CreatedAt: at(11, 0)},
				}},
			status: providers.StatusPartiallyRefunded,
		},
		{
			name: "auth then partial capture: capture is the main transaction",
			txs: order(
				txJSON(`"method":"auth","status_code":"1002","cc_mask":"535310******0011","customer_fname":"Ivan","customer_lname":"Franko"`),
				txJSON(`"payment_id":"c-1","method":"capture","amount":80.00,"status_code":"1000","created_at":"2024-05-01T10:30:00","customer_fname":null,"customer_lname":null`),
			),
			want: providers.Snapshot{PaymentID: "c-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 10000, Captured: 8000, Currency: "UAH", RawStatus: "success", ErrorCode: "1000",
				Method: "capture", Mode: "hosted", CustomerName: "Ivan Franko", CardLast4: "0011",
				CreatedAt: at(10, 0), UpdatedAt: at(10, 30)},
			status: providers.StatusPaid,
		},
		{
			name: "voided auth",
			txs: order(
				txJSON(`"method":"auth"`),
				txJSON(`"payment_id":"v-1","method":"void","created_at":"2024-05-01T11:00:00"`),
			),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 10000, Currency: "UAH", RawStatus: "success", Method: "auth", Mode: "hosted",
				Voided: true, CreatedAt: at(10, 0), UpdatedAt: at(11, 0)},
			status: providers.StatusCancelled,
		},
		{
			name: "failed void leaves the auth held",
			txs: order(
				txJSON(`"method":"auth"`),
				txJSON(`"payment_id":"v-1","method":"void","status":"failure","created_at":"2024-05-01T11:00:00"`),
			),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 10000, Currency: "UAH", RawStatus: "success", Method: "auth", Mode: "hosted",
				CreatedAt: at(10, 0), UpdatedAt: at(11, 0)},
			status: providers.StatusAuthorized,
		},
		{
			name: "unknown status kept verbatim, RFC 3339 time with offset",
			txs:  order(txJSON(`"status":"processing","created_at":"2024-05-01T13:00:00+03:00"`)),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 10000, Captured: 0, Currency: "UAH", RawStatus: "processing", Method: "purchase", Mode: "hosted",
				CreatedAt: at(10, 0), UpdatedAt: at(10, 0)},
			status: providers.StatusUnknown,
		},
		{
			name: "unknown method ignored, even with a broken amount",
			txs: order(
				txJSON(``),
				txJSON(`"payment_id":"x-1","method":"p2p","amount":"abc","created_at":"2024-05-01T10:10:00"`),
			),
			want: providers.Snapshot{PaymentID: "p-1", OrderID: "o-1", MerchantReference: "o-1",
				Amount: 10000, Captured: 10000, Currency: "UAH", RawStatus: "success", Method: "purchase", Mode: "hosted",
				CreatedAt: at(10, 0), UpdatedAt: at(10, 10)},
			status: providers.StatusPaid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope(wrap(tt.txs))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			tt.want.Provider = Name
			for _, d := range diffSnapshot(got, tt.want) {
				t.Error(d)
			}
			if st := providers.Normalise(got); st != tt.status {
				t.Errorf("Normalise: got %s, want %s", st, tt.status)
			}
			// Raw is a normalised envelope that parses to the same snapshot.
			again, err := ParseEnvelope(got.Raw)
			if err != nil {
				t.Fatalf("ParseEnvelope(Raw): %v", err)
			}
			for _, d := range diffSnapshot(again, got) {
				t.Errorf("after round trip: %s", d)
			}
			if string(again.Raw) != string(got.Raw) {
				t.Errorf("Raw is not stable:\ngot  %s\nwant %s", again.Raw, got.Raw)
			}
		})
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"not JSON", `{"provider":`, "tranzzo: envelope:"},
		{"HTML", `<html>oops</html>`, "tranzzo: envelope:"},
		{"no provider tag", `{"transactions":[` + txJSON(``) + `]}`, `"provider" tag is missing`},
		{"wrong provider", `{"provider":"bpc","transactions":[` + txJSON(``) + `]}`, `provider is "bpc"`},
		{"no transactions", `{"provider":"tranzzo"}`, "no transactions"},
		{"empty transactions", `{"provider":"tranzzo","transactions":[]}`, "no transactions"},
		{"transactions not an array", `{"provider":"tranzzo","transactions":{"order_id":"o-1"}}`, "must be a JSON array"},
		{"transaction not an object", string(wrap(`[42]`)), "transaction 0"},
		{"missing order_id", string(wrap(order(txJSON(`"order_id":"-"`)))), "missing order_id"},
		{"two orders", string(wrap(order(txJSON(``), txJSON(`"order_id":"o-2"`)))), `belongs to order "o-2"`},
		{"missing payment_id", string(wrap(order(txJSON(`"payment_id":null`)))), "has no payment_id"},
		{"missing currency", string(wrap(order(txJSON(`"currency":"-"`)))), "missing currency"},
		{"lower-case currency", string(wrap(order(txJSON(`"currency":"uah"`)))), `invalid currency "uah"`},
		{"too many decimals", string(wrap(order(txJSON(`"amount":12.345`)))), "more than 2 decimals"},
		{"exponent amount", string(wrap(order(txJSON(`"amount":1e2`)))), "invalid amount"},
		{"missing amount", string(wrap(order(txJSON(`"amount":"-"`)))), "amount: invalid amount: missing"},
		{"negative amount", string(wrap(order(txJSON(`"amount":-5`)))), "negative amount"},
		{"bad refund amount", string(wrap(order(txJSON(``), txJSON(`"payment_id":"r-1","method":"refund","amount":"x"`)))), `refund transaction "r-1": amount`},
		{"refund in another currency", string(wrap(order(txJSON(``), txJSON(`"payment_id":"r-1","method":"refund","currency":"EUR"`)))), `is in "EUR"`},
		{"only a refund", string(wrap(order(txJSON(`"method":"refund"`)))), "no purchase, auth or capture"},
		{"bad timestamp", string(wrap(order(txJSON(`"created_at":"yesterday"`)))), `unreadable timestamp "yesterday"`},
		{"status_code object", string(wrap(order(txJSON(`"status_code":{"a":1}`)))), "transaction 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.raw))
			if err == nil {
				t.Fatalf("got snapshot %+v and no error, want error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "tranzzo: ") {
				t.Errorf("got error %q, want it prefixed with tranzzo:", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2018-10-10T10:10:22.100", time.Date(2018, 10, 10, 10, 10, 22, 100e6, time.UTC), false},
		{"2018-10-10T10:10:22", time.Date(2018, 10, 10, 10, 10, 22, 0, time.UTC), false},
		{"2018-10-10 10:10:22.5", time.Date(2018, 10, 10, 10, 10, 22, 500e6, time.UTC), false},
		{"2018-10-10T10:10:22Z", time.Date(2018, 10, 10, 10, 10, 22, 0, time.UTC), false},
		{"2018-10-10T12:10:22.25+02:00", time.Date(2018, 10, 10, 10, 10, 22, 250e6, time.UTC), false},
		{"", time.Time{}, false},
		{"10/10/2018", time.Time{}, true},
		{"2018-10-10", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseTime(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q): got %v, want %v in UTC", tt.in, got, tt.want)
		}
	}
	if got := formatTime(time.Date(2018, 10, 10, 13, 10, 22, 100e6, time.FixedZone("EEST", 3*3600))); got != "2018-10-10T10:10:22.100" {
		t.Errorf("formatTime: got %q, want %q", got, "2018-10-10T10:10:22.100")
	}
}

func TestErrorBodyCode(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"args":{"code":"S-404"},"message":"Invalid pos_id field or credentials"}`, "S-404"},
		{`{"args":[{"field":"order_id","code":"V-400"}],"message":"x"}`, "V-400"},
		{`{"args":[{"field":"a"},{"code":1234}],"message":"x"}`, "1234"},
		{`{"args":["order_id"],"message":"x"}`, ""},
		{`{"args":[],"message":"x"}`, ""},
		{`{"args":null,"message":"x"}`, ""},
		{`{"message":"x"}`, ""},
	}
	for _, tt := range tests {
		var eb errorBody
		if err := json.Unmarshal([]byte(tt.body), &eb); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if got := eb.code(); got != tt.want {
			t.Errorf("code of %s: got %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestLast4(t *testing.T) {
	tests := map[string]string{
		"424242******4242":    "4242",
		"5375 41** **** 0011": "0011",
		"424242******":        "",
		"123":                 "",
		"":                    "",
	}
	for in, want := range tests {
		if got := last4(in); got != want {
			t.Errorf("last4(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestTextJSON(t *testing.T) {
	var v struct {
		A, B, C, D text
	}
	if err := json.Unmarshal([]byte(`{"A":"x","B":6007,"C":null,"D":true}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "x" || v.B != "6007" || v.C != "" || v.D != "true" {
		t.Errorf("got %+v, want A=x B=6007 C= D=true", v)
	}
	b, err := json.Marshal(struct{ A, B text }{"", `a"b`})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"A":null,"B":"a\"b"}`; got != want {
		t.Errorf("marshal: got %s, want %s", got, want)
	}
	if err := json.Unmarshal([]byte(`{"A":[1]}`), &v); err == nil {
		t.Error("unmarshal of an array into text: got no error, want one")
	}
}
