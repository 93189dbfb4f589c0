package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// flowLifetime is how long a started sign-in may take, from Login to Callback.
	flowLifetime = 10 * time.Minute
	// maxFlows is how many sign-ins one browser may have under way at once (several tabs).
	maxFlows = 3
	// maxNext caps the return path kept in the flow cookie.
	maxNext = 512
)

// loginFlow is one sign-in under way, kept in the browser's flow cookie (signed and
// encrypted like the session) from Login to Callback, and used once.
type loginFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // the PKCE code verifier
	Next     string `json:"r"`
	StepUp   bool   `json:"u,omitempty"`
	Started  int64  `json:"t"` // Unix seconds
}

func (a *Auth) flowCookie() string { return a.cfg.CookieName + "_login" }

func (a *Auth) loadFlows(r *http.Request) []loginFlow {
	_, raw := a.session(r, a.flowCookie())
	var flows []loginFlow
	if len(raw) > 0 && json.Unmarshal(raw, &flows) != nil {
		return nil
	}
	return flows
}

func (a *Auth) saveFlows(w http.ResponseWriter, r *http.Request, flows []loginFlow) error {
	s, _ := a.session(r, a.flowCookie())
	if len(flows) == 0 {
		s.Values = map[any]any{}
		s.Options = a.options(-1)
		return s.Save(r, w)
	}
	raw, err := json.Marshal(flows)
	if err != nil {
		return err
	}
	s.Values = map[any]any{sessionValue: string(raw)}
	s.Options = a.options(int(flowLifetime / time.Second))
	return s.Save(r, w)
}

// Login starts a sign-in (GET). The query's next is where to land afterwards — a path on
// this site only, anything else lands on "/". With stepup=1 the provider is asked for a
// fresh login (prompt=login, max_age=0) even if the user is signed in; without it a
// signed-in user goes straight to next.
func (a *Auth) Login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := safeNext(q.Get("next"))
	stepUp := q.Get("stepup") == "1"
	w.Header().Set("Cache-Control", "no-store")
	if !stepUp {
		if _, ok := a.CurrentUser(w, r); ok {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}

	now := a.cfg.Now()
	flow := loginFlow{
		State:    randomString(32),
		Nonce:    randomString(32),
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		StepUp:   stepUp,
		Started:  now.Unix(),
	}
	flows := slices.DeleteFunc(a.loadFlows(r), func(f loginFlow) bool {
		return now.Sub(unix(f.Started)) > flowLifetime
	})
	flows = append(flows, flow)
	if len(flows) > maxFlows {
		flows = flows[len(flows)-maxFlows:]
	}
	if err := a.saveFlows(w, r, flows); err != nil {
		a.cfg.Logger.Error("auth: save the sign-in flow", "error", err)
		http.Error(w, "Sign-in could not start. Try again.", http.StatusInternalServerError)
		return
	}

	opts := []oauth2.AuthCodeOption{oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier)}
	if stepUp {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	}
	http.Redirect(w, r, a.oauth.AuthCodeURL(flow.State, opts...), http.StatusFound)
}

// signInError is a failed callback: a message safe to show and audit, and the detail
// for the log.
type signInError struct {
	safe   string
	detail error
}

func (e *signInError) Error() string {
	if e.detail == nil {
		return "auth: " + e.safe
	}
	return "auth: " + e.safe + ": " + e.detail.Error()
}

func refuse(safe string, detail error) *signInError { return &signInError{safe: safe, detail: detail} }

// Callback finishes a sign-in (GET, at Config.RedirectURL). It takes the flow for the
// returned state (one use, this browser only, at most 10 minutes old), exchanges the code
// with the PKCE verifier, verifies the ID token and its nonce, maps the roles, starts a
// new session (nothing of the old cookie survives but a step-up's saved form, and only
// for the same person), audits and redirects to the flow's next. Any failure is a plain
// page with status 400 and a safe message, audited, and no session. Failures are counted
// per source address (callback_throttle.go): past the limit the callback answers 429
// with the same page, unread, and a flood is audited as one row per source and minute.
func (a *Auth) Callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if a.limited(r) {
		se := refuse("too many failed sign-ins came from your network; wait a minute and sign in again", nil)
		a.failed(r, se.safe, true)
		a.errorPage(w, r, http.StatusTooManyRequests, se)
		return
	}
	flow, err := a.takeFlow(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.signIn(r.Context(), r.URL.Query(), flow)
	if err != nil {
		a.fail(w, r, err)
		return
	}

	s, old := a.load(r)
	if old.Subject == d.Subject && old.Form != nil {
		d.Form = old.Form
	}
	if err := a.save(w, r, s, d); err != nil {
		a.fail(w, r, refuse("the session could not be saved", err))
		return
	}
	u := d.user()
	msg := "signed in with roles " + joinRoles(u.Roles)
	if u.NoAccess() {
		msg = "signed in with no role (no access)"
	}
	if flow.StepUp {
		msg += " (step-up)"
	}
	a.audit(r, u.Actor(), KindSignIn, msg)
	if a.cfg.OnSignIn != nil {
		a.cfg.OnSignIn(r.Context(), u)
	}
	http.Redirect(w, r, flow.Next, http.StatusSeeOther)
}

