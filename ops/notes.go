package ops

import (
	"context"
	"errors"
	"strings"

	"paydesk/storage"
)

// Internal notes on a payment (docs/notes.md). Who may do what:
//
//   - read: everyone who may see the payment (support, finance, managers) — the pages
//     show them; a payer never (no payer page reads them);
//   - write: support and managers, the people who handle payments (mayAct); finance
//     reads only;
//   - edit: the note's author (by person key, else by e-mail), while still support or
//     manager; a manager may edit anyone's note (to correct or redact it). An edit keeps
//     the text it replaces in the note's history; nothing is ever deleted.

// MayWriteNotes reports whether p may add notes (the page shows the form only then).
func (p Person) MayWriteNotes() bool { return p.mayAct() }

// MayEditNote reports whether p may edit n: its author while they may write notes, or a
// manager.
func (p Person) MayEditNote(n storage.Note) bool {
	if p.Has(RoleManager) {
		return true
	}
	return p.mayAct() && p.isRequester(n.Author, n.AuthorKey)
}

// AddNote adds an internal note to payment p, written by who, with a line on its
// timeline and an audit entry in the same transaction. Refusals: ErrNotAllowed (finance,
// no role), ErrInvalid (the text: its message says what to change), ErrNotFound (no such
// payment), ErrUnavailable (the database).
func (d *Desk) AddNote(ctx context.Context, who Person, p storage.Payment, text string) (storage.Note, error) {
	if !who.MayWriteNotes() {
		d.Audit(ctx, who, "refused", p.ID, "note on payment "+p.PublicID+" refused: support or manager role required", nil)
		return storage.Note{}, refuse(ErrNotAllowed, "Only support and managers may write notes on a payment; nothing was saved.")
	}
	if _, err := storage.NoteText(text); err != nil {
		return storage.Note{}, noteRefusal(err)
	}
	n, err := d.db.AddNote(ctx, storage.NewNote{PaymentID: p.ID, Author: who.Email, AuthorKey: who.Key, Remote: who.Remote, Text: text})
	if err != nil {
		return storage.Note{}, d.noteFailure(who, err)
	}
	d.log.Info("note added", who.logAttrs("payment", p.PublicID, "note", n.ID)...)
	return n, nil
}

// EditNote replaces the text of note noteID of payment p, which who saw at version (the
// edit form carries it): the earlier text stays in the note's history, and the edit
// writes a timeline line and an audit entry in the same transaction. Refusals:
// ErrNotAllowed (not the author nor a manager), ErrInvalid (the text), ErrNotFound (no
// such note on p), ErrConflict (someone edited it since version: nothing saved),
// ErrUnavailable. The same text again changes nothing.
func (d *Desk) EditNote(ctx context.Context, who Person, p storage.Payment, noteID int64, version int, text string) (storage.Note, error) {
	if !who.mayAct() {
		d.Audit(ctx, who, "refused", p.ID, "note edit on payment "+p.PublicID+" refused: support or manager role required", nil)
		return storage.Note{}, refuse(ErrNotAllowed, "Only support and managers may edit notes; nothing was saved.")
	}
	n, err := d.db.Note(ctx, p.ID, noteID)
	if err != nil {
		return storage.Note{}, d.noteFailure(who, err)
	}
	if !who.MayEditNote(n) {
		d.Audit(ctx, who, "refused", p.ID, "note edit on payment "+p.PublicID+" refused: not the author's nor a manager's", nil)
		return storage.Note{}, refuse(ErrNotAllowed, "Only the note's author or a manager may edit it ("+n.Author+" wrote it); nothing was saved.")
	}
	if _, err := storage.NoteText(text); err != nil {
		return storage.Note{}, noteRefusal(err)
	}
	n, err = d.db.EditNote(ctx, storage.NoteEdit{NoteID: noteID, PaymentID: p.ID, Version: version, Editor: who.Email, EditorKey: who.Key, Remote: who.Remote, Text: text})
	if err != nil {
		return storage.Note{}, d.noteFailure(who, err)
	}
	d.log.Info("note edited", who.logAttrs("payment", p.PublicID, "note", n.ID, "version", n.Version)...)
	return n, nil
}

// noteRefusal is a refusal of a note's text, in NoteText's words.
func noteRefusal(err error) *Refusal {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, storage.ErrInvalidNote.Error()+": "); ok {
		msg = after
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return refuse(ErrInvalid, msg+". Nothing was saved.")
}

// noteFailure turns storage's error on a note into a refusal.
func (d *Desk) noteFailure(who Person, err error) error {
	switch {
	case errors.Is(err, storage.ErrInvalidNote):
		return noteRefusal(err)
	case errors.Is(err, storage.ErrNotFound):
		return &Refusal{Reason: ErrNotFound, Message: "There is no such note on this payment.", Cause: err}
	case errors.Is(err, storage.ErrConflict):
		return &Refusal{Reason: ErrConflict, Message: "Someone edited this note since you opened it, so your text was not saved. Read the note as it is now and edit it again.", Cause: err}
	}
	d.log.Error("note", who.logAttrs("err", err)...)
	return &Refusal{Reason: ErrUnavailable, Message: "The note could not be saved. Try again in a moment.", Cause: err}
}
