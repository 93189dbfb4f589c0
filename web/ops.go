package web

import (
	"net/http"

	"paydesk/ops"
)

// person is the request's user as ops knows them: the name their records carry (the
// e-mail, else the name, else a short subject: never empty once signed in — a provider
// need not send an e-mail), their stable person key, roles, whether they signed in
// recently enough to move money, and where the request came from.
func (s *Server) person(r *http.Request) ops.Person {
	u := userFrom(r.Context())
	p := ops.Person{Key: u.Key, Name: u.Name, Remote: clientIP(r), RequestID: requestID(r.Context())}
	for _, role := range u.Roles {
		p.Roles = append(p.Roles, ops.Role(role))
	}
	if u.Email != "" || u.Subject != "" { // signed in
		p.Email = u.Actor()
		p.FreshSignIn = s.auth.Fresh(u)
	}
	return p
}
