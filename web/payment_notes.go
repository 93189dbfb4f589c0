package web

import (
	"errors"
	"net/http"
	"strconv"

	"paydesk/ops"
	"paydesk/storage"
	"paydesk/views"
)

// paymentNoteAdd adds an internal note to the payment. A text the Desk refuses re-renders
// the payment page with the form holding what was typed and why (422); anything else
// refused goes back to the page with the reason.
func (s *Server) paymentNoteAdd(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	text := r.PostForm.Get("text")
	n, err := s.desk.AddNote(r.Context(), s.person(r), p, text)
	if errors.Is(err, ops.ErrInvalid) {
		s.renderNoteRefused(w, r, p, func(v *views.Payment) {
			v.NoteForm = views.NoteForm{Text: text, Error: ops.Message(err, "")}
		})
		return
	}
	if err != nil {
		s.refused(w, r, err, "/payments/"+p.PublicID+"#notes")
		return
	}
	s.flash(w, r, "success", "Note added.")
	http.Redirect(w, r, "/payments/"+p.PublicID+"#note-"+strconv.FormatInt(n.ID, 10), http.StatusSeeOther)
}

// paymentNoteEdit replaces a note's text (its author, or a manager); the text it replaces
// stays in the note's history. A refused text re-renders the page with that note's edit
// form open, holding what was typed (422).
func (s *Server) paymentNoteEdit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	noteID, err := strconv.ParseInt(r.PathValue("note"), 10, 64)
	if err != nil || noteID <= 0 {
		s.notFound(w, r)
		return
	}
	back := "/payments/" + p.PublicID + "#note-" + strconv.FormatInt(noteID, 10)
	version, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil {
		s.flash(w, r, "error", "The edit form was incomplete (no version), so nothing was saved. Edit the note again.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	text := r.PostForm.Get("text")
	_, err = s.desk.EditNote(r.Context(), s.person(r), p, noteID, version, text)
	if errors.Is(err, ops.ErrInvalid) {
		s.renderNoteRefused(w, r, p, func(v *views.Payment) {
			for i := range v.Notes {
				if v.Notes[i].ID == strconv.FormatInt(noteID, 10) {
					v.Notes[i].Edit = views.NoteForm{Text: text, Error: ops.Message(err, "")}
				}
			}
		})
		return
	}
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	s.flash(w, r, "success", "Note saved; the earlier text is kept in its history.")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// renderNoteRefused renders the payment page (422) with a note form as set.
func (s *Server) renderNoteRefused(w http.ResponseWriter, r *http.Request, p storage.Payment, set func(*views.Payment)) {
	v, err := s.paymentView(r, p)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Payment unavailable", "This payment could not be loaded. Try again in a moment.", err)
		return
	}
	set(&v)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnprocessableEntity)
	s.render(w, r, s.page(w, r, "Payment "+p.PublicID, "payments"), views.PaymentView(v))
}

// noteViews are notes as who reads them: the edit form on those they may edit. A page
// about a customer lists the notes of their payments with it too (views.NotesList, with
// storage.DB.NotesForPayments).
func noteViews(who ops.Person, notes []storage.Note) []views.NoteView {
	out := make([]views.NoteView, 0, len(notes))
	for _, n := range notes {
		id := strconv.FormatInt(n.ID, 10)
		nv := views.NoteView{
			ID: id, PaymentPublicID: n.PaymentPublicID, Author: n.Author, CreatedAt: n.CreatedAt, Text: n.Text,
			Edited: n.Edited(), Editor: n.Editor, UpdatedAt: n.UpdatedAt,
			CanEdit: who.MayEditNote(n), Version: strconv.Itoa(n.Version),
			EditURL: "/payments/" + n.PaymentPublicID + "/notes/" + id + "/edit",
			Edit:    views.NoteForm{Text: n.Text},
		}
		for _, rv := range n.Revisions {
			nv.Revisions = append(nv.Revisions, views.NoteRevisionView{Version: strconv.Itoa(rv.Version), Text: rv.Text, WrittenBy: rv.WrittenBy, WrittenAt: rv.WrittenAt})
		}
		out = append(out, nv)
	}
	return out
}
