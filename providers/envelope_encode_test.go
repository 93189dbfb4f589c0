package providers

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestEnvelopeEncode: Encode writes what json.Marshal writes for the same envelope (the
// parts copied, not compacted again; HTML characters left as they are), and what it
// writes decodes back to the same parts.
func TestEnvelopeEncode(t *testing.T) {
	tx := []json.RawMessage{json.RawMessage(`{"order_id":"o1","amount":10.5}`), json.RawMessage(`{"order_id":"o1","method":"refund"}`)}
	cases := []Envelope{
		{Provider: Name("powens"), Payment: json.RawMessage(`{"id":42,"state":"done"}`)},
		{Provider: Name("bpc"), Session: json.RawMessage(`{"id":"ps_1"}`), Payment: json.RawMessage(`{"id":"p_1","amount":100}`),
			Refunds: JSONList([]json.RawMessage{json.RawMessage(`{"id":"re_1"}`), json.RawMessage(`{"id":"re_2"}`)})},
		{Provider: Name("bpc"), Session: json.RawMessage(`{"id":"ps_2","customerDetails":{"name":"Zoë \"Z\" O'Neil"}}`)},
		{Provider: Name("tranzzo"), Transactions: JSONList(tx)},
		{Provider: Name("tranzzo"), Transactions: JSONList(nil)},
	}
	for _, e := range cases {
		got := e.Encode()
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Encode:\n got %s\nwant %s", got, want)
		}
		back, err := DecodeEnvelope(got, e.Provider)
		if err != nil {
			t.Errorf("%s: does not decode: %v", got, err)
			continue
		}
		for _, pair := range [][2]json.RawMessage{{back.Payment, e.Payment}, {back.Session, e.Session}, {back.Refunds, e.Refunds}, {back.Transactions, e.Transactions}} {
			if !bytes.Equal(pair[0], pair[1]) {
				t.Errorf("%s: part %s came back as %s", got, pair[1], pair[0])
			}
		}
	}
	// HTML characters go through unescaped (json.Marshal would write \u003c).
	e := Envelope{Provider: Name("powens"), Payment: json.RawMessage(`{"label":"<b>&</b>"}`)}
	if want := `{"provider":"powens","payment":{"label":"<b>&</b>"}}`; string(e.Encode()) != want {
		t.Errorf("Encode: %s, want %s", e.Encode(), want)
	}
}
