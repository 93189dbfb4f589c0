package ops

import (
	"context"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// TestNotesRoles: support and managers write notes, finance and people without a role do
// not; the author edits their own note (recognised by person key even when the e-mail
// changed), another support person may not, a manager may edit anyone's. Every refusal
// changes nothing and is audited.
func TestNotesRoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.add(bpc.Name, 2, 5000)
	samK := sam
	samK.Key = "https://idp.test|sam"
	nobody := Person{Email: "nora@paydesk.test"}
	sue := Person{Email: "sue@paydesk.test", Key: "https://idp.test|sue", Roles: []Role{RoleSupport}}

	for _, who := range []Person{fin, nobody} {
		_, err := f.desk.AddNote(ctx, who, p, "hello")
		refusedWith(t, err, ErrNotAllowed, "Only support and managers may write notes")
	}
	n, err := f.desk.AddNote(ctx, samK, p, "Customer called, ticket https://t.example/1")
	if err != nil {
		t.Fatal(err)
	}
	if n.Author != sam.Email || n.AuthorKey != samK.Key {
		t.Errorf("note author %q/%q", n.Author, n.AuthorKey)
	}

	_, err = f.desk.EditNote(ctx, sue, p, n.ID, 1, "sue's words")
	refusedWith(t, err, ErrNotAllowed, "Only the note's author or a manager may edit it (sam@paydesk.test wrote it)")
	_, err = f.desk.EditNote(ctx, fin, p, n.ID, 1, "fin's words")
	refusedWith(t, err, ErrNotAllowed, "Only support and managers may edit notes")

	// The same person under a new e-mail: the key says it is their note.
	renamed := samK
	renamed.Email = "sam.new@paydesk.test"
	n, err = f.desk.EditNote(ctx, renamed, p, n.ID, 1, "Customer called twice")
	if err != nil {
		t.Fatalf("author's own edit: %v", err)
	}
	n, err = f.desk.EditNote(ctx, mara, p, n.ID, 2, "Customer called twice (ticket 1)")
	if err != nil {
		t.Fatalf("manager's edit: %v", err)
	}
	if n.Version != 3 || n.Editor != mara.Email || n.Author != sam.Email || len(n.Revisions) != 2 {
		t.Errorf("after two edits: %+v", n)
	}
	// A manager's edit does not make the note theirs: the author may still edit it.
	if !samK.MayEditNote(n) || sue.MayEditNote(n) || fin.MayEditNote(n) || !mia.MayEditNote(n) {
		t.Errorf("MayEditNote: sam %v sue %v fin %v mia %v, want true false false true",
			samK.MayEditNote(n), sue.MayEditNote(n), fin.MayEditNote(n), mia.MayEditNote(n))
	}

	notes, err := f.db.NotesOfPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != "Customer called twice (ticket 1)" {
		t.Errorf("notes: %+v", notes)
	}
	rows, err := f.db.ListAudit(ctx, storage.AuditFilter{PaymentID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range rows {
		kinds = append(kinds, r.Kind+" "+r.Actor)
	}
	got := strings.Join(kinds, ", ")
	for _, want := range []string{"refused fin@paydesk.test", "refused nora@paydesk.test", "refused sue@paydesk.test",
		"note sam@paydesk.test", "note sam.new@paydesk.test", "note mara@paydesk.test"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log %q lacks %q", got, want)
		}
	}
	if strings.Count(got, "note ") != 3 {
		t.Errorf("audit log %q: want 3 note entries (one add, two edits)", got)
	}
}

// TestNotesRefusalsSayWhatToChange: bad text, a stale version, a note of another payment.
func TestNotesRefusalsSayWhatToChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, other := f.add(bpc.Name, 2, 5000), f.add(bpc.Name, 2, 6000)
	_, err := f.desk.AddNote(ctx, sam, p, "  \n ")
	refusedWith(t, err, ErrInvalid, "The note is empty: write what happened. Nothing was saved.")
	_, err = f.desk.AddNote(ctx, sam, p, strings.Repeat("x", 4001))
	refusedWith(t, err, ErrInvalid, "The note is 4001 characters long, at most 4000")
	n, err := f.desk.AddNote(ctx, sam, p, "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.EditNote(ctx, sam, p, n.ID, 1, "second"); err != nil {
		t.Fatal(err)
	}
	_, err = f.desk.EditNote(ctx, mara, p, n.ID, 1, "third, from a stale form")
	refusedWith(t, err, ErrConflict, "Someone edited this note since you opened it")
	_, err = f.desk.EditNote(ctx, sam, other, n.ID, 2, "elsewhere")
	refusedWith(t, err, ErrNotFound, "There is no such note on this payment")
	_, err = f.desk.EditNote(ctx, sam, p, n.ID, 2, "bell\a")
	refusedWith(t, err, ErrInvalid, "control character")
	got, err := f.db.Note(ctx, p.ID, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "second" || got.Version != 2 {
		t.Errorf("after the refusals: %q v%d, want second v2", got.Text, got.Version)
	}
	events, err := f.db.Events(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	n2 := 0
	for _, e := range events {
		if strings.HasPrefix(e.Kind, "note_") {
			n2++
		}
	}
	if n2 != 2 {
		t.Errorf("timeline has %d note lines, want 2 (added, edited)", n2)
	}
}
