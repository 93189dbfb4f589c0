package apicall_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/providers/apicall"
	"paydesk/providers/bpc"
)

var words = apicall.Words{Build: "build", Timeout: "timeout", Cancelled: "cancelled", Unreachable: "unreachable", TooLarge: "too large"}

func caller(hc *http.Client) *apicall.Caller {
	return &apicall.Caller{Provider: bpc.Name, HTTP: hc, Timeout: time.Second, MaxBody: 64,
		Header: http.Header{"X-Api-Key": {"secret-key"}}, Words: words}
}

func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *providers.Error", err)
	}
	return pe
}

func TestDoSendsTheRequest(t *testing.T) {
	type seen struct {
		method, path, accept, contentType, key, bearer, body string
	}
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.Header.Get("Accept"), r.Header.Get("Content-Type"),
			r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := caller(srv.Client())

	tests := []struct {
		name string
		req  apicall.Request
		want seen
	}{
		{"json", apicall.Request{Method: http.MethodPost, URL: srv.URL + "/refunds", JSON: map[string]int{"amount": 5},
			Header: http.Header{"Authorization": {"Bearer t"}}},
			seen{"POST", "/refunds", "application/json", "application/json", "secret-key", "Bearer t", `{"amount":5}`}},
		{"form", apicall.Request{Method: http.MethodPost, URL: srv.URL + "/token", Form: url.Values{"grant_type": {"client_credentials"}}},
			seen{"POST", "/token", "application/json", "application/x-www-form-urlencoded", "secret-key", "", "grant_type=client_credentials"}},
		{"no body", apicall.Request{Method: http.MethodGet, URL: srv.URL + "/payments/1"},
			seen{"GET", "/payments/1", "application/json", "", "secret-key", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, err := c.Do(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("server saw %+v, want %+v", got, tt.want)
			}
			if !ans.OK() || ans.Status != http.StatusCreated || string(ans.Body) != `{"ok":true}` || ans.HTML() {
				t.Errorf("answer %d %q", ans.Status, ans.Body)
			}
		})
	}
}

func TestDoBuildError(t *testing.T) {
	c := caller(http.DefaultClient)
	_, err := c.Do(context.Background(), apicall.Request{Method: http.MethodPost, URL: "http://127.0.0.1:1/x", Op: "POST /x", JSON: math.Inf(1)})
	pe := providerError(t, err)
	if !errors.Is(err, apicall.ErrNotSent) || pe.Unknown || pe.Safe != "build" || pe.Detail != "POST /x" {
		t.Errorf("got %+v, want a build error, not sent", pe)
	}
}

func TestDoNoAnswer(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()

	tests := []struct {
		name    string
		ctx     context.Context
		url     string
		timeout time.Duration
		safe    string
	}{
		{"own timeout", context.Background(), slow.URL, 50 * time.Millisecond, "timeout"},
		{"caller's deadline", short, slow.URL, time.Minute, "timeout"},
		{"caller cancelled", cancelled, slow.URL, time.Minute, "cancelled"},
		{"connection refused", context.Background(), closed.URL, time.Second, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caller(&http.Client{})
			c.Timeout = tt.timeout
			start := time.Now()
			_, err := c.Do(tt.ctx, apicall.Request{Method: http.MethodGet, URL: tt.url + "/p", Op: "GET /p"})
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			pe := providerError(t, err)
			if !pe.Unknown || pe.Safe != tt.safe || pe.Status != 0 || pe.Detail != "GET /p" || pe.Provider != bpc.Name {
				t.Errorf("got %+v, want unknown %q", pe, tt.safe)
			}
			if strings.Contains(err.Error(), "secret-key") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestDoTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 65)))
	}))
	defer srv.Close()
	_, err := caller(srv.Client()).Do(context.Background(), apicall.Request{Method: http.MethodGet, URL: srv.URL})
	pe := providerError(t, err)
	if !errors.Is(err, apicall.ErrTooLarge) || !pe.Unknown || pe.Status != 200 || pe.Safe != "too large" {
		t.Errorf("got %+v", pe)
	}
}

