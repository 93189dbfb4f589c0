// Package devidp is the development OpenID provider: an in-process OpenID Connect
// issuer, served on loopback only, with a real login page and the demo users. It is
// started by `paydesk demo` and by the tests, never by `paydesk serve`.
//
// It issues real RS256-signed ID tokens (with email, name, groups, auth_time and nonce)
// through github.com/zitadel/oidc/v3/pkg/op, so Paydesk's production sign-in code — the
// code flow with PKCE, the ID token verification, the role mapping — is what runs in the
// demo. It requires PKCE with S256, checks client secrets (HTTP basic or form), honours
// prompt=login and max_age, and offers end_session.
package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Paths the provider serves besides the op package's own (/.well-known/openid-configuration,
// /authorize, /authorize/callback, /oauth/token, /userinfo, /keys, /end_session).
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
	callbackPath  = "/authorize/callback" // op's authorization endpoint + "/callback"
	endSessionURI = "/end_session"
	ssoCookieName = "devidp_sso"
	scopeGroups   = "groups"
	claimGroups   = "groups"
)

// The demo groups; DemoRoleMap maps them to Paydesk's roles.
const (
	GroupSupport = "paydesk-support"
	GroupFinance = "paydesk-finance"
	GroupManager = "paydesk-manager"
)

// demoGroupRoles is DemoRoleMap as a map, for the login page's table.
var demoGroupRoles = map[string]string{
	GroupSupport: "support",
	GroupFinance: "finance",
	GroupManager: "manager",
}

// User is a person who can sign in at the development provider. Username is also the
// ID token's subject.
type User struct {
	Username string
	Password string
	Email    string
	Name     string
	Groups   []string
}

// DemoUsers returns the demo's people: one per role, a second manager (so one manager can
// approve another's refund request), one with two roles and one with none. Their
// passwords are printed by `make run` and listed on the login page.
func DemoUsers() []User {
	return []User{
		{Username: "sam", Password: "sam-demo", Email: "sam@paydesk.example", Name: "Sam Support", Groups: []string{GroupSupport}},
		{Username: "fran", Password: "fran-demo", Email: "fran@paydesk.example", Name: "Fran Finance", Groups: []string{GroupFinance}},
		{Username: "max", Password: "max-demo", Email: "max@paydesk.example", Name: "Max Manager", Groups: []string{GroupManager}},
		{Username: "mia", Password: "mia-demo", Email: "mia@paydesk.example", Name: "Mia Manager", Groups: []string{GroupManager}},
		{Username: "tess", Password: "tess-demo", Email: "tess@paydesk.example", Name: "Tess Two-Roles", Groups: []string{GroupSupport, GroupFinance}},
		{Username: "nora", Password: "nora-demo", Email: "nora@paydesk.example", Name: "Nora No-Access", Groups: nil},
	}
}

// DemoRoleMap returns the demo's group → role mapping in the syntax of auth.ParseRoleMap.
func DemoRoleMap() string {
	return GroupSupport + ":support," + GroupFinance + ":finance," + GroupManager + ":manager"
}

// Client is a relying party registered at the provider (Paydesk).
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are the exact callback URLs the client may use.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the exact URLs end_session may send the browser back to.
	PostLogoutRedirectURIs []string
}

// Config configures Start.
type Config struct {
	// Addr is where to listen; "127.0.0.1:0" (a free port) when empty. Only loopback
	// addresses are accepted: this provider lets anyone in with a published password.
	Addr    string
	Clients []Client
	// Users may sign in; DemoUsers when nil.
	Users []User
	// Now is the clock for auth_time, request expiry and the provider's own sign-in;
	// time.Now when nil. (ID token expiry is computed by the op package from the wall
	// clock, one hour ahead.)
	Now func() time.Time
	// Logger receives the op package's logs; slog.Default when nil.
	Logger *slog.Logger
}

// Server is a running development provider.
type Server struct {
	issuer  string
	http    *http.Server
	storage *storage
	once    sync.Once
	closed  error
}

// Start listens on cfg.Addr, serves the provider in the background and stops it when ctx
// is done (or Close is called).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Users == nil {
		cfg.Users = DemoUsers()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generate signing key: %w", err)
	}
	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("devidp: listen on %s: %w", cfg.Addr, err)
	}
	issuer := "http://" + ln.Addr().String()

	st := newStorage(cfg.Now, key, cfg.Clients, cfg.Users)
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{"openid", "email", "profile", scopeGroups},
		SupportedClaims:          []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "email", "email_verified", "name", "preferred_username", claimGroups},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(cfg.Logger.With("component", "devidp")))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("devidp: create provider: %w", err)
	}

	lp := &loginPage{storage: st, provider: provider, issuer: issuer, users: cfg.Users, now: cfg.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, lp.show)
	mux.HandleFunc("POST "+loginPath, lp.submit)
	mux.HandleFunc("GET "+loggedOutPath, lp.loggedOut)
	mux.Handle(endSessionURI, lp.endSession(provider))
	mux.Handle("/", provider)

	s := &Server{
		issuer:  issuer,
		storage: st,
		http: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("devidp: serve", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return s, nil
}

// Issuer is the provider's issuer URL, e.g. "http://127.0.0.1:43117"; discovery is at
// Issuer()+"/.well-known/openid-configuration".
func (s *Server) Issuer() string { return s.issuer }

// Close stops the provider, giving requests in flight a moment to finish.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.closed = s.http.Shutdown(ctx)
	})
	return s.closed
}

// validate refuses a configuration that would not work, or would expose the provider.
func validate(cfg Config) error {
	var errs []error
	host, _, err := net.SplitHostPort(cfg.Addr)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("devidp: Addr %q is not host:port: %w", cfg.Addr, err))
	case !isLoopback(host):
		errs = append(errs, fmt.Errorf("devidp: Addr %q is not a loopback address; the development provider only listens on 127.0.0.1, ::1 or localhost", cfg.Addr))
	}
	if len(cfg.Clients) == 0 {
		errs = append(errs, errors.New("devidp: no client registered; add Paydesk's client id, secret and redirect URL to Clients"))
	}
	seen := make(map[string]bool)
	for i, c := range cfg.Clients {
		switch {
		case c.ID == "":
			errs = append(errs, fmt.Errorf("devidp: Clients[%d] has no ID", i))
		case seen[c.ID]:
			errs = append(errs, fmt.Errorf("devidp: client %q is registered twice", c.ID))
		}
		seen[c.ID] = true
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("devidp: client %q has no Secret", c.ID))
		}
		if len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("devidp: client %q has no RedirectURIs", c.ID))
		}
		for _, u := range append(append([]string{}, c.RedirectURIs...), c.PostLogoutRedirectURIs...) {
			if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				errs = append(errs, fmt.Errorf("devidp: client %q: %q is not an absolute http(s) URL", c.ID, u))
			}
		}
	}
	if len(cfg.Users) == 0 {
		errs = append(errs, errors.New("devidp: no users; leave Users nil for the demo users"))
	}
	names := make(map[string]bool)
	for i, u := range cfg.Users {
		switch {
		case u.Username == "" || strings.TrimSpace(u.Username) != u.Username || strings.ToLower(u.Username) != u.Username:
			errs = append(errs, fmt.Errorf("devidp: Users[%d]: username %q must be non-empty, lower-case and without spaces", i, u.Username))
		case names[u.Username]:
			errs = append(errs, fmt.Errorf("devidp: user %q is listed twice", u.Username))
		}
		names[u.Username] = true
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("devidp: user %q has no password", u.Username))
		}
	}
	return errors.Join(errs...)
}

// isLoopback reports whether host names the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
