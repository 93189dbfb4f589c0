package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"paydesk/ops/mailer"
	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// TestCrashWhileSendingMailLosesNothing kills `paydesk serve` (SIGKILL, by itself: the
// crash hook) while its sender works through the outbox, restarts it, and counts what the
// SMTP server in the test process received. Before the SMTP call nothing is lost or
// doubled; between the server's acceptance and the "sent" mark the one message in flight
// is sent again after the restart — with the same Message-ID, the window docs/email.md
// documents — and no other message twice.
func TestCrashWhileSendingMailLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cases := []struct {
		crashAt string
		// twice is how many messages arrive twice (same Message-ID).
		twice int
	}{
		{"mail_before_send", 0},
		{"mail_after_send", 1},
	}
	for _, c := range cases {
		t.Run(c.crashAt, func(t *testing.T) {
			env := newCrashEnv(t)
			if pgtest.Engine() == "postgres" {
				env.db = pgtest.NewDatabase(t)
			}
			catcher, err := mailer.StartCatcher(mailer.CatcherConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer catcher.Close()
			mail := []string{"PAYDESK_SMTP_URL=" + catcher.URL(), "PAYDESK_MAIL_FROM=Paydesk <paydesk@desk.example>",
				"PAYDESK_MAIL_LEASE=3s", "PAYDESK_MAIL_BACKOFF=1s"}

			proc := env.startOn(t, env.addr, env.base, c.crashAt, mail...)
			const n = 5
			env.withDB(func(db *storage.DB) {
				for i := range n {
					if _, err := db.EnqueueMail(context.Background(), storage.Mail{Kind: storage.MailDecision,
						To: fmt.Sprintf("person%d@x.example", i), Subject: fmt.Sprint("message ", i), Body: "hello",
						Key: fmt.Sprintf("crash/%s/%d", c.crashAt, i)}); err != nil {
						t.Fatal(err)
					}
				}
			})
			proc.waitKilled(t)
			before := len(catcher.Messages())
			if c.twice == 0 && before != 0 || c.twice == 1 && before != 1 {
				t.Fatalf("the SMTP server received %d messages before the crash", before)
			}

			proc2 := env.startOn(t, env.addr, env.base, "", mail...)
			defer proc2.stop(t)
			deadline := time.Now().Add(30 * time.Second)
			var counts map[string]int
			for {
				env.withDB(func(db *storage.DB) { counts, err = db.OutboxCounts(context.Background()) })
				if err != nil {
					t.Fatal(err)
				}
				if counts[storage.MailSent] == n || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if counts[storage.MailSent] != n {
				t.Fatalf("after the restart the outbox is %v, want all %d sent", counts, n)
			}
			got := catcher.WaitFor(n+c.twice, 5*time.Second)
			byID := map[string]int{}
			for _, m := range got {
				byID[m.MessageID]++
			}
			doubled := 0
			for id, k := range byID {
				switch {
				case k == 2:
					doubled++
				case k != 1:
					t.Errorf("message %s arrived %d times", id, k)
				}
			}
			if len(byID) != n || doubled != c.twice || len(got) != n+c.twice {
				t.Fatalf("%d messages arrived, %d distinct, %d twice; want %d distinct, %d twice", len(got), len(byID), doubled, n, c.twice)
			}
		})
	}
}
