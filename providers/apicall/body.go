package apicall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ExcerptLen is how many bytes of a body an excerpt keeps at most (before the "…").
const ExcerptLen = 300

// ErrHTML is wrapped by DecodeJSON's error for an answer that is a web page.
var ErrHTML = errors.New("apicall: an HTML page, not JSON")

// ErrEmpty is wrapped by DecodeJSON's error for an answer with no body.
var ErrEmpty = errors.New("apicall: an empty body, not JSON")

// Excerpt is the start of a body for a log line: on one line, invalid UTF-8 replaced,
// at most ExcerptLen bytes and never cut inside a character, "…" when cut, and
// "(empty body)" when there is nothing.
func Excerpt(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if s == "" {
		return "(empty body)"
	}
	return Cut(s, ExcerptLen)
}

// Cut shortens s to at most n bytes without splitting a UTF-8 character, adding "…" when
// it cut anything.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// DecodeJSON decodes the answer's body into v (only checks that it is JSON when v is
// nil). Its error says what came instead: an HTML page (ErrHTML), nothing (ErrEmpty), or
// JSON that does not decode into v.
func DecodeJSON(a Answer, v any) error {
	body := bytes.TrimSpace(a.Body)
	switch {
	case a.HTML():
		return fmt.Errorf("%w (HTTP %d)", ErrHTML, a.Status)
	case len(body) == 0:
		return fmt.Errorf("%w (HTTP %d)", ErrEmpty, a.Status)
	case v == nil:
		if !json.Valid(body) {
			return errors.New("apicall: malformed JSON")
		}
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("apicall: malformed JSON: %w", err)
	}
	return nil
}

// RawJSON returns b, trimmed, when it is JSON (to keep a provider's answer in an
// outcome or the journal), nil otherwise.
func RawJSON(b []byte) json.RawMessage {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return json.RawMessage(b)
}
