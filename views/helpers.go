package views

import "strings"

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
