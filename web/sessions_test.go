package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paydesk/storage"
)

// signedOut checks that a browser's next page asks it to sign in.
func signedOut(t *testing.T, b *browser, who string) {
	t.Helper()
	r := b.noFollow().get("/payments")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login?next=") {
		t.Errorf("%s: GET /payments got %d to %q; want 303 to sign in", who, r.status, r.header.Get("Location"))
	}
}

func signedInStill(t *testing.T, b *browser, who string) {
	t.Helper()
	if r := b.noFollow().get("/payments"); r.status != http.StatusOK {
		t.Errorf("%s: GET /payments got %d; want still signed in", who, r.status)
	}
}

func sessionAudits(t *testing.T, h *harness) []storage.AuditRow {
	t.Helper()
	rows, err := h.db.ListAuditRows(context.Background(), storage.AuditFilter{Kind: "session", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSignOutEverywhere: the button ends every session of the person, on every browser,
// signs this one out at the identity provider too, and is audited; nobody else is touched.
func TestSignOutEverywhere(t *testing.T) {
	h := newHarness(t)
	laptop, phone, fran := h.signedIn("sam"), h.signedIn("sam"), h.signedIn("fran")
	page := laptop.get("/payments")
	mustContain(t, page, "Sign out everywhere")
	r := laptop.noFollow().post("/auth/logout/everywhere", url.Values{})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "end_session") {
		t.Errorf("POST /auth/logout/everywhere: %d to %q; want 303 to the provider's end_session", r.status, r.header.Get("Location"))
	}
	signedOut(t, laptop, "the browser that pressed the button")
	signedOut(t, phone, "sam's other browser")
	signedInStill(t, fran, "fran")
	rows := sessionAudits(t, h)
	if len(rows) != 1 || rows[0].Actor != "sam@paydesk.example" || !strings.Contains(rows[0].Message, "signed out everywhere: 2 sessions ended") {
		t.Errorf("audit: %+v; want sam's sign out everywhere, 2 sessions", rows)
	}
}

var endURLRe = regexp.MustCompile(`action="(/sessions/[A-Za-z0-9_-]{43}/end)"`)

// sessionSection returns the part of the sessions page about one person.
func sessionSection(t *testing.T, body, subject string) string {
	t.Helper()
	i := strings.Index(body, `data-subject="`+subject+`"`)
	if i < 0 {
		t.Fatalf("no sessions of %s on the page", subject)
	}
	rest := body[i:]
	if j := strings.Index(rest[1:], `data-testid="session-person"`); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// TestManagerEndsSessions: a manager sees everyone's sessions (sign-in time, last seen,
// browser) and ends one — that person's next request is signed out — or all of a
// person's; each is audited.
func TestManagerEndsSessions(t *testing.T) {
	h := newHarness(t)
	sam := h.signedIn("sam")
	fran1, fran2 := h.signedIn("fran"), h.signedIn("fran")
	max := h.signedIn("max")

	page := max.get("/sessions")
	if page.status != http.StatusOK {
		t.Fatalf("GET /sessions as max: %d", page.status)
	}
	mustContain(t, page, "Sign-in sessions", "sam@paydesk.example", "fran@paydesk.example", "Go-http-client", "(this browser)")
	if !strings.Contains(page.body, `data-testid="nav-sessions"`) {
		t.Error("no Sessions link in a manager's navigation")
	}
	samPart := sessionSection(t, page.body, "sam")
	if strings.Count(samPart, `data-testid="session"`) != 1 || strings.Contains(samPart, "session-current") {
		t.Errorf("sam's sessions: %.500s", samPart)
	}
	if n := strings.Count(sessionSection(t, page.body, "fran"), `data-testid="session"`); n != 2 {
		t.Errorf("fran has %d sessions on the page; want 2", n)
	}
	m := endURLRe.FindStringSubmatch(samPart)
	if m == nil {
		t.Fatalf("no end button for sam's session: %.500s", samPart)
	}
	r := max.post(m[1], url.Values{})
	mustContain(t, r, "The session of sam@paydesk.example has ended")
	signedOut(t, sam, "sam, after a manager ended the session")
	signedInStill(t, max, "max")

	r = max.post("/sessions/end-person", url.Values{"subject": {"fran"}})
	mustContain(t, r, "2 sessions of fran ended")
	signedOut(t, fran1, "fran's first browser")
	signedOut(t, fran2, "fran's second browser")
	if page := max.get("/sessions"); strings.Contains(page.body, `data-subject="fran"`) || strings.Contains(page.body, `data-subject="sam"`) {
		t.Errorf("ended sessions still listed")
	}
	rows := sessionAudits(t, h)
	if len(rows) != 2 || rows[0].Actor != "max@paydesk.example" || !strings.Contains(rows[0].Message, "ended all sessions of fran (2)") ||
		!strings.Contains(rows[1].Message, "ended a session of sam@paydesk.example") {
		t.Errorf("audit: %+v", rows)
	}

	// An unknown or malformed session: a message, nothing ended.
	r = max.post("/sessions/"+strings.Repeat("A", 43)+"/end", url.Values{})
	mustContain(t, r, "already ended")
	r = max.post("/sessions/nope/end", url.Values{})
	mustContain(t, r, "There is no such session")
	r = max.post("/sessions/end-person", url.Values{"subject": {" "}})
	mustContain(t, r, "Say whose sessions to end")
	signedInStill(t, max, "max, after the refused requests")
}

// TestSessionsPageForManagersOnly: support and finance neither see the page nor end a
// session through it.
func TestSessionsPageForManagersOnly(t *testing.T) {
	h := newHarness(t)
	max := h.signedIn("max")
	for _, who := range []string{"sam", "fran", "tess"} {
		b := h.signedIn(who)
		if r := b.get("/sessions"); r.status != http.StatusForbidden {
			t.Errorf("GET /sessions as %s: %d, want 403", who, r.status)
		}
		if r := b.get("/payments"); strings.Contains(r.body, `data-testid="nav-sessions"`) {
			t.Errorf("%s has the Sessions link", who)
		}
		if r := b.post("/sessions/end-person", url.Values{"subject": {"max"}}); r.status != http.StatusForbidden {
			t.Errorf("POST /sessions/end-person as %s: %d, want 403", who, r.status)
		}
	}
	signedInStill(t, max, "max, after the others tried to end his sessions")
}
