package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"paydesk/storage"
	"paydesk/views"
	"paydesk/web/auth"
)

// sessionsPath is the managers' page of sign-in sessions.
const sessionsPath = "/sessions"

// maxListedSessions caps the sessions page (far more than a back office has at once).
const maxListedSessions = 1000

// maxShownUserAgent is how much of a browser's user agent the page shows.
const maxShownUserAgent = 90

// sessionsPage lists everyone's active sign-in sessions, per person: when they signed
// in, when they were last seen (to the minute: the record is renewed once a minute) and
// their browser.
func (s *Server) sessionsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.db.ActiveSessions(r.Context(), s.desk.Now(), maxListedSessions)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Sessions unavailable", "The sign-in sessions could not be loaded. Try again in a moment.", err)
		return
	}
	me := userFrom(r.Context())
	idle, absolute := auth.DefaultIdleTimeout, auth.DefaultAbsoluteTimeout
	if t, ok := s.auth.(interface {
		SessionTimeouts() (time.Duration, time.Duration)
	}); ok {
		idle, absolute = t.SessionTimeouts()
	}
	v := views.Sessions{Total: len(list), Limited: len(list) == maxListedSessions,
		IdleTimeout: humanDuration(idle), AbsoluteTimeout: humanDuration(absolute)}
	for _, rec := range list {
		if n := len(v.People); n == 0 || v.People[n-1].Subject != rec.Subject {
			v.People = append(v.People, views.SessionPerson{Subject: rec.Subject, Name: rec.Name, Email: rec.Email})
		}
		p := &v.People[len(v.People)-1]
		p.Sessions = append(p.Sessions, views.SessionRow{
			EndURL:     sessionsPath + "/" + sessionRef(rec.IDHash) + "/end",
			SignedInAt: rec.SignedInAt, LastSeen: rec.LastSeen,
			UserAgent: shortAgent(rec.UserAgent),
			Current:   me.SessionID != "" && auth.RecordSessionID(rec.Data) == me.SessionID,
		})
	}
	s.render(w, r, s.page(w, r, "Sessions", "sessions"), views.SessionsView(v))
}

// sessionEnd ends one session (POST, managers): its browser is signed out at its next
// request. Audited.
func (s *Server) sessionEnd(w http.ResponseWriter, r *http.Request) {
	h, ok := parseSessionRef(r.PathValue("id"))
	if !ok {
		s.flash(w, r, "error", "There is no such session.")
		http.Redirect(w, r, sessionsPath, http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	rec, err := s.db.Session(ctx, h)
	if errors.Is(err, storage.ErrNotFound) {
		s.flash(w, r, "info", "That session had already ended.")
		http.Redirect(w, r, sessionsPath, http.StatusSeeOther)
		return
	}
	if err == nil {
		_, err = s.db.DeleteSession(ctx, h)
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Session not ended", "The session could not be ended. Try again in a moment.", err)
		return
	}
	who := personName(rec)
	s.audit(r, "session", 0, fmt.Sprintf("ended a session of %s (signed in %s)", who, rec.SignedInAt.UTC().Format("2006-01-02 15:04 UTC")),
		map[string]any{"subject": rec.Subject, "user_agent": shortAgent(rec.UserAgent)})
	if auth.RecordSessionID(rec.Data) == userFrom(ctx).SessionID {
		// The manager ended the session they are using: nothing to show it in any more.
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.flash(w, r, "success", "The session of "+who+" has ended: that browser is signed out.")
	http.Redirect(w, r, sessionsPath, http.StatusSeeOther)
}

// sessionsEndPerson ends every session of one person (POST, managers; the form's subject).
// Audited.
func (s *Server) sessionsEndPerson(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	subject := r.PostForm.Get("subject")
	if strings.TrimSpace(subject) == "" || len(subject) > 512 {
		s.flash(w, r, "error", "Say whose sessions to end.")
		http.Redirect(w, r, sessionsPath, http.StatusSeeOther)
		return
	}
	n, err := s.db.DeleteSessionsOf(r.Context(), subject)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Sessions not ended", "The sessions could not be ended. Try again in a moment.", err)
		return
	}
	s.audit(r, "session", 0, fmt.Sprintf("ended all sessions of %s (%d)", printableSubject(subject), n),
		map[string]any{"subject": subject, "sessions": n})
	if subject == userFrom(r.Context()).Subject {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.flash(w, r, "success", fmt.Sprintf("%d %s of %s ended.", n, pluralWord(n, "session", "sessions"), printableSubject(subject)))
	http.Redirect(w, r, sessionsPath, http.StatusSeeOther)
}

// logoutEverywhere ends every session of the signed-in person (POST), then signs this
// browser out as the sign-out button does (and at the identity provider). Audited.
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	n, err := s.db.DeleteSessionsOf(r.Context(), u.Subject)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Not signed out", "Your sessions could not be ended. Try again in a moment.", err)
		return
	}
	s.audit(r, "session", 0, fmt.Sprintf("signed out everywhere: %d %s ended", n, pluralWord(n, "session", "sessions")),
		map[string]any{"sessions": n})
	s.auth.Logout(w, r)
}

// sessionRef names a session in the page's URLs: its id hash, base64url (the hash is not
// the cookie's id: knowing it signs nobody in).
func sessionRef(h []byte) string { return base64.RawURLEncoding.EncodeToString(h) }

func parseSessionRef(ref string) ([]byte, bool) {
	h, err := base64.RawURLEncoding.DecodeString(ref)
	return h, err == nil && len(h) == 32
}

// personName is how the page and the audit log name a session's person.
func personName(rec storage.Session) string {
	if rec.Email != "" {
		return rec.Email
	}
	return printableSubject(rec.Subject)
}

// printableSubject keeps a subject from the form short and free of control characters.
func printableSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}

// shortAgent cuts a user agent for the page.
func shortAgent(ua string) string {
	if ua == "" {
		return "unknown browser"
	}
	if len(ua) > maxShownUserAgent {
		return strings.ToValidUTF8(ua[:maxShownUserAgent], "") + "…"
	}
	return ua
}

// pluralWord picks the word for n things.
func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
