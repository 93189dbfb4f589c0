package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"paydesk/ops"
	"paydesk/providers/bpc"
	"paydesk/providers/tranzzo"
	"paydesk/storage"
	"paydesk/storage/pgtest"
)

// TestCrashMidBatchRunsEachItemOnce kills `paydesk serve` (SIGKILL, by itself: the crash
// hook at the N-th provider action, PAYDESK_TEST_CRASH_AT=step@N) while its batch worker
// runs a batch of 30 refunds over two providers and currencies, restarts it on the same
// database, and checks against what the simulators received: no item is sent twice, none
// is lost, Paydesk's refunds, the batch's items and the providers agree payment by
// payment and per currency, and the audit log tells the batch's story.
//
// Killed after the provider made the seventh refund but before Paydesk stored the answer
// (before_store@7), the restarted worker finds the item marked running, looks its key up,
// sees the refund recorded (pending) and does not send it again; the reconciler reads the
// provider and settles it succeeded, and the worker follows the item to succeeded. Killed
// just before the seventh call (before_call@7), the provider never received it: the
// reconciler settles that refund failed (the provider has none) and its item failed,
// saying so — a batch never sends an item a second time, even one that may not have gone.
// The other provider account's item, run at the same moment, may be anywhere in its
// steps when the process dies (no refund yet, its call in flight, its answer stored):
// it ends the same way by the same rules. Two EUR payments carry two items each: the
// second waits while the first is unsettled (ops: itemWaits), never failing for it.
func TestCrashMidBatchRunsEachItemOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cases := []struct {
		crashAt string
		// sent is whether the provider received the call the crash cut.
		sent bool
	}{
		{"before_store@7", true},
		{"before_call@7", false},
	}
	for _, c := range cases {
		t.Run(c.crashAt, func(t *testing.T) {
			paydeskBinary(t) // built once, not counted
			started := time.Now()
			env := newCrashEnv(t)
			var extra []string
			if pgtest.Engine() == "postgres" {
				env.db = pgtest.NewDatabase(t)
				// Several instances may share PostgreSQL: a pending action is left to its
				// call for the grace (above the provider timeout plus margin), and the dead
				// process's job lease must lapse before the new one runs the batch.
				extra = append(extra, "PAYDESK_PROVIDER_TIMEOUT=1s", "PAYDESK_RECONCILE_GRACE=7s", "PAYDESK_JOB_RETRY=1s")
			}
			extra = append(extra, "PAYDESK_BATCH_UNDO=1s", "PAYDESK_BATCH_RATE=200", "PAYDESK_RECONCILE_EVERY=1s")
			batch, items := seedBatch(t, env)

			proc := env.startOn(t, env.addr, env.base, c.crashAt, extra...)
			proc.waitKilled(t)

			// What the crash left: the batch running, the item the crash cut (and perhaps
			// the other account's, in flight at the same moment) marked running, its
			// refund recorded and pending.
			b, run := env.batchNow(t, batch.PublicID)
			if b.State != storage.BatchRunning {
				t.Fatalf("after the crash the batch is %s, want running", b.State)
			}
			// (The other account's item may be anywhere between marked running and
			// finished: no refund yet, its call in flight, or its answer stored.)
			running, pending := 0, 0
			cut := map[int]bool{} // the lines running at the crash
			for _, it := range run {
				if it.RunState == storage.ItemRunning {
					running++
					cut[it.Line] = true
					var a storage.Action
					var err error
					env.withDB(func(db *storage.DB) {
						a, err = db.ActionByKey(context.Background(), storage.BatchItemKey(b.PublicID, it.Line))
					})
					if err == nil && a.State == "pending" {
						pending++
					}
				}
			}
			if running < 1 || running > 2 || pending < 1 {
				t.Fatalf("after the crash %d items are marked running, %d with a pending action; want 1 or 2 (one per provider account), at least one pending", running, pending)
			}
			calls := env.refundCalls.Load()
			if calls < 6 || calls > int64(len(items)) {
				t.Fatalf("the simulators received %d refund calls before the crash", calls)
			}

			// Restart without the hook: the worker resumes, the reconciler settles.
			proc2 := env.startOn(t, env.addr, env.base, "", extra...)
			defer proc2.stop(t)
			restarted := time.Now()
			b, run = env.waitBatchSettled(t, batch.PublicID, 25*time.Second)
			settled := time.Since(restarted)

			// Each item: one refund in Paydesk under its key, one at the provider.
			held := env.readRefunds(t, b, run)
			want := map[int64][]int64{} // payment → the amounts its succeeded items refunded
			failed := 0
			for _, it := range run {
				r := held.byKey[storage.BatchItemKey(b.PublicID, it.Line)]
				switch it.RunState {
				case storage.ItemSucceeded:
					if r.Status != "succeeded" || r.Amount != it.Amount || r.ProviderRefundID == "" {
						t.Errorf("line %d succeeded but its refund is %s of %d (provider id %q), want succeeded of %d", it.Line, r.Status, r.Amount, r.ProviderRefundID, it.Amount)
					}
					want[it.PaymentID] = append(want[it.PaymentID], it.Amount)
				case storage.ItemFailed:
					failed++
					if r.Status != "failed" || it.Outcome == "" || !cut[it.Line] {
						t.Errorf("line %d failed with refund %s and outcome %q; running at the crash: %v", it.Line, r.Status, it.Outcome, cut[it.Line])
					}
				default:
					t.Errorf("line %d is %s (%s), want succeeded or failed", it.Line, it.RunState, it.Outcome)
				}
			}
			// Only an item cut before its call fails: the crash's own with before_call, and
			// the other account's item when the crash found it between its record and its
			// call. Never sent again, each failed item is one call fewer.
			least, most := 0, 1
			if !c.sent {
				least, most = 1, 2
			}
			if failed < least || failed > most {
				t.Errorf("%d items failed, want %d to %d", failed, least, most)
			}
			if got, want := env.refundCalls.Load(), int64(len(items)-failed); got != want {
				t.Errorf("the simulators received %d refund calls for %d items (%d failed): an item was sent twice or lost", got, len(items), failed)
			}

			// Payment by payment: the provider's refunds, Paydesk's and the items' agree.
			atProvider := map[string]int64{}
			inPaydesk := map[string]int64{}
			for _, p := range held.payments {
				prov := env.providerRefunds(t, p)
				all := held.ofPayment[p.ID]
				succeeded := map[string]int64{}
				for _, r := range all {
					if r.Status == "succeeded" {
						succeeded[r.ProviderRefundID] += r.Amount
					}
				}
				if fmt.Sprint(prov) != fmt.Sprint(succeeded) {
					t.Errorf("%s: the provider holds %v, Paydesk %v", p.PublicID, prov, succeeded)
				}
				if got, w := amounts(prov), sorted(want[p.ID]); fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("%s: the provider refunded %v, the batch's succeeded items %v", p.PublicID, got, w)
				}
				if len(all) != len(want[p.ID])+countFailed(run, p.ID) {
					t.Errorf("%s: Paydesk holds %d refunds for %d items", p.PublicID, len(all), len(want[p.ID])+countFailed(run, p.ID))
				}
				for _, v := range prov {
					atProvider[p.Currency] += v
				}
				for _, v := range succeeded {
					inPaydesk[p.Currency] += v
				}
			}
			// Per currency, never added across: the providers, Paydesk and the batch.
			wantTotals := map[string]int64{}
			for cur, v := range b.Totals {
				wantTotals[cur] = v
			}
			for _, it := range run {
				if it.RunState == storage.ItemFailed {
					wantTotals[it.Currency] -= it.Amount
				}
			}
			if len(wantTotals) != 2 || fmt.Sprint(atProvider) != fmt.Sprint(wantTotals) || fmt.Sprint(inPaydesk) != fmt.Sprint(wantTotals) {
				t.Errorf("per currency: the providers refunded %v, Paydesk holds %v, the batch's succeeded items %v (batch totals %v)", atProvider, inPaydesk, wantTotals, b.Totals)
			}

			// The audit log: started once, finished once, each item's end, the chain whole.
			env.withDB(func(db *storage.DB) {
				ctx := context.Background()
				count := func(kind string) []storage.AuditEntry {
					es, err := db.ListAudit(ctx, storage.AuditFilter{Kind: kind, Limit: 1000})
					if err != nil {
						t.Fatal(err)
					}
					var out []storage.AuditEntry
					for _, e := range es {
						if strings.Contains(string(e.Data), b.PublicID) {
							out = append(out, e)
						}
					}
					return out
				}
				if n := len(count("batch_started")); n != 1 {
					t.Errorf("%d batch_started entries, want 1 (a resumed batch is not started again)", n)
				}
				if n := len(count("batch_finished")); n != 1 {
					t.Errorf("%d batch_finished entries, want 1", n)
				}
				ended := map[int]string{}
				for _, e := range count("batch_item") {
					var d struct {
						Line  int    `json:"line"`
						State string `json:"state"`
					}
					if err := json.Unmarshal(e.Data, &d); err != nil {
						t.Fatal(err)
					}
					if storage.ItemFinal(d.State) {
						if was, ok := ended[d.Line]; ok {
							t.Errorf("line %d ended twice in the audit log (%s, %s)", d.Line, was, d.State)
						}
						ended[d.Line] = d.State
					}
				}
				for _, it := range run {
					if ended[it.Line] != it.RunState {
						t.Errorf("line %d: the audit log says it ended %q, the item is %s", it.Line, ended[it.Line], it.RunState)
					}
				}
				if v, err := db.VerifyAudit(ctx); err != nil || !v.OK {
					t.Errorf("the audit chain after the crash: %+v %v", v, err)
				}
			})
			t.Logf("%s: %d items, %d refund calls before the crash, %d items running at it, %d failed; settled %s after the restart, %s in all",
				c.crashAt, len(items), calls, running, failed, settled.Round(100*time.Millisecond), time.Since(started).Round(100*time.Millisecond))
		})
	}
}

