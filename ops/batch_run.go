package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"paydesk/providers"
	"paydesk/storage"
)

// DefaultBatchUndo is how long an approved batch waits before it starts, unless
// configured otherwise: the undo window.
const DefaultBatchUndo = 10 * time.Minute

// DefaultBatchRate is how many items per second a batch sends to one provider account.
const DefaultBatchRate = 5.0

// BatchUndo is the configured undo window.
func (d *Desk) BatchUndo() time.Duration { return d.cfg.BatchUndo }

// BatchRate is the configured pace per provider account (items per second).
func (d *Desk) BatchRate() float64 { return d.cfg.BatchRate }

// batchWorker is the batch worker's state in this process: the pace per provider account
// (one limiter per account, shared by every batch it runs), the batches it runs now, and
// where it is in following the items already sent.
type batchWorker struct {
	mu sync.Mutex
	by map[string]*rate.Limiter
	// running holds the batches a goroutine of this process runs now; runners waits for
	// those goroutines.
	running map[int64]bool
	runners sync.WaitGroup
	// followed is when the worker last followed the items already sent, and cursor the
	// last item it followed then (the rounds' goroutine only).
	followed time.Time
	cursor   storage.BatchItemRef
}

// isRunning says whether a goroutine of this process runs batch id now.
func (l *batchWorker) isRunning(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running[id]
}

// claim marks batch id as run here, unless it is already; release lets it go.
func (l *batchWorker) claim(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[id] {
		return false
	}
	if l.running == nil {
		l.running = map[int64]bool{}
	}
	l.running[id] = true
	return true
}

func (l *batchWorker) release(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.running, id)
}

// batchFollowEvery is how often the worker reads again the items already sent whose
// outcome may still change: an item awaiting a payer or a manager may wait for days, and
// each is one read.
const batchFollowEvery = 15 * time.Second

func (l *batchWorker) of(key string, perSecond float64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]*rate.Limiter{}
	}
	lim, ok := l.by[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perSecond), 1)
		l.by[key] = lim
	}
	return lim
}

