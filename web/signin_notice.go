package web

import (
	"fmt"
	"net/http"
	"time"
)

// signInNoticeAhead is how far ahead a form that moves money warns that the sign-in will
// be too old: about the time it takes to fill in a refund.
const signInNoticeAhead = 3 * time.Minute

// signInNotice warns, on a form that moves money and before the person submits it, that
// Paydesk will ask them to sign in again first: their sign-in is already too old, or will
// be within signInNoticeAhead. "" when neither (or for nobody signed in).
func (s *Server) signInNotice(r *http.Request) string {
	u := userFrom(r.Context())
	if u.AuthTime.IsZero() {
		return ""
	}
	age := ageWords(s.desk.Now().Sub(u.AuthTime))
	if !s.auth.Fresh(u) {
		return fmt.Sprintf("Your sign-in is %s old: Paydesk will ask you to sign in again before sending money. What you typed is kept, and nothing is sent before you confirm it once more.", age)
	}
	later := u
	later.AuthTime = u.AuthTime.Add(-signInNoticeAhead) // as old as it will be in a few minutes
	if !s.auth.Fresh(later) {
		return fmt.Sprintf("Your sign-in is %s old and will soon be too old to send money: if it is when you confirm, Paydesk will ask you to sign in again first. What you typed is kept.", age)
	}
	return ""
}

// ageWords says how old something is, to the minute ("less than a minute", "1 minute",
// "25 minutes", "2 hours 5 minutes").
func ageWords(d time.Duration) string {
	m := int64(d / time.Minute)
	switch {
	case m < 1:
		return "less than a minute"
	case m == 1:
		return "1 minute"
	case m < 120:
		return fmt.Sprintf("%d minutes", m)
	}
	h, m := m/60, m%60
	if m == 0 {
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d hours %d minutes", h, m)
}

// signedInAgain is what a form that moves money says when it comes back after the person
// signed in again: nothing was sent, and what to press to send it.
func signedInAgain(button, what string) string {
	return fmt.Sprintf("You signed in again. Nothing was sent yet: check %s below and press “%s” to send it.", what, button)
}
