package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"paydesk/providers/bpc"
	"paydesk/storage"
)

// withRules gives the fixture's Desk the per-refund threshold EUR 500.00 and rules.
func (f *fixture) withRules(rules ...ApprovalRule) {
	f.desk.cfg.Approval = ApprovalPolicy{Thresholds: limits(f.t, "EUR:500.00"), Rules: rules}
}

// refund asks for a refund as who and returns the result and the refund recorded with
// its key (zero when none was).
func (f *fixture) refund(who Person, p storage.Payment, amount int64, reason string) (Result, storage.Refund, error) {
	f.t.Helper()
	k := key()
	note := ""
	if reason == "other" {
		note = "see the ticket"
	}
	res, err := f.desk.Refund(context.Background(), who, f.payment(p), RefundArgs{Amount: amount, Reason: reason, Note: note, Key: k})
	rf, _ := f.db.RefundByKey(context.Background(), k)
	return res, rf, err
}

// mustRun fails unless the refund ran at once and succeeded.
func (f *fixture) mustRun(res Result, rf storage.Refund, err error) {
	t := f.t
	t.Helper()
	if err != nil || rf.Status != "succeeded" || rf.ApprovalRule != "" {
		t.Fatalf("refund %+v (%v): %s, rule %q; want it run at once", res, err, rf.Status, rf.ApprovalRule)
	}
}

// mustWait fails unless the refund awaits approval, held back by rule.
func mustWait(t *testing.T, res Result, rf storage.Refund, err error, rule string) {
	t.Helper()
	if err != nil || rf.Status != "awaiting_approval" || rf.ApprovalRule != rule || rf.ApprovalWhy == "" {
		t.Fatalf("refund %+v (%v): %s, rule %q; want it awaiting approval by %s", res, err, rf.Status, rf.ApprovalRule, rule)
	}
	if !strings.Contains(res.Message, "awaiting a manager's approval") {
		t.Errorf("message %q", res.Message)
	}
}

// TestSplittingAwaitsApproval: 499.99 twice on 1,000.00 EUR with a per-payment limit of
// 500.00: the first runs, the second waits for a manager and says why.
func TestSplittingAwaitsApproval(t *testing.T) {
	f := newFixture(t)
	f.withRules(ApprovalRule{Kind: RulePerPayment, Limits: limits(t, "EUR:500.00")})
	p := f.add(bpc.Name, 2, 100000)
	res, rf, err := f.refund(sam, p, 49999, "duplicate")
	f.mustRun(res, rf, err)
	res, rf, err = f.refund(sam, p, 49999, "duplicate")
	mustWait(t, res, rf, err, RulePerPayment)
	want := "This refund brings the refunds on this payment to 999.98 EUR, at or above 500.00 EUR: a manager must approve (rule “per payment”)."
	if !strings.HasSuffix(res.Message, want) || rf.ApprovalWhy != "this refund brings the refunds on this payment to 999.98 EUR, at or above 500.00 EUR" {
		t.Errorf("message %q, why %q; want the rule said", res.Message, rf.ApprovalWhy)
	}
	// The per-refund rule keeps today's words.
	p2 := f.add(bpc.Name, 2, 100000)
	res, rf, err = f.refund(sam, p2, 50000, "duplicate")
	mustWait(t, res, rf, err, RulePerRefund)
	if res.Message != "The refund of 500.00 EUR is awaiting a manager's approval. Its amount is reserved until then." {
		t.Errorf("per-refund message changed: %q", res.Message)
	}
	rows, _ := f.db.ListAuditRows(context.Background(), storage.AuditFilter{Kind: "refund_requested", Limit: 10})
	if len(rows) != 2 || !strings.Contains(rows[1].Message, `rule "per payment"`) {
		t.Errorf("audit = %+v, want the rule in the awaiting request's entry", rows)
	}
}

