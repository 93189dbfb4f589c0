// Package auth signs staff in with OpenID Connect and keeps who they are in a session on
// the server.
//
// Sign-in is the authorization-code flow with PKCE (S256), state and nonce, against an
// issuer discovered from its URL (github.com/coreos/go-oidc/v3, golang.org/x/oauth2). The
// ID token is verified (signature, issuer, audience, expiry, nonce); its groups claim — or
// the e-mail address — is mapped to Paydesk's roles. The session (github.com/gorilla/sessions
// with a store of our own, store.go) is a record in the database found by the SHA-256 of a
// random id the cookie carries; it holds the user and their roles — no access or refresh
// token; the ID token only as the sign-out's id_token_hint — ends at sign-out (copies of
// the cookie with it) and expires when idle and after an absolute lifetime. Money-moving
// actions need a recent sign-in: StepUp sends the user to sign in again and brings them
// back to their form.
//
// The handlers Login, Callback and Logout are mounted by the web package's route table.
package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"paydesk/storage"
)

// Role is what a user may do in Paydesk. A user may hold several; their rights add up.
type Role string

// The three roles.
const (
	RoleSupport Role = "support"
	RoleFinance Role = "finance"
	RoleManager Role = "manager"
)

// Roles lists every role in display order.
var Roles = []Role{RoleSupport, RoleFinance, RoleManager}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	return r == RoleSupport || r == RoleFinance || r == RoleManager
}

// Audit log kinds written by this package.
const (
	KindSignIn         = "sign_in"
	KindSignInFailed   = "sign_in_failed"
	KindSignOut        = "sign_out"
	KindSessionExpired = "session_expired"
)

// Defaults applied to a zero Config field.
const (
	DefaultGroupsClaim     = "groups"
	DefaultStepUpMaxAge    = 15 * time.Minute
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultCookieName      = "paydesk_session"
	DefaultLoginPath       = "/login"
)

// SignedOutPath is where Paydesk's sign-out ends: the page that says so (see
// Config.PostLogoutRedirectURL).
const SignedOutPath = "/signed-out"

// The values of Config.ProviderLogout.
const (
	ProviderLogoutAuto = "auto"
	ProviderLogoutOn   = "on"
	ProviderLogoutOff  = "off"
)

// DefaultScopes are requested when Config.Scopes is empty.
var DefaultScopes = []string{oidc.ScopeOpenID, "email", "profile", "groups"}

// User is the signed-in person, as the session remembers them.
type User struct {
	Subject string // the ID token's sub
	// Key is the person's stable key, PersonKey(issuer, sub): what decides whose request
	// a refund is. "" only for a session written before keys.
	Key   string
	Email string // "" when the provider sends none
	Name  string // the name (or preferred_username) claim; "" when the provider sends none
	Roles []Role // mapped at sign-in; empty means signed in but no access
	// AuthTime is when the person last authenticated at the identity provider (the ID
	// token's auth_time); it decides whether a step-up is needed.
	AuthTime time.Time
	// SignedInAt is when this session started (the absolute expiry counts from it).
	SignedInAt time.Time
	// SessionID is a random id renewed at every sign-in, e.g. to bind CSRF tokens to.
	SessionID string
}

// Has reports whether the user holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// HasAny reports whether the user holds at least one of rs.
func (u User) HasAny(rs ...Role) bool {
	for _, r := range rs {
		if u.Has(r) {
			return true
		}
	}
	return false
}

// NoAccess reports whether the user is signed in with no role: they get the "no access"
// page and no data.
func (u User) NoAccess() bool { return len(u.Roles) == 0 }

// Actor is how the audit log, the journal and the refunds name the user, never empty for
// a signed-in user: the e-mail address, else the name, else a short form of the subject
// (sign-in refuses a token with neither e-mail nor name, so only an older session gets
// there).
func (u User) Actor() string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Name != "":
		return u.Name
	}
	return shortSubject(u.Subject)
}

// shortSubject shortens a subject for display: subjects are opaque and may be long.
func shortSubject(sub string) string {
	const max = 24
	if len(sub) <= max {
		return sub
	}
	return strings.ToValidUTF8(sub[:max], "") + "…"
}

// PersonKey is the stable key of the person the issuer knows as subject: 128 bits of
// SHA-256 over both, hex, prefixed "p1:". A subject is only unique at its issuer, so
// both go in; an e-mail address is neither required nor stable, so it does not. Moving to
// another issuer URL gives everyone new keys.
func PersonKey(issuer, subject string) string {
	sum := sha256.Sum256([]byte(issuer + "\n" + subject))
	return "p1:" + hex.EncodeToString(sum[:16])
}

