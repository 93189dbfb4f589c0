package devidp

import (
	"crypto/subtle"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginPage is the provider's user interface: the login form with the table of demo
// users, and the page shown after signing out without a way back.
type loginPage struct {
	storage  *storage
	provider *op.Provider
	issuer   string
	users    []User
	now      func() time.Time
}

// loginView is what the login template shows.
type loginView struct {
	ID       string
	Username string
	Error    string
	Users    []userRow
}

// userRow is one line of the demo users' table.
type userRow struct {
	Username, Password, Name, Email, Groups, Roles string
}

// show serves GET /login?authRequestID=…: it reuses the provider's own sign-in unless the
// client asked for a fresh one (prompt=login, max_age), else shows the form.
func (l *loginPage) show(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	req, err := l.storage.AuthRequestByID(r.Context(), id)
	if err != nil {
		l.gone(w)
		return
	}
	ar := req.(*authRequest)
	if sess, ok := l.ssoSession(r); ok && !ar.forcesLogin(sess.authTime, l.now()) {
		// Single sign-on: the person signed in here earlier; auth_time stays the time of
		// that sign-in, which is what the client's max_age is measured against.
		if err := l.storage.complete(id, sess.username, sess.authTime); err != nil {
			l.gone(w)
			return
		}
		http.Redirect(w, r, l.callbackURL(id), http.StatusFound)
		return
	}
	for _, p := range ar.prompt {
		if p == oidc.PromptNone {
			op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired().WithDescription("no sign-in at the development provider"), l.provider)
			return
		}
	}
	l.render(w, http.StatusOK, loginView{ID: id, Username: ar.loginHint})
}

// submit serves POST /login: it checks the password and sends the browser back through
// the op package's callback, which redirects to the client with the code.
func (l *loginPage) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "devidp: the form could not be read", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("id")
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	password := r.PostForm.Get("password")
	if _, err := l.storage.AuthRequestByID(r.Context(), id); err != nil {
		l.gone(w)
		return
	}
	u, ok := l.storage.users[username]
	// Compare even for an unknown user, so the answer takes as long either way.
	want := u.Password
	if !ok {
		want = "\x00unknown user"
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 || !ok {
		l.render(w, http.StatusUnauthorized, loginView{ID: id, Username: username, Error: "Wrong username or password."})
		return
	}
	now := l.now()
	if err := l.storage.complete(id, u.Username, now); err != nil {
		l.gone(w)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     ssoCookieName,
		Value:    l.storage.startSession(u.Username, now),
		Path:     "/",
		MaxAge:   int(ssoLifetime / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, l.callbackURL(id), http.StatusSeeOther)
}

// endSession wraps the op package's end_session endpoint: it ends the provider's own
// sign-in (only this handler sees the cookie) before the op package redirects to the
// client's registered post-logout URL.
func (l *loginPage) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(ssoCookieName); err == nil {
			l.storage.endSession(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: ssoCookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		next.ServeHTTP(w, r)
	})
}

// loggedOut is where end_session lands without a registered post-logout URL.
func (l *loginPage) loggedOut(w http.ResponseWriter, _ *http.Request) {
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	if err := loggedOutTemplate.Execute(w, nil); err != nil {
		slog.Error("devidp: render logged-out page", "error", err)
	}
}

func (l *loginPage) ssoSession(r *http.Request) (ssoSession, bool) {
	c, err := r.Cookie(ssoCookieName)
	if err != nil {
		return ssoSession{}, false
	}
	return l.storage.session(c.Value)
}

func (l *loginPage) callbackURL(id string) string {
	return l.issuer + callbackPath + "?id=" + url.QueryEscape(id)
}

func (l *loginPage) gone(w http.ResponseWriter) {
	setPageHeaders(w)
	w.WriteHeader(http.StatusBadRequest)
	if err := goneTemplate.Execute(w, nil); err != nil {
		slog.Error("devidp: render expired page", "error", err)
	}
}

func (l *loginPage) render(w http.ResponseWriter, status int, v loginView) {
	for _, u := range l.users {
		var roles []string
		for _, g := range u.Groups {
			if role, ok := demoGroupRoles[g]; ok {
				roles = append(roles, role)
			}
		}
		row := userRow{Username: u.Username, Password: u.Password, Name: u.Name, Email: u.Email,
			Groups: strings.Join(u.Groups, ", "), Roles: strings.Join(roles, ", ")}
		if row.Groups == "" {
			row.Groups = "—"
		}
		if row.Roles == "" {
			row.Roles = "none (no access)"
		}
		v.Users = append(v.Users, row)
	}
	setPageHeaders(w)
	w.WriteHeader(status)
	if err := loginTemplate.Execute(w, v); err != nil {
		slog.Error("devidp: render login page", "error", err)
	}
}

// setPageHeaders forbids scripts, framing and caching: the page has only inline CSS.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

const pageStyle = `<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:46rem;margin:3rem auto;padding:2rem;background:#fff;border:1px solid #dde1e8;border-radius:8px}
h1{font-size:1.4rem;margin-top:0}
.note{color:#5b6475;font-size:.9rem}
form{display:grid;gap:.75rem;max-width:20rem;margin:1.5rem 0}
label{display:grid;gap:.25rem;font-weight:600}
input{font:inherit;padding:.45rem .6rem;border:1px solid #b8bfcc;border-radius:4px}
button{font:inherit;padding:.5rem;border:0;border-radius:4px;background:#2450c8;color:#fff;font-weight:600;cursor:pointer}
.error{color:#a31d1d;background:#fdecec;border:1px solid #f3c2c2;padding:.5rem .75rem;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e6e9ef}
code{font-size:.95em}
@media (max-width:40rem){main{margin:0;border:0;border-radius:0;padding:1rem}th,td{overflow-wrap:anywhere}}
</style>`

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in — Paydesk development provider</title>
` + pageStyle + `
</head>
<body>
<main>
<h1>Sign in</h1>
<p class="note">This is Paydesk's development OpenID provider. It runs only with <code>paydesk demo</code>, on this computer; the passwords below are not secret.</p>
{{if .Error}}<p class="error" role="alert" data-testid="login-error">{{.Error}}</p>{{end}}
<form method="post" action="/login" data-testid="login-form">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input name="username" autocomplete="username" required autofocus value="{{.Username}}" data-testid="login-username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required data-testid="login-password"></label>
<button type="submit" data-testid="login-submit">Sign in</button>
</form>
<h2>Demo users</h2>
<table data-testid="demo-users">
<thead><tr><th>Username</th><th>Password</th><th>Name</th><th>Groups</th><th>Paydesk role</th></tr></thead>
<tbody>
{{range .Users}}<tr data-testid="demo-user-{{.Username}}"><td><code>{{.Username}}</code></td><td><code>{{.Password}}</code></td><td>{{.Name}}<br><span class="note">{{.Email}}</span></td><td>{{.Groups}}</td><td>{{.Roles}}</td></tr>
{{end}}</tbody>
</table>
</main>
</body>
</html>
`))

var goneTemplate = template.Must(template.New("gone").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in expired — Paydesk development provider</title>` + pageStyle + `</head>
<body><main><h1>This sign-in has expired</h1>
<p data-testid="login-gone">The sign-in request is unknown or too old. Go back to Paydesk and sign in again.</p></main></body></html>
`))

var loggedOutTemplate = template.Must(template.New("logged-out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out — Paydesk development provider</title>` + pageStyle + `</head>
<body><main><h1>Signed out</h1><p data-testid="logged-out">You are signed out of the development provider.</p></main></body></html>
`))
