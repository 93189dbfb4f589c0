package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"paydesk/web/auth"
)

// TestTurnsFirstComeFirstServed: no more than the limit at once; waiters get their turn
// in the order they came; a waiter whose client leaves stops waiting.
func TestTurnsFirstComeFirstServed(t *testing.T) {
	tt := make(turns, 1)
	if !tt.take(context.Background()) {
		t.Fatal("the first take waited")
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tt.take(context.Background())
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			tt.give()
		}()
		time.Sleep(20 * time.Millisecond) // queued in this order
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if tt.take(ctx) {
		t.Fatal("a sixth take got a turn while the first still holds it")
	}
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("waiters ran while the turn was held: %v", order)
	}
	mu.Unlock()
	tt.give()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("turns given in the order %v, want 0 1 2 3 4", order)
		}
	}
}

// signedInAs is an Authenticator whose every request is u's (guard needs no more).
type signedInAs struct {
	Authenticator
	u auth.User
}

func (a signedInAs) CurrentUser(http.ResponseWriter, *http.Request) (auth.User, bool) {
	return a.u, true
}

// TestGuardTakesTurnsForPagesOnly: a signed-in page waits while every turn is taken (and
// gives up when its client leaves); an export and a POST do not wait.
func TestGuardTakesTurnsForPagesOnly(t *testing.T) {
	s := &Server{auth: signedInAs{u: auth.User{Email: "fran@example.com", Roles: []auth.Role{auth.RoleFinance, auth.RoleSupport}}}, turns: make(turns, 1)}
	ran := map[string]bool{}
	serve := func(method, pattern, path string, ctx context.Context) {
		h := s.guard(Route{Pattern: method + " " + pattern, Access: ViewPayments, Handler: func(w http.ResponseWriter, r *http.Request) { ran[pattern] = true }})
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, method, path, nil))
	}
	if !s.turns.take(context.Background()) { // every turn taken
		t.Fatal("take")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	serve(http.MethodGet, "/payments", "/payments", ctx)
	if ran["/payments"] {
		t.Error("a page ran while every turn was taken")
	}
	// Were they to wait, their clients would leave after a second and they would not run.
	second, cancelSecond := context.WithTimeout(context.Background(), time.Second)
	defer cancelSecond()
	serve(http.MethodGet, "/refunds.csv", "/refunds.csv", second)
	serve(http.MethodPost, "/payments/{id}/refresh", "/payments/pd_1/refresh", second)
	if !ran["/refunds.csv"] || !ran["/payments/{id}/refresh"] {
		t.Errorf("an export or a POST waited for a turn: ran %v", ran)
	}
	s.turns.give()
	serve(http.MethodGet, "/payments", "/payments", context.Background())
	if !ran["/payments"] {
		t.Error("a page did not run once a turn was free")
	}
	if len(s.turns) != 0 {
		t.Errorf("%d turns still taken after the page", len(s.turns))
	}
}
