package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"paydesk/providers"
	"paydesk/storage"
)

// DefaultBatchMaxItems is the most items a batch holds unless configured otherwise.
const DefaultBatchMaxItems = 10000

// The kinds of batch.
const (
	BatchRefund = "refund"
	BatchCancel = "cancel"
)

// BatchRest is the amount that asks for all that is left to refund.
const BatchRest = "rest"

// BatchInput is one item of a batch as people gave it: a CSV line or a row picked on the
// payments list.
type BatchInput struct {
	// Line is the CSV line (or the position in the selection), for messages.
	Line int
	// Payment is a Paydesk id ("pd_…") or a provider's payment, session or order id.
	Payment string
	// Amount is in major units as people write it, or "rest" (refunds only).
	Amount string
	// Reason is a refund reason's code; Note the free note ("other" needs one).
	Reason, Note string
}

// BatchOrigin says where a batch's items came from: "csv" or "list", with the list's
// filter query for the latter, or "retry" with the batch whose items it tries again
// (RetryBatch makes those).
type BatchOrigin struct {
	Source string
	Query  string
	// RetryOf is the retried batch's public id (Source "retry").
	RetryOf string
}

// BatchMaxItems is the configured batch size limit.
func (d *Desk) BatchMaxItems() int { return d.cfg.BatchMaxItems }

// MayCreateBatches says whether who may make batches (support, managers).
func MayCreateBatches(who Person) bool { return who.mayAct() }

// PreviewBatch is a batch's dry run: for each item, what a person's single refund (or
// cancellation) would meet now — the payment found, the provider's eligibility, an
// action in flight, the refundable balance less the batch's earlier items on the same
// payment, the approval rule that would apply, the batch's money cap — and whether it
// would run or is set aside, and why. Nothing is sent anywhere: the batch is recorded as
// a draft, with its items and an audit entry, in one transaction. Items that cannot run
// are kept, set aside with their reason, never dropped.
//
// It refuses a person who cannot act (ErrNotAllowed), an unknown kind, an empty batch or
// one over the size limit (ErrInvalid).
func (d *Desk) PreviewBatch(ctx context.Context, who Person, kind string, items []BatchInput, origin BatchOrigin) (storage.Batch, error) {
	if !who.mayAct() {
		d.Audit(ctx, who, "refused", 0, "batch preview refused: the role cannot refund or cancel payments", nil)
		return storage.Batch{}, refuse(ErrNotAllowed, "Your role cannot make batches; support staff and managers can.")
	}
	if kind != BatchRefund && kind != BatchCancel {
		return storage.Batch{}, refuse(ErrInvalid, "Choose refunds or cancellations.")
	}
	var retried storage.Batch
	switch origin.Source {
	case "csv", "list":
	case "retry":
		var err error
		if retried, err = d.db.BatchByPublicID(ctx, origin.RetryOf); err != nil {
			return storage.Batch{}, &Refusal{Reason: ErrNotFound, Message: "There is no such batch to retry.", Cause: err}
		}
	default:
		return storage.Batch{}, refuse(ErrInvalid, "A batch comes from a CSV file or the payments list.")
	}
	switch {
	case len(items) == 0:
		return storage.Batch{}, refuse(ErrInvalid, "The batch has no items: nothing was saved.")
	case len(items) > d.cfg.BatchMaxItems:
		return storage.Batch{}, refuse(ErrInvalid, fmt.Sprintf("A batch holds at most %d items and this one has %d: nothing was saved. Split it into smaller batches.", d.cfg.BatchMaxItems, len(items)))
	}
	judged, err := d.judgeBatch(ctx, who, kind, items)
	if err != nil {
		return storage.Batch{}, err
	}
	b := storage.Batch{Kind: kind, Source: origin.Source, Query: origin.Query, CreatedBy: who.Email, CreatedByKey: who.Key, RetryOf: retried.ID}
	ready := 0
	detail := make([]map[string]any, 0, len(judged))
	for _, it := range judged {
		if it.Verdict == storage.BatchReady {
			ready++
		}
		m := map[string]any{"line": it.Line, "payment": it.Input, "verdict": it.Verdict}
		if it.Amount != 0 {
			m["amount"], m["currency"] = it.Amount, it.Currency
		}
		if it.Why != "" {
			m["why"] = it.Why
		}
		if it.ApprovalRule != "" {
			m["rule"] = it.ApprovalRule
		}
		detail = append(detail, m)
	}
	words := map[string]string{BatchRefund: "refunds", BatchCancel: "cancellations"}[kind]
	from := map[string]string{"csv": "from the CSV file", "list": "from the payments list", "retry": "retrying the failed or skipped items of " + retried.PublicID}[origin.Source]
	data := map[string]any{"kind": kind, "source": origin.Source, "query": origin.Query, "items": detail}
	if retried.ID != 0 {
		data["retry_of"] = retried.PublicID
	}
	audit := storage.AuditEntry{
		Actor: who.Email, Remote: who.Remote, Kind: "batch_previewed",
		Message: fmt.Sprintf("draft batch {batch} of %d %s %s: %d would run, %d set aside; nothing was run", len(judged), words, from, ready, len(judged)-ready),
		Data:    mustJSON(data),
	}
	if audit.Actor == "" {
		audit.Actor = "anonymous"
	}
	b, err = d.db.CreateBatch(ctx, b, judged, audit)
	if errors.Is(err, storage.ErrConflict) && retried.ID != 0 {
		return storage.Batch{}, &Refusal{Reason: ErrConflict, Message: "This batch was retried meanwhile: nothing was saved. Its page links to the retry.", Cause: err}
	}
	if err != nil {
		return storage.Batch{}, &Refusal{Reason: ErrUnavailable, Message: "The batch could not be saved; nothing was recorded. Try again in a moment.", Cause: err}
	}
	return b, nil
}