// BatchApprovalWhy says why a batch must wait for a manager, or "" when it need not: an
// item that a rule would send to a manager on its own, or a currency whose total reaches
// that currency's approval threshold (for cancellations, the total of the payments
// cancelled).
func (d *Desk) BatchApprovalWhy(b storage.Batch, items []storage.BatchItem) string {
	var why []string
	rules := map[string]int{}
	for _, it := range items {
		if it.Verdict == storage.BatchReady && it.ApprovalRule != "" {
			rules[it.ApprovalRule]++
		}
	}
	codes := make([]string, 0, len(rules))
	for c := range rules {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		n := rules[c]
		why = append(why, fmt.Sprintf("%d %s the rule %q on %s", n, plural(n, "item meets", "items meet"), RuleName(c), pronoun(n)))
	}
	for _, cur := range sortedCurrencies(b.Totals) {
		if t, ok := d.cfg.Approval.Threshold(cur); ok && b.Totals[cur] >= t {
			why = append(why, fmt.Sprintf("the batch moves %s, at or above the %s approval threshold", providers.FormatMoney(b.Totals[cur], cur), providers.FormatMoney(t, cur)))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return capitalize(strings.Join(why, "; ")) + "."
}

func pronoun(n int) string {
	if n == 1 {
		return "its own"
	}
	return "their own"
}

func sortedCurrencies(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// batchOf reads a batch by its public id, refusing an unknown one.
func (d *Desk) batchOf(ctx context.Context, publicID string) (storage.Batch, error) {
	b, err := d.db.BatchByPublicID(ctx, publicID)
	if errors.Is(err, storage.ErrNotFound) {
		return b, refuse(ErrNotFound, "There is no batch "+publicID+".")
	}
	if err != nil {
		return b, fmt.Errorf("ops: batch: %w", err)
	}
	return b, nil
}

// batchRefusal turns storage's refusals of a batch change into words.
func batchRefusal(err error, b storage.Batch) error {
	switch {
	case errors.Is(err, storage.ErrSelfApproval):
		return refuse(ErrNotAllowed, "You requested this batch: another manager must decide on it.")
	case errors.Is(err, storage.ErrConflict):
		return refuse(ErrConflict, fmt.Sprintf("Batch %s changed since this page was shown (%s): nothing was done. Look at it again.", b.PublicID, cleanErr(err)))
	case errors.Is(err, storage.ErrNotFound):
		return refuse(ErrNotFound, "There is no batch "+b.PublicID+".")
	}
	return fmt.Errorf("ops: batch %s: %w", b.PublicID, err)
}

func batchWhat(b storage.Batch) string {
	kind := "refunds"
	if b.Kind == BatchCancel {
		kind = "cancellations"
	}
	return fmt.Sprintf("batch %s of %d %s", b.PublicID, b.Ready, kind)
}

func totalsWords(t map[string]int64) string {
	var parts []string
	for _, c := range sortedCurrencies(t) {
		parts = append(parts, providers.FormatMoney(t[c], c))
	}
	if len(parts) == 0 {
		return "no money"
	}
	return strings.Join(parts, ", ")
}

// RequestBatch asks for a draft batch to run, as previewed: digest must be the one the
// preview page showed (the items not changed since). It waits for a manager when
// BatchApprovalWhy says so, else it is scheduled to start after the undo window. Only
// the person who made the batch may request it, with a fresh sign-in; a batch with no
// ready item is refused.
func (d *Desk) RequestBatch(ctx context.Context, who Person, publicID, digest string) (storage.Batch, Result, error) {
	b, err := d.batchOf(ctx, publicID)
	if err != nil {
		return b, Result{}, err
	}
	switch {
	case !who.mayAct():
		return b, Result{}, refuse(ErrNotAllowed, "Your role cannot run batches; support staff and managers can.")
	case !b.IsRequester(who.Email, who.Key):
		return b, Result{}, refuse(ErrNotAllowed, "Only the person who made this batch ("+b.CreatedBy+") may request it. Make your own from the same file or list.")
	case b.State != storage.BatchDraft:
		return b, Result{}, refuse(ErrConflict, "This batch was already requested: nothing was done again.")
	case b.Ready == 0:
		return b, Result{}, refuse(ErrInvalid, "No item of this batch can run: there is nothing to request.")
	}
	if err := stale(who); err != nil {
		return b, Result{}, err
	}
	items, err := d.db.BatchItems(ctx, b.ID)
	if err != nil {
		return b, Result{}, fmt.Errorf("ops: batch items: %w", err)
	}
	why := d.BatchApprovalWhy(b, items)
	start := d.cfg.Now().Add(d.cfg.BatchUndo)
	msg := fmt.Sprintf("%s requested (%s)", batchWhat(b), totalsWords(b.Totals))
	if why != "" {
		msg += "; waits for a manager's approval: " + why
	} else {
		msg += "; starts at " + start.UTC().Format(time.RFC3339) + " unless cancelled"
	}
	after, err := d.db.RequestBatch(ctx, b.ID, digest, why, start, storage.BatchChange{
		By: who.Email, ByKey: who.Key, Audit: d.batchAudit(who, "batch_requested", msg, map[string]any{"digest": digest, "approval": why}),
		Then: d.batchRequestNews(who),
	})
	if err != nil {
		return b, Result{}, batchRefusal(err, b)
	}
	if why != "" {
		return after, Result{Tone: "info", Message: "The batch waits for another manager's approval. " + why}, nil
	}
	return after, Result{Tone: "success", Message: fmt.Sprintf("The batch starts in %s unless you or a manager cancel it.", DurationWords(d.cfg.BatchUndo))}, nil
}

// ApproveBatch approves a batch awaiting approval, for the exact items of digest (the
// page the manager saw), and schedules it after the undo window. Managers only, never
// the requester, with a fresh sign-in.
func (d *Desk) ApproveBatch(ctx context.Context, who Person, publicID, digest string) (storage.Batch, Result, error) {
	b, err := d.batchOf(ctx, publicID)
	if err != nil {
		return b, Result{}, err
	}
	if !who.mayApprove() {
		d.Audit(ctx, who, "refused", 0, "approval of batch "+b.PublicID+" refused: not a manager", map[string]any{"batch": b.PublicID})
		return b, Result{}, refuse(ErrNotAllowed, "Only managers approve batches.")
	}
	if err := stale(who); err != nil {
		return b, Result{}, err
	}
	start := d.cfg.Now().Add(d.cfg.BatchUndo)
	after, err := d.db.ApproveBatch(ctx, b.ID, digest, start, storage.BatchChange{
		By: who.Email, ByKey: who.Key,
		Audit: d.batchAudit(who, "batch_approved", fmt.Sprintf("%s (%s) approved by %s; starts at %s unless cancelled", batchWhat(b), totalsWords(b.Totals), who.Email, start.UTC().Format(time.RFC3339)),
			map[string]any{"digest": digest}),
		Then: d.batchDecisionNews(who),
	})
	if err != nil {
		return b, Result{}, batchRefusal(err, b)
	}
	return after, Result{Tone: "success", Message: fmt.Sprintf("Approved. The batch starts in %s unless its requester or a manager cancels it.", DurationWords(d.cfg.BatchUndo))}, nil
}

// RejectBatch rejects a batch awaiting approval, with a reason: nothing of it runs.
func (d *Desk) RejectBatch(ctx context.Context, who Person, publicID, reason string) (storage.Batch, Result, error) {
	b, err := d.batchOf(ctx, publicID)
	if err != nil {
		return b, Result{}, err
	}
	if !who.mayApprove() {
		return b, Result{}, refuse(ErrNotAllowed, "Only managers reject batches.")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return b, Result{}, refuse(ErrInvalid, "Say why the batch is rejected: the requester will read it.")
	case len([]rune(reason)) > 500:
		return b, Result{}, refuse(ErrInvalid, "The reason is too long (500 characters at most).")
	}
	after, err := d.db.RejectBatch(ctx, b.ID, storage.BatchChange{
		By: who.Email, ByKey: who.Key, Reason: reason,
		Audit: d.batchAudit(who, "batch_rejected", fmt.Sprintf("%s rejected by %s: %s", batchWhat(b), who.Email, reason), nil),
		Then:  d.batchDecisionNews(who),
	})
	if err != nil {
		return b, Result{}, batchRefusal(err, b)
	}
	return after, Result{Tone: "success", Message: "Rejected: nothing of this batch will run."}, nil
}

// MayCancelBatch says whether who may cancel b: its requester or a manager, while it
// has not finished.
func MayCancelBatch(who Person, b storage.Batch) bool {
	switch b.State {
	case storage.BatchDraft, storage.BatchAwaitingApproval, storage.BatchScheduled, storage.BatchRunning:
	default:
		return false
	}
	return who.mayApprove() || (who.mayAct() && b.IsRequester(who.Email, who.Key))
}

// CancelBatch cancels a batch: before it starts nothing of it runs; while it runs, the
// items not yet started are skipped and those sent finish as they would have.
func (d *Desk) CancelBatch(ctx context.Context, who Person, publicID, reason string) (storage.Batch, Result, error) {
	b, err := d.batchOf(ctx, publicID)
	if err != nil {
		return b, Result{}, err
	}
	if !MayCancelBatch(who, b) {
		if b.State == storage.BatchDone || b.State == storage.BatchCancelled || b.State == storage.BatchRejected {
			return b, Result{}, refuse(ErrConflict, "This batch is "+BatchStateLabel(b.State)+" already: there is nothing to cancel.")
		}
		return b, Result{}, refuse(ErrNotAllowed, "Only the batch's requester or a manager may cancel it.")
	}
	if len([]rune(reason)) > 500 {
		return b, Result{}, refuse(ErrInvalid, "The reason is too long (500 characters at most).")
	}
	was := b.State
	after, err := d.db.CancelBatch(ctx, b.ID, storage.BatchChange{
		By: who.Email, ByKey: who.Key, Reason: reason,
		Audit: d.batchAudit(who, "batch_cancelled", fmt.Sprintf("%s cancelled by %s while %s%s", batchWhat(b), who.Email, BatchStateLabel(was), suffix(": ", reason)), map[string]any{"was": was}),
		Then:  d.batchCancelNews(who, was),
	})
	if err != nil {
		return b, Result{}, batchRefusal(err, b)
	}
	if was == storage.BatchRunning {
		return after, Result{Tone: "info", Message: "Stopped: items not yet started are skipped; those already sent finish as they would have."}, nil
	}
	return after, Result{Tone: "success", Message: "Cancelled: nothing of this batch was run."}, nil
}

func suffix(sep, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return sep + strings.TrimSpace(s)
}

// BatchStateLabel is a batch state in words.
func BatchStateLabel(state string) string {
	switch state {
	case storage.BatchDraft:
		return "a draft"
	case storage.BatchAwaitingApproval:
		return "awaiting approval"
	case storage.BatchScheduled:
		return "scheduled"
	case storage.BatchRunning:
		return "running"
	case storage.BatchDone:
		return "done"
	case storage.BatchCancelled:
		return "cancelled"
	case storage.BatchRejected:
		return "rejected"
	}
	return state
}

// DurationWords says a configured duration in words, in the largest unit that says it
// exactly: "72 hours", "10 minutes", "90 seconds".
func DurationWords(d time.Duration) string {
	unit, n := "hour", int64(d/time.Hour)
	switch {
	case d%time.Minute != 0:
		unit, n = "second", int64(d.Round(time.Second)/time.Second)
	case d%time.Hour != 0:
		unit, n = "minute", int64(d/time.Minute)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// batchAudit is an audit entry for a batch change.
func (d *Desk) batchAudit(who Person, kind, message string, data map[string]any) storage.AuditEntry {
	e := storage.AuditEntry{Actor: who.Email, Kind: kind, Message: message, Remote: who.Remote}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	return e
}

// RunBatches is the batch worker: every `every` (and as soon as a batch's undo window
// ends) it starts the batches due and runs their items until ctx ends. Only one instance
// runs it at a time (the job leader, cmd/paydesk).
func (d *Desk) RunBatches(ctx context.Context, every time.Duration) {
	defer d.batches.runners.Wait() // the batches running here end with the job
	for {
		if err := d.startBatchRound(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("batches", "err", err)
		}
		wait := every
		if next, err := d.db.NextBatchStart(ctx); err == nil && !next.IsZero() {
			if until := next.Sub(d.cfg.Now()); until < wait {
				wait = max(until, 10*time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// BatchRound does one round of the worker and waits for the batches it runs to end (or
// ctx to end: the next round resumes them). RunBatches does not wait: it goes on with its
// rounds while batches run.
func (d *Desk) BatchRound(ctx context.Context) error {
	err := d.startBatchRound(ctx)
	d.batches.runners.Wait()
	return err
}

// startBatchRound follows the items already sent whose outcome may still change, then
// starts each batch due and runs each running one in a goroutine of its own, unless it
// runs here already: batches run side by side, each account's pace shared between them,
// and the rounds go on (following, starting) while a long batch runs.
func (d *Desk) startBatchRound(ctx context.Context) error {
	if now := d.cfg.Now(); now.Sub(d.batches.followed) >= batchFollowEvery {
		if err := d.followBatchItems(ctx); err != nil {
			return err
		}
		d.batches.followed = now
	}
	due, err := d.db.DueBatches(ctx)
	if err != nil {
		return fmt.Errorf("ops: batches: %w", err)
	}
	for _, b := range due {
		if ctx.Err() != nil {
			return nil
		}
		if d.batches.isRunning(b.ID) {
			continue
		}
		if b.State == storage.BatchScheduled {
			started, ok, err := d.db.StartBatch(ctx, b.ID, storage.BatchChange{
				By: batchActor, Audit: storage.AuditEntry{Actor: batchActor, Kind: "batch_started",
					Message: fmt.Sprintf("%s started (%s)", batchWhat(b), totalsWords(b.Totals))},
			})
			if err != nil {
				d.log.Error("batch start", "batch", b.PublicID, "err", err)
				continue
			}
			if !ok {
				continue
			}
			b = started
		}
		if !d.batches.claim(b.ID) {
			continue
		}
		d.batches.runners.Add(1)
		go func(b storage.Batch) {
			defer d.batches.runners.Done()
			defer d.batches.release(b.ID)
			if err := d.runBatch(ctx, b); err != nil {
				d.log.Error("batch", "batch", b.PublicID, "err", err)
			}
		}(b)
	}
	return nil
}

// batchActor names the worker in the audit log.
const batchActor = "batch worker"

// runBatch runs a running batch's items not yet run: one goroutine per provider account,
// each at the account's pace, the items of one account in line order.
func (d *Desk) runBatch(ctx context.Context, b storage.Batch) error {
	items, err := d.db.BatchItemsToRun(ctx, b.ID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		if it.PublicID != "" {
			ids = append(ids, it.PublicID)
		}
	}
	payments, err := d.db.PaymentsByRefs(ctx, ids, nil)
	if err != nil {
		return err
	}
	groups := map[string][]storage.BatchItem{}
	var order []string
	for _, it := range items {
		acct := "?"
		if ps := payments[it.PublicID]; len(ps) == 1 {
			acct = string(ps[0].Provider) + "/" + providers.AccountOr(ps[0].Account)
		}
		if _, ok := groups[acct]; !ok {
			order = append(order, acct)
		}
		groups[acct] = append(groups[acct], it)
	}
	var wg sync.WaitGroup
	for _, acct := range order {
		wg.Add(1)
		go func(acct string, items []storage.BatchItem) {
			defer wg.Done()
			lim := d.batches.of(acct, d.cfg.BatchRate)
			for _, it := range items {
				if ctx.Err() != nil {
					return
				}
				var p storage.Payment
				if ps := payments[it.PublicID]; len(ps) == 1 {
					p = ps[0]
				}
				if it.RunState == storage.ItemQueued {
					if err := lim.Wait(ctx); err != nil {
						return
					}
				}
				if stop := d.runBatchItem(ctx, b, it, p); stop {
					return
				}
			}
		}(acct, groups[acct])
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	_, _, err = d.db.FinishBatch(ctx, b.ID, storage.BatchChange{By: batchActor, Then: d.batchFinishNews()}, func(done storage.Batch, progress map[string]int) storage.AuditEntry {
		return d.batchAudit(Person{Email: batchActor}, "batch_finished", fmt.Sprintf("%s finished: %s", batchWhat(done), progressWords(progress)),
			map[string]any{"progress": progress})
	})
	return err
}

// progressStates are the run states of a batch's items in the order they are told.
var progressStates = []string{storage.ItemSucceeded, storage.ItemPending, storage.ItemNeedsPayer, storage.ItemAwaitingApproval, storage.ItemUnknown, storage.ItemFailed, storage.ItemSkipped, storage.ItemQueued, storage.ItemRunning}

// progressWords says how a batch's items stand ("12 succeeded, 1 failed").
func progressWords(p map[string]int) string {
	var parts []string
	for _, s := range progressStates {
		if p[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p[s], ItemStateLabel(s)))
		}
	}
	if len(parts) == 0 {
		return "nothing ran"
	}
	return strings.Join(parts, ", ")
}

// ItemStateLabel is a batch item's run state in words.
func ItemStateLabel(s string) string {
	switch s {
	case storage.ItemQueued:
		return "queued"
	case storage.ItemRunning:
		return "sending"
	case storage.ItemSucceeded:
		return "succeeded"
	case storage.ItemPending:
		return "pending at the provider"
	case storage.ItemNeedsPayer:
		return "awaiting the payer"
	case storage.ItemAwaitingApproval:
		return "awaiting a manager"
	case storage.ItemFailed:
		return "failed"
	case storage.ItemUnknown:
		return "outcome unknown"
	case storage.ItemSkipped:
		return "skipped"
	case "":
		return "set aside"
	}
	return s
}

// runBatchItem runs one item as the batch's requester would by hand: the same checks,
// the same record before the call and after it, under the item's own idempotency key.
// An item left running by a crash is first looked up by its key: if it was recorded, it
// is never sent again — its refund or action says how it stands. It reports whether the
// batch stopped (cancelled) so the rest of the account's items need not be tried.
func (d *Desk) runBatchItem(ctx context.Context, b storage.Batch, it storage.BatchItem, p storage.Payment) (stop bool) {
	key := storage.BatchItemKey(b.PublicID, it.Line)
	if it.RunState == storage.ItemRunning && !d.claimAbandoned(it.StartedAt) {
		// Another worker claimed it and may be sending it right now (two instances while
		// the job changes hands): it finishes it; this round leaves it alone.
		return false
	}
	if it.RunState == storage.ItemRunning {
		if recorded, err := d.followBatchItem(ctx, b.ID, b.PublicID, b.Kind, it.Line, key); err != nil || recorded {
			return false
		}
		// Marked running, but nothing recorded under its key: the process stopped before
		// the request was recorded, so nothing was sent. It runs now unless the batch
		// was stopped meanwhile.
		now, err := d.db.BatchByPublicID(ctx, b.PublicID)
		if err != nil || now.State != storage.BatchRunning {
			d.finishItem(ctx, b, it, p, storage.ItemSkipped, "Not run: the batch was stopped before this item was sent.")
			return true
		}
		if d.itemWaits(ctx, b, it, p) {
			return false // back in the queue: nothing was recorded under its key
		}
	} else {
		if d.itemWaits(ctx, b, it, p) {
			return false
		}
		ok, err := d.db.MarkBatchItemRunning(ctx, b.ID, it.Line, key)
		if err != nil {
			d.log.Error("batch item", "batch", b.PublicID, "line", it.Line, "err", err)
			return false
		}
		if !ok {
			return true // cancelled meanwhile: the item was skipped
		}
	}
	if p.ID != 0 {
		// Read afresh: an earlier item of the batch may have changed it.
		fresh, err := d.db.PaymentByID(ctx, p.ID)
		if err != nil {
			d.log.Error("batch item payment", "batch", b.PublicID, "line", it.Line, "err", err)
			d.finishItem(ctx, b, it, p, storage.ItemFailed, "The payment could not be read: nothing was sent.")
			return false
		}
		p = fresh
	}
	if p.ID == 0 {
		d.finishItem(ctx, b, it, p, storage.ItemFailed, "The payment could not be found any more: nothing was sent.")
		return false
	}
	who := Person{Email: b.CreatedBy, Key: b.CreatedByKey, Roles: []Role{RoleSupport}, FreshSignIn: true, RequestID: "batch " + b.PublicID}
	if b.Kind == BatchCancel {
		_, err := d.Cancel(ctx, who, p, key)
		if err != nil && !errors.Is(err, ErrDuplicate) {
			d.finishItem(ctx, b, it, p, storage.ItemFailed, Message(err, "Paydesk could not record the cancellation: nothing was sent."))
			return false
		}
	} else if msg := d.batchRefund(ctx, who, b, it, p, key); msg != "" {
		d.finishItem(ctx, b, it, p, storage.ItemFailed, msg)
		return false
	}
	if _, err := d.followBatchItem(ctx, b.ID, b.PublicID, b.Kind, it.Line, key); err != nil {
		d.log.Error("batch item outcome", "batch", b.PublicID, "line", it.Line, "err", err)
	}
	return false
}

// itemWaits reports whether an item not yet recorded (queued, or marked running by a
// process that died before recording it) must wait for an action in flight on its
// payment: the batch's earlier item on it whose outcome is not known yet (a crash left it
// pending until the reconciler reads the provider; a provider gave no clear answer), or
// a person's. Run now it would fail as "in progress", though it may well run once that
// action ends. It stays (or goes back) queued, its outcome saying why (no audit entry:
// nothing happened), and the next round tries it again; the batch does not finish
// meanwhile.
func (d *Desk) itemWaits(ctx context.Context, b storage.Batch, it storage.BatchItem, p storage.Payment) bool {
	if p.ID == 0 {
		return false
	}
	acts, err := d.db.ActionsOfPayment(ctx, p.ID)
	if err != nil {
		d.log.Error("batch item journal", "batch", b.PublicID, "line", it.Line, "err", err)
		return false // the item's own checks decide
	}
	for _, a := range acts {
		if inFlight(a) {
			if err := d.db.FinishBatchItem(ctx, b.ID, it.Line, storage.ItemQueued, "Waits: "+inFlightReason(a), storage.AuditEntry{}); err != nil {
				d.log.Error("batch item", "batch", b.PublicID, "line", it.Line, "err", err)
			}
			return true
		}
	}
	return false
}

// claimAbandoned says whether an item marked running at claimed was left by a worker
// that is gone, as the reconciler tells an abandoned call: on SQLite (one process serves)
// when it was claimed before this process started; on PostgreSQL, where another
// instance's worker may still be at it, once ReconcileGrace has passed.
func (d *Desk) claimAbandoned(claimed time.Time) bool {
	if d.db.Engine() == storage.Postgres {
		return d.cfg.Now().Sub(claimed) >= d.cfg.ReconcileGrace
	}
	return claimed.Before(d.started.Truncate(time.Millisecond))
}

// batchRefund requests and runs an item's refund: the single refund's checks, the
// amount the batch was approved for and never more, the approval rules decided again in
// the transaction that records it (a rule that would ask a manager is satisfied by the
// batch's approval, when it has one; a blocking rule blocks). It returns why nothing was
// sent, or "" once the refund is recorded (its outcome is then read by its key).
func (d *Desk) batchRefund(ctx context.Context, who Person, b storage.Batch, it storage.BatchItem, p storage.Payment, key string) string {
	dec, err := d.Check(ctx, who, p, providers.ActionRefund, key)
	if errors.Is(err, ErrDuplicate) {
		return ""
	}
	if err != nil {
		return Message(err, "The refund could not be checked: nothing was sent.")
	}
	money := providers.FormatMoney(it.Amount, it.Currency)
	if it.Currency != p.Currency {
		return fmt.Sprintf("The payment's currency is %s, not %s as in the batch: nothing was sent.", p.Currency, it.Currency)
	}
	if it.Amount > dec.MaxRefund {
		return fmt.Sprintf("Only %s is left to refund now, less than the %s in the batch: nothing was sent (a batch never refunds other than what it was approved for).",
			providers.FormatMoney(dec.MaxRefund, p.Currency), money)
	}
	var decision storage.RefundDecision
	req := storage.RefundRequest{
		PaymentID: p.ID, Amount: it.Amount, Reason: it.Reason, Note: it.Note, RequestedBy: who.Email, RequestedByKey: who.Key,
		IdempotencyKey: key, ApprovalTTL: d.cfg.ApprovalTTL, Then: d.approvalRequestMail(p),
		Decide: func(f storage.RefundFacts) storage.RefundDecision {
			decision = d.cfg.Approval.Decide(f)
			return decision
		},
	}
	if b.DecidedBy != "" {
		req.ApprovedBy, req.ApprovedNote = b.DecidedBy, "with batch "+b.PublicID
	}
	refund, action, err := d.db.RequestRefund(ctx, req)
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		return ""
	case errors.Is(err, storage.ErrBlocked):
		d.Audit(ctx, who, "refused", p.ID, fmt.Sprintf("refund of %s on %s (batch %s) refused by the approval rule %q: %s", money, p.PublicID, b.PublicID, RuleName(decision.Rule), decision.Why),
			map[string]any{"rule": decision.Rule, "batch": b.PublicID})
		return "Refused, nothing was sent: " + DecisionSentence(decision)
	case err != nil:
		return Message(d.startRefusal(who, err), "Paydesk could not record the refund: nothing was sent.")
	}
	if refund.Status == "awaiting_approval" {
		d.Audit(ctx, who, "refund_requested", p.ID, fmt.Sprintf("refund of %s on %s (batch %s) awaits approval (rule %q: %s)", money, p.PublicID, b.PublicID, RuleName(refund.ApprovalRule), refund.ApprovalWhy),
			map[string]any{"refund_id": refund.ID, "rule": refund.ApprovalRule, "batch": b.PublicID})
		return ""
	}
	d.runRefund(ctx, who, p, *action, it.Amount)
	return ""
}

// finishItem records an item's end with its audit entry.
func (d *Desk) finishItem(ctx context.Context, b storage.Batch, it storage.BatchItem, p storage.Payment, state, outcome string) {
	d.finishItemRef(ctx, b.ID, b.PublicID, b.Kind, it.Line, p.ID, state, outcome)
}

func (d *Desk) finishItemRef(ctx context.Context, batchID int64, batchPublicID, kind string, line int, paymentID int64, state, outcome string) {
	audit := storage.AuditEntry{Actor: batchActor, Kind: "batch_item", PaymentID: paymentID,
		Message: fmt.Sprintf("batch %s line %d (%s): %s — %s", batchPublicID, line, kind, ItemStateLabel(state), outcome)}
	if b, err := json.Marshal(map[string]any{"batch": batchPublicID, "line": line, "state": state}); err == nil {
		audit.Data = b
	}
	if err := d.db.FinishBatchItem(ctx, batchID, line, state, outcome, audit); err != nil {
		d.log.Error("batch item", "batch", batchPublicID, "line", line, "err", err)
	}
}

// followBatchItem reads what an item's key became — the refund, or the cancellation's
// action — and records the item's state from it. It reports false when nothing was
// recorded under the key.
func (d *Desk) followBatchItem(ctx context.Context, batchID int64, batchPublicID, kind string, line int, key string) (bool, error) {
	var state, outcome string
	var paymentID int64
	if kind == BatchCancel {
		a, err := d.db.ActionByKey(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		paymentID, outcome = a.PaymentID, a.Message
		switch a.State {
		case "succeeded":
			state = storage.ItemSucceeded
		case "failed":
			state = storage.ItemFailed
		case "needs_payer":
			state = storage.ItemNeedsPayer
		case "unknown":
			state = storage.ItemUnknown
		default:
			state = storage.ItemPending
		}
	} else {
		r, err := d.db.RefundByKey(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		paymentID, outcome = r.PaymentID, r.Message
		switch r.Status {
		case "succeeded":
			state = storage.ItemSucceeded
		case "failed", "rejected", "expired":
			state = storage.ItemFailed
		case "awaiting_approval":
			state = storage.ItemAwaitingApproval
		case "unknown":
			state = storage.ItemUnknown
		default:
			state = storage.ItemPending
		}
		if outcome == "" {
			outcome = refundWords(r)
		}
	}
	if outcome == "" {
		outcome = ItemStateLabel(state)
	}
	if state == storage.ItemUnknown {
		outcome += " Paydesk reads the provider to learn the outcome; it never sends it again."
	}
	d.finishItemRef(ctx, batchID, batchPublicID, kind, line, paymentID, state, outcome)
	return true, nil
}

// refundWords says where a refund stands when it has no provider message.
func refundWords(r storage.Refund) string {
	money := providers.FormatMoney(r.Amount, r.Currency)
	switch r.Status {
	case "succeeded":
		return "Refunded " + money + "."
	case "awaiting_approval":
		return fmt.Sprintf("The refund of %s waits for a manager's approval (%s): a rule asked for it when it ran.", money, RuleName(r.ApprovalRule))
	case "rejected":
		return "The refund was rejected by " + r.DecidedBy + ": " + r.DecisionReason
	case "expired":
		return "Nobody decided on the refund in time: it expired."
	}
	return "The refund of " + money + " is " + r.Status + "."
}

// batchFollowPage is how many items already sent one round follows.
const batchFollowPage = 500

// followBatchItems follows the next page of items sent whose outcome may still change,
// after those the last round followed, starting over after the last one.
func (d *Desk) followBatchItems(ctx context.Context) error {
	items, err := d.db.UnsettledBatchItems(ctx, d.batches.cursor, batchFollowPage)
	if err != nil {
		return fmt.Errorf("ops: batches: %w", err)
	}
	if len(items) < batchFollowPage {
		d.batches.cursor = storage.BatchItemRef{}
	} else {
		d.batches.cursor = items[len(items)-1]
	}
	for _, it := range items {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := d.followBatchItem(ctx, it.BatchID, it.BatchPublicID, it.Kind, it.Line, it.Key); err != nil {
			d.log.Error("batch item", "batch", it.BatchPublicID, "line", it.Line, "err", err)
		}
	}
	return nil
}
