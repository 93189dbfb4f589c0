package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"paydesk/providers/bpc"
	"paydesk/web"
)

// access is the permission matrix of the README's table of pages, written out again on purpose: a route
// added to the table without a line here fails TestEveryRouteHasItsAccess.
var access = map[string]web.Access{
	"GET /healthz":                                 web.Public,
	"GET /readyz":                                  web.Public,
	"GET /static/":                                 web.Public,
	"GET /auth/login":                              web.Public,
	"GET /auth/callback":                           web.Public,
	"POST /auth/logout":                            web.SignedIn,
	"POST /auth/logout/everywhere":                 web.SignedIn,
	"GET /sessions":                                web.Manage,
	"POST /sessions/{id}/end":                      web.Manage,
	"POST /sessions/end-person":                    web.Manage,
	"GET /signed-out":                              web.Public,
	"GET /settings":                                web.SignedIn,
	"POST /settings/time-zone":                     web.SignedIn,
	"GET /{$}":                                     web.ViewPayments,
	"GET /payments":                                web.ViewPayments,
	"GET /payments.csv":                            web.ViewPayments,
	"GET /payments/{id}":                           web.ViewPayments,
	"POST /payments/{id}/refresh":                  web.ViewPayments,
	"GET /payments/{id}/cancel":                    web.Act,
	"POST /payments/{id}/cancel":                   web.Act,
	"GET /payments/{id}/expire":                    web.Act,
	"POST /payments/{id}/expire":                   web.Act,
	"GET /payments/{id}/refund":                    web.Act,
	"POST /payments/{id}/refund":                   web.Act,
	"GET /payments/{id}/refund/rules":              web.Act,
	"POST /payments/{id}/payer-links":              web.Act,
	"GET /payments/{id}/payer-links":               web.ViewPayments,
	"GET /payer-links/{id}/qr.png":                 web.Act,
	"POST /payments/{id}/notes":                    web.Act,
	"POST /payments/{id}/notes/{note}/edit":        web.Act,
	"GET /my-refunds":                              web.Act,
	"GET /customers/email/{email}":                 web.ViewPayments,
	"GET /customers/name/{name}":                   web.ViewPayments,
	"GET /customers/card/{provider}/{last4}":       web.ViewPayments,
	"GET /approvals":                               web.Approve,
	"POST /approvals/{id}/approve":                 web.Approve,
	"POST /approvals/{id}/reject":                  web.Approve,
	"GET /refunds":                                 web.Finance,
	"GET /refunds.csv":                             web.Finance,
	"GET /audit":                                   web.AuditLog,
	"GET /audit.csv":                               web.AuditLog,
	"GET /payer/return":                            web.Public,
	"GET /p/{token}":                               web.Public,
	"POST /p/{token}":                              web.Public,
	"POST /webhooks/powens":                        web.Public,
	"POST /webhooks/bpc":                           web.Public,
	"POST /webhooks/tranzzo":                       web.Public,
	"GET /notifications":                           web.ViewPayments,
	"GET /notifications/{id}":                      web.ViewPayments,
	"POST /notifications/{id}/read":                web.ViewPayments,
	"POST /notifications/read-all":                 web.ViewPayments,
	"POST /settings/mail":                          web.SignedIn,
	"GET /outbox":                                  web.Manage,
	"POST /outbox/{id}/retry":                      web.Manage,
	"GET /mail":                                    web.SignedIn,
	"POST /payments/{id}/payer-links/{link}/email": web.Act,
	"GET /views":                                   web.ViewPayments,
	"POST /views":                                  web.ViewPayments,
	"POST /views/{id}/rename":                      web.ViewPayments,
	"POST /views/{id}/query":                       web.ViewPayments,
	"POST /views/{id}/share":                       web.ViewPayments,
	"POST /views/{id}/delete":                      web.ViewPayments,
	"GET /batches":                                 web.ViewPayments,
	"GET /batches/new":                             web.Act,
	"POST /batches/preview":                        web.Act,
	"POST /batches/from-list":                      web.Act,
	"GET /batches/{id}":                            web.ViewPayments,
	"POST /batches/{id}/request":                   web.Act,
	"POST /batches/{id}/approve":                   web.Approve,
	"POST /batches/{id}/reject":                    web.Approve,
	"POST /batches/{id}/cancel":                    web.Act,
	"POST /batches/{id}/retry":                     web.Act,
	"GET /batches/{id}/progress":                   web.ViewPayments,
	"GET /batches/{id}/results.csv":                web.ViewPayments,
	// Each provider account's webhooks (verified with that account's secret).
	"POST /webhooks/powens/{account}":  web.Public,
	"POST /webhooks/bpc/{account}":     web.Public,
	"POST /webhooks/tranzzo/{account}": web.Public,
}