// TestTwoAgentsOnOnePayment: the per-payment sum counts every requester's refunds.
func TestTwoAgentsOnOnePayment(t *testing.T) {
	f := newFixture(t)
	f.withRules(ApprovalRule{Kind: RulePerPayment, Limits: limits(t, "EUR:500.00")})
	p := f.add(bpc.Name, 2, 100000)
	f.mustRun(f.refund(sam, p, 30000, "duplicate"))
	res, rf, err := f.refund(mara, p, 20000, "duplicate")
	mustWait(t, res, rf, err, RulePerPayment)
	// What awaits approval counts too: a third request by sam waits as well.
	res, rf, err = f.refund(sam, p, 100, "duplicate")
	mustWait(t, res, rf, err, RulePerPayment)
	if !strings.Contains(rf.ApprovalWhy, "to 501.00 EUR") {
		t.Errorf("why %q, want 300 + 200 + 1", rf.ApprovalWhy)
	}
}

// TestOneAgentAcrossPayments: the per-person rule adds up the requester's refunds of the
// last 24 hours on every payment, not another person's, and forgets older ones.
func TestOneAgentAcrossPayments(t *testing.T) {
	f := newFixture(t)
	f.withRules(ApprovalRule{Kind: RulePerPersonDay, Limits: limits(t, "EUR:500.00")})
	p1, p2, p3 := f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 100000), f.add(bpc.Name, 2, 100000)
	f.mustRun(f.refund(sam, p1, 30000, "duplicate"))
	f.clock.Advance(time.Hour)
	f.mustRun(f.refund(sam, p2, 19999, "duplicate")) // 499.99: one minor unit below
	res, rf, err := f.refund(sam, p3, 1, "duplicate")
	mustWait(t, res, rf, err, RulePerPersonDay)
	if !strings.Contains(rf.ApprovalWhy, "to 500.00 EUR, at or above the daily limit of 500.00 EUR") {
		t.Errorf("why %q", rf.ApprovalWhy)
	}
	// Another agent has their own day.
	f.mustRun(f.refund(mia, p3, 40000, "duplicate"))
	// 24 hours after the first refund it no longer counts: 199.99 + 0.01 (awaiting) + 300.00 would.
	f.clock.Advance(23*time.Hour + time.Second)
	p4 := f.add(bpc.Name, 2, 100000)
	f.mustRun(f.refund(sam, p4, 29999, "duplicate"))
}

// TestBlockingRuleRefuses: a blocking rule refuses the refund with the rule named;
// nothing is recorded but an audit entry.
func TestBlockingRuleRefuses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.withRules(ApprovalRule{Kind: RulePerPayment, Effect: EffectBlock, Limits: limits(t, "EUR:500.00")})
	p := f.add(bpc.Name, 2, 100000)
	f.mustRun(f.refund(sam, p, 49999, "duplicate"))
	events, _ := f.db.Events(ctx, p.ID)
	_, rf, err := f.refund(sam, p, 1, "duplicate")
	refusedWith(t, err, ErrNotAllowed, "The refund of 0.01 EUR was refused and nothing was sent or recorded. This refund brings the refunds on this payment to 500.00 EUR, at or above 500.00 EUR: Paydesk refuses this refund (rule “per payment”).")
	if rf.ID != 0 {
		t.Errorf("a blocked refund was recorded: %+v", rf)
	}
	if refunds, _ := f.db.RefundsOfPayment(ctx, p.ID); len(refunds) != 1 {
		t.Errorf("%d refunds, want the first only", len(refunds))
	}
	if after, _ := f.db.Events(ctx, p.ID); len(after) != len(events) {
		t.Errorf("timeline grew from %d to %d events on a blocked refund", len(events), len(after))
	}
	rows, _ := f.db.ListAuditRows(ctx, storage.AuditFilter{Kind: "refused", Limit: 10})
	if len(rows) != 1 || rows[0].Actor != sam.Email || !strings.Contains(rows[0].Message, `approval rule "per payment"`) {
		t.Errorf("audit = %+v, want one entry naming the rule", rows)
	}
}

