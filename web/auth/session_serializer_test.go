package auth

import (
	"testing"

	"github.com/gorilla/securecookie"
)

// TestSessionSerializer: the session's JSON value goes through as it is and comes back
// the same; anything else a session could hold is refused rather than lost; a cookie
// written by gorilla's gob serializer (before this one) does not read as a session.
func TestSessionSerializer(t *testing.T) {
	var ser sessionSerializer
	for _, raw := range []string{`{"sub":"u1","email":"a@example.com","roles":["support"]}`, ""} {
		in := map[any]any{}
		if raw != "" {
			in[sessionValue] = raw
		}
		b, err := ser.Serialize(in)
		if err != nil {
			t.Fatalf("serialize %q: %v", raw, err)
		}
		out := map[any]any{}
		if err := ser.Deserialize(b, &out); err != nil {
			t.Fatalf("deserialize %q: %v", raw, err)
		}
		got, _ := out[sessionValue].(string)
		if got != raw || len(out) != len(in) {
			t.Errorf("round trip of %q gave %v", raw, out)
		}
	}
	for _, bad := range []map[any]any{{sessionValue: "{}", "other": 1}, {"other": "x"}, {sessionValue: 42}} {
		if _, err := ser.Serialize(bad); err == nil {
			t.Errorf("serialize %v: no error", bad)
		}
	}
	if _, err := ser.Serialize("not a map"); err == nil {
		t.Error("serialize a string: no error")
	}

	// The same keys, the old serializer: the cookie authenticates but is not ours.
	hash, block := NewSessionKeys()
	old := securecookie.New(hash, block)
	cookie, err := old.Encode("paydesk_session", map[any]any{sessionValue: `{"sub":"u1"}`})
	if err != nil {
		t.Fatal(err)
	}
	cur := securecookie.New(hash, block)
	cur.SetSerializer(sessionSerializer{})
	got := map[any]any{}
	if err := cur.Decode("paydesk_session", cookie, &got); err == nil || got[sessionValue] != nil {
		t.Errorf("a gob cookie decoded as %v (%v)", got, err)
	}
	enc, err := cur.Encode("paydesk_session", map[any]any{sessionValue: `{"sub":"u1"}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.Decode("paydesk_session", enc, &got); err != nil || got[sessionValue] != `{"sub":"u1"}` {
		t.Errorf("round trip through the cookie: %v (%v)", got, err)
	}
}