// Config configures sign-in and sessions. Zero fields take the defaults noted.
type Config struct {
	IssuerURL    string // the OpenID Connect issuer; discovery is at IssuerURL/.well-known/openid-configuration
	ClientID     string
	ClientSecret string
	RedirectURL  string   // the absolute URL of the Callback handler, registered at the provider
	Scopes       []string // default openid email profile groups

	GroupsClaim string            // the ID token claim with the user's groups; default "groups" (a dotted path reaches into objects)
	GroupRoles  map[string][]Role // group name → roles
	EmailRoles  map[string][]Role // e-mail address (any case) → roles; used only if the provider does not say the address is unverified

	StepUpMaxAge    time.Duration // default 15m: how recent a sign-in money-moving actions need
	IdleTimeout     time.Duration // default 30m
	AbsoluteTimeout time.Duration // default 12h

	HashKey  []byte // signs the sign-in flow cookie: at least 32 random bytes
	BlockKey []byte // encrypts the sign-in flow cookie: 16, 24 or 32 random bytes
	Secure   bool   // the cookies' Secure flag; off only for the demo on loopback

	// Sessions keeps the sessions on the server (required): the database, *storage.DB.
	// Every instance on one database sees the others' sessions and sign-outs at once.
	Sessions SessionRecords
	// RateLimits, when set, shares each source address's budget of failed sign-in
	// callbacks with every instance of the database (*storage.DB on PostgreSQL); nil keeps
	// it in this process's memory only (one instance: SQLite).
	RateLimits RateLimits

	CookieName string // default "paydesk_session"; the sign-in flow uses CookieName+"_login"
	LoginPath  string // where Login is mounted; default "/login"
	// PostLogoutRedirectURL is the page on this site where Logout ends (through the
	// provider's end_session_endpoint when provider logout is on): Paydesk sets its page
	// that says the user is signed out (SignedOutPath) — not a page that signs them in
	// again. Default the root of RedirectURL's site. It must be registered at the
	// provider as a post-logout redirect URI.
	PostLogoutRedirectURL string
	// ProviderLogout says whether sign-out also ends the session at the identity
	// provider (its end_session_endpoint, with id_token_hint): ProviderLogoutAuto (""),
	// the default, when the provider advertises the endpoint; ProviderLogoutOn requires
	// it (start-up fails without); ProviderLogoutOff never (the provider's own session
	// survives: the next sign-in on that browser may not ask for a password).
	ProviderLogout string

	AuthStyle  oauth2.AuthStyle // how the client secret is sent; 0 = auto-detect
	HTTPClient *http.Client     // for discovery, keys and token calls; nil = a client with a 10s timeout
	Now        func() time.Time // nil = time.Now
	Logger     *slog.Logger     // nil = slog.Default()

	// Audit records sign-ins, sign-outs, refusals and failures; kind is one of the Kind
	// constants. It may be nil.
	Audit func(ctx context.Context, r *http.Request, actor, kind, message string)
	// OnSignIn, when set, is told of each completed sign-in, once the session is saved
	// (Paydesk records who the managers are and their addresses, for e-mail).
	OnSignIn func(ctx context.Context, u User)
	// ErrorPage renders a failed sign-in (status 400) with a message safe to show; nil
	// writes a plain page.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int, message string)
}

