package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"paydesk/storage"
)

// Limits that keep a session's record small (it is read at every request).
const (
	maxFormFields = 20
	maxFormBytes  = 1500 // keys and values together
	maxFlashes    = 5
	maxFlashBytes = 300
	// formLifetime is how long a form saved by StepUp waits for its user to come back.
	formLifetime = 30 * time.Minute
	// touchEvery is how often CurrentUser writes the session's record to move the idle
	// expiry: at most once a minute, never at every page (a commit empties the page cache).
	touchEvery = time.Minute
)

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashError   = "error"
	FlashInfo    = "info"
)

// Flash is a one-time message shown on the page after a redirect.
type Flash struct {
	Kind    string `json:"k"` // FlashSuccess, FlashError or FlashInfo
	Message string `json:"m"`
}

// sessionData is everything a session holds, kept as one JSON value in its record on the
// server (store.go): the user and their roles (written at sign-in: a change of roles at
// the identity provider applies from the next sign-in), timestamps, a form saved for a
// step-up and flash messages. No access or refresh token (the ID token only as the
// sign-out's id_token_hint).
type sessionData struct {
	SID        string     `json:"sid,omitempty"`
	Subject    string     `json:"sub,omitempty"`
	Email      string     `json:"email,omitempty"`
	Name       string     `json:"name,omitempty"`
	Roles      []Role     `json:"roles,omitempty"`
	AuthTime   int64      `json:"auth,omitempty"` // Unix seconds, the ID token's auth_time
	SignedInAt int64      `json:"in,omitempty"`   // Unix seconds
	LastSeen   int64      `json:"seen,omitempty"` // Unix seconds
	Form       *savedForm `json:"form,omitempty"`
	Flashes    []Flash    `json:"flash,omitempty"`
	// Key is the person key (PersonKey); IDToken is the raw ID token of the sign-in, kept
	// only as Logout's id_token_hint (a strict provider refuses a sign-out without it).
	Key     string `json:"key,omitempty"`
	IDToken string `json:"idt,omitempty"`
}

// savedForm is what a user typed before a step-up sent them to sign in again.
type savedForm struct {
	Path    string     `json:"p"`
	Values  url.Values `json:"v"`
	SavedAt int64      `json:"t"`
}

func (d sessionData) user() User {
	return User{
		Subject:    d.Subject,
		Key:        d.Key,
		Email:      d.Email,
		Name:       d.Name,
		Roles:      slices.Clone(d.Roles),
		AuthTime:   unix(d.AuthTime),
		SignedInAt: unix(d.SignedInAt),
		SessionID:  d.SID,
	}
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// sessionValue is the one key of the sign-in flow cookie's values (login.go); keeping a
// single JSON string avoids registering types with encoding/gob.
const sessionValue = "v"

// sessionSerializer puts the flow cookie's one JSON value (sessionValue) into it as
// it is, before signing and encryption, where gorilla's default runs it through
// encoding/gob: a gob decoder compiles the map's types again for every cookie, which was
// 6 % of the list page's CPU under load (docs/benchmarks.md). A cookie written by the
// gob serializer does not decode: its user signs in again.
type sessionSerializer struct{}

// sessionFormat starts every serialized session (a gob stream never starts with it).
const sessionFormat = 'J'

func (sessionSerializer) Serialize(src any) ([]byte, error) {
	values, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("auth: session values are a %T", src)
	}
	raw, _ := values[sessionValue].(string)
	n := len(values)
	if n > 1 || (n == 1 && raw == "") {
		return nil, errors.New("auth: a session holds one JSON value and nothing else")
	}
	return append([]byte{sessionFormat}, raw...), nil
}

func (sessionSerializer) Deserialize(src []byte, dst any) error {
	values, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("auth: cannot read a session into a %T", dst)
	}
	if len(src) == 0 || src[0] != sessionFormat {
		return errors.New("auth: not a session this version wrote")
	}
	if *values == nil {
		*values = map[any]any{}
	}
	if len(src) > 1 {
		(*values)[sessionValue] = string(src[1:])
	}
	return nil
}

