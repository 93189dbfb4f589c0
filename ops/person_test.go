package ops

import "testing"

// Whose request a refund is follows the person key when both sides have one — a person
// signed in without an e-mail (named "pat.ops") is still the requester of their own
// request, and another person with the same display name is not — and the name otherwise.
func TestPersonRequested(t *testing.T) {
	pat := Person{Email: "pat.ops", Key: "p1:aaa"}
	cases := []struct {
		name, key string
		want      bool
	}{
		{"pat.ops", "p1:aaa", true},
		{"someone-else", "p1:aaa", true}, // renamed at the provider: still theirs
		{"pat.ops", "p1:bbb", false},     // another person named alike
		{"PAT.OPS ", "", true},           // recorded before keys: by name
		{"sam@example.com", "", false},
	}
	for _, c := range cases {
		if got := pat.Requested(c.name, c.key); got != c.want {
			t.Errorf("Requested(%q, %q) = %v; want %v", c.name, c.key, got, c.want)
		}
	}
}
