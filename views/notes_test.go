package views

import (
	"context"
	"strings"
	"testing"
)

// TestNoteSegments: only http(s) addresses with a host become links, without the
// punctuation around them; everything else stays text, and the pieces add up to the text.
func TestNoteSegments(t *testing.T) {
	for _, tt := range []struct {
		in    string
		links []string
	}{
		{"see https://t.example/T-1.", []string{"https://t.example/T-1"}},
		{"(https://t.example/a_(b)) and http://x.example/?q=1&r=2, ok", []string{"https://t.example/a_(b)", "http://x.example/?q=1&r=2"}},
		{"HTTPS://T.EXAMPLE/X!", []string{"https://T.EXAMPLE/X"}},
		{"javascript:alert(1) data:text/html,x vbscript:x ftp://f.example/x", nil},
		{"https:// nothing, http:///path, https://", nil},
		{`"https://t.example/q"<b>`, []string{"https://t.example/q"}},
		{"xhttps://t.example/1", nil}, // not inside a word
		{"no address at all", nil},
	} {
		var links []string
		var whole strings.Builder
		for _, s := range NoteSegments(tt.in) {
			whole.WriteString(s.Text)
			if s.URL != "" {
				links = append(links, s.URL)
				if !strings.HasPrefix(strings.ToLower(s.URL), "http") {
					t.Errorf("%q: link %q", tt.in, s.URL)
				}
			}
		}
		if whole.String() != tt.in {
			t.Errorf("%q: segments join to %q", tt.in, whole.String())
		}
		if strings.Join(links, " ") != strings.Join(tt.links, " ") {
			t.Errorf("%q: links %q, want %q", tt.in, links, tt.links)
		}
	}
}

// TestNoteTextEscapes: a note's text renders as text, its links with rel and target.
func TestNoteTextEscapes(t *testing.T) {
	var b strings.Builder
	if err := noteText(`<img src=x onerror=alert(1)> https://t.example/"><script>`).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	want := `&lt;img src=x onerror=alert(1)&gt; <a href="https://t.example/" rel="noopener noreferrer" target="_blank">https://t.example/</a>&#34;&gt;&lt;script&gt;`
	if b.String() != want {
		t.Errorf("rendered:\n%s\nwant:\n%s", b.String(), want)
	}
}
