package ops_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/ops/mailer"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// TestTwoSendersNeverSendAMessageTwice: two Desks on two handles of one database (two
// instances, as if both ran the sender at once — a job leader that lost its lock and has
// not noticed yet) send the same outbox through a real SMTP server in this process; every
// message arrives exactly once.
func TestTwoSendersNeverSendAMessageTwice(t *testing.T) {
	ctx := context.Background()
	catcher, err := mailer.StartCatcher(mailer.CatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer catcher.Close()
	mc, err := mailer.Parse(catcher.URL(), "paydesk@desk.example")
	if err != nil {
		t.Fatal(err)
	}
	dsn := storagetest.DSN(t)
	var desks []*ops.Desk
	var first *storage.DB
	for range 2 {
		db, err := storage.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if first == nil {
			first = db
		}
		d, err := ops.New(ops.Config{BaseURL: "https://paydesk.example", LinkSecret: []byte(strings.Repeat("k", 32)),
			Mail: ops.MailConfig{Sender: mailer.New(mc)}}, db, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		desks = append(desks, d)
	}
	const n = 40
	for i := range n {
		if _, err := first.EnqueueMail(ctx, storage.Mail{Kind: storage.MailDecision, To: fmt.Sprintf("p%d@x.example", i),
			Subject: fmt.Sprint("message ", i), Body: "hello", Key: fmt.Sprint("two-senders/", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, d := range append(desks, desks...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d.SendDueMail(ctx) > 0 {
			}
		}()
	}
	wg.Wait()
	got := catcher.WaitFor(n, 5*time.Second)
	seen := map[string]int{}
	for _, m := range got {
		seen[m.MessageID]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %s arrived %d times", id, c)
		}
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("the server received %d messages (%d distinct), want %d", len(got), len(seen), n)
	}
	counts, err := first.OutboxCounts(ctx)
	if err != nil || counts[storage.MailSent] != n {
		t.Fatalf("outbox counts %v, %v; want all %d sent", counts, err, n)
	}
}
