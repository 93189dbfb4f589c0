package views

import "testing"

func TestPrettyJSONDecodesEscapesAndIndents(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"url":"https://x.example/p?a=1\u0026b=2","note":"\u003cb\u003e"}`, "{\n  \"note\": \"<b>\",\n  \"url\": \"https://x.example/p?a=1&b=2\"\n}"},
		{`{"amount":12345678901234567890}`, "{\n  \"amount\": 12345678901234567890\n}"},
		{`not json`, `not json`},
		{`{"a":1} {"b":2}`, `{"a":1} {"b":2}`},
	}
	for _, tt := range tests {
		if got := PrettyJSON(tt.in); got != tt.want {
			t.Errorf("PrettyJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