// session returns this request's flow cookie session (one per request, cached by
// gorilla's registry) and what it holds. A missing, tampered or undecryptable cookie reads
// as empty.
func (a *Auth) session(r *http.Request, name string) (*sessions.Session, []byte) {
	// On a decode error gorilla still returns a new, empty session.
	s, _ := a.store.Get(r, name)
	raw, _ := s.Values[sessionValue].(string)
	return s, []byte(raw)
}

// decodedKey keeps, in the session's values for the rest of the request, what the
// session holds (a page reads the session two or three times): the server-side store
// (store.go) puts the record's data there and saves what is there.
type decodedKey struct{}

// load returns this request's session and a copy of what it holds; empty when there is
// no session (no cookie, an unknown id, an ended session). A database that does not
// answer is logged and reads as no session (but see dbStore.recent).
func (a *Auth) load(r *http.Request) (*sessions.Session, sessionData) {
	s, err := a.sessions.Get(r, a.cfg.CookieName)
	if err != nil {
		if _, logged := s.Values[loggedKey{}]; !logged {
			s.Values[loggedKey{}] = true
			a.cfg.Logger.Error("auth: read the session", "error", err)
		}
	}
	d, _ := s.Values[decodedKey{}].(sessionData)
	return s, d.clone()
}

// loggedKey marks a session whose read error was logged in this request.
type loggedKey struct{}

// clone copies d deeply enough that changing the copy's slices and form leaves d alone.
func (d sessionData) clone() sessionData {
	d.Roles = slices.Clone(d.Roles)
	d.Flashes = slices.Clone(d.Flashes)
	if d.Form != nil {
		f := *d.Form
		f.Values = url.Values{}
		for k, v := range d.Form.Values {
			f.Values[k] = slices.Clone(v)
		}
		d.Form = &f
	}
	return d
}

// save writes d as the session's record. A session whose SID changed (a sign-in) is
// renewed: its old record is deleted and d is kept under a new random id, with a new
// cookie (no session fixation: an id planted or copied before the sign-in is worth
// nothing after it). Headers must not have been sent yet.
func (a *Auth) save(w http.ResponseWriter, r *http.Request, s *sessions.Session, d sessionData) error {
	prev, _ := s.Values[decodedKey{}].(sessionData)
	if s.ID != "" && prev.SID != d.SID {
		if _, err := a.sessions.records.DeleteSession(r.Context(), hashSessionID(s.ID)); err != nil {
			return err
		}
		a.sessions.forget(hashSessionID(s.ID))
		s.ID = ""
	}
	s.Values = map[any]any{decodedKey{}: d.clone()}
	s.Options = a.options(a.store.Options.MaxAge)
	err := s.Save(r, w)
	if errors.Is(err, storage.ErrNotFound) {
		// The session was ended (signed out elsewhere, by a manager) while this request
		// ran: it stays ended, and what this request wanted to keep in it goes with it.
		return nil
	}
	return err
}

// clear ends the session: its record is deleted (a copy of the cookie is worth nothing
// from now on) and the cookie too. The session object stays usable in this request (a
// flash added afterwards starts a new session).
func (a *Auth) clear(w http.ResponseWriter, r *http.Request, s *sessions.Session) {
	s.Values = map[any]any{}
	s.Options = a.options(-1)
	if err := s.Save(r, w); err != nil {
		a.cfg.Logger.Error("auth: end the session", "error", err)
	}
	s.Options = a.options(a.store.Options.MaxAge)
}

func (a *Auth) options(maxAge int) *sessions.Options {
	o := *a.store.Options
	o.MaxAge = maxAge
	return &o
}

// CurrentUser returns the signed-in user. It enforces the idle and absolute expiry from
// the session's record (an expired session is ended, audited and reports false) and moves
// the idle expiry forward, writing the record at most once a minute (one conditional
// update: of concurrent requests, one writes). Call it before writing the body.
func (a *Auth) CurrentUser(w http.ResponseWriter, r *http.Request) (User, bool) {
	s, d := a.load(r)
	if d.Subject == "" {
		return User{}, false
	}
	now := a.cfg.Now()
	var expired string
	switch {
	case now.Sub(unix(d.SignedInAt)) > a.cfg.AbsoluteTimeout:
		expired = "session expired: signed in more than " + a.cfg.AbsoluteTimeout.String() + " ago"
	case now.Sub(unix(d.LastSeen)) > a.cfg.IdleTimeout:
		expired = "session expired: idle for more than " + a.cfg.IdleTimeout.String()
	}
	if expired != "" {
		a.clear(w, r, s)
		a.audit(r, d.user().Actor(), KindSessionExpired, expired)
		return User{}, false
	}
	if info, _ := s.Values[sessionMeta{}].(recordInfo); now.Sub(info.lastSeen) >= touchEvery {
		wrote, err := a.sessions.touch(r.Context(), s, now)
		if err != nil {
			a.cfg.Logger.Error("auth: renew the session", "error", err)
		}
		if wrote {
			d.LastSeen = now.Unix()
			info.lastSeen = now
			s.Values[decodedKey{}] = d.clone()
			s.Values[sessionMeta{}] = info
		}
	}
	return d.user(), true
}