func TestEveryRouteHasItsAccess(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for _, rt := range h.app.Routes() {
		seen[rt.Pattern] = true
		want, ok := access[rt.Pattern]
		if !ok {
			t.Errorf("route %q has no line in the permission matrix of this test", rt.Pattern)
			continue
		}
		if rt.Access != want {
			t.Errorf("route %q: access %s, want %s", rt.Pattern, rt.Access, want)
		}
	}
	for p := range access {
		if !seen[p] {
			t.Errorf("the matrix lists %q, which the route table no longer has", p)
		}
	}
}

// TestRouteAccessByRole walks every route of the route table as each kind of user and
// checks the server's answer: signed-out visitors are sent to sign in, users without a
// role get "no access", and each role gets exactly what that table allows.
func TestRouteAccessByRole(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2}) // a succeeded card payment
	users := []struct {
		name  string // "" = signed out
		roles map[web.Access]bool
	}{
		{"", nil},
		{"nora", map[web.Access]bool{web.SignedIn: true}},
		{"sam", map[web.Access]bool{web.SignedIn: true, web.ViewPayments: true, web.Act: true}},
		{"fran", map[web.Access]bool{web.SignedIn: true, web.ViewPayments: true, web.Finance: true, web.AuditLog: true}},
		{"max", map[web.Access]bool{web.SignedIn: true, web.ViewPayments: true, web.Act: true, web.Approve: true, web.Finance: true, web.AuditLog: true, web.Manage: true}},
	}
	routes := h.app.Routes()
	// Sign-out, then sign out everywhere, last, or the walk would sign the user out
	// half-way (sign out everywhere is walked in a browser signed in again for it).
	for _, last := range []string{"POST /auth/logout", "POST /auth/logout/everywhere"} {
		for i, rt := range routes {
			if rt.Pattern == last {
				routes = append(append(routes[:i:i], routes[i+1:]...), rt)
				break
			}
		}
	}
	for _, u := range users {
		name := u.name
		if name == "" {
			name = "signed-out"
		}
		t.Run(name, func(t *testing.T) {
			b := h.browser()
			if u.name != "" {
				b.signIn(u.name)
			}
			nf := b.noFollow()
			for _, rt := range routes {
				method, path, _ := strings.Cut(rt.Pattern, " ")
				path = strings.ReplaceAll(path, "{$}", "")
				path = strings.ReplaceAll(path, "{id}", idFor(path, p.PublicID))
				path = strings.NewReplacer("{email}", url.PathEscape(p.CustomerEmail), "{name}", url.PathEscape(p.CustomerName),
					"{provider}", string(p.Provider), "{last4}", p.CardLast4).Replace(path)
				if strings.HasSuffix(path, "/static/") {
					path += "app.css"
				}
				var r response
				if rt.Pattern == "POST /auth/logout/everywhere" && u.name != "" {
					again := h.browser()
					again.signIn(u.name)
					nf = again.noFollow()
				}
				if method == http.MethodPost {
					r = nf.post(path, url.Values{})
				} else {
					r = nf.get(path)
				}
				switch {
				case rt.Access == web.Public:
					if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized || strings.Contains(r.header.Get("Location"), "/auth/login?next=") {
						t.Errorf("%s: public route answered %d (Location %q)", rt.Pattern, r.status, r.header.Get("Location"))
					}
				case u.name == "":
					if method == http.MethodGet {
						if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login?next=") {
							t.Errorf("%s signed out: got %d to %q, want 303 to sign-in", rt.Pattern, r.status, r.header.Get("Location"))
						}
					} else if r.status != http.StatusUnauthorized {
						t.Errorf("%s signed out: got %d, want 401", rt.Pattern, r.status)
					}
				case u.roles[rt.Access]:
					if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
						t.Errorf("%s as %s: refused with %d, want allowed", rt.Pattern, u.name, r.status)
					}
				default:
					if r.status != http.StatusForbidden {
						t.Errorf("%s as %s: got %d, want 403", rt.Pattern, u.name, r.status)
					}
				}
			}
		})
	}
}