// judgeBatch decides every item, reading in bulk: the payments by their ids, then their
// balances and open actions, a chunk of ids per query.
func (d *Desk) judgeBatch(ctx context.Context, who Person, kind string, items []BatchInput) ([]storage.BatchItem, error) {
	refs := make([]string, len(items))
	for i, in := range items {
		refs[i] = strings.TrimSpace(in.Payment)
	}
	found, err := d.db.PaymentsByRefs(ctx, refs, d.accountRefs())
	if err != nil {
		return nil, fmt.Errorf("ops: batch: find payments: %w", err)
	}
	var ids []int64
	for _, ps := range found {
		if len(ps) == 1 {
			ids = append(ids, ps[0].ID)
		}
	}
	facts, err := d.db.PaymentFactsOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("ops: batch: %w", err)
	}
	j := batchJudge{d: d, who: who, kind: kind, facts: facts,
		used: map[int64]int64{}, firstLine: map[int64]int{}, totals: map[string]int64{},
		byPerson: map[string]int64{}, personRead: map[string]bool{}}
	out := make([]storage.BatchItem, len(items))
	for i, in := range items {
		it := storage.BatchItem{Line: in.Line, Input: refs[i], Reason: strings.TrimSpace(in.Reason), Note: strings.TrimSpace(in.Note)}
		ps := found[refs[i]]
		switch {
		case refs[i] == "":
			it.Verdict, it.Why = storage.BatchSetAside, "No payment is given."
		case len(ps) == 0:
			it.Verdict, it.Why = storage.BatchSetAside, "No payment has this id."
		case len(ps) > 1:
			it.Verdict, it.Why = storage.BatchSetAside, fmt.Sprintf("This id names %d payments (in different provider accounts): use the Paydesk id (pd_…).", len(ps))
		default:
			if err := j.judge(ctx, ps[0], in, &it); err != nil {
				return nil, err
			}
		}
		out[i] = it
	}
	return out, nil
}

// batchJudge holds what one dry run adds up as it goes: the money the batch's earlier
// items take from each payment, their totals per currency and the requester's refunds.
type batchJudge struct {
	d          *Desk
	who        Person
	kind       string
	facts      map[int64]storage.PaymentFacts
	used       map[int64]int64 // payment → refunded by earlier items
	firstLine  map[int64]int   // payment → its first item's line
	totals     map[string]int64
	byPerson   map[string]int64 // currency → the requester's refunds, the batch's included
	personRead map[string]bool
}

