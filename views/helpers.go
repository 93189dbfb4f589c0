package views

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// current marks the nav entry of the current section.
func current(section, entry string) string {
	if section == entry {
		return "page"
	}
	return "false"
}

// queueName and queueValue split a "name=value" filter of the payments list.
func queueName(nv string) string {
	n, _, _ := strings.Cut(nv, "=")
	return n
}

func queueValue(nv string) string {
	_, v, _ := strings.Cut(nv, "=")
	return v
}

func joinRoles(roles []string) string {
	if len(roles) == 0 {
		return "no role"
	}
	return strings.Join(roles, ", ")
}

// invalidIf marks the form field named field as the one a message is about, when it is
// the field at fault (errorField): screen readers read the message with the field.
func invalidIf(errorField, field string) templ.Attributes {
	if errorField == "" || errorField != field {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "filter-error"}
}

// itoa writes a count.
func itoa(n int) string { return strconv.Itoa(n) }

// currentIf is aria-current for an entry that is the page shown when on is true.
func currentIf(on bool) string {
	if on {
		return "page"
	}
	return "false"
}

// viewTitle is a saved view's tooltip in the navigation.
func viewTitle(v NavView) string {
	t := "Private view"
	if v.Shared {
		t = "Shared with the team"
	}
	if v.Count != "" {
		t += " · " + v.Count + " payments"
	}
	return t
}
