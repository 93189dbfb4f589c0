package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInstanceHeaderNamesTheInstance(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rec := httptest.NewRecorder()
	withInstance("web-2", ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get(instanceHeader); got != "web-2" {
		t.Errorf("%s = %q, want web-2", instanceHeader, got)
	}
	rec = httptest.NewRecorder()
	withInstance("", ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if _, set := rec.Header()[instanceHeader]; set {
		t.Error("the header is sent with no PAYDESK_INSTANCE")
	}
	for name, valid := range map[string]bool{"": true, "a": true, "paydesk-1.eu_west": true, "a b": false, "x\r\ny": false, string(make([]byte, 65)): false} {
		if err := checkInstance(name); (err == nil) != valid {
			t.Errorf("checkInstance(%q) = %v, want valid %v", name, err, valid)
		}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "PAYDESK_INSTANCE" {
				return v
			}
			return ""
		}
	}
	if c, err := loadConfig(env("web-1"), true); err != nil || c.Instance != "web-1" {
		t.Errorf("PAYDESK_INSTANCE=web-1: %q, %v", c.Instance, err)
	}
	if _, err := loadConfig(env("bad name"), true); err == nil || !strings.Contains(err.Error(), "PAYDESK_INSTANCE") {
		t.Errorf("PAYDESK_INSTANCE=\"bad name\" was taken: %v", err)
	}
}

func TestServeLogsNoDatabasePassword(t *testing.T) {
	for dsn, want := range map[string]string{
		"paydesk.db": "paydesk.db",
		"postgres://paydesk:s3cret@db:5432/paydesk":               "postgres://paydesk:xxxxx@db:5432/paydesk",
		"postgres://paydesk@db/paydesk?password=s3cret&sslmode=x": "postgres://paydesk@db/paydesk?password=xxxxx&sslmode=x",
	} {
		if got := redactDB(dsn); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactDB(%q) = %q, want %q", dsn, got, want)
		}
	}
}
