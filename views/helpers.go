package views

import (
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
