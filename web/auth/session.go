package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/sessions"
)

// Limits that keep the session cookie well under the browsers' 4 KB.
const (
	maxFormFields = 20
	maxFormBytes  = 1500 // keys and values together
	maxFlashes    = 5
	maxFlashBytes = 300
	// formLifetime is how long a form saved by StepUp waits for its user to come back.
	formLifetime = 30 * time.Minute
	// touchEvery is how often CurrentUser re-saves the cookie to move the idle expiry.
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

// sessionData is everything the session cookie holds, as one JSON value: the user and
// their roles, timestamps, a form saved for a step-up and flash messages. No access or
// refresh token (the ID token only as the sign-out hint).
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

// sessionValue is the one key of the gorilla session's values; keeping a single JSON
// string avoids registering types with encoding/gob.
const sessionValue = "v"

// sessionSerializer puts the session's one JSON value (sessionValue) into the cookie as
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
	if _, ok := values[decodedKey{}]; ok {
		n-- // this request's decoded copy: not written
	}
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

// session returns this request's session (one per request, cached by gorilla's registry)
// and what it holds. A missing, tampered or undecryptable cookie reads as empty.
func (a *Auth) session(r *http.Request, name string) (*sessions.Session, []byte) {
	// On a decode error gorilla still returns a new, empty session.
	s, _ := a.store.Get(r, name)
	raw, _ := s.Values[sessionValue].(string)
	return s, []byte(raw)
}

// decodedKey keeps, in the session's values for the rest of the request, what load
// decoded from the JSON (a page reads the session two or three times); the serializer
// leaves it out of the cookie.
type decodedKey struct{}

func (a *Auth) load(r *http.Request) (*sessions.Session, sessionData) {
	s, raw := a.session(r, a.cfg.CookieName)
	if d, ok := s.Values[decodedKey{}].(sessionData); ok {
		return s, d.clone()
	}
	var d sessionData
	if len(raw) > 0 && json.Unmarshal(raw, &d) != nil {
		d = sessionData{}
	}
	s.Values[decodedKey{}] = d.clone()
	return s, d
}

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

// save writes d into the session cookie. Headers must not have been sent yet.
func (a *Auth) save(w http.ResponseWriter, r *http.Request, s *sessions.Session, d sessionData) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	s.Values = map[any]any{sessionValue: string(raw), decodedKey{}: d.clone()}
	s.Options = a.options(a.store.Options.MaxAge)
	return s.Save(r, w)
}

// clear deletes the session cookie; the session object stays usable in this request
// (a flash added afterwards starts a new cookie).
func (a *Auth) clear(w http.ResponseWriter, r *http.Request, s *sessions.Session) {
	s.Values = map[any]any{}
	s.Options = a.options(-1)
	if err := s.Save(r, w); err != nil {
		a.cfg.Logger.Error("auth: clear session", "error", err)
	}
	s.Options = a.options(a.store.Options.MaxAge)
}

func (a *Auth) options(maxAge int) *sessions.Options {
	o := *a.store.Options
	o.MaxAge = maxAge
	return &o
}

// CurrentUser returns the signed-in user. It enforces the idle and absolute expiry (an
// expired session is cleared, audited and reports false) and moves the idle expiry
// forward, re-saving the cookie at most once a minute. Call it before writing the body.
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
	if now.Sub(unix(d.LastSeen)) >= touchEvery {
		d.LastSeen = now.Unix()
		if err := a.save(w, r, s, d); err != nil {
			a.cfg.Logger.Error("auth: refresh session", "error", err)
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

// capForm keeps only what fits in a cookie: at most maxFormFields fields in key order and
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
