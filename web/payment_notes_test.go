package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// notesSection is the payment page's notes section, as HTML.
func notesSection(t *testing.T, r response) string {
	t.Helper()
	i := strings.Index(r.body, `data-testid="notes"`)
	if i < 0 {
		t.Fatalf("page %s (status %d) has no notes section: %.500s", r.url, r.status, text(r.body))
	}
	j := strings.Index(r.body[i:], "</section>")
	return r.body[i : i+j]
}

// onlyNote returns the payment's one note.
func onlyNote(t *testing.T, h *harness, p storage.Payment) storage.Note {
	t.Helper()
	notes, err := h.db.NotesOfPayment(context.Background(), p.ID)
	if err != nil || len(notes) != 1 {
		t.Fatalf("notes of %s: %v, %+v; want one", p.PublicID, err, notes)
	}
	return notes[0]
}

// TestNotesOnThePaymentPage: support writes a note; it shows with its author, the time in
// the reader's zone and its ticket address as a safe link; finance reads it but has no
// form; another support person may not edit it, a manager may; an edit marks the note
// edited and keeps the earlier text under "Earlier versions"; both are on the timeline.
func TestNotesOnThePaymentPage(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	page := "/payments/" + p.PublicID
	sam := h.signedIn("sam")
	setZoneCookie(t, sam, "Asia/Tokyo")
	written := "Customer called about it: https://tickets.example/browse/T-4471.\n" +
		`Do not open javascript:alert(1) or <script>alert("x")</script> (https://tickets.example/q?a=1&b=2)`
	r := sam.post(page+"/notes", url.Values{"text": {written}})
	if r.status != http.StatusOK || r.url.Path != page {
		t.Fatalf("add note: %d at %s", r.status, r.url)
	}
	mustContain(t, r, "Note added.")
	n := onlyNote(t, h, p)
	sec := notesSection(t, r)
	for _, want := range []string{
		`<a href="https://tickets.example/browse/T-4471" rel="noopener noreferrer" target="_blank">https://tickets.example/browse/T-4471</a>.`,
		`<a href="https://tickets.example/q?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">https://tickets.example/q?a=1&amp;b=2</a>)`,
		`javascript:alert(1) or &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`,
		"\nDo not open", // the line break is kept (the text is shown pre-wrap)
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("notes section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "<script>") || strings.Contains(sec, `href="javascript`) {
		t.Errorf("the note's text became markup:\n%s", sec)
	}
	if got := len(regexp.MustCompile(`<a href=`).FindAllString(regexp.MustCompile(`(?s)<p class="note-text".*?</p>`).FindString(sec), -1)); got != 2 {
		t.Errorf("the note's text has %d links, want 2", got)
	}
	mustContain(t, response{body: sec, url: r.url}, "sam@paydesk.example", localIn(t, n.CreatedAt, "Asia/Tokyo"))
	if !strings.Contains(sec, `data-testid="note-add"`) || !strings.Contains(sec, `data-testid="note-edit"`) {
		t.Errorf("sam, the author, lacks the add or edit form:\n%s", sec)
	}

	// Finance reads, without forms.
	fran := notesSection(t, h.signedIn("fran").get(page))
	if !strings.Contains(fran, "Customer called about it") || strings.Contains(fran, "<form") {
		t.Errorf("fran's notes section: want the note and no form:\n%s", fran)
	}
	// Another support person adds notes but does not edit sam's; a manager does.
	tess := h.signedIn("tess")
	tessSec := notesSection(t, tess.get(page))
	if !strings.Contains(tessSec, `data-testid="note-add"`) || strings.Contains(tessSec, `data-testid="note-edit"`) {
		t.Errorf("tess's notes section: want the add form only:\n%s", tessSec)
	}
	edit := page + "/notes/" + fmt.Sprint(n.ID) + "/edit"
	r = tess.post(edit, url.Values{"text": {"tess was here"}, "version": {"1"}})
	mustContain(t, r, "Only the note's author or a manager may edit it (sam@paydesk.example wrote it); nothing was saved.")
	fr := h.signedIn("fran").noFollow().post(edit, url.Values{"text": {"fran was here"}, "version": {"1"}})
	if fr.status != http.StatusForbidden {
		t.Errorf("fran's edit: status %d, want 403", fr.status)
	}
	if got := onlyNote(t, h, p); got.Text != n.Text || got.Version != 1 {
		t.Fatalf("after refused edits: %q v%d", got.Text, got.Version)
	}

	mgr := h.signedIn("max")
	if !strings.Contains(notesSection(t, mgr.get(page)), `data-testid="note-edit"`) {
		t.Error("max, a manager, has no edit form on sam's note")
	}
	r = mgr.post(edit, url.Values{"text": {"Refund agreed on the phone, see https://tickets.example/browse/T-4471"}, "version": {"1"}})
	mustContain(t, r, "Note saved; the earlier text is kept in its history.")
	sec = notesSection(t, r)
	mustContain(t, response{body: sec, url: r.url}, "Refund agreed on the phone", "edited", "by max@paydesk.example", "Earlier versions (1)",
		"Version 1, by sam@paydesk.example", "Customer called about it")
	if !strings.Contains(sec, `<details class="note-history" data-testid="note-history">`) {
		t.Errorf("the earlier versions are not behind a details element:\n%s", sec)
	}
	tl := regexpFind(r.body, `(?s)(<ol class="timeline panel" data-testid="timeline">.*?</ol>)`)
	if !strings.Contains(text(tl), "Note added: Customer called about it") || !strings.Contains(text(tl), "Note by sam@paydesk.example edited (version 2): Refund agreed") {
		t.Errorf("timeline lacks the note's lines: %s", text(tl))
	}

	// A stale form (version 1 again) is refused: nothing overwritten.
	r = sam.post(edit, url.Values{"text": {"my old form"}, "version": {"1"}})
	mustContain(t, r, "Someone edited this note since you opened it")
	if got := onlyNote(t, h, p); got.Version != 2 || !strings.HasPrefix(got.Text, "Refund agreed") {
		t.Errorf("after a stale edit: %q v%d", got.Text, got.Version)
	}
}

// TestNotesBadInput: an empty, too long or control-character note re-renders the page
// with the message and what was typed (422), and stores nothing; so does an edit, with
// that note's form open.
func TestNotesBadInput(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	page := "/payments/" + p.PublicID
	sam := h.signedIn("sam")
	for _, tt := range []struct{ text, want string }{
		{"   ", "The note is empty: write what happened. Nothing was saved."},
		{strings.Repeat("ab", 2001) + "c", "The note is 4003 characters long, at most 4000: shorten it or link to a ticket. Nothing was saved."},
		{"ring\x07ring", "The note holds a control character (U+0007, character 5)"},
	} {
		r := sam.post(page+"/notes", url.Values{"text": {tt.text}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("note %.20q: status %d, want 422", tt.text, r.status)
		}
		mustContain(t, r, tt.want)
		mustBeCleanPage(t, r)
		if tt.text != "   " && !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("note %.20q: the field is not marked invalid", tt.text)
		}
		if strings.TrimSpace(tt.text) != "" && strings.HasPrefix(tt.text, "ab") && !strings.Contains(r.body, tt.text[:100]) {
			t.Errorf("note %.20q: the form lost what was typed", tt.text)
		}
	}
	if notes, _ := h.db.NotesOfPayment(context.Background(), p.ID); len(notes) != 0 {
		t.Fatalf("refused notes were stored: %+v", notes)
	}
	sam.post(page+"/notes", url.Values{"text": {"first"}})
	n := onlyNote(t, h, p)
	r := sam.post(page+"/notes/"+fmt.Sprint(n.ID)+"/edit", url.Values{"text": {"x\x1by"}, "version": {"1"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad edit: status %d, want 422", r.status)
	}
	mustContain(t, r, "control character (U+001B, character 2)")
	if !strings.Contains(r.body, `<details class="note-edit" open>`) {
		t.Errorf("the refused edit's form is not open")
	}
	if got := onlyNote(t, h, p); got.Text != "first" || got.Version != 1 {
		t.Errorf("after a refused edit: %q v%d", got.Text, got.Version)
	}
}

// TestNotesFoundFromTheListsSearch: the list's search box finds a payment by its note's
// words, and no longer by words edited away.
func TestNotesFoundFromTheListsSearch(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, name: "Grace Hopper"})
	other := h.add(bpc.Name, spec{variant: 2, name: "Alan Turing"})
	sam := h.signedIn("sam")
	sam.post("/payments/"+p.PublicID+"/notes", url.Values{"text": {"Chargeback opened, ticket https://tickets.example/browse/ZX-81"}})
	r := sam.get("/payments?q=" + url.QueryEscape("chargeback zx-81"))
	mustContain(t, r, "Grace Hopper")
	mustNotContain(t, r, "Alan Turing")
	if !strings.Contains(r.body, p.PublicID) || strings.Contains(r.body, other.PublicID) {
		t.Errorf("search by the note's words: want %s only", p.PublicID)
	}
	n := onlyNote(t, h, p)
	sam.post("/payments/"+p.PublicID+"/notes/"+fmt.Sprint(n.ID)+"/edit", url.Values{"text": {"Settled"}, "version": {"1"}})
	r = sam.get("/payments?q=chargeback")
	if strings.Contains(r.body, p.PublicID) {
		t.Errorf("search by words edited away still finds %s", p.PublicID)
	}
	if r = sam.get("/payments?q=settled"); !strings.Contains(r.body, p.PublicID) {
		t.Errorf("search by the note's new words does not find %s", p.PublicID)
	}
}

// TestPayerNeverSeesNotes: the payer's pages (the short address and the return from the
// provider) never show a note, nor its timeline line.
func TestPayerNeverSeesNotes(t *testing.T) {
	h := newHarness(t)
	p, staff, link, provider := payerCancelling(t, h)
	secret := "SECRET-NOTE-WORDS customer is difficult"
	r := staff.post("/payments/"+p.PublicID+"/notes", url.Values{"text": {secret}})
	mustContain(t, r, secret) // the staff see it
	state := mustURL(provider).Query().Get("state")
	for _, page := range []response{
		h.browser().get(link),
		h.browser().get("/payer/return?state=" + url.QueryEscape(state) + "&id_payment=" + p.PaymentID),
		payerDecides(t, h, link, "confirm"),
		h.browser().get(link),
	} {
		if strings.Contains(page.body, "SECRET-NOTE-WORDS") || strings.Contains(page.body, "Internal notes") {
			t.Errorf("payer page %s shows the note: %.500s", page.url, text(page.body))
		}
	}
}