// StepUp sends a signed-in user to sign in again before a money-moving action. It keeps
// what they typed (small string values only; fields named like a CSRF token are dropped)
// for returnTo, and redirects (303) to Login with stepup=1 and next=returnTo; after the
// new sign-in the user lands on returnTo, where SavedForm gives the values back.
func (a *Auth) StepUp(w http.ResponseWriter, r *http.Request, returnTo string, form url.Values) {
	next := safeNext(returnTo)
	s, d := a.load(r)
	if d.Subject != "" {
		d.Form = &savedForm{Path: next, Values: capForm(form), SavedAt: a.cfg.Now().Unix()}
		if err := a.save(w, r, s, d); err != nil {
			a.cfg.Logger.Error("auth: save the form for step-up", "error", err)
		}
	}
	target := a.cfg.LoginPath + "?" + url.Values{"stepup": {"1"}, "next": {next}}.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// SavedForm takes the form StepUp saved for path (the returnTo it was given) and deletes
// it. It reports false when there is none, or it is older than 30 minutes.
func (a *Auth) SavedForm(w http.ResponseWriter, r *http.Request, path string) (url.Values, bool) {
	s, d := a.load(r)
	if d.Subject == "" || d.Form == nil || d.Form.Path != path {
		return nil, false
	}
	f := d.Form
	d.Form = nil
	if err := a.save(w, r, s, d); err != nil {
		a.cfg.Logger.Error("auth: delete the saved form", "error", err)
	}
	if a.cfg.Now().Sub(unix(f.SavedAt)) > formLifetime {
		return nil, false
	}
	return f.Values, true
}

// capForm keeps only what a session's record should hold: at most maxFormFields fields in key order and
// maxFormBytes in all; a field that does not fit is dropped whole.
func capForm(form url.Values) url.Values {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "" && !strings.Contains(strings.ToLower(k), "csrf") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make(url.Values)
	size := 0
	for _, k := range keys {
		if len(out) == maxFormFields {
			break
		}
		n := len(k)
		for _, v := range form[k] {
			n += len(v)
		}
		if size+n > maxFormBytes {
			continue
		}
		size += n
		out[k] = slices.Clone(form[k])
	}
	return out
}

// AddFlash queues a message for the next page. kind is FlashSuccess, FlashError or
// FlashInfo (anything else is shown as info). Call it before writing the body.
func (a *Auth) AddFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	switch kind {
	case FlashSuccess, FlashError, FlashInfo:
	default:
		kind = FlashInfo
	}
	if len(msg) > maxFlashBytes {
		msg = strings.ToValidUTF8(msg[:maxFlashBytes], "") + "…"
	}
	s, d := a.load(r)
	d.Flashes = append(d.Flashes, Flash{Kind: kind, Message: msg})
	if len(d.Flashes) > maxFlashes {
		d.Flashes = d.Flashes[len(d.Flashes)-maxFlashes:]
	}
	if err := a.save(w, r, s, d); err != nil {
		a.cfg.Logger.Error("auth: add flash", "error", err)
	}
}

// Flashes takes the queued messages, oldest first. Call it before writing the body.
func (a *Auth) Flashes(w http.ResponseWriter, r *http.Request) []Flash {
	s, d := a.load(r)
	if len(d.Flashes) == 0 {
		return nil
	}
	f := d.Flashes
	d.Flashes = nil
	if err := a.save(w, r, s, d); err != nil {
		a.cfg.Logger.Error("auth: take flashes", "error", err)
	}
	return f
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (Go 1.24+).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