// TestReasonAndAgeRules: a listed reason waits for a manager; a payment at least N days
// old too, not one second younger.
func TestReasonAndAgeRules(t *testing.T) {
	f := newFixture(t)
	f.withRules(ApprovalRule{Kind: RuleReason, Reasons: []string{"other"}}, ApprovalRule{Kind: RuleAge, Days: 2})
	p := f.add(bpc.Name, 2, 100000) // created an hour ago
	res, rf, err := f.refund(sam, p, 100, "other")
	mustWait(t, res, rf, err, RuleReason)
	if !strings.HasSuffix(res.Message, "The reason is “Other (see note)”: a manager must approve (rule “reason”).") {
		t.Errorf("message %q", res.Message)
	}
	f.mustRun(f.refund(sam, p, 100, "goodwill"))
	f.clock.Advance(47*time.Hour - time.Second) // one second short of two days
	f.mustRun(f.refund(sam, p, 100, "goodwill"))
	f.clock.Advance(time.Second)
	res, rf, err = f.refund(sam, p, 100, "goodwill")
	mustWait(t, res, rf, err, RuleAge)
	if rf.ApprovalWhy != "the payment is 2 days old, at or above 2 days" {
		t.Errorf("why %q", rf.ApprovalWhy)
	}
}

// TestConcurrentRefundsAcrossTheCumulativeLimit: 20 agents refund 40.00 EUR each on a
// 1,000.00 EUR payment at once, with a per-payment limit of 500.00. Exactly the twelve
// under the limit (480.00) run; the eight others wait for a manager — or, with a
// blocking rule, are refused and leave nothing behind. An agent whose request met
// another refund in flight sends it again, as a person would.
func TestConcurrentRefundsAcrossTheCumulativeLimit(t *testing.T) {
	for _, effect := range []string{EffectApproval, EffectBlock} {
		t.Run(effect, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.withRules(ApprovalRule{Kind: RulePerPayment, Effect: effect, Limits: limits(t, "EUR:500.00")})
			p := f.add(bpc.Name, 2, 100000)
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, 20)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					who := Person{Email: fmt.Sprintf("agent%d@paydesk.test", i), Roles: []Role{RoleSupport}, FreshSignIn: true}
					for try := 0; ; try++ {
						_, err := f.desk.Refund(ctx, who, f.payment(p), RefundArgs{Amount: 4000, Reason: "duplicate", Key: fmt.Sprintf("%016x%016x", i+1, try)})
						busy := errors.Is(err, ErrConflict) || (errors.Is(err, ErrNotAllowed) && strings.Contains(Message(err, ""), "starts nothing else"))
						if !busy || try > 2000 {
							errs[i] = err
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			close(start)
			wg.Wait()
			refused := 0
			for i, err := range errs {
				switch {
				case err == nil:
				case effect == EffectBlock && errors.Is(err, ErrNotAllowed) && strings.Contains(Message(err, ""), "Paydesk refuses this refund"):
					refused++
				default:
					t.Errorf("agent %d: %v", i, err)
				}
			}
			refunds, err := f.db.RefundsOfPayment(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			status := map[string]int{}
			for _, rf := range refunds {
				status[rf.Status]++
			}
			wantWait, wantRefused := 8, 0
			if effect == EffectBlock {
				wantWait, wantRefused = 0, 8
			}
			if status["succeeded"] != 12 || status["awaiting_approval"] != wantWait || refused != wantRefused || len(refunds) != 12+wantWait {
				t.Errorf("refunds by status %v, %d refused; want 12 succeeded, %d awaiting, %d refused", status, refused, wantWait, wantRefused)
			}
			b, _ := f.db.Balance(ctx, p.ID)
			if b.Succeeded != 48000 {
				t.Errorf("refunded %d, want 480.00 EUR: never at or above the limit without a manager", b.Succeeded)
			}
		})
	}
}
