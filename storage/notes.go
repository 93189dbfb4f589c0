package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidNote is wrapped by the errors of a note's text that cannot be stored: empty,
// too long, or holding characters a note may not (NoteText says which, in words).
var ErrInvalidNote = errors.New("invalid note")

// MaxNoteLen is the longest a note may be, in characters, once trimmed.
const MaxNoteLen = 4000

// Note is an internal note on a payment: staff's words, never shown to a payer.
type Note struct {
	ID        int64
	PaymentID int64
	// PaymentPublicID is the payment's Paydesk id ("pd_…"), for pages listing the notes of
	// several payments.
	PaymentPublicID string
	// Author and AuthorKey are who wrote the note first (e-mail, person key).
	Author, AuthorKey string
	CreatedAt         time.Time
	// Editor and EditorKey are who wrote its current text, at UpdatedAt (the author, at
	// CreatedAt, until someone edits it).
	Editor, EditorKey string
	UpdatedAt         time.Time
	// Text is the current text.
	Text string
	// Version counts the texts: 1 for a note never edited.
	Version int
	// Revisions are the earlier texts, newest first (none when never edited).
	Revisions []NoteRevision
}

// Edited reports whether the note's text was ever replaced.
func (n Note) Edited() bool { return n.Version > 1 }

// NoteRevision is an earlier text of a note: which version it was, who wrote it and when.
type NoteRevision struct {
	Version   int
	Text      string
	WrittenBy string
	WriterKey string
	WrittenAt time.Time
}

// NewNote is a note to add: the payment, who writes it (and from where, for the audit
// log), the text.
type NewNote struct {
	PaymentID         int64
	Author, AuthorKey string
	Remote            string
	Text              string
}

// NoteEdit replaces a note's text. Version is the version the editor saw: the edit is
// refused (ErrConflict) when the note has changed since.
type NoteEdit struct {
	NoteID, PaymentID int64
	Version           int
	Editor, EditorKey string
	Remote            string
	Text              string
}

// NoteText checks a note's text and returns it as stored: line breaks as "\n" (a browser
// sends "\r\n"), spaces at both ends removed, 1 to MaxNoteLen characters, valid UTF-8,
// and no control character but the line break (nor the invisible marks that reorder
// text, U+202A–U+202E and U+2066–U+2069, which could make a note read other than it is
// stored). Errors wrap ErrInvalidNote and say what is wrong in words a person can act on.
func NoteText(s string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %s", ErrInvalidNote, fmt.Sprintf(format, args...))
	}
	if !utf8.ValidString(s) {
		return bad("the note is not valid text (UTF-8)")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSpace(s)
	n := 0
	for _, r := range s {
		n++
		switch {
		case r == '\n':
		case r == '\t':
			return bad("the note holds a tab (character %d): use spaces instead", n)
		case unicode.IsControl(r):
			return bad("the note holds a control character (U+%04X, character %d): only text, spaces and line breaks are allowed", r, n)
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return bad("the note holds an invisible mark that reorders text (U+%04X, character %d): remove it", r, n)
		}
	}
	switch {
	case n == 0:
		return bad("the note is empty: write what happened")
	case n > MaxNoteLen:
		return bad("the note is %d characters long, at most %d: shorten it or link to a ticket", n, MaxNoteLen)
	}
	return s, nil
}

// noteExcerpt is the start of a note's text for its timeline line: the first line, at
// most 80 characters.
func noteExcerpt(s string) string {
	line, _, more := strings.Cut(s, "\n")
	if r := []rune(line); len(r) > 80 {
		line, more = string(r[:79]), true
	}
	if more {
		line += "…"
	}
	return line
}

