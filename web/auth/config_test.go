package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"paydesk/storage"
	"paydesk/web/auth"
)

func TestParseRoleMap(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string][]auth.Role
		wantErr string
	}{
		{in: "", want: map[string][]auth.Role{}},
		{
			in: "grp-support:support,grp-ops:support+finance,boss:manager",
			want: map[string][]auth.Role{
				"grp-support": {auth.RoleSupport},
				"grp-ops":     {auth.RoleSupport, auth.RoleFinance},
				"boss":        {auth.RoleManager},
			},
		},
		{in: " a : Support , ,b:finance+finance, ", want: map[string][]auth.Role{"a": {auth.RoleSupport}, "b": {auth.RoleFinance}}},
		{in: "urn:corp:group:ops:manager", want: map[string][]auth.Role{"urn:corp:group:ops": {auth.RoleManager}}},
		{in: "boss@example.com:manager+finance", want: map[string][]auth.Role{"boss@example.com": {auth.RoleManager, auth.RoleFinance}}},
		{in: "grp-support", wantErr: `auth: role map entry 1 "grp-support": want key:role`},
		{in: "a:support,grp-ops:support+admin", wantErr: `auth: role map entry 2 "grp-ops:support+admin": unknown role "admin" (want support, finance or manager)`},
		{in: ":support", wantErr: `the group or e-mail before ':' is empty`},
		{in: "a:", wantErr: `auth: role map entry 1 "a:": empty role name`},
		{in: "a:support+", wantErr: "empty role name"},
		{in: "a:support,a:finance", wantErr: `"a" is listed twice; join its roles with '+'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.ParseRoleMap(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("got map %v with the error; want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want none", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

// validConfig is a configuration Validate accepts.
func validConfig() auth.Config {
	return auth.Config{
		IssuerURL:    "https://login.example.com/realms/paydesk",
		ClientID:     "paydesk",
		ClientSecret: "secret",
		RedirectURL:  "https://paydesk.example.com/auth/callback",
		GroupRoles:   map[string][]auth.Role{"ops": {auth.RoleSupport}},
		HashKey:      []byte(strings.Repeat("h", 32)),
		BlockKey:     []byte(strings.Repeat("b", 32)),
		Secure:       true,
		// Validate only checks that a store is set; New does not use it before discovery.
		Sessions: (*storage.DB)(nil),
	}
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: got %v; want no error", err)
	}
	demo := validConfig()
	demo.IssuerURL, demo.RedirectURL, demo.Secure = "http://127.0.0.1:5556", "http://localhost:8080/auth/callback", false
	if err := demo.Validate(); err != nil {
		t.Fatalf("demo config on loopback: got %v; want no error", err)
	}

	tests := []struct {
		name string
		edit func(*auth.Config)
		want string
	}{
		{"no issuer", func(c *auth.Config) { c.IssuerURL = "" }, "auth: IssuerURL is required"},
		{"relative issuer", func(c *auth.Config) { c.IssuerURL = "login.example.com" }, `IssuerURL "login.example.com" is not an absolute http(s) URL`},
		{"http issuer", func(c *auth.Config) { c.IssuerURL = "http://login.example.com" }, `IssuerURL "http://login.example.com" must use https`},
		{"issuer with query", func(c *auth.Config) { c.IssuerURL = "https://login.example.com/?x=1" }, "must not have a query or fragment"},
		{"no client id", func(c *auth.Config) { c.ClientID = "" }, "auth: ClientID is required"},
		{"no client secret", func(c *auth.Config) { c.ClientSecret = "" }, "auth: ClientSecret is required"},
		{"no redirect", func(c *auth.Config) { c.RedirectURL = "" }, "auth: RedirectURL is required"},
		{"relative redirect", func(c *auth.Config) { c.RedirectURL = "/auth/callback" }, `RedirectURL "/auth/callback" is not an absolute http(s) URL`},
		{"http redirect", func(c *auth.Config) { c.RedirectURL = "http://paydesk.example.com/cb" }, `RedirectURL "http://paydesk.example.com/cb" must use https`},
		{"not secure in production", func(c *auth.Config) { c.Secure = false }, "Secure is off but RedirectURL"},
		{"bad post-logout URL", func(c *auth.Config) { c.PostLogoutRedirectURL = "/" }, `PostLogoutRedirectURL "/" is not an absolute http(s) URL`},
		{"no openid scope", func(c *auth.Config) { c.Scopes = []string{"email"} }, `Scopes ["email"] must include "openid"`},
		{"no role mapping", func(c *auth.Config) { c.GroupRoles = nil }, "no role mapping: set GroupRoles"},
		{"unknown role", func(c *auth.Config) { c.GroupRoles = map[string][]auth.Role{"ops": {"admin"}} }, `GroupRoles["ops"]: unknown role "admin"`},
		{"group with no role", func(c *auth.Config) { c.GroupRoles = map[string][]auth.Role{"ops": nil} }, `GroupRoles["ops"] maps to no role`},
		{"empty email key", func(c *auth.Config) { c.EmailRoles = map[string][]auth.Role{" ": {auth.RoleManager}} }, "EmailRoles has an empty key"},
		{"negative step-up age", func(c *auth.Config) { c.StepUpMaxAge = -time.Minute }, "StepUpMaxAge -1m0s must be positive"},
		{"idle too short", func(c *auth.Config) { c.IdleTimeout = 10 * time.Second }, "IdleTimeout 10s is too short"},
		{"absolute below idle", func(c *auth.Config) { c.AbsoluteTimeout = 10 * time.Minute }, "AbsoluteTimeout 10m0s must not be shorter than IdleTimeout 30m0s"},
		{"no hash key", func(c *auth.Config) { c.HashKey = nil }, "HashKey is required"},
		{"short hash key", func(c *auth.Config) { c.HashKey = []byte("short") }, "HashKey is 5 bytes: it must be at least 32"},
		{"no block key", func(c *auth.Config) { c.BlockKey = nil }, "BlockKey is required"},
		{"bad block key", func(c *auth.Config) { c.BlockKey = []byte("twenty-bytes-long-xx") }, "BlockKey is 20 bytes: it must be 16, 24 or 32"},
		{"same keys", func(c *auth.Config) { c.BlockKey = c.HashKey }, "HashKey and BlockKey must be different"},
		{"bad cookie name", func(c *auth.Config) { c.CookieName = "pay desk;" }, `CookieName "pay desk;" may only contain`},
		{"bad login path", func(c *auth.Config) { c.LoginPath = "//evil.example" }, `LoginPath "//evil.example" must be a path`},
		{"no session store", func(c *auth.Config) { c.Sessions = nil }, "Sessions is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an error containing %q", err, tt.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "auth: ") {
					t.Errorf("error line %q: want the auth: prefix", line)
				}
			}
		})
	}

	// Everything wrong at once is reported at once.
	err := auth.Config{}.Validate()
	if err == nil {
		t.Fatalf("empty config: got no error")
	}
	for _, want := range []string{"IssuerURL", "ClientID", "ClientSecret", "RedirectURL", "no role mapping", "HashKey", "BlockKey", "Sessions"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("empty config: got %q; want %s in it", err, want)
		}
	}
}

func TestNewFailsAtStartUp(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	notOIDC := httptest.NewServer(http.NotFoundHandler())
	defer notOIDC.Close()

	tests := []struct {
		name   string
		issuer string
		want   string
	}{
		{"unreachable issuer", down.URL, "auth: discover the issuer at IssuerURL"},
		{"no discovery document", notOIDC.URL, "check the URL and that the provider is reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.IssuerURL, c.RedirectURL, c.Secure = tt.issuer, "http://127.0.0.1:8080/auth/callback", false
			_, err := auth.New(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("invalid config", func(t *testing.T) {
		c := validConfig()
		c.ClientID = ""
		if _, err := auth.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), "ClientID is required") {
			t.Errorf("got %v; want the Validate error", err)
		}
	})
}

func TestIssuerMismatch(t *testing.T) {
	a := newApp(t, nil)
	c := validConfig()
	// A trailing slash is a different issuer: go-oidc refuses discovery whose issuer
	// differs from the configured URL.
	c.IssuerURL, c.RedirectURL, c.Secure = a.idp.Issuer()+"/", a.srv.URL+"/auth/callback", false
	if _, err := auth.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), "IssuerURL") {
		t.Errorf("got %v; want a discovery error naming IssuerURL", err)
	}
}

func TestUserRoles(t *testing.T) {
	u := auth.User{Roles: []auth.Role{auth.RoleSupport, auth.RoleFinance}, Email: "tess@example.com", Subject: "t1"}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"Has support", u.Has(auth.RoleSupport), true},
		{"Has manager", u.Has(auth.RoleManager), false},
		{"HasAny manager, finance", u.HasAny(auth.RoleManager, auth.RoleFinance), true},
		{"HasAny manager", u.HasAny(auth.RoleManager), false},
		{"HasAny nothing", u.HasAny(), false},
		{"NoAccess", u.NoAccess(), false},
		{"NoAccess without roles", auth.User{}.NoAccess(), true},
		{"Valid admin", auth.Role("admin").Valid(), false},
		{"Valid manager", auth.RoleManager.Valid(), true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v; want %v", tt.name, tt.got, tt.want)
		}
	}
	if got := u.Actor(); got != "tess@example.com" {
		t.Errorf("Actor: got %q; want the e-mail", got)
	}
	if got := (auth.User{Subject: "t1"}).Actor(); got != "t1" {
		t.Errorf("Actor without e-mail: got %q; want the subject", got)
	}
}

func TestFresh(t *testing.T) {
	a := newApp(t, func(c *auth.Config) { c.StepUpMaxAge = 5 * time.Minute })
	now := a.clock.Now()
	tests := []struct {
		authTime time.Time
		want     bool
	}{
		{now, true},
		{now.Add(-5 * time.Minute), true},
		{now.Add(-5*time.Minute - time.Second), false},
		{time.Time{}, false},
	}
	for _, tt := range tests {
		if got := a.auth.Fresh(auth.User{AuthTime: tt.authTime}); got != tt.want {
			t.Errorf("Fresh(auth_time %s ago): got %v; want %v", now.Sub(tt.authTime), got, tt.want)
		}
	}
}

func TestNewSessionKeys(t *testing.T) {
	h1, b1 := auth.NewSessionKeys()
	h2, b2 := auth.NewSessionKeys()
	if len(h1) != 64 || len(b1) != 32 {
		t.Errorf("got %d and %d bytes; want 64 and 32", len(h1), len(b1))
	}
	if string(h1) == string(h2) || string(b1) == string(b2) {
		t.Errorf("got the same keys twice; want random keys")
	}
	c := validConfig()
	c.HashKey, c.BlockKey = h1, b1
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with NewSessionKeys: %v", err)
	}
}
