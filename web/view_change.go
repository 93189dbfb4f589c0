package web

import (
	"net/http"

	"paydesk/ops"
	"paydesk/storage"
)

// The changes to a saved view, each a form of the saved views' page (POST
// /views/{id}/rename, /query, /share): the Desk decides who may (ops/saved_views.go) and
// audits a change to a shared view. Each goes back to the page with what happened.

// viewRename renames a saved view (the form's name).
func (s *Server) viewRename(w http.ResponseWriter, r *http.Request) {
	s.changeView(w, r, func(name string) ops.ViewChange { return ops.ViewChange{Name: &name} }, "name",
		func(v storage.SavedView) string { return "Renamed the view “" + v.Name + "”." })
}

// viewReplaceQuery gives a saved view the filters of the form's query (a list state the
// person brought from the payments list); a filter the list would refuse is refused.
func (s *Server) viewReplaceQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	query, _, err := s.checkViewQuery(r.Context(), r.PostForm.Get("query"))
	if err != nil {
		s.flash(w, r, "error", "The view was not changed: "+filterMessage(err))
		http.Redirect(w, r, viewsPath, http.StatusSeeOther)
		return
	}
	r.PostForm.Set("query", query)
	s.changeView(w, r, func(q string) ops.ViewChange { return ops.ViewChange{Query: &q} }, "query",
		func(v storage.SavedView) string { return "The view “" + v.Name + "” now shows these filters." })
}

// viewShare shares a saved view with the team (shared=1) or makes it private (shared=0).
func (s *Server) viewShare(w http.ResponseWriter, r *http.Request) {
	s.changeView(w, r, func(v string) ops.ViewChange {
		shared := v == "1"
		return ops.ViewChange{Shared: &shared}
	}, "shared", func(v storage.SavedView) string {
		if v.Shared {
			return "The view “" + v.Name + "” is now shared with the team."
		}
		return "The view “" + v.Name + "” is now private: only you see it."
	})
}

// changeView reads the form's field and applies the change it makes; done says what
// happened.
func (s *Server) changeView(w http.ResponseWriter, r *http.Request, change func(string) ops.ViewChange, field string, done func(storage.SavedView) string) {
	id, ok := viewID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	v, err := s.desk.ChangeView(r.Context(), s.person(r), id, change(r.PostForm.Get(field)))
	if err != nil {
		s.refused(w, r, err, viewsPath)
		return
	}
	s.flash(w, r, "success", done(v))
	http.Redirect(w, r, viewsPath, http.StatusSeeOther)
}