// takeFlow finds the flow the callback's state belongs to and removes it, so a state
// works once.
func (a *Auth) takeFlow(w http.ResponseWriter, r *http.Request) (loginFlow, error) {
	state := r.URL.Query().Get("state")
	if state == "" {
		return loginFlow{}, refuse("the sign-in response has no state", nil)
	}
	flows := a.loadFlows(r)
	i := slices.IndexFunc(flows, func(f loginFlow) bool {
		return subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) == 1
	})
	if i < 0 {
		return loginFlow{}, refuse("this sign-in response was not started in this browser, or was already used", errors.New("unknown state"))
	}
	flow := flows[i]
	if err := a.saveFlows(w, r, slices.Delete(flows, i, i+1)); err != nil {
		return loginFlow{}, refuse("the sign-in could not be completed", err)
	}
	if a.cfg.Now().Sub(unix(flow.Started)) > flowLifetime {
		return loginFlow{}, refuse("the sign-in took longer than 10 minutes", errors.New("state expired"))
	}
	return flow, nil
}

// signIn turns a callback into a session for the flow's user.
func (a *Auth) signIn(ctx context.Context, q url.Values, flow loginFlow) (sessionData, error) {
	if e := q.Get("error"); e != "" {
		return sessionData{}, refuse("the identity provider did not sign you in ("+printable(e, 40)+")", errors.New(printable(q.Get("error_description"), 200)))
	}
	code := q.Get("code")
	if code == "" {
		return sessionData{}, refuse("the sign-in response has no code", nil)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.cfg.HTTPClient)
	tok, err := a.oauth.Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		return sessionData{}, refuse("the identity provider did not accept the sign-in code", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return sessionData{}, refuse("the identity provider sent no ID token", nil)
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return sessionData{}, refuse("the ID token is not valid", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return sessionData{}, refuse("the ID token does not belong to this sign-in", errors.New("nonce mismatch"))
	}
	if idt.Subject == "" {
		return sessionData{}, refuse(`the ID token names no user: it has no "sub" claim, which Paydesk needs to tell people apart`, errors.New("empty sub"))
	}
	c, err := a.readClaims(idt)
	if err != nil {
		return sessionData{}, refuse("the ID token's claims cannot be read", err)
	}
	if c.email == "" && c.name == "" {
		return sessionData{}, refuse(`the ID token has neither an "email" nor a "name" (or "preferred_username") claim, so Paydesk cannot name you in its records: ask your administrator to release one of them to Paydesk (the email or profile scope)`,
			fmt.Errorf("sub %q without email or name", printable(idt.Subject, 64)))
	}
	authTime := c.authTime
	if authTime.IsZero() {
		// auth_time is optional unless max_age was sent; without it the token's issue
		// time is the best evidence of when the user authenticated.
		authTime = idt.IssuedAt
	}
	now := a.cfg.Now()
	if flow.StepUp && !(now.Sub(authTime) <= a.cfg.StepUpMaxAge) {
		return sessionData{}, refuse("the identity provider did not ask you to sign in again", fmt.Errorf("auth_time %s after a step-up", authTime.UTC().Format(time.RFC3339)))
	}
	return sessionData{
		SID:        randomString(24),
		Subject:    idt.Subject,
		Key:        PersonKey(idt.Issuer, idt.Subject),
		IDToken:    raw,
		Email:      c.email,
		Name:       c.name,
		Roles:      a.mapRoles(c),
		AuthTime:   authTime.Unix(),
		SignedInAt: now.Unix(),
		LastSeen:   now.Unix(),
	}, nil
}

// claims are the ID token claims Paydesk uses.
type claims struct {
	email         string
	emailVerified bool
	name          string
	groups        []string
	authTime      time.Time
}

func (a *Auth) readClaims(idt *oidc.IDToken) (claims, error) {
	var m map[string]any
	if err := idt.Claims(&m); err != nil {
		return claims{}, err
	}
	var c claims
	c.email, _ = m["email"].(string)
	switch v := m["email_verified"].(type) {
	case bool:
		c.emailVerified = v
	case string: // some providers send "true"/"false"
		c.emailVerified = v != "false"
	default:
		c.emailVerified = true // not said: trust the provider's address
	}
	for _, k := range []string{"name", "preferred_username", "email"} {
		if s, _ := m[k].(string); s != "" {
			c.name = s
			break
		}
	}
	if t, ok := m["auth_time"].(float64); ok && t > 0 {
		c.authTime = time.Unix(int64(t), 0)
	}
	groups, err := claimStrings(m, a.cfg.GroupsClaim)
	if err != nil {
		return claims{}, err
	}
	c.groups = groups
	return c, nil
}

// claimStrings reads a claim that is a list of strings (or one string). The name is
// looked up as is first (namespaced claims are URLs with dots), then as a dotted path
// into nested objects (e.g. realm_access.roles).
func claimStrings(m map[string]any, name string) ([]string, error) {
	v, ok := m[name]
	if !ok && strings.Contains(name, ".") {
		var cur any = m
		for _, part := range strings.Split(name, ".") {
			obj, isObj := cur.(map[string]any)
			if !isObj {
				cur = nil
				break
			}
			cur = obj[part]
		}
		v, ok = cur, cur != nil
	}
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, isString := e.(string)
			if !isString {
				return nil, fmt.Errorf("claim %q holds a %T, want strings", name, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("claim %q is a %T, want a list of strings", name, v)
}

// mapRoles adds up the roles of the user's groups and of their e-mail address (unless
// the provider says the address is unverified), in display order.
func (a *Auth) mapRoles(c claims) []Role {
	have := make(map[Role]bool)
	for _, g := range c.groups {
		for _, r := range a.cfg.GroupRoles[g] {
			have[r] = true
		}
	}
	if c.email != "" && c.emailVerified {
		for _, r := range a.emailRoles[strings.ToLower(c.email)] {
			have[r] = true
		}
	}
	var roles []Role
	for _, r := range Roles {
		if have[r] {
			roles = append(roles, r)
		}
	}
	return roles
}

// Logout signs the user out (POST): it deletes the session cookie, audits and redirects
// (303) to the provider's end_session_endpoint when provider logout is on (see
// endSessionURL), else straight to PostLogoutRedirectURL's page on this site.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) {
	s, d := a.load(r)
	a.clear(w, r, s)
	if d.Subject != "" {
		a.audit(r, d.user().Actor(), KindSignOut, "signed out")
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.endSessionURL(d.IDToken), http.StatusSeeOther)
}

// endSessionURL is where sign-out sends the browser: the provider's end_session_endpoint
// with client_id, post_logout_redirect_uri (the signed-out page) and — for strict
// providers such as ORY Hydra, which refuse a redirect without it and keep their own
// session — id_token_hint, the ID token of the sign-in; or, with provider logout off or
// unavailable, the signed-out page itself (its path: it is on this site).
func (a *Auth) endSessionURL(idToken string) string {
	if a.endSession != "" {
		if u, err := url.Parse(a.endSession); err == nil {
			q := u.Query()
			q.Set("client_id", a.cfg.ClientID)
			q.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
			if idToken != "" {
				q.Set("id_token_hint", idToken)
			}
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	if u, err := url.Parse(a.cfg.PostLogoutRedirectURL); err == nil && u.Path != "" {
		u.Scheme, u.Host, u.User = "", "", nil
		return u.String()
	}
	return "/"
}

// fail answers a failed callback: logged with the detail, audited with the safe message
// and the short reason, rendered with the safe message only.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *signInError
	if !errors.As(err, &se) {
		se = refuse("the sign-in failed", err)
	}
	a.cfg.Logger.Warn("auth: sign-in failed", "error", se, "remote", r.RemoteAddr)
	msg := se.safe
	if se.detail != nil {
		msg += ": " + printable(se.detail.Error(), 300)
	}
	a.failed(r, msg, false)
	a.errorPage(w, r, http.StatusBadRequest, se)
}

// errorPage renders a failed sign-in's page with its safe message.
func (a *Auth) errorPage(w http.ResponseWriter, r *http.Request, status int, se *signInError) {
	if a.cfg.ErrorPage != nil {
		a.cfg.ErrorPage(w, r, status, capitalise(se.safe)+".")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := errorPage.Execute(w, struct{ Message, LoginPath string }{capitalise(se.safe) + ".", a.cfg.LoginPath}); err != nil {
		a.cfg.Logger.Error("auth: render the sign-in error page", "error", err)
	}
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed — Paydesk</title></head>
<body><main><h1>Sign-in failed</h1>
<p data-testid="signin-error">{{.Message}}</p>
<p><a href="{{.LoginPath}}">Sign in again</a></p></main></body></html>
`))

// safeNext returns next if it is a path on this site, else "/". It refuses absolute and
// scheme-relative URLs ("https://x", "//x"), backslashes ("/\x", read as "//x" by
// browsers), control characters (browsers drop tabs and newlines) and long values.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || next[0] != '/' || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

// printable keeps text from outside (an error parameter, a provider's message) short
// and free of control characters before it is logged, audited or shown.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