// seedBatch creates 30 refundable payments at the simulators and in the database — 16 at
// one provider in EUR, 14 at another in UAH — and a batch of refunds of per-item amounts,
// two of the EUR payments refunded in two items each. The batch's EUR total reaches the
// approval threshold, so it is requested by support and approved by a manager, then
// scheduled to start at once (the web routes for that are the other way in; this test
// is about running it).
func seedBatch(t *testing.T, env *crashEnv) (storage.Batch, []storage.BatchItem) {
	t.Helper()
	var inputs []ops.BatchInput
	line := 1
	item := func(p storage.Payment, amount string) {
		line++
		inputs = append(inputs, ops.BatchInput{Line: line, Payment: p.PublicID, Amount: amount, Reason: "requested_by_customer"})
	}
	env.withDB(func(db *storage.DB) {
		for i := range 14 {
			p := env.addPaymentIn(db, bpc.Name, 10000, "EUR")
			item(p, fmt.Sprintf("%d.%02d", 30+i, 25*(i%4)))
			if i == 3 || i == 9 {
				item(p, "10.00") // a second item on the same payment, run after the first
			}
		}
		for i := range 14 {
			p := env.addPaymentIn(db, tranzzo.Name, 200000, "UAH")
			item(p, fmt.Sprintf("%d.00", 150+10*i))
		}
	})
	c, err := loadConfig(func(string) string { return "" }, true)
	if err != nil {
		t.Fatal(err)
	}
	var b storage.Batch
	var items []storage.BatchItem
	env.withDB(func(db *storage.DB) {
		ctx := context.Background()
		desk, err := ops.New(ops.Config{BaseURL: env.base, LinkSecret: []byte(strings.Repeat("k", 32)), Approval: c.approvalPolicy(),
			BatchUndo: time.Millisecond}, db, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		sam := ops.Person{Email: "sam@paydesk.example", Key: "crash-test|sam", Roles: []ops.Role{ops.RoleSupport}, FreshSignIn: true}
		mia := ops.Person{Email: "mia@paydesk.example", Key: "crash-test|mia", Roles: []ops.Role{ops.RoleManager}, FreshSignIn: true}
		draft, err := desk.PreviewBatch(ctx, sam, ops.BatchRefund, inputs, ops.BatchOrigin{Source: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		if draft.Ready != len(inputs) {
			t.Fatalf("the dry run kept %d of %d items ready", draft.Ready, len(inputs))
		}
		drafted, err := db.BatchItems(ctx, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		digest := storage.BatchDigest(drafted)
		requested, _, err := desk.RequestBatch(ctx, sam, draft.PublicID, digest)
		if err != nil {
			t.Fatal(err)
		}
		if requested.State != storage.BatchAwaitingApproval {
			t.Fatalf("requested, the batch is %s (%q), want awaiting approval: its EUR total %d reaches the threshold", requested.State, requested.ApprovalWhy, requested.Totals["EUR"])
		}
		if _, _, err := desk.ApproveBatch(ctx, mia, draft.PublicID, digest); err != nil {
			t.Fatal(err)
		}
		b, items = env.batchNowIn(t, db, draft.PublicID)
	})
	if b.State != storage.BatchScheduled || len(items) != 30 {
		t.Fatalf("the batch is %s with %d items, want scheduled with 30", b.State, len(items))
	}
	return b, items
}

// batchNow reads the batch and its items.
func (e *crashEnv) batchNow(t *testing.T, publicID string) (b storage.Batch, items []storage.BatchItem) {
	t.Helper()
	e.withDB(func(db *storage.DB) { b, items = e.batchNowIn(t, db, publicID) })
	return b, items
}

func (e *crashEnv) batchNowIn(t *testing.T, db *storage.DB, publicID string) (storage.Batch, []storage.BatchItem) {
	t.Helper()
	ctx := context.Background()
	b, err := db.BatchByPublicID(ctx, publicID)
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.BatchItems(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b, items
}

// waitBatchSettled waits until the batch is done and every item has ended (succeeded,
// failed or skipped): the worker resumed it and the reconciler settled what the crash
// left open.
func (e *crashEnv) waitBatchSettled(t *testing.T, publicID string, within time.Duration) (storage.Batch, []storage.BatchItem) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, items := e.batchNow(t, publicID)
		open := 0
		for _, it := range items {
			if !storage.ItemFinal(it.RunState) {
				open++
			}
		}
		if b.State == storage.BatchDone && open == 0 {
			return b, items
		}
		if time.Now().After(deadline) {
			var states []string
			for _, it := range items {
				if !storage.ItemFinal(it.RunState) {
					states = append(states, fmt.Sprintf("line %d %s: %s", it.Line, it.RunState, it.Outcome))
				}
			}
			t.Fatalf("%s after the restart the batch is %s with %d items open:\n%s", within, b.State, open, strings.Join(states, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// batchRefunds is what Paydesk holds for a batch's items, read in one opening of the
// database: each item's refund by its key, the payments, each payment's refunds.
type batchRefunds struct {
	byKey     map[string]storage.Refund
	payments  []storage.Payment
	ofPayment map[int64][]storage.Refund
}

func (e *crashEnv) readRefunds(t *testing.T, b storage.Batch, items []storage.BatchItem) batchRefunds {
	t.Helper()
	out := batchRefunds{byKey: map[string]storage.Refund{}, ofPayment: map[int64][]storage.Refund{}}
	e.withDB(func(db *storage.DB) {
		ctx := context.Background()
		for _, it := range items {
			key := storage.BatchItemKey(b.PublicID, it.Line)
			r, err := db.RefundByKey(ctx, key)
			if err != nil {
				t.Fatalf("line %d: refund %s: %v", it.Line, key, err)
			}
			out.byKey[key] = r
			if _, ok := out.ofPayment[it.PaymentID]; ok {
				continue
			}
			p, err := db.PaymentByID(ctx, it.PaymentID)
			if err != nil {
				t.Fatal(err)
			}
			out.payments = append(out.payments, p)
			if out.ofPayment[p.ID], err = db.RefundsOfPayment(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
	})
	return out
}

func countFailed(items []storage.BatchItem, paymentID int64) int {
	n := 0
	for _, it := range items {
		if it.PaymentID == paymentID && it.RunState == storage.ItemFailed {
			n++
		}
	}
	return n
}

// amounts are a provider's refunds' amounts, in order.
func amounts(m map[string]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return sorted(out)
}

func sorted(v []int64) []int64 {
	out := append([]int64(nil), v...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