// notePublicID reads the public id of the payment a note goes on (ErrNotFound when none).
func notePublicID(ctx context.Context, tx *Tx, paymentID int64) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT public_id FROM payments WHERE id = ?`, paymentID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("payment %d: %w", paymentID, ErrNotFound)
	}
	return id, err
}

// noteAudit is an audit entry's detail for a note: the whole text, so that the audit log
// holds every version even without payment_note_revisions.
type noteAudit struct {
	Note    int64  `json:"note"`
	Version int    `json:"version"`
	Text    string `json:"text"`
}

// AddNote stores a note with its timeline line ("note_added") and its audit entry
// ("note"), in one write transaction. The text is checked by NoteText (errors wrap
// ErrInvalidNote); a payment that does not exist is ErrNotFound.
func (db *DB) AddNote(ctx context.Context, in NewNote) (Note, error) {
	text, err := NoteText(in.Text)
	if err != nil {
		return Note{}, fmt.Errorf("storage: note on payment %d: %w", in.PaymentID, err)
	}
	author := strings.TrimSpace(in.Author)
	if author == "" {
		return Note{}, fmt.Errorf("storage: note on payment %d: no author", in.PaymentID)
	}
	now := fromMS(ms(db.Now()))
	n := Note{PaymentID: in.PaymentID, Author: author, AuthorKey: strings.TrimSpace(in.AuthorKey), CreatedAt: now,
		UpdatedAt: now, Text: text, Version: 1}
	n.Editor, n.EditorKey = n.Author, n.AuthorKey
	err = db.tx(ctx, func(tx *Tx) error {
		var err error
		if n.PaymentPublicID, err = notePublicID(ctx, tx, n.PaymentID); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO payment_notes (payment_id, author, author_key, created_at, editor, editor_key, updated_at, body, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`,
			n.PaymentID, n.Author, n.AuthorKey, ms(now), n.Editor, n.EditorKey, ms(now), n.Text).Scan(&n.ID)
		if err != nil {
			return err
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: n.PaymentID, At: now, Actor: n.Author, Kind: "note_added",
			Message: "Note added: " + noteExcerpt(n.Text)}); err != nil {
			return err
		}
		data, _ := json.Marshal(noteAudit{Note: n.ID, Version: 1, Text: n.Text})
		_, err = db.audit(ctx, tx, AuditEntry{At: now, Actor: n.Author, Remote: in.Remote, Kind: "note", PaymentID: n.PaymentID,
			Message: fmt.Sprintf("Note %d added to payment %s", n.ID, n.PaymentPublicID), Data: data})
		return err
	})
	if err != nil {
		return Note{}, fmt.Errorf("storage: note on payment %d: %w", in.PaymentID, err)
	}
	return n, nil
}