// judge decides one item on its one payment p.
func (j *batchJudge) judge(ctx context.Context, p storage.Payment, in BatchInput, it *storage.BatchItem) error {
	it.PaymentID, it.PublicID, it.Currency = p.ID, p.PublicID, p.Currency
	aside := func(why string) { it.Verdict, it.Why = storage.BatchSetAside, why }
	f := j.facts[p.ID]
	elig := providers.Eligible(p.Snapshot)
	earlier, seen := j.firstLine[p.ID]
	if !seen {
		j.firstLine[p.ID] = in.Line
	}
	if j.kind == BatchCancel {
		it.Amount = p.Amount
		switch {
		case seen:
			aside(fmt.Sprintf("This payment is already in the batch on line %d.", earlier))
		case !elig.Cancel.Allowed:
			aside(elig.Cancel.Reason)
		case f.OpenKind != "":
			aside(inFlightReason(storage.Action{Kind: f.OpenKind, State: f.OpenState}))
		default:
			j.ready(it)
		}
		return nil
	}
	switch {
	case !elig.Refund.Allowed:
		aside(elig.Refund.Reason)
		return nil
	case f.OpenKind != "":
		aside(inFlightReason(storage.Action{Kind: f.OpenKind, State: f.OpenState}))
		return nil
	}
	left := min(elig.Refund.MaxRefund, f.Balance.Refundable) - j.used[p.ID]
	if left <= 0 {
		if seen {
			aside(fmt.Sprintf("Nothing is left to refund once the batch's earlier items on this payment (from line %d) are counted.", earlier))
		} else {
			aside("Nothing is left to refund: the rest is already refunded, in flight or awaiting approval.")
		}
		return nil
	}
	typed := strings.TrimSpace(in.Amount)
	if strings.EqualFold(typed, BatchRest) {
		it.Amount = left
	} else {
		// The amount is read against the whole balance (as the refund form reads it), then
		// checked against what the batch's earlier items leave.
		amount, err := ParseRefundAmount(typed, p.Currency, left+j.used[p.ID])
		if err != nil {
			aside("The amount: " + AmountMessage(err, p.Currency))
			return nil
		}
		it.Amount = amount
		switch {
		case amount <= 0:
			aside("The amount must be more than zero.")
			return nil
		case amount > left && seen:
			aside(fmt.Sprintf("At most %s can be refunded once the batch's earlier items on this payment (from line %d) are counted.", providers.FormatMoney(left, p.Currency), earlier))
			return nil
		case amount > left:
			aside(fmt.Sprintf("At most %s can be refunded.", providers.FormatMoney(left, p.Currency)))
			return nil
		}
	}
	if !storage.ValidRefundReason(it.Reason) {
		aside("Choose one of the refund reasons.")
		return nil
	}
	if it.Reason == "other" && it.Note == "" {
		aside("Explain the reason in a note when the reason is \"other\".")
		return nil
	}
	// The approval rules, on the facts a single request would meet, the batch's earlier
	// items counted as if already requested.
	if !j.personRead[p.Currency] {
		sum, err := j.d.db.PersonRefunds(ctx, storage.Requester{Key: j.who.Key, Email: j.who.Email}, p.Currency)
		if err != nil {
			return fmt.Errorf("ops: batch: %w", err)
		}
		j.byPerson[p.Currency] += sum
		j.personRead[p.Currency] = true
	}
	b := f.Balance
	dec := j.d.cfg.Approval.Decide(storage.RefundFacts{
		PaymentID: p.ID, Amount: it.Amount, Currency: p.Currency, Reason: it.Reason, RequestedBy: j.who.Email,
		PaymentCreatedAt: p.CreatedAt, Now: j.d.cfg.Now(),
		OnPayment: b.Succeeded + b.InFlight + b.Reserved + j.used[p.ID],
		ByPerson:  j.byPerson[p.Currency],
	})
	switch dec.Effect {
	case storage.DecisionBlock:
		it.ApprovalRule = dec.Rule
		aside(fmt.Sprintf("Refused by the approval rule %q: %s.", RuleName(dec.Rule), dec.Why))
		return nil
	case storage.DecisionApproval:
		it.ApprovalRule = dec.Rule
		it.Why = fmt.Sprintf("Would wait for a manager's approval (rule %q: %s).", RuleName(dec.Rule), dec.Why)
	}
	if !j.ready(it) {
		return nil
	}
	j.used[p.ID] += it.Amount
	j.byPerson[p.Currency] += it.Amount
	return nil
}

// ready marks an item as one that would run, unless it would take the batch over its
// currency's cap; it reports whether it did.
func (j *batchJudge) ready(it *storage.BatchItem) bool {
	if limit, ok := j.d.cfg.BatchCaps[it.Currency]; ok && j.totals[it.Currency]+it.Amount > limit {
		it.Verdict = storage.BatchSetAside
		it.Why = fmt.Sprintf("It would take the batch over its cap of %s in %s (%s already in it).",
			providers.FormatMoney(limit, it.Currency), it.Currency, providers.FormatMoney(j.totals[it.Currency], it.Currency))
		return false
	}
	j.totals[it.Currency] += it.Amount
	it.Verdict = storage.BatchReady
	return true
}

// accountRefs are the provider accounts a provider's id is looked up in: each configured
// account, and every provider's default account.
func (d *Desk) accountRefs() []storage.AccountRef {
	seen := map[storage.AccountRef]bool{}
	var out []storage.AccountRef
	add := func(r storage.AccountRef) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, n := range providers.Names {
		add(storage.AccountRef{Provider: n, Account: providers.DefaultAccount})
		for _, a := range d.accounts[n] {
			add(storage.AccountRef{Provider: n, Account: a.Name})
		}
	}
	return out
}

// Batches lists the newest draft batches for people who view payments.
func (d *Desk) Batches(ctx context.Context, who Person, limit int) ([]storage.Batch, error) {
	if !who.mayView() {
		return nil, refuse(ErrNotAllowed, "Your role cannot see batches.")
	}
	return d.db.ListBatches(ctx, limit)
}

// Batch returns one batch and its items for people who view payments (ErrNotFound).
func (d *Desk) Batch(ctx context.Context, who Person, publicID string) (storage.Batch, []storage.BatchItem, error) {
	if !who.mayView() {
		return storage.Batch{}, nil, refuse(ErrNotAllowed, "Your role cannot see batches.")
	}
	b, err := d.db.BatchByPublicID(ctx, publicID)
	if err != nil {
		return b, nil, &Refusal{Reason: ErrNotFound, Message: "There is no such batch.", Cause: err}
	}
	items, err := d.db.BatchItems(ctx, b.ID)
	if err != nil {
		return b, nil, fmt.Errorf("ops: batch items: %w", err)
	}
	return b, items, nil
}

// mustJSON encodes v for an audit entry's detail (nil when it cannot be encoded).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
