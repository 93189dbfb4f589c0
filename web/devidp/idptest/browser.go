package idptest

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Page is one HTTP exchange as a browser sees it.
type Page struct {
	// URL is the URL that answered: after the redirects the browser followed.
	URL     *url.URL
	Status  int
	Header  http.Header
	Cookies []*http.Cookie
	Body    string
}

// Location resolves the redirect target against the page's URL (the page's own URL when
// the answer has no Location); nil when it does not parse.
func (p *Page) Location() *url.URL {
	loc, err := p.URL.Parse(p.Header.Get("Location"))
	if err != nil {
		return nil
	}
	return loc
}

// Cookie returns the cookie name that this answer set, or nil.
func (p *Page) Cookie(name string) *http.Cookie {
	for _, c := range p.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Browser is one person's browser: a cookie jar shared by every request, so that the
// provider's single sign-on and the app's session both hold between calls.
type Browser struct {
	t testing.TB
	// Client is the browser's HTTP client; tests may use it directly (for example from
	// several goroutines) and keep the same cookies.
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar. follow says which redirects it
// follows by itself: FollowAll like a real browser, FollowNone to step through them, or
// any rule of the test's.
func NewBrowser(t testing.TB, follow func(next *url.URL) bool) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("idptest: cookie jar: %v", err)
	}
	return &Browser{t: t, Client: &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: checkRedirect(follow)}}
}

// FollowAll follows every redirect, like a browser.
func FollowAll(*url.URL) bool { return true }

// FollowNone stops at every redirect.
func FollowNone(*url.URL) bool { return false }

func checkRedirect(follow func(*url.URL) bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !follow(req.URL) {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("idptest: stopped after 10 redirects")
		}
		return nil
	}
}

// WithFollow returns a browser with the same cookie jar that follows redirects by rule
// follow.
func (b *Browser) WithFollow(follow func(next *url.URL) bool) *Browser {
	c := *b.Client
	c.CheckRedirect = checkRedirect(follow)
	return &Browser{t: b.t, Client: &c}
}

// Do sends req and reads the whole answer; a transport error fails the test.
func (b *Browser) Do(req *http.Request) *Page {
	b.t.Helper()
	res, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &Page{URL: res.Request.URL, Status: res.StatusCode, Header: res.Header, Cookies: res.Cookies(), Body: string(body)}
}

// Get opens u.
func (b *Browser) Get(u string) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.Do(req)
}

// Post submits form to u, as an HTML form does.
func (b *Browser) Post(u string, form url.Values) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// FollowWhile follows page's redirects, one at a time, while ok accepts the next URL (at
// most 10), and returns the page where it stopped.
func (b *Browser) FollowWhile(page *Page, ok func(next *url.URL) bool) *Page {
	b.t.Helper()
	for i := 0; i < 10 && page.Status >= 300 && page.Status < 400; i++ {
		next := page.Location()
		if next == nil || !ok(next) {
			return page
		}
		page = b.Get(next.String())
	}
	return page
}

// Cookie returns the cookie name the jar holds for base (an app's URL), or nil.
func (b *Browser) Cookie(base, name string) *http.Cookie {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
