package web

import (
	"net/http"

	"paydesk/providers"
)

// paymentExpireForm is the confirmation step of expiring a BPC session.
func (s *Server) paymentExpireForm(w http.ResponseWriter, r *http.Request) {
	s.simpleActionForm(w, r, providers.ActionExpire)
}

// paymentExpire expires an open BPC session.
func (s *Server) paymentExpire(w http.ResponseWriter, r *http.Request) {
	s.simpleAction(w, r, providers.ActionExpire)
}
