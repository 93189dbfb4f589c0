package web

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/storage"
	"paydesk/storage/storagetest"
)

// TestAuditChainStatusBudget: a verification that does not finish within its budget is
// not retried for a minute, and the page falls back to the last complete result.
func TestAuditChainStatusBudget(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storagetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	desk, err := ops.New(ops.Config{BaseURL: "http://paydesk.test", LinkSecret: make([]byte, 32), Now: func() time.Time { return now }},
		db, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{db: db, desk: desk, log: slog.New(slog.DiscardHandler)}
	if _, err := db.Audit(ctx, storage.AuditEntry{Actor: "max@x", Kind: "sign_in", Message: "signed in"}); err != nil {
		t.Fatal(err)
	}

	// No budget left at all: nothing completes, the page says so and points to the command.
	if _, err := desk.VerifyAuditChain(ctx, time.Nanosecond); err == nil {
		t.Fatal("a verification with no time left finished")
	}
	if c := s.auditChainStatus(ctx); c.Known || c.Note == "" {
		t.Errorf("status after a verification that did not finish = %+v, want unknown with a note", c)
	}
	// The maintenance round completes one without a budget.
	if err := desk.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	c := s.auditChainStatus(ctx)
	if !c.Known || !c.OK || c.Checked != "1 entry" || c.Note != "" || !c.CheckedAt.Equal(now) {
		t.Errorf("status after maintenance = %+v, want intact, 1 entry, checked now", c)
	}
	// Later, a page-load verification runs out of time: the last complete result stays.
	now = now.Add(2 * time.Minute)
	if _, err := desk.VerifyAuditChain(ctx, time.Nanosecond); err == nil {
		t.Fatal("a verification with no time left finished")
	}
	c = s.auditChainStatus(ctx)
	if !c.Known || !c.OK || !c.CheckedAt.Equal(now.Add(-2*time.Minute)) || c.Note == "" {
		t.Errorf("status = %+v, want the earlier complete result with a note", c)
	}
}