// idFor fills a path parameter with something that exists (or is at least well-formed).
func idFor(path, paymentID string) string {
	if strings.HasPrefix(path, "/payer-links/") || strings.HasPrefix(path, "/views/") {
		return "1"
	}
	return paymentID
}

func TestNoRoleSeesNoAccessPageAndNoData(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2, name: "Grace Hopper"})
	b := h.signedIn("nora")
	for _, path := range []string{"/", "/payments", "/payments/" + p.PublicID} {
		r := b.get(path)
		if r.status != http.StatusForbidden {
			t.Errorf("GET %s as nora: status %d, want 403", path, r.status)
		}
		mustContain(t, r, "No access", "has no Paydesk role")
		mustNotContain(t, r, "Grace Hopper", p.PublicID)
	}
}

func TestSecurityHeadersOnEveryHTMLPage(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	b := h.signedIn("sam")
	for _, path := range []string{"/", "/payments", "/payments/" + p.PublicID, "/payments/pd_nope", "/nowhere", "/payer/return?state=x"} {
		r := b.get(path)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: content type %q", path, ct)
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy: %v", path, r.header)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " onclick=") {
			t.Errorf("%s: inline script in the page", path)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 0}) // an open session: expire applies
	b := h.signedIn("sam").noFollow()
	key := formKey(t, b.get("/payments/"+p.PublicID+"/expire"))
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/payments/"+p.PublicID+"/expire", strings.NewReader(url.Values{"idempotency_key": {key}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	r := b.do(req)
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-origin POST: status %d, want 403", r.status)
	}
	if got := h.payment(p).SessionStatus; got != "open" {
		t.Errorf("session is %q after a refused cross-origin POST, want still open", got)
	}
	if calls := h.bpc.Requests(); len(calls) != 0 {
		t.Errorf("the provider was called: %v", calls)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	if r := b.get("/healthz"); r.status != 200 || !strings.Contains(r.body, "ok") {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	if r := b.get("/readyz"); r.status != 200 {
		t.Errorf("readyz: %d %q", r.status, r.body)
	}
	h.db.Close()
	if r := b.get("/readyz"); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d, want 503", r.status)
	}
}

func TestNotFoundLeaksNothing(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	for _, path := range []string{"/payments/pd_doesnotexist", "/payments/../../etc/passwd", "/payments/%27%20OR%201%3D1", "/no/such/page"} {
		r := b.get(path)
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, r.status)
		}
		mustNotContain(t, r, "sql", "goroutine", "storage:", ".go:")
	}
}

func TestStaticAssetsAreFingerprintedAndCached(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn("sam")
	page := b.get("/payments")
	href := regexpFind(page.body, `href="(/static/app\.[0-9a-f]{10}\.css)"`)
	if href == "" {
		t.Fatalf("no fingerprinted stylesheet in the page")
	}
	r := b.get(href)
	if r.status != 200 || !strings.Contains(r.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("%s: %d, Cache-Control %q, Content-Type %q", href, r.status, r.header.Get("Cache-Control"), r.header.Get("Content-Type"))
	}
	if r := b.get("/static/app.0000000000.css"); r.status != http.StatusNotFound {
		t.Errorf("a stale fingerprint: %d, want 404", r.status)
	}
}

func TestServerErrorPageLeaksNothing(t *testing.T) {
	h := newHarness(t)
	p := h.add(bpc.Name, spec{variant: 2})
	b := h.signedIn("sam")
	h.db.Close() // every query now fails inside the handlers
	for _, path := range []string{"/payments", "/payments/" + p.PublicID, "/"} {
		r := b.get(path)
		if r.status != http.StatusInternalServerError {
			t.Errorf("%s with the database gone: status %d, want 500", path, r.status)
		}
		mustContain(t, r, "Reference for support")
		mustNotContain(t, r, "sql:", "database is closed", "storage:", "goroutine", ".go:")
	}
}