// The excerpt never cuts a character in half, whatever its width at the cut.
func TestExcerptKeepsUTF8Whole(t *testing.T) {
	for _, r := range []string{"é", "€", "😀"} {
		for pad := 0; pad < 4; pad++ {
			body := strings.Repeat("a", apicall.ExcerptLen-pad) + strings.Repeat(r, 5)
			got := apicall.Excerpt([]byte(body))
			if !utf8.ValidString(got) {
				t.Errorf("%q at %d: excerpt is not valid UTF-8: %q", r, pad, got[len(got)-8:])
			}
			if !strings.HasSuffix(got, "…") || len(strings.TrimSuffix(got, "…")) > apicall.ExcerptLen {
				t.Errorf("%q at %d: %d bytes, want at most %d and an ellipsis", r, pad, len(got), apicall.ExcerptLen)
			}
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct{ body, want string }{
		{"", "(empty body)"},
		{" \n\t ", "(empty body)"},
		{"<html>\n  <body>502</body>\n</html>\n", "<html> <body>502</body> </html>"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{`{"message":"ok"}`, `{"message":"ok"}`},
	}
	for _, tt := range tests {
		if got := apicall.Excerpt([]byte(tt.body)); got != tt.want {
			t.Errorf("Excerpt(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
	if got := apicall.Cut("ab€", 3); got != "ab…" {
		t.Errorf("Cut = %q, want ab…", got)
	}
	if got := apicall.Cut("abc", 3); got != "abc" {
		t.Errorf("Cut = %q, want abc", got)
	}
}

func TestDecodeJSON(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	js := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		ans    apicall.Answer
		target bool
		want   error  // wrapped sentinel, or nil
		words  string // in the error
	}{
		{"json", apicall.Answer{Status: 200, Header: js, Body: []byte(`{"id":"p_1"}`)}, true, nil, ""},
		{"json checked only", apicall.Answer{Status: 200, Header: js, Body: []byte(`[1]`)}, false, nil, ""},
		{"html by type", apicall.Answer{Status: 200, Header: html, Body: []byte(`maintenance`)}, true, apicall.ErrHTML, "HTML page"},
		{"html by body", apicall.Answer{Status: 200, Header: js, Body: []byte(" <!DOCTYPE html><html></html>")}, true, apicall.ErrHTML, "HTML page"},
		{"empty", apicall.Answer{Status: 200, Header: js}, true, apicall.ErrEmpty, "empty body"},
		{"cut in half", apicall.Answer{Status: 200, Header: js, Body: []byte(`{"id":"p_`)}, true, nil, "malformed JSON"},
		{"cut in half, checked only", apicall.Answer{Status: 200, Header: js, Body: []byte(`{"id":"p_`)}, false, nil, "malformed JSON"},
		{"wrong type", apicall.Answer{Status: 200, Header: js, Body: []byte(`{"id":5}`)}, true, nil, "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				ID string `json:"id"`
			}
			var target any
			if tt.target {
				target = &v
			}
			err := apicall.DecodeJSON(tt.ans, target)
			if tt.words == "" {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				if tt.target && v.ID != "p_1" {
					t.Errorf("decoded %+v", v)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.words) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got %v, want an error saying %q", err, tt.words)
			}
		})
	}
}

func TestRawJSON(t *testing.T) {
	if got := apicall.RawJSON([]byte(" {\"a\":1}\n")); string(got) != `{"a":1}` {
		t.Errorf("RawJSON = %q", got)
	}
	for _, b := range []string{"", "<html>", `{"a":`} {
		if got := apicall.RawJSON([]byte(b)); got != nil {
			t.Errorf("RawJSON(%q) = %q, want nil", b, got)
		}
	}
}
