package views

import "strings"

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
