package views

import (
	"net/url"
	"regexp"
	"strings"
)

// NoteSegment is a piece of a note's text: plain text, or an http(s) address shown as a
// link (URL set).
type NoteSegment struct {
	Text string
	URL  string
}

// noteURL finds addresses in a note: http:// or https:// and what follows up to a space
// or a character that cannot be in an address as typed (quotes, angle brackets).
var noteURL = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'` + "`" + `]+`)

// NoteSegments splits a note's text into plain text and links. Only http and https
// addresses with a host become links (a "javascript:" or any other scheme stays text);
// punctuation ending a sentence is not part of the address ("see https://t.example/1."),
// nor a closing bracket without its opening one ("(https://t.example/1)"). The text of
// each segment is escaped when rendered, like any other text.
func NoteSegments(s string) []NoteSegment {
	var out []NoteSegment
	last := 0
	for _, m := range noteURL.FindAllStringIndex(s, -1) {
		start, end := m[0], trimURLEnd(s[m[0]:m[1]])+m[0]
		u, err := url.Parse(s[start:end])
		if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" {
			continue
		}
		if start > last {
			out = append(out, NoteSegment{Text: s[last:start]})
		}
		out = append(out, NoteSegment{Text: s[start:end], URL: u.String()})
		last = end
	}
	if last < len(s) {
		out = append(out, NoteSegment{Text: s[last:]})
	}
	return out
}

// trimURLEnd returns the length of u without the punctuation that ends a sentence or
// closes a bracket opened before the address.
func trimURLEnd(u string) int {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?", c) >= 0:
		case c == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
		case c == ']' && strings.Count(u, "[") < strings.Count(u, "]"):
		default:
			return len(u)
		}
		u = u[:len(u)-1]
	}
	return 0
}
