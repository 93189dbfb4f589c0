package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// newLink makes an active link for a payment, valid for a day.
func newLink(t *testing.T, db *DB, paymentID int64, nonce string) PayerLink {
	t.Helper()
	l, err := db.CreatePayerLink(context.Background(), PayerLink{PaymentID: paymentID, Kind: "webview",
		URL: "https://webview.powens.example/pay?token=" + nonce, Nonce: nonce, CreatedBy: "ann@x",
		ExpiresAt: testEpoch.Add(24 * time.Hour)})
	if err != nil {
		t.Fatalf("create link %s: %v", nonce, err)
	}
	return l
}

func TestCreatePayerLinkSupersedes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "powens", "EUR", 0)
	other := insertTestPayment(t, db, "powens", "EUR", 0)
	act, err := db.StartAction(ctx, Action{PaymentID: pid, Kind: "cancel", IdempotencyKey: "c1", Actor: "ann@x"})
	if err != nil {
		t.Fatal(err)
	}

	first, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: pid, ActionID: act.ID, Kind: "validate_uri",
		URL: "https://bank.example/validate/1", Nonce: "n1", CreatedBy: "ann@x", ExpiresAt: testEpoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if first.State != "active" || first.ActionID != act.ID || !first.CreatedAt.Equal(testEpoch) || first.ID == 0 {
		t.Errorf("first link = %+v, want active, tied to action %d", first, act.ID)
	}
	stored, err := db.PayerLinkByNonce(ctx, "n1")
	if err != nil || stored != first {
		t.Errorf("PayerLinkByNonce = %+v, %v; want %+v", stored, err, first)
	}
	otherLink := newLink(t, db, other, "o1")

	second := newLink(t, db, pid, "n2")
	if _, err := db.SetPayerLinkState(ctx, second.ID, "abandoned", "The payer cancelled at the bank"); err != nil {
		t.Fatal(err)
	}
	third := newLink(t, db, pid, "n3")

	want := map[int64]string{first.ID: "superseded", second.ID: "superseded", third.ID: "active", otherLink.ID: "active"}
	links, err := db.PayerLinksOfPayment(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 3 || links[0].ID != first.ID || links[2].ID != third.ID {
		t.Fatalf("links = %+v, want the three links oldest first", links)
	}
	for _, l := range append(links, otherLink) {
		got, err := db.PayerLinkByNonce(ctx, l.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want[l.ID] {
			t.Errorf("link %s is %s, want %s", l.Nonce, got.State, want[l.ID])
		}
	}
	live, err := db.LivePayerLink(ctx, pid)
	if err != nil || live.ID != third.ID {
		t.Errorf("LivePayerLink = %+v, %v; want link %d", live, err, third.ID)
	}
	events, _ := db.Events(ctx, pid)
	var created, superseded int
	for _, e := range events {
		switch e.Kind {
		case "link_created":
			created++
		case "link_superseded":
			superseded++
		}
	}
	if created != 3 || superseded != 2 {
		t.Errorf("timeline has %d link_created and %d link_superseded, want 3 and 2", created, superseded)
	}
}

func TestCreatePayerLinkValidation(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	pid := insertTestPayment(t, db, "powens", "EUR", 0)
	other := insertTestPayment(t, db, "powens", "EUR", 0)
	live := newLink(t, db, pid, "live")
	act, err := db.StartAction(ctx, Action{PaymentID: other, Kind: "cancel", IdempotencyKey: "c1", Actor: "ann@x"})
	if err != nil {
		t.Fatal(err)
	}
	valid := PayerLink{PaymentID: pid, Kind: "webview", URL: "https://webview.example/x", Nonce: "fresh", CreatedBy: "ann@x", ExpiresAt: testEpoch.Add(time.Hour)}
	tests := []struct {
		name    string
		change  func(*PayerLink)
		wantErr error
		wantMsg string
	}{
		{"unknown kind", func(l *PayerLink) { l.Kind = "email" }, nil, "unknown kind"},
		{"no nonce", func(l *PayerLink) { l.Nonce = " " }, nil, "nonce"},
		{"no creator", func(l *PayerLink) { l.CreatedBy = "" }, nil, "creator"},
		{"already expired", func(l *PayerLink) { l.ExpiresAt = testEpoch }, nil, "expired"},
		{"not a URL", func(l *PayerLink) { l.URL = "javascript:alert(1)" }, nil, "URL"},
		{"no payment", func(l *PayerLink) { l.PaymentID = 0 }, nil, "payment"},
		{"nonce reused", func(l *PayerLink) { l.Nonce = "live" }, ErrConflict, "nonce"},
		{"action of another payment", func(l *PayerLink) { l.ActionID = act.ID }, nil, "belongs to payment"},
		{"unknown action", func(l *PayerLink) { l.ActionID = 999 }, ErrNotFound, "action 999"},
	}
	for _, tt := range tests {
		l := valid
		tt.change(&l)
		_, err := db.CreatePayerLink(ctx, l)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.wantMsg)
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
		}
		// Nothing changed: the live link is still the only one, still active.
		if n := countRows(t, db, "payer_links"); n != 1 {
			t.Errorf("%s: %d links, want 1", tt.name, n)
		}
		if got, _ := db.LivePayerLink(ctx, pid); got.ID != live.ID || got.State != "active" {
			t.Errorf("%s: live link = %+v, want %d still active", tt.name, got, live.ID)
		}
	}
}