// EditNote replaces a note's text, keeping the text it replaces as a revision, with a
// timeline line ("note_edited") and an audit entry ("note"), in one write transaction.
// A note that is not the payment's is ErrNotFound; one changed since e.Version is
// ErrConflict; the same text again changes nothing and returns the note as it is. Who
// may edit is the caller's rule (ops.Desk.EditNote).
func (db *DB) EditNote(ctx context.Context, e NoteEdit) (Note, error) {
	text, err := NoteText(e.Text)
	if err != nil {
		return Note{}, fmt.Errorf("storage: note %d: %w", e.NoteID, err)
	}
	editor := strings.TrimSpace(e.Editor)
	if editor == "" {
		return Note{}, fmt.Errorf("storage: note %d: no editor", e.NoteID)
	}
	now := fromMS(ms(db.Now()))
	var n Note
	err = db.tx(ctx, func(tx *Tx) error {
		var err error
		n, err = scanNote(tx.QueryRowContext(ctx, `SELECT `+noteColumns+` FROM payment_notes n JOIN payments p ON p.id = n.payment_id
			WHERE n.id = ? AND n.payment_id = ?`, e.NoteID, e.PaymentID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no such note on payment %d: %w", e.PaymentID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if n.Version != e.Version {
			return fmt.Errorf("changed since version %d (now %d): %w", e.Version, n.Version, ErrConflict)
		}
		if n.Text == text {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_note_revisions (note_id, version, body, written_by, writer_key, written_at)
			VALUES (?, ?, ?, ?, ?, ?)`, n.ID, n.Version, n.Text, n.Editor, n.EditorKey, ms(n.UpdatedAt)); err != nil {
			return err
		}
		n.Revisions = append([]NoteRevision{{Version: n.Version, Text: n.Text, WrittenBy: n.Editor, WriterKey: n.EditorKey, WrittenAt: n.UpdatedAt}}, n.Revisions...)
		n.Version++
		n.Text, n.Editor, n.EditorKey, n.UpdatedAt = text, editor, strings.TrimSpace(e.EditorKey), now
		if _, err := tx.ExecContext(ctx, `UPDATE payment_notes SET body = ?, version = ?, editor = ?, editor_key = ?, updated_at = ? WHERE id = ?`,
			n.Text, n.Version, n.Editor, n.EditorKey, ms(now), n.ID); err != nil {
			return err
		}
		if _, err := db.addEvent(ctx, tx, Event{PaymentID: n.PaymentID, At: now, Actor: n.Editor, Kind: "note_edited",
			Message: fmt.Sprintf("Note by %s edited (version %d): %s", n.Author, n.Version, noteExcerpt(n.Text))}); err != nil {
			return err
		}
		data, _ := json.Marshal(noteAudit{Note: n.ID, Version: n.Version, Text: n.Text})
		_, err = db.audit(ctx, tx, AuditEntry{At: now, Actor: n.Editor, Remote: e.Remote, Kind: "note", PaymentID: n.PaymentID,
			Message: fmt.Sprintf("Note %d on payment %s edited (version %d)", n.ID, n.PaymentPublicID, n.Version), Data: data})
		return err
	})
	if err != nil {
		return Note{}, fmt.Errorf("storage: note %d: %w", e.NoteID, err)
	}
	revs, err := db.noteRevisions(ctx, []int64{n.ID})
	if err != nil {
		return Note{}, err
	}
	n.Revisions = revs[n.ID]
	return n, nil
}

// noteColumns is the column list scanNote reads (payment_notes n joined with payments p).
const noteColumns = `n.id, n.payment_id, p.public_id, n.author, n.author_key, n.created_at, n.editor, n.editor_key, n.updated_at, n.body, n.version`

// scanNote reads one row selected with noteColumns.
func scanNote(s scannable) (Note, error) {
	var n Note
	var created, updated int64
	err := s.Scan(&n.ID, &n.PaymentID, &n.PaymentPublicID, &n.Author, &n.AuthorKey, &created, &n.Editor, &n.EditorKey, &updated, &n.Text, &n.Version)
	n.CreatedAt, n.UpdatedAt = fromMS(created), fromMS(updated)
	return n, err
}

// Note returns one note of a payment with its earlier texts (ErrNotFound when the payment
// has no such note).
func (db *DB) Note(ctx context.Context, paymentID, noteID int64) (Note, error) {
	n, err := queryOne(ctx, db, fmt.Sprintf("note %d of payment %d", noteID, paymentID), scanNote, `SELECT `+noteColumns+`
		FROM payment_notes n JOIN payments p ON p.id = n.payment_id WHERE n.id = ? AND n.payment_id = ?`, noteID, paymentID)
	if err != nil {
		return Note{}, err
	}
	revs, err := db.noteRevisions(ctx, []int64{n.ID})
	if err != nil {
		return Note{}, err
	}
	n.Revisions = revs[n.ID]
	return n, nil
}

// NotesOfPayment returns a payment's notes, newest first, each with its earlier texts.
func (db *DB) NotesOfPayment(ctx context.Context, paymentID int64) ([]Note, error) {
	return db.NotesForPayments(ctx, []int64{paymentID})
}

// notesChunk bounds the ids of one query of NotesForPayments (SQLite allows 32,766
// parameters; PostgreSQL 65,535).
const notesChunk = 500

// NotesForPayments returns the notes of the given payments (by their internal ids), all
// together newest first, each with its earlier texts and its payment's public id: the
// payment page reads one payment's, a page about a customer those of all their payments.
// Unknown ids find nothing. Each note costs one seek of payment_notes_payment.
func (db *DB) NotesForPayments(ctx context.Context, paymentIDs []int64) ([]Note, error) {
	ids := slices.Clone(paymentIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []Note
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), notesChunk)]
		ids = ids[len(chunk):]
		notes, err := queryAll(ctx, db, "notes", scanNote, `SELECT `+noteColumns+` FROM payment_notes n
			JOIN payments p ON p.id = n.payment_id WHERE n.payment_id IN (`+placeholders(len(chunk))+`)`, int64Args(chunk)...)
		if err != nil {
			return nil, err
		}
		out = append(out, notes...)
	}
	slices.SortFunc(out, func(a, b Note) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	return db.withRevisions(ctx, out)
}

// CustomerNotes returns the newest notes (at most limit) written on the customer's
// payments, newest first, each with its earlier texts: the customer page's. The customer's
// index finds the payments (customers.go), payment_notes_payment their notes.
func (db *DB) CustomerNotes(ctx context.Context, c Customer, limit int) ([]Note, error) {
	c, err := c.Normalise()
	if err != nil {
		return nil, err
	}
	term, args := c.term("p.")
	out, err := queryAll(ctx, db, "customer notes", scanNote, `SELECT `+noteColumns+` FROM payment_notes n
		JOIN payments p ON p.id = n.payment_id WHERE `+term+` ORDER BY n.created_at DESC, n.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return db.withRevisions(ctx, out)
}

// withRevisions fills the earlier texts of the edited notes among out.
func (db *DB) withRevisions(ctx context.Context, out []Note) ([]Note, error) {
	var edited []int64
	for _, n := range out {
		if n.Edited() {
			edited = append(edited, n.ID)
		}
	}
	revs, err := db.noteRevisions(ctx, edited)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Revisions = revs[out[i].ID]
	}
	return out, nil
}

// noteRevisions reads the earlier texts of the given notes, newest first, by note.
func (db *DB) noteRevisions(ctx context.Context, noteIDs []int64) (map[int64][]NoteRevision, error) {
	out := map[int64][]NoteRevision{}
	for len(noteIDs) > 0 {
		chunk := noteIDs[:min(len(noteIDs), notesChunk)]
		noteIDs = noteIDs[len(chunk):]
		rows, err := db.db.QueryContext(ctx, `SELECT note_id, version, body, written_by, writer_key, written_at
			FROM payment_note_revisions WHERE note_id IN (`+placeholders(len(chunk))+`) ORDER BY note_id, version DESC`, int64Args(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("storage: note revisions: %w", err)
		}
		for rows.Next() {
			var id, at int64
			var r NoteRevision
			if err := rows.Scan(&id, &r.Version, &r.Text, &r.WrittenBy, &r.WriterKey, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("storage: note revisions: %w", err)
			}
			r.WrittenAt = fromMS(at)
			out[id] = append(out[id], r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("storage: note revisions: %w", err)
		}
	}
	return out, nil
}

// placeholders is n question marks separated by commas.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// int64Args are ids as query arguments.
func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
