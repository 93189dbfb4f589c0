package ops

import (
	"errors"
	"strings"
	"testing"

	"paydesk/storage"
)

// Who may change which saved view: one's own private view whatever one's role; a shared
// one (a shipped one included) for support and managers only; nobody another's private one.
func TestMayChangeView(t *testing.T) {
	sam := Person{Email: "sam@x", Key: "k:sam", Roles: []Role{RoleSupport}}
	fran := Person{Email: "fran@x", Key: "k:fran", Roles: []Role{RoleFinance}}
	max := Person{Email: "max@x", Key: "k:max", Roles: []Role{RoleManager}}
	keyless := Person{Email: "kim@x", Roles: []Role{RoleSupport}}
	samsPrivate := storage.SavedView{OwnerKey: "k:sam", OwnerEmail: "sam@x"}
	fransPrivate := storage.SavedView{OwnerKey: "k:fran", OwnerEmail: "fran@x"}
	shipped := storage.SavedView{Shared: true}
	keylessPrivate := storage.SavedView{}
	for _, c := range []struct {
		who  Person
		v    storage.SavedView
		want bool
	}{
		{sam, samsPrivate, true}, {max, samsPrivate, false}, {fran, samsPrivate, false},
		{fran, fransPrivate, true}, {sam, fransPrivate, false},
		{sam, shipped, true}, {max, shipped, true}, {fran, shipped, false},
		{keyless, keylessPrivate, false}, // no key: no private view is theirs
	} {
		if got := MayChangeView(c.who, c.v); got != c.want {
			t.Errorf("%s may change %+v: %v, want %v", c.who.Email, c.v, got, c.want)
		}
	}
	if MayShareViews(fran) || !MayShareViews(sam) || !MayShareViews(max) {
		t.Errorf("sharing: finance may not, support and managers may")
	}
}

// A view's name: spaces squeezed, 1–60 characters, nothing unprintable.
func TestViewName(t *testing.T) {
	for _, c := range []struct {
		in, want, refusal string
	}{
		{"  Paid   in  EUR ", "Paid in EUR", ""},
		{strings.Repeat("é", 60), strings.Repeat("é", 60), ""},
		{strings.Repeat("é", 61), "", "The name is 61 characters long: shorten it to 60 at most."},
		{" \t ", "", "Give the view a name."},
		{"bell\x07", "", "The name holds characters that cannot be shown: type it again."},
	} {
		got, err := viewName(c.in)
		if c.refusal != "" {
			var rf *Refusal
			if !errors.As(err, &rf) || rf.Message != c.refusal || !errors.Is(err, ErrInvalid) {
				t.Errorf("viewName(%q): %v, want the refusal %q", c.in, err, c.refusal)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("viewName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