func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.StepUpMaxAge == 0 {
		c.StepUpMaxAge = DefaultStepUpMaxAge
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AbsoluteTimeout == 0 {
		c.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.LoginPath == "" {
		c.LoginPath = DefaultLoginPath
	}
	if c.PostLogoutRedirectURL == "" {
		if u, err := url.Parse(c.RedirectURL); err == nil && u.Host != "" {
			c.PostLogoutRedirectURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
		}
	}
	if c.ProviderLogout == "" {
		c.ProviderLogout = ProviderLogoutAuto
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every misconfiguration at once, each with what to fix. Fields are
// named as in Config; zero fields are checked after their defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("auth: "+format, args...)) }

	checkURL := func(field, value, example string) (loopback bool) {
		if value == "" {
			add("%s is required, e.g. %s", field, example)
			return false
		}
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("%s %q is not an absolute http(s) URL, e.g. %s", field, value, example)
			return false
		}
		if u.Fragment != "" || (u.RawQuery != "" && field == "IssuerURL") {
			add("%s %q must not have a query or fragment", field, value)
		}
		loopback = isLoopback(u.Hostname())
		if u.Scheme == "http" && !loopback {
			add("%s %q must use https (plain http is only allowed on loopback, for the demo)", field, value)
		}
		return loopback
	}
	checkURL("IssuerURL", c.IssuerURL, "https://login.example.com/realms/paydesk")
	if c.ClientID == "" {
		add("ClientID is required: the client id Paydesk is registered with at the identity provider")
	}
	if c.ClientSecret == "" {
		add("ClientSecret is required: the client secret Paydesk is registered with at the identity provider")
	}
	loopback := checkURL("RedirectURL", c.RedirectURL, "https://paydesk.example.com/auth/callback")
	if c.RedirectURL != "" && !c.Secure && !loopback {
		add("Secure is off but RedirectURL %q is not on loopback: session cookies must be Secure outside the demo", c.RedirectURL)
	}
	if c.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(c.PostLogoutRedirectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("PostLogoutRedirectURL %q is not an absolute http(s) URL", c.PostLogoutRedirectURL)
		}
	}
	switch c.ProviderLogout {
	case ProviderLogoutAuto, ProviderLogoutOn, ProviderLogoutOff:
	default:
		add("ProviderLogout %q: want auto, on or off", c.ProviderLogout)
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		add("Scopes %q must include \"openid\"", c.Scopes)
	}
	if strings.TrimSpace(c.GroupsClaim) != c.GroupsClaim {
		add("GroupsClaim %q has surrounding spaces", c.GroupsClaim)
	}

	if len(c.GroupRoles) == 0 && len(c.EmailRoles) == 0 {
		add("no role mapping: set GroupRoles (group → roles) or EmailRoles (e-mail → roles), otherwise nobody can use Paydesk")
	}
	checkRoleMap := func(field string, m map[string][]Role) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.TrimSpace(k) == "" {
				add("%s has an empty key", field)
			}
			if len(m[k]) == 0 {
				add("%s[%q] maps to no role", field, k)
			}
			for _, r := range m[k] {
				if !r.Valid() {
					add("%s[%q]: unknown role %q (want support, finance or manager)", field, k, r)
				}
			}
		}
	}
	checkRoleMap("GroupRoles", c.GroupRoles)
	checkRoleMap("EmailRoles", c.EmailRoles)

	if c.StepUpMaxAge < 0 {
		add("StepUpMaxAge %s must be positive", c.StepUpMaxAge)
	}
	if c.IdleTimeout < time.Minute {
		add("IdleTimeout %s is too short: at least 1m", c.IdleTimeout)
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		add("AbsoluteTimeout %s must not be shorter than IdleTimeout %s", c.AbsoluteTimeout, c.IdleTimeout)
	}

	switch {
	case len(c.HashKey) == 0:
		add("HashKey is required: at least 32 random bytes that sign the session cookie")
	case len(c.HashKey) < 32:
		add("HashKey is %d bytes: it must be at least 32 random bytes", len(c.HashKey))
	}
	switch len(c.BlockKey) {
	case 16, 24, 32:
	case 0:
		add("BlockKey is required: 16, 24 or 32 random bytes that encrypt the session cookie (AES-128/192/256)")
	default:
		add("BlockKey is %d bytes: it must be 16, 24 or 32 bytes (AES-128/192/256)", len(c.BlockKey))
	}
	if c.Sessions == nil {
		add("Sessions is required: where sessions are kept on the server (the database)")
	}
	// Reusing one key for both (or the start of one as the other) defeats having two.
	if len(c.BlockKey) > 0 && bytes.HasPrefix(c.HashKey, c.BlockKey) {
		add("HashKey and BlockKey must be different random keys")
	}

	if !validCookieName(c.CookieName) {
		add("CookieName %q may only contain letters, digits, '_' and '-'", c.CookieName)
	}
	if !strings.HasPrefix(c.LoginPath, "/") || strings.HasPrefix(c.LoginPath, "//") {
		add("LoginPath %q must be a path on this site, e.g. /login", c.LoginPath)
	}
	return errors.Join(errs...)
}

// ParseRoleMap parses a mapping from group names (or e-mail addresses) to roles:
// comma-separated entries "key:role", several roles joined with "+", e.g.
// "grp-support:support,grp-ops:support+finance,boss@example.com:manager". Keys may
// contain ':' (the last one separates the roles); blank entries are ignored.
func ParseRoleMap(s string) (map[string][]Role, error) {
	m := make(map[string][]Role)
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		sep := strings.LastIndex(entry, ":")
		if sep < 0 {
			return nil, fmt.Errorf("auth: role map entry %d %q: want key:role, e.g. grp-support:support", i+1, entry)
		}
		key := strings.TrimSpace(entry[:sep])
		if key == "" {
			return nil, fmt.Errorf("auth: role map entry %d %q: the group or e-mail before ':' is empty", i+1, entry)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("auth: role map entry %d %q: %q is listed twice; join its roles with '+'", i+1, entry, key)
		}
		var roles []Role
		for _, name := range strings.Split(entry[sep+1:], "+") {
			r := Role(strings.ToLower(strings.TrimSpace(name)))
			if r == "" {
				return nil, fmt.Errorf("auth: role map entry %d %q: empty role name", i+1, entry)
			}
			if !r.Valid() {
				return nil, fmt.Errorf("auth: role map entry %d %q: unknown role %q (want support, finance or manager)", i+1, entry, name)
			}
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		m[key] = roles
	}
	return m, nil
}

