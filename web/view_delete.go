package web

import "net/http"

// viewDelete deletes a saved view (POST /views/{id}/delete): one's own private view, or
// a shared one for support and managers (audited).
func (s *Server) viewDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := viewID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.desk.DeleteView(r.Context(), s.person(r), id)
	if err != nil {
		s.refused(w, r, err, viewsPath)
		return
	}
	s.flash(w, r, "success", "Deleted the view “"+v.Name+"”.")
	http.Redirect(w, r, viewsPath, http.StatusSeeOther)
}