func TestSetPayerLinkState(t *testing.T) {
	// reach puts a fresh link of a fresh payment in state from.
	reach := func(t *testing.T, db *DB, from string) PayerLink {
		t.Helper()
		pid := insertTestPayment(t, db, "powens", "EUR", 0)
		l := newLink(t, db, pid, fmt.Sprintf("n%d-%s", pid, from))
		switch from {
		case "active":
		case "superseded":
			newLink(t, db, pid, fmt.Sprintf("n%d-next", pid))
		default:
			if from != "active" && from != "abandoned" && from != "confirmed" && from != "expired" {
				t.Fatalf("cannot reach %s", from)
			}
			var err error
			if l, err = db.SetPayerLinkState(context.Background(), l.ID, from, ""); err != nil {
				t.Fatalf("reach %s: %v", from, err)
			}
		}
		return l
	}
	states := []string{"active", "abandoned", "confirmed", "superseded", "expired"}
	allowed := map[string]bool{
		"active>confirmed": true, "active>abandoned": true, "active>superseded": true, "active>expired": true,
		"abandoned>active": true, "abandoned>confirmed": true, "abandoned>superseded": true, "abandoned>expired": true,
	}
	db := newTestDB(t)
	ctx := context.Background()
	clock := testEpoch
	db.Now = func() time.Time { return clock }
	for _, from := range states {
		for _, to := range states {
			name := from + ">" + to
			t.Run(name, func(t *testing.T) {
				l := reach(t, db, from)
				clock = clock.Add(time.Minute)
				got, err := db.SetPayerLinkState(ctx, l.ID, to, "payment re-read: "+to)
				stored, _ := db.PayerLinkByNonce(ctx, l.Nonce)
				if !allowed[name] {
					if !errors.Is(err, ErrConflict) {
						t.Errorf("err = %v, want ErrConflict", err)
					}
					if stored.State != from {
						t.Errorf("state = %s, want %s unchanged", stored.State, from)
					}
					return
				}
				if err != nil {
					t.Fatalf("SetPayerLinkState: %v", err)
				}
				if stored != got || got.State != to || got.Outcome != "payment re-read: "+to || !got.UpdatedAt.Equal(clock) {
					t.Errorf("link = %+v (stored %+v), want %s with the outcome", got, stored, to)
				}
				returned := to == "confirmed" || to == "abandoned"
				if returned != got.ReturnedAt.Equal(clock) {
					t.Errorf("returned at %v, want set now: %v", got.ReturnedAt, returned)
				}
				ev := lastEvent(t, db, l.PaymentID)
				if !strings.Contains(ev.Message, "payment re-read: "+to) {
					t.Errorf("last event = %+v, want the outcome", ev)
				}
			})
		}
	}
	if _, err := db.SetPayerLinkState(ctx, 9999, "confirmed", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown link = %v, want ErrNotFound", err)
	}
	l := reach(t, db, "active")
	if _, err := db.SetPayerLinkState(ctx, l.ID, "opened", ""); err == nil || errors.Is(err, ErrConflict) {
		t.Errorf("unknown state = %v, want a validation error", err)
	}
}

