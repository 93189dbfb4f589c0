package web

import (
	"errors"
	"net/http"

	"paydesk/ops"
)

// viewSave saves the payments list's filters (the form's query) as a view with a name,
// private or shared with the team (POST /views, from the list's "Save this view"), and
// goes back to the list. A filter the list would refuse is refused with its words.
func (s *Server) viewSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	query, _, err := s.checkViewQuery(r.Context(), r.PostForm.Get("query"))
	back := withQuery("/payments", mustQuery(query))
	if err != nil {
		s.flash(w, r, "error", "The view was not saved: "+filterMessage(err))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	shared := r.PostForm.Get("shared") == "1"
	v, err := s.desk.SaveView(r.Context(), s.person(r), r.PostForm.Get("name"), query, shared)
	if err != nil {
		var rf *ops.Refusal
		if errors.As(err, &rf) && !errors.Is(err, ops.ErrUnavailable) {
			s.flash(w, r, "error", "The view was not saved: "+rf.Message)
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		s.refused(w, r, err, back)
		return
	}
	msg := "Saved the view “" + v.Name + "”: it is in your navigation."
	if v.Shared {
		msg = "Saved the view “" + v.Name + "”, shared with the team: it is in everyone's navigation."
	}
	s.flash(w, r, "success", msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
}
