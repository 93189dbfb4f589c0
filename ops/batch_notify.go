package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"paydesk/storage"
)

// Who hears about a batch (docs/batches.md, "Who hears about it"): the managers when it
// waits for one of them, its requester when a manager decides, when it finishes and when
// someone else cancels or stops it — in the app (storage.Tx.Notify) and by e-mail (the
// outbox, per each person's preferences), both written by a storage.BatchHook in the
// transaction of the change: a change rolled back tells no one.

// batchLink is the batch's page, absolute.
func (d *Desk) batchLink(b storage.Batch) string {
	return d.cfg.BaseURL + "/batches/" + b.PublicID
}

// batchRequestNews is the hook of a batch's request: when it waits for approval, the
// managers are told (a role notification, never shown to the requester) and each
// manager who wants approval requests, but the requester, gets an e-mail saying what it
// moves and why it needs them.
func (d *Desk) batchRequestNews(who Person) storage.BatchHook {
	return func(ctx context.Context, tx *storage.Tx, b storage.Batch, now time.Time) error {
		if b.State != storage.BatchAwaitingApproval {
			return nil
		}
		text := fmt.Sprintf("%s asks to run %s (%s): a manager other than them must decide. Why: %s",
			b.CreatedBy, batchWhat(b), totalsWords(b.Totals), strings.TrimSuffix(b.ApprovalWhy, ".")+".")
		if err := tx.Notify(ctx, storage.Notification{RecipientRole: storage.NotifyManagers, ActorKey: who.Key,
			Kind: storage.NotifyBatchApprovalRequested, BatchID: b.ID, Text: text, CreatedAt: now}); err != nil {
			return err
		}
		if !d.MailEnabled() {
			return nil
		}
		managers, err := tx.Managers(ctx, storage.MailApprovalRequest)
		if err != nil {
			return err
		}
		var body strings.Builder
		fmt.Fprintf(&body, "%s asks to run batch %s: %d %s.\n\n", b.CreatedBy, b.PublicID, b.Ready, batchKindWords(b))
		fmt.Fprintf(&body, "Totals: %s.\n", totalsWords(b.Totals))
		if b.SetAside > 0 {
			fmt.Fprintf(&body, "Set aside (will not run): %d %s.\n", b.SetAside, plural(b.SetAside, "item", "items"))
		}
		fmt.Fprintf(&body, "\nIt needs a manager's approval: %s\n\n", b.ApprovalWhy)
		fmt.Fprintf(&body, "Look at its items, then approve or reject it:\n%s\n\n", d.batchLink(b))
		body.WriteString(mailFooter(d.cfg.BaseURL))
		for _, m := range managers {
			if b.IsRequester(m.Email, m.Key) || strings.EqualFold(m.Email, b.CreatedBy) {
				continue
			}
			if _, err := tx.EnqueueMail(ctx, storage.Mail{
				Kind: storage.MailApprovalRequest, To: m.Email, Ref: fmt.Sprintf("batch:%d", b.ID), CreatedAt: now,
				Subject: fmt.Sprintf("Approval needed: batch %s of %d %s (%s)", b.PublicID, b.Ready, batchKindWords(b), totalsWords(b.Totals)),
				Body:    body.String(), Key: fmt.Sprintf("approval_request/batch/%d/%s", b.ID, m.Key),
			}); err != nil {
				return err
			}
		}
		return nil
	}
}

// batchDecisionNews is the hook of a manager's (who's) decision on a batch: its
// requester hears that it was approved — and when it starts, after the undo window — or
// rejected, with the reason.
func (d *Desk) batchDecisionNews(who Person) storage.BatchHook {
	return func(ctx context.Context, tx *storage.Tx, b storage.Batch, now time.Time) error {
		var text, subject string
		var body strings.Builder
		switch b.State {
		case storage.BatchScheduled:
			start := b.StartAt.UTC().Format("2 January 2006, 15:04:05 UTC")
			text = fmt.Sprintf("Your %s was approved by %s. It starts at %s, when its undo window of %s ends, unless you or a manager cancel it.",
				batchWhat(b), who.Email, start, DurationWords(d.cfg.BatchUndo))
			subject = fmt.Sprintf("Batch %s approved: it starts at %s", b.PublicID, b.StartAt.UTC().Format("15:04 UTC"))
			fmt.Fprintf(&body, "Your batch %s of %d %s (%s) was approved by %s.\n\n", b.PublicID, b.Ready, batchKindWords(b), totalsWords(b.Totals), who.Email)
			fmt.Fprintf(&body, "It starts at %s, when its undo window of %s ends: until then you or a manager can still cancel it on its page.\n\n", start, DurationWords(d.cfg.BatchUndo))
		case storage.BatchRejected:
			text = fmt.Sprintf("Your %s was rejected by %s: %s. Nothing of it runs.", batchWhat(b), who.Email, b.DecisionReason)
			subject = fmt.Sprintf("Batch %s rejected", b.PublicID)
			fmt.Fprintf(&body, "Your batch %s of %d %s (%s) was rejected by %s.\n\nReason: %s\n\nNothing of it runs.\n\n",
				b.PublicID, b.Ready, batchKindWords(b), totalsWords(b.Totals), who.Email, b.DecisionReason)
		default:
			return nil
		}
		return d.tellRequester(ctx, tx, b, now, who.Key, storage.NotifyBatchDecided, text, subject, &body, "decision/batch")
	}
}