// Auth signs users in and keeps their sessions. It is safe for concurrent use.
type Auth struct {
	cfg        Config
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	store      *sessions.CookieStore // the sign-in flow cookie (login.go)
	sessions   *dbStore              // the session: a record on the server (store.go)
	endSession string                // the provider's end_session_endpoint, "" if it has none or provider logout is off
	emailRoles map[string][]Role
	failures   *failureThrottle // anonymous callback failures, per source address
}

// New validates cfg, discovers the issuer and prepares the ID token verifier and the
// OAuth2 client. It fails at start-up, not at the first sign-in.
func New(ctx context.Context, cfg Config) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.IssuerURL)
	if err != nil && strings.Contains(err.Error(), "did not match the issuer") {
		return nil, fmt.Errorf("auth: IssuerURL %q is not exactly the issuer the provider names in its discovery document: copy it from there, a trailing slash included or not: %w", cfg.IssuerURL, err)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: discover the issuer at IssuerURL %q (check the URL and that the provider is reachable): %w", cfg.IssuerURL, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("auth: read the issuer's discovery document: %w", err)
	}
	switch {
	case cfg.ProviderLogout == ProviderLogoutOff:
		meta.EndSession = ""
	case cfg.ProviderLogout == ProviderLogoutOn && meta.EndSession == "":
		return nil, fmt.Errorf("auth: ProviderLogout is on but the issuer %q advertises no end_session_endpoint: set it to auto or off", cfg.IssuerURL)
	}

	endpoint := provider.Endpoint()
	endpoint.AuthStyle = cfg.AuthStyle
	a := &Auth{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Endpoint:     endpoint,
			Scopes:       cfg.Scopes,
		},
		verifier:   provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		endSession: meta.EndSession,
		emailRoles: make(map[string][]Role, len(cfg.EmailRoles)),
		failures:   newFailureThrottle(),
	}
	for k, v := range cfg.EmailRoles {
		a.emailRoles[strings.ToLower(strings.TrimSpace(k))] = v
	}

	a.store = sessions.NewCookieStore(cfg.HashKey, cfg.BlockKey)
	a.store.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   cfg.Secure,
		SameSite: http.SameSiteLaxMode,
	}
	// The session cookie lives no longer than the absolute expiry; the record's own
	// timestamps, on the injectable clock, decide before that.
	a.store.MaxAge(int(cfg.AbsoluteTimeout / time.Second))
	for _, c := range a.store.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(sessionSerializer{})
		}
	}
	a.sessions = &dbStore{records: cfg.Sessions, options: a.store.Options, now: cfg.Now,
		idle: cfg.IdleTimeout, absolute: cfg.AbsoluteTimeout, recent: map[string]recentRecord{}}
	// On PostgreSQL the data version hears other instances' commits a moment after them
	// (a notification): a sign-out there must end the session here at once, so the record
	// is read at every request (store.go, lagging).
	if e, ok := cfg.Sessions.(interface{ Engine() storage.Engine }); ok && e.Engine() == storage.Postgres {
		a.sessions.lagging = true
	}
	return a, nil
}

// NewSessionKeys returns fresh random keys for Config.HashKey (64 bytes) and
// Config.BlockKey (32 bytes), e.g. for the demo to generate and keep.
func NewSessionKeys() (hashKey, blockKey []byte) {
	hashKey, blockKey = make([]byte, 64), make([]byte, 32)
	// crypto/rand.Read never returns an error (Go 1.24+).
	_, _ = rand.Read(hashKey)
	_, _ = rand.Read(blockKey)
	return hashKey, blockKey
}

// Fresh reports whether u authenticated recently enough to move money: within
// Config.StepUpMaxAge.
func (a *Auth) Fresh(u User) bool {
	return !u.AuthTime.IsZero() && a.cfg.Now().Sub(u.AuthTime) <= a.cfg.StepUpMaxAge
}

func (a *Auth) audit(r *http.Request, actor, kind, message string) {
	if a.cfg.Audit == nil {
		return
	}
	if actor == "" {
		actor = "anonymous"
	}
	a.cfg.Audit(r.Context(), r, actor, kind, message)
}

// isLoopback reports whether host names the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
