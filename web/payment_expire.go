package web

import (
	"net/http"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// paymentExpireForm is the confirmation step of expiring an open hosted session,
// restating what will happen; after a step-up it keeps the key.
func (s *Server) paymentExpireForm(w http.ResponseWriter, r *http.Request) {
	s.actionForm(w, r, providers.ActionExpire, "expire", func(_ storage.Payment, _ providers.Decision, v *views.Confirm) {
		v.Title, v.Button = "Expire this session?", "Expire session"
	})
}

// paymentExpire expires the session through the Desk and says how it ended.
func (s *Server) paymentExpire(w http.ResponseWriter, r *http.Request) {
	s.actionPost(w, r, "expire", s.desk.Expire)
}
