package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"paydesk/providers/bpc"
	"paydesk/storage"
	"paydesk/web"
	"paydesk/web/auth"
)

// withMockOIDC is the harness's Paydesk (same database, Desk and simulators) served a
// second time, signing in against mockoidc — a provider we did not write — which signs in
// whoever the test queues. Its browsers reach that second server.
func withMockOIDC(t *testing.T, h *harness) (*harness, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("mockoidc.Run: %v", err)
	}
	t.Cleanup(func() { m.Shutdown() })
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	hashKey, blockKey := auth.NewSessionKeys()
	a, err := auth.New(context.Background(), auth.Config{
		IssuerURL: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: srv.URL + "/auth/callback", AuthStyle: oauth2.AuthStyleInParams,
		GroupRoles: map[string][]auth.Role{"ops": {auth.RoleSupport}},
		HashKey:    hashKey, BlockKey: blockKey, Now: h.clock.Now, Logger: slog.New(slog.DiscardHandler),
		LoginPath: "/auth/login", PostLogoutRedirectURL: srv.URL + auth.SignedOutPath, Sessions: h.db,
	})
	if err != nil {
		t.Fatalf("auth.New against mockoidc: %v", err)
	}
	app, err := web.New(web.Config{}, h.desk, a, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	handler = app.Handler()
	mh := *h
	mh.srv = srv
	return &mh, m
}

// Signed in by a provider that sends no e-mail, a person is named by their name: a
// refund request records them as its requester, and "My refunds" shows theirs only —
// not everyone's, as a filter on an empty requester did.
func TestSignInWithoutEmailActs(t *testing.T) {
	h := newHarness(t)
	theirs := h.add(bpc.Name, spec{variant: 2})
	ours := h.add(bpc.Name, spec{variant: 2})
	sam := h.signedIn("sam") // through the development provider, with an e-mail
	if r := confirm(t, sam, theirs, "refund", url.Values{"amount": {"10.00"}, "reason": {"duplicate"}}); r.status != http.StatusOK {
		t.Fatalf("sam's refund: status %d", r.status)
	}

	mh, m := withMockOIDC(t, h)
	m.QueueUser(&mockoidc.MockUser{Subject: "u-pat", PreferredUsername: "pat.ops", Groups: []string{"ops"}})
	pat := mh.browser()
	if r := pat.get("/auth/login?next=/payments"); r.status != http.StatusOK || r.url.Path != "/payments" {
		t.Fatalf("sign-in without e-mail: got %d at %s: %.300s", r.status, r.url, r.body)
	}
	r := confirm(t, pat, ours, "refund", url.Values{"amount": {"12.00"}, "reason": {"duplicate"}})
	if r.status != http.StatusOK || strings.Contains(r.body, "missing requester") {
		t.Fatalf("pat's refund: got %d: %.400s", r.status, text(r.body))
	}
	rows, err := h.db.ListRefunds(context.Background(), storage.RefundFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, rf := range rows {
		if rf.PaymentID == ours.ID {
			found = true
			got, _ := h.db.RefundByID(context.Background(), rf.ID)
			if got.RequestedBy != "pat.ops" || got.RequestedByKey != auth.PersonKey(m.Issuer(), "u-pat") {
				t.Errorf("pat's refund: requested by %q (key %q); want pat.ops with the person key", got.RequestedBy, got.RequestedByKey)
			}
		}
	}
	if !found {
		t.Fatalf("pat's refund was not recorded")
	}
	mine := pat.get("/my-refunds")
	if !strings.Contains(mine.body, ours.PublicID) || strings.Contains(mine.body, theirs.PublicID) {
		t.Errorf("pat's refunds: got %.600s; want %s only, not sam's %s", text(mine.body), ours.PublicID, theirs.PublicID)
	}
	if !strings.Contains(mine.body, "pat.ops") {
		t.Errorf("pat's refunds: want them named pat.ops on the page")
	}

	// Sign-out (mockoidc has no end_session) ends on the page that says so.
	out := pat.post("/auth/logout", nil)
	if out.url.Path != auth.SignedOutPath || !strings.Contains(out.body, `data-testid="signed-out"`) {
		t.Errorf("sign-out: got %d at %s: %.300s; want the signed-out page", out.status, out.url, text(out.body))
	}
}
