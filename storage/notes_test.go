package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
	"paydesk/providers/bpc"
)

// notesFixture is searchFixture's payments, whose references name them.
func notesFixture(t *testing.T) (*DB, map[string]Payment) {
	t.Helper()
	db := searchFixture(t)
	page, err := db.ListPayments(context.Background(), PaymentFilter{Limit: MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]Payment{}
	for _, p := range page.Payments {
		byRef[p.MerchantReference] = p
	}
	return db, byRef
}

func addNote(t *testing.T, db *DB, p Payment, who, text string) Note {
	t.Helper()
	n, err := db.AddNote(context.Background(), NewNote{PaymentID: p.ID, Author: who, AuthorKey: "key:" + who, Text: text, Remote: "192.0.2.7"})
	if err != nil {
		t.Fatalf("add note %q: %v", text, err)
	}
	return n
}

// TestNotesAddEditAndHistory: a note is stored with who and when, an edit keeps the text
// it replaces (who wrote it, when) and bumps the version, and each writes one timeline
// line and one audit entry holding the whole text, in the same transaction.
func TestNotesAddEditAndHistory(t *testing.T) {
	db, pays := notesFixture(t)
	ctx := context.Background()
	p := pays["jules"]
	n := addNote(t, db, p, "sam@paydesk.example", "  Customer called: see https://tickets.example/T-4471\r\nWill call back.  ")
	if n.Text != "Customer called: see https://tickets.example/T-4471\nWill call back." {
		t.Errorf("stored text %q: want trimmed, with \\n line breaks", n.Text)
	}
	if n.Version != 1 || n.Edited() || n.Author != "sam@paydesk.example" || n.AuthorKey != "key:sam@paydesk.example" ||
		!n.CreatedAt.Equal(testEpoch) || n.PaymentPublicID != p.PublicID {
		t.Errorf("new note: %+v", n)
	}

	later := testEpoch.Add(90 * time.Minute)
	db.Now = func() time.Time { return later }
	e, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: p.ID, Version: 1, Editor: "max@paydesk.example", EditorKey: "key:max", Text: "Refund agreed, ticket T-4471"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != 2 || e.Text != "Refund agreed, ticket T-4471" || e.Editor != "max@paydesk.example" || !e.UpdatedAt.Equal(later) ||
		e.Author != "sam@paydesk.example" || !e.CreatedAt.Equal(testEpoch) {
		t.Errorf("edited note: %+v", e)
	}
	got, err := db.Note(ctx, p.ID, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Revisions) != 1 {
		t.Fatalf("revisions: %+v, want the first text", got.Revisions)
	}
	r := got.Revisions[0]
	if r.Version != 1 || r.Text != n.Text || r.WrittenBy != "sam@paydesk.example" || r.WriterKey != "key:sam@paydesk.example" || !r.WrittenAt.Equal(testEpoch) {
		t.Errorf("revision: %+v", r)
	}

	// The same text again is no edit: no revision, no line, no entry.
	if same, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: p.ID, Version: 2, Editor: "max@paydesk.example", Text: " Refund agreed, ticket T-4471 "}); err != nil || same.Version != 2 {
		t.Errorf("same text: version %d, %v; want 2, nil", same.Version, err)
	}

	events, err := db.Events(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Kind, "note_") {
			lines = append(lines, ev.Kind+" "+ev.Actor+" "+ev.Message)
		}
	}
	want := []string{
		"note_added sam@paydesk.example Note added: Customer called: see https://tickets.example/T-4471…",
		"note_edited max@paydesk.example Note by sam@paydesk.example edited (version 2): Refund agreed, ticket T-4471",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	audit, err := db.ListAudit(ctx, AuditFilter{Kind: "note", PaymentID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 {
		t.Fatalf("audit entries: %+v, want 2", audit)
	}
	texts := map[string]string{}
	for _, a := range audit {
		var d noteAudit
		if err := json.Unmarshal(a.Data, &d); err != nil {
			t.Fatal(err)
		}
		texts[a.Actor+" "+a.Message] = d.Text
		if a.Actor == "sam@paydesk.example" && a.Remote != "192.0.2.7" {
			t.Errorf("audit remote %q, want where the note came from", a.Remote)
		}
	}
	if texts[fmt.Sprintf("sam@paydesk.example Note %d added to payment %s", n.ID, p.PublicID)] != n.Text ||
		texts[fmt.Sprintf("max@paydesk.example Note %d on payment %s edited (version 2)", n.ID, p.PublicID)] != e.Text {
		t.Errorf("audit entries: %v", texts)
	}
	if v, err := db.VerifyAudit(ctx); err != nil || !v.OK {
		t.Errorf("audit chain: %+v, %v", v, err)
	}
}

// TestNotesRefuseBadInputAndChangeNothing: empty, too long, control characters, a stale
// version, a note of another payment, an unknown payment: refused, nothing written.
func TestNotesRefuseBadInputAndChangeNothing(t *testing.T) {
	db, pays := notesFixture(t)
	ctx := context.Background()
	p, other := pays["jules"], pays["lena"]
	n := addNote(t, db, p, "sam@paydesk.example", "first")
	for _, tt := range []struct {
		text, want string
	}{
		{"   \r\n ", "the note is empty"},
		{strings.Repeat("é", MaxNoteLen+1), "4001 characters long, at most 4000"},
		{"bell\a", "control character (U+0007, character 5)"},
		{"nul\x00", "control character (U+0000"},
		{"a\tb", "tab (character 2)"},
		{"abc\u202Egnp.exe", "reorders text (U+202E"},
		{"bad \xff utf-8", "not valid text"},
	} {
		if _, err := db.AddNote(ctx, NewNote{PaymentID: p.ID, Author: "sam@paydesk.example", Text: tt.text}); !errors.Is(err, ErrInvalidNote) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %q: %v, want ErrInvalidNote saying %q", tt.text, err, tt.want)
		}
		if _, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: p.ID, Version: 1, Editor: "sam@paydesk.example", Text: tt.text}); !errors.Is(err, ErrInvalidNote) {
			t.Errorf("edit to %q: %v, want ErrInvalidNote", tt.text, err)
		}
	}
	if _, err := NoteText(strings.Repeat("é", MaxNoteLen)); err != nil {
		t.Errorf("%d characters: %v, want accepted", MaxNoteLen, err)
	}
	if _, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: p.ID, Version: 7, Editor: "sam@paydesk.example", Text: "x"}); !errors.Is(err, ErrConflict) {
		t.Errorf("stale version: %v, want ErrConflict", err)
	}
	if _, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: other.ID, Version: 1, Editor: "sam@paydesk.example", Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another payment's note: %v, want ErrNotFound", err)
	}
	if _, err := db.AddNote(ctx, NewNote{PaymentID: 999999, Author: "sam@paydesk.example", Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown payment: %v, want ErrNotFound", err)
	}
	notes, err := db.NotesOfPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "first" || notes[0].Version != 1 || len(notes[0].Revisions) != 0 {
		t.Errorf("after refusals: %+v, want the one first note unchanged", notes)
	}
	audit, err := db.ListAudit(ctx, AuditFilter{Kind: "note"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 {
		t.Errorf("audit entries after refusals: %d, want 1", len(audit))
	}
}

// TestNotesForPayments: the notes of several payments together, newest first, each with
// its payment's public id and history; another payment's notes stay out.
func TestNotesForPayments(t *testing.T) {
	db, pays := notesFixture(t)
	ctx := context.Background()
	for i, w := range []struct{ ref, text string }{{"jules", "one"}, {"lena", "two"}, {"aiko", "three"}, {"jules", "four"}} {
		at := testEpoch.Add(time.Duration(i) * time.Minute)
		db.Now = func() time.Time { return at }
		addNote(t, db, pays[w.ref], "sam@paydesk.example", w.text)
	}
	notes, err := db.NotesForPayments(ctx, []int64{pays["jules"].ID, pays["lena"].ID, pays["jules"].ID, 424242})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range notes {
		got = append(got, n.PaymentPublicID+":"+n.Text)
	}
	j, l := pays["jules"].PublicID, pays["lena"].PublicID
	if want := []string{j + ":four", l + ":two", j + ":one"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("notes: %v, want %v", got, want)
	}
	if notes, err := db.NotesForPayments(ctx, nil); err != nil || len(notes) != 0 {
		t.Errorf("no payments: %v, %v", notes, err)
	}
}

// TestSearchFindsNotes: a note's words find its payment from the search box, alone or
// with another filter; once the note is edited its old words no longer do. Four digits
// find a ticket number in a note as well as a card's last 4.
func TestSearchFindsNotes(t *testing.T) {
	db, pays := notesFixture(t)
	ctx := context.Background()
	n := addNote(t, db, pays["aiko"], "sam@paydesk.example", "Chargeback disputed, see https://tickets.example/ZENDESK-4471 and https://tickets.example/browse/7310")
	addNote(t, db, pays["eur"], "sam@paydesk.example", "Kundin rief an: Rückerstattung gewünscht")
	for _, tt := range []struct{ query, want string }{
		{"chargeback", "aiko"},
		{"CHARGEBACK disput", "aiko"},
		{"zendesk-4471", "aiko"},
		{"7310", "aiko"},
		{"ruckerstattung", "eur"}, // diacritics folded as the payments' words are
		{"rückerst", "eur"},
		{"thomas", "jules lena thomasina"}, // the payments' own words still find them
		{"chargeback jules", ""},           // words are found in a note or in the payment, not half in each
		{"refund", ""},
	} {
		if got := refsOf(t, db, tt.query); got != tt.want {
			t.Errorf("search %q: got %q, want %q", tt.query, got, tt.want)
		}
	}
	page, err := db.ListPayments(ctx, PaymentFilter{Query: "chargeback", Currency: "GBP"})
	if err != nil || len(page.Payments) != 0 {
		t.Errorf("note search with another currency: %d payments, %v", len(page.Payments), err)
	}
	page, err = db.ListPayments(ctx, PaymentFilter{Query: "chargeback", Currency: "EUR"})
	if err != nil || len(page.Payments) != 1 {
		t.Errorf("note search with its currency: %d payments, %v", len(page.Payments), err)
	}

	if _, err := db.EditNote(ctx, NoteEdit{NoteID: n.ID, PaymentID: n.PaymentID, Version: 1, Editor: "sam@paydesk.example", Text: "Settled by phone"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ query, want string }{
		{"chargeback", ""}, // the earlier text is history, not searched
		{"zendesk", ""},
		{"settled phone", "aiko"},
	} {
		if got := refsOf(t, db, tt.query); got != tt.want {
			t.Errorf("after the edit, search %q: got %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestSearchFindsNotesOfManyMatches: a search whose words find more payments than are
// sorted (CountCap + 19 names here) (walked along the date index instead, wordsRowTerm on PostgreSQL) still finds
// those whose notes have the words.
func TestSearchFindsNotesOfManyMatches(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var noted Payment
	for i := range CountCap + 20 {
		name := "Common Name"
		if i == 41 {
			name = "Other Person"
		}
		p, _ := upsertForTest(t, db, providers.Snapshot{Provider: bpc.Name, PaymentID: fmt.Sprintf("m_%d", i), Amount: 100, Currency: "EUR",
			RawStatus: "succeeded", CustomerName: name, MerchantReference: fmt.Sprintf("r%d", i),
			CreatedAt: testEpoch.Add(-time.Duration(i) * time.Minute)}, UpsertOptions{})
		if i == 41 {
			noted = p
		}
	}
	addNote(t, db, noted, "sam@paydesk.example", "common complaint about delivery")
	page, err := db.ListPayments(ctx, PaymentFilter{Query: "common", Limit: MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range page.Payments {
		found = found || p.ID == noted.ID
		if p.CustomerName != "Common Name" && p.ID != noted.ID {
			t.Errorf("search common found %s (%s)", p.MerchantReference, p.CustomerName)
		}
	}
	if !found {
		t.Errorf("search common: the payment whose note says common is not on the first page (%d payments)", len(page.Payments))
	}
}
