package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of what the provider hands out. The ID token's expiry is computed by the op
// package from the wall clock, so it is generous: tests move an injected clock forward by
// minutes, never by an hour, between getting a token and verifying it.
const (
	authRequestLifetime = 10 * time.Minute
	codeLifetime        = 5 * time.Minute
	tokenLifetime       = time.Hour
	ssoLifetime         = 12 * time.Hour
)

// errNotFound is what the op package receives for unknown or expired requests, codes and
// tokens; it never reaches a person.
var errNotFound = errors.New("devidp: not found or expired")

// authRequest is one authorization request, from /authorize to the token exchange.
// It implements op.AuthRequest; the storage hands out copies so the op package never
// races with the login page.
type authRequest struct {
	id           string
	createdAt    time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge
	prompt       []string
	maxAge       *uint
	loginHint    string

	subject  string
	authTime time.Time
	done     bool
	codeAt   time.Time
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

// forcesLogin reports whether the client asked for a fresh login (prompt=login, or a
// max_age the last sign-in at authTime no longer meets).
func (a *authRequest) forcesLogin(lastAuth, now time.Time) bool {
	if slices.Contains(a.prompt, oidc.PromptLogin) {
		return true
	}
	if a.maxAge == nil {
		return false
	}
	// max_age=0 is the same as prompt=login (OpenID Connect Core 1.0, 3.1.2.1).
	return *a.maxAge == 0 || now.Sub(lastAuth) > time.Duration(*a.maxAge)*time.Second
}

// accessToken is what the userinfo endpoint needs to answer for a bearer token.
type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

// ssoSession is the provider's own sign-in, kept in its cookie, reused until the client
// asks for a fresh login.
type ssoSession struct {
	username string
	authTime time.Time
}

// client is a registered relying party. It implements op.Client.
type client struct {
	id           string
	secret       string
	redirectURIs []string
	postLogout   []string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogout }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return loginPath + "?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return tokenLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(scope string) bool     { return scope == scopeGroups }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// storage keeps everything in memory: a development provider forgets it all on restart,
// and Paydesk's own session does not depend on it.
type storage struct {
	now     func() time.Time
	key     *signingKey
	clients map[string]*client
	users   map[string]User

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code → request id
	tokens   map[string]accessToken
	sessions map[string]ssoSession // cookie value → sign-in
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(now func() time.Time, key *rsa.PrivateKey, clients []Client, users []User) *storage {
	s := &storage{
		now:      now,
		key:      &signingKey{id: randomID(8), key: key},
		clients:  make(map[string]*client, len(clients)),
		users:    make(map[string]User, len(users)),
		requests: make(map[string]*authRequest),
		codes:    make(map[string]string),
		tokens:   make(map[string]accessToken),
		sessions: make(map[string]ssoSession),
	}
	for _, c := range clients {
		s.clients[c.ID] = &client{
			id:           c.ID,
			secret:       c.Secret,
			redirectURIs: slices.Clone(c.RedirectURIs),
			postLogout:   slices.Clone(c.PostLogoutRedirectURIs),
		}
	}
	for _, u := range users {
		s.users[u.Username] = u
	}
	return s
}

// CreateAuthRequest stores a new authorization request. PKCE with S256 is required: a
// confidential client gets no exemption, so Paydesk's PKCE code path always runs.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	ar := &authRequest{
		id:           randomID(16),
		createdAt:    s.now(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone([]string(req.Scopes)),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		challenge:    &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
		prompt:       slices.Clone([]string(req.Prompt)),
		maxAge:       req.MaxAge,
		loginHint:    req.LoginHint,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	s.requests[ar.id] = ar
	c := *ar
	return &c, nil
}

// AuthRequestByID returns a copy of a live request.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok || s.now().Sub(ar.createdAt) > authRequestLifetime {
		return nil, errNotFound
	}
	c := *ar
	return &c, nil
}

// AuthRequestByCode returns the request a code was issued for, while the code is fresh.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errNotFound
	}
	ar, ok := s.requests[id]
	if !ok || !ar.done || s.now().Sub(ar.codeAt) > codeLifetime {
		return nil, errNotFound
	}
	c := *ar
	return &c, nil
}

// SaveAuthCode records the code issued for a completed request.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok {
		return errNotFound
	}
	ar.codeAt = s.now()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest forgets a request and its code; the op package calls it once the
// tokens are issued, which makes every code single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// complete marks a request as signed in by username at authTime.
func (s *storage) complete(id, username string, authTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok || s.now().Sub(ar.createdAt) > authRequestLifetime {
		return errNotFound
	}
	ar.subject = username
	ar.authTime = authTime
	ar.done = true
	return nil
}

// CreateAccessToken records an opaque access token for the userinfo endpoint.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	var clientID string
	if ar, ok := req.(op.AuthRequest); ok {
		clientID = ar.GetClientID()
	}
	id := randomID(16)
	expires := s.now().Add(tokenLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = accessToken{subject: req.GetSubject(), clientID: clientID, scopes: slices.Clone(req.GetScopes()), expires: expires}
	return id, expires, nil
}

// CreateAccessAndRefreshTokens is not supported: no client is registered for refresh tokens.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not supported")
}

// TokenRequestByRefreshToken is not supported.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession is called by end_session; the cookie-bound sign-in is ended by the
// handler wrapped around it (it alone sees the cookie).
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken forgets an access token.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, _ string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tokenID)
	return nil
}

// GetRefreshTokenInfo is not supported.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// GetClientByClientID returns a registered client.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client_id")
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return oidc.ErrInvalidClient().WithDescription("wrong client_id or client_secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the op package; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims: email, name and groups.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.expires) {
		return errNotFound
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users[subject]
	if !ok {
		return fmt.Errorf("devidp: unknown user %q", subject)
	}
	info.Subject = u.Username
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(true)
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.Username
		case scopeGroups:
			// Always a list, empty for a user in no group, so "no group" is explicit.
			info.AppendClaims(claimGroups, append([]string{}, u.Groups...))
		}
	}
	return nil
}

// SetIntrospectionFromToken is not offered: no client is allowed to introspect.
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return oidc.ErrUnauthorizedClient().WithDescription("introspection is not supported")
}

// GetPrivateClaimsFromScopes adds nothing to access tokens.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// ValidateJWTProfileScopes is not supported.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health is always fine: everything is in memory.
func (s *storage) Health(context.Context) error { return nil }

// startSession records a sign-in for the provider's own cookie.
func (s *storage) startSession(username string, authTime time.Time) string {
	id := randomID(32)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[id] = ssoSession{username: username, authTime: authTime}
	return id
}

// session returns a live sign-in by cookie value.
func (s *storage) session(id string) (ssoSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || s.now().Sub(sess.authTime) > ssoLifetime {
		return ssoSession{}, false
	}
	return sess, true
}

// endSession forgets a sign-in.
func (s *storage) endSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// pruneLocked drops requests, tokens and sign-ins that can no longer be used, so a
// long-running demo does not grow without bound.
func (s *storage) pruneLocked() {
	now := s.now()
	for id, ar := range s.requests {
		if now.Sub(ar.createdAt) > authRequestLifetime+codeLifetime {
			delete(s.requests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.requests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
	for id, sess := range s.sessions {
		if now.Sub(sess.authTime) > ssoLifetime {
			delete(s.sessions, id)
		}
	}
}

// randomID returns n random bytes as lower-case hex.
func randomID(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error (Go 1.24+); it panics if the OS fails it.
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