func TestExpirePayerLinks(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	p1 := insertTestPayment(t, db, "powens", "EUR", 0)
	p2 := insertTestPayment(t, db, "powens", "EUR", 0)
	p3 := insertTestPayment(t, db, "powens", "EUR", 0)
	short, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: p1, Kind: "webview", URL: "https://w.example/1", Nonce: "s",
		CreatedBy: "ann@x", ExpiresAt: testEpoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	abandoned := newLink(t, db, p2, "a") // a day
	if _, err := db.SetPayerLinkState(ctx, abandoned.ID, "abandoned", ""); err != nil {
		t.Fatal(err)
	}
	long, err := db.CreatePayerLink(ctx, PayerLink{PaymentID: p3, Kind: "webview", URL: "https://w.example/3", Nonce: "l",
		CreatedBy: "ann@x", ExpiresAt: testEpoch.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	awaiting, err := db.PayerLinksByState(ctx, []string{"active", "abandoned"}, 10)
	if err != nil || len(awaiting) != 3 || awaiting[0].ID != long.ID {
		t.Errorf("PayerLinksByState(active, abandoned) = %+v, %v; want the 3 links newest first", awaiting, err)
	}
	if _, err := db.PayerLinksByState(ctx, []string{"gone"}, 10); err == nil {
		t.Error("PayerLinksByState(gone) = nil error, want one")
	}

	steps := []struct {
		at      time.Time
		want    int
		expired []int64
	}{
		{testEpoch.Add(59 * time.Minute), 0, nil},
		{testEpoch.Add(time.Hour), 1, []int64{short.ID}},
		{testEpoch.Add(30 * time.Hour), 1, []int64{short.ID, abandoned.ID}},
		{testEpoch.Add(30 * time.Hour), 0, []int64{short.ID, abandoned.ID}},
	}
	for i, s := range steps {
		n, err := db.ExpirePayerLinks(ctx, s.at)
		if err != nil || n != s.want {
			t.Errorf("step %d: ExpirePayerLinks = %d, %v; want %d", i, n, err, s.want)
		}
		got, err := db.PayerLinksByState(ctx, []string{"expired"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		gotIDs := map[int64]bool{}
		for _, l := range got {
			gotIDs[l.ID] = true
		}
		if len(got) != len(s.expired) {
			t.Errorf("step %d: expired = %+v, want %v", i, got, s.expired)
		}
		for _, id := range s.expired {
			if !gotIDs[id] {
				t.Errorf("step %d: link %d not expired", i, id)
			}
		}
	}
	if _, err := db.LivePayerLink(ctx, p1); !errors.Is(err, ErrNotFound) {
		t.Errorf("LivePayerLink after expiry = %v, want ErrNotFound", err)
	}
	if ev := lastEvent(t, db, p2); ev.Kind != "link_expired" {
		t.Errorf("last event = %+v, want link_expired", ev)
	}
	if l, err := db.LivePayerLink(ctx, p3); err != nil || l.ID != long.ID {
		t.Errorf("LivePayerLink(p3) = %+v, %v; want the long link", l, err)
	}
}