// batchCancelNews is the hook of a cancellation by who: the batch's requester hears who
// cancelled (or stopped, when it was running) their batch and why — unless they did it
// themselves.
func (d *Desk) batchCancelNews(who Person, was string) storage.BatchHook {
	return func(ctx context.Context, tx *storage.Tx, b storage.Batch, now time.Time) error {
		if b.State != storage.BatchCancelled || b.IsRequester(who.Email, who.Key) {
			return nil
		}
		verb, after := "cancelled", "Nothing of it was run."
		if was == storage.BatchRunning {
			verb, after = "stopped", "Items not yet started are skipped; those already sent finish as they would have."
		}
		why := "no reason given"
		if b.DecisionReason != "" {
			why = b.DecisionReason
		}
		text := fmt.Sprintf("Your %s was %s by %s while %s: %s. %s", batchWhat(b), verb, who.Email, BatchStateLabel(was), why, after)
		var body strings.Builder
		fmt.Fprintf(&body, "Your batch %s of %d %s (%s) was %s by %s while %s.\n\nReason: %s\n\n%s\n\n",
			b.PublicID, b.Ready, batchKindWords(b), totalsWords(b.Totals), verb, who.Email, BatchStateLabel(was), why, after)
		return d.tellRequester(ctx, tx, b, now, who.Key, storage.NotifyBatchCancelled, text,
			fmt.Sprintf("Batch %s %s by %s", b.PublicID, verb, who.Email), &body, "batch_cancelled")
	}
}

// batchFinishNews is the hook of a batch's end: its requester hears how many items
// succeeded, failed, are still pending…
func (d *Desk) batchFinishNews() storage.BatchHook {
	return func(ctx context.Context, tx *storage.Tx, b storage.Batch, now time.Time) error {
		if b.State != storage.BatchDone {
			return nil
		}
		progress, err := tx.BatchProgress(ctx, b.ID)
		if err != nil {
			return err
		}
		words := progressWords(progress)
		text := fmt.Sprintf("Your %s finished: %s.", batchWhat(b), words)
		var body strings.Builder
		fmt.Fprintf(&body, "Your batch %s of %d %s (%s) finished.\n\n", b.PublicID, b.Ready, batchKindWords(b), totalsWords(b.Totals))
		for _, s := range progressStates {
			if progress[s] > 0 {
				fmt.Fprintf(&body, "- %s: %d\n", ItemStateLabel(s), progress[s])
			}
		}
		if progress[storage.ItemPending]+progress[storage.ItemNeedsPayer]+progress[storage.ItemAwaitingApproval]+progress[storage.ItemUnknown] > 0 {
			body.WriteString("\nThe items still pending, awaiting someone or unknown are followed: their page shows how they end.\n")
		}
		body.WriteString("\n")
		return d.tellRequester(ctx, tx, b, now, "", storage.NotifyBatchFinished, text,
			fmt.Sprintf("Batch %s finished: %s", b.PublicID, words), &body, "batch_finished")
	}
}

// tellRequester notifies the batch's requester (kind, text) and, when e-mail is on, they
// want decisions and their name is an address, e-mails them subject and body with the
// batch's link (one message per batch and key prefix).
func (d *Desk) tellRequester(ctx context.Context, tx *storage.Tx, b storage.Batch, now time.Time, actorKey, kind, text, subject string, body *strings.Builder, keyPrefix string) error {
	if err := tx.Notify(ctx, storage.Notification{RecipientKey: b.CreatedByKey, RecipientName: b.CreatedBy, ActorKey: actorKey,
		Kind: kind, BatchID: b.ID, Text: text, CreatedAt: now}); err != nil {
		return err
	}
	if !d.MailEnabled() || !strings.Contains(b.CreatedBy, "@") {
		return nil
	}
	want, err := tx.WantsMail(ctx, b.CreatedByKey, storage.MailDecision)
	if err != nil || !want {
		return err
	}
	fmt.Fprintf(body, "The batch: %s\n\n%s", d.batchLink(b), mailFooter(d.cfg.BaseURL))
	_, err = tx.EnqueueMail(ctx, storage.Mail{Kind: storage.MailDecision, To: b.CreatedBy, Ref: fmt.Sprintf("batch:%d", b.ID),
		CreatedAt: now, Subject: subject, Body: body.String(), Key: fmt.Sprintf("%s/%d", keyPrefix, b.ID)})
	return err
}

// batchKindWords is what a batch's items are, in the plural.
func batchKindWords(b storage.Batch) string {
	if b.Kind == BatchCancel {
		return plural(b.Ready, "cancellation", "cancellations")
	}
	return plural(b.Ready, "refund", "refunds")
}
