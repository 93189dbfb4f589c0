package ops

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"paydesk/providers"
	"paydesk/storage"
)

// E-mail (docs/email.md). Every message is written to the outbox in the transaction of
// the event that causes it (storage.Tx.EnqueueMail, through the storage.TxHook each
// operation passes) and sent by RunMailer: one sender at a time per database (a
// storage.JobLeader job), claiming messages in a write transaction, with retries and
// backoff, failed after the last attempt and listed on /outbox.

// MailSender sends one message of the outbox through SMTP; cmd/paydesk wires package
// mailer's. The message's Message-ID must be made from m.Key, the same at every attempt.
type MailSender interface {
	Send(ctx context.Context, m storage.Mail) error
}

// MailConfig is how the Desk sends e-mail. With no Sender e-mail is off: no message is
// written and the pages say so.
type MailConfig struct {
	Sender MailSender
	// MaxAttempts is how many times a message is tried before it is failed (default 6).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after each next one up
	// to MaxBackoff, with ±25% jitter (defaults 30 s and 30 min).
	Backoff, MaxBackoff time.Duration
	// Lease is how long a claimed message belongs to its sender: past it, a sender that
	// crashed or hung loses it and it is sent again (default 2 min, above an SMTP timeout).
	Lease time.Duration
	// Poll is how often the sender looks for due messages (default 2 s).
	Poll time.Duration
}

// MailMetrics is what a Metrics may also count: each attempt to send a message, by
// outcome (sent, retry, failed). web's Prometheus metrics do.
type MailMetrics interface {
	MailAttempt(outcome string)
}

func (c MailConfig) withDefaults() MailConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.Backoff <= 0 {
		c.Backoff = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Minute
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	return c
}

// MailEnabled reports whether Paydesk sends e-mail (PAYDESK_SMTP_URL is set).
func (d *Desk) MailEnabled() bool { return d.cfg.Mail.Sender != nil }

// MailConfig is the e-mail configuration in force (defaults filled in).
func (d *Desk) MailConfig() MailConfig { return d.cfg.Mail }

// approvalRequestMail is the hook of a refund request: when it waits for approval, each
// manager who wants approval requests gets an e-mail naming the rule that sent it there
// and linking to the queue — in the request's transaction. The requester is never told
// of their own request, even when they are a manager.
func (d *Desk) approvalRequestMail(p storage.Payment) storage.TxHook {
	if !d.MailEnabled() {
		return nil
	}
	return func(ctx context.Context, tx *storage.Tx, r storage.Refund, now time.Time) error {
		if r.Status != "awaiting_approval" {
			return nil
		}
		managers, err := tx.Managers(ctx, storage.MailApprovalRequest)
		if err != nil {
			return err
		}
		money := providers.FormatMoney(r.Amount, r.Currency)
		rule := RuleName(r.ApprovalRule)
		why := r.ApprovalWhy
		if why == "" {
			why = "the amount needs a manager's approval"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s asks for a refund of %s on payment %s", r.RequestedBy, money, p.PublicID)
		if p.CustomerName != "" {
			fmt.Fprintf(&b, " (%s)", p.CustomerName)
		}
		fmt.Fprintf(&b, ".\n\nReason: %s", storage.RefundReasonLabel(r.Reason))
		if r.Note != "" {
			fmt.Fprintf(&b, " — %s", r.Note)
		}
		fmt.Fprintf(&b, "\n\nThe approval rule “%s” sent it to approval: %s.\n\n", rule, why)
		fmt.Fprintf(&b, "Approve or reject it before %s:\n%s/approvals\n\n", r.ApprovalExpiresAt.UTC().Format("2 January 2006, 15:04 UTC"), d.cfg.BaseURL)
		b.WriteString(mailFooter(d.cfg.BaseURL))
		for _, m := range managers {
			if isRequesterOf(r, m) {
				continue
			}
			_, err := tx.EnqueueMail(ctx, storage.Mail{
				Kind: storage.MailApprovalRequest, To: m.Email, Ref: fmt.Sprintf("refund:%d", r.ID), CreatedAt: now,
				Subject: fmt.Sprintf("Approval needed: refund of %s on %s (rule “%s”)", money, p.PublicID, rule),
				Body:    b.String(), Key: fmt.Sprintf("approval_request/refund/%d/%s", r.ID, m.Key),
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// isRequesterOf reports whether manager m asked for r: by key, or by e-mail address (the
// same person under another key never hears of their own request either).
func isRequesterOf(r storage.Refund, m storage.Person) bool {
	return (r.RequestedByKey != "" && r.RequestedByKey == m.Key) || strings.EqualFold(r.RequestedBy, m.Email)
}

// decisionMail is the hook of a decision: the requester hears that a manager (who)
// approved or rejected their request (with the reason), in the decision's transaction —
// when they want decisions and their name is an e-mail address.
func (d *Desk) decisionMail(p storage.Payment, who Person, decision, reason string) storage.TxHook {
	if !d.MailEnabled() {
		return nil
	}
	return func(ctx context.Context, tx *storage.Tx, r storage.Refund, now time.Time) error {
		if !strings.Contains(r.RequestedBy, "@") {
			return nil
		}
		want, err := tx.WantsMail(ctx, r.RequestedByKey, storage.MailDecision)
		if err != nil || !want {
			return err
		}
		money := providers.FormatMoney(r.Amount, r.Currency)
		var b strings.Builder
		fmt.Fprintf(&b, "Your refund request of %s on payment %s was %s by %s.\n\n", money, p.PublicID, decision, who.Email)
		if decision == "approved" {
			b.WriteString("Paydesk sends it to the provider now; the payment's page shows its outcome.\n\n")
		} else {
			fmt.Fprintf(&b, "Reason: %s\n\nIts amount is released.\n\n", reason)
		}
		fmt.Fprintf(&b, "The payment: %s/payments/%s\nYour requests: %s/my-refunds\n\n", d.cfg.BaseURL, p.PublicID, d.cfg.BaseURL)
		b.WriteString(mailFooter(d.cfg.BaseURL))
		_, err = tx.EnqueueMail(ctx, storage.Mail{
			Kind: storage.MailDecision, To: r.RequestedBy, Ref: fmt.Sprintf("refund:%d", r.ID), CreatedAt: now,
			Subject: fmt.Sprintf("Refund of %s on %s %s", money, p.PublicID, decision),
			Body:    b.String(), Key: fmt.Sprintf("decision/refund/%d", r.ID),
		})
		return err
	}
}

// payerConfirmedMail is the hook of a payer link confirmed: the person who made the link
// hears that the payer confirmed and the provider reports the payment cancelled — when
// they want payer-link confirmations and their name is an e-mail address.
func (d *Desk) payerConfirmedMail(p storage.Payment) storage.LinkHook {
	if !d.MailEnabled() {
		return nil
	}
	return func(ctx context.Context, tx *storage.Tx, l storage.PayerLink, now time.Time) error {
		if l.State != "confirmed" || !strings.Contains(l.CreatedBy, "@") {
			return nil
		}
		want, err := tx.WantsMailAt(ctx, l.CreatedBy, storage.MailPayerConfirmed)
		if err != nil || !want {
			return err
		}
		money := providers.FormatMoney(p.Amount, p.Currency)
		body := fmt.Sprintf("The payer confirmed the cancellation of payment %s (%s%s) through the payer link you made.\n\n%s\n\nThe payment: %s/payments/%s\n\n%s",
			p.PublicID, money, customerSuffix(p), l.Outcome, d.cfg.BaseURL, p.PublicID, mailFooter(d.cfg.BaseURL))
		_, err = tx.EnqueueMail(ctx, storage.Mail{Kind: storage.MailPayerConfirmed, To: l.CreatedBy, CreatedAt: now,
			Subject: fmt.Sprintf("The payer confirmed: %s cancelled", p.PublicID), Body: body,
			Ref: fmt.Sprintf("payer_link:%d", l.ID), Key: fmt.Sprintf("payer_confirmed/%d", l.ID)})
		return err
	}
}

func customerSuffix(p storage.Payment) string {
	if p.CustomerName == "" {
		return ""
	}
	return ", " + p.CustomerName
}

func mailFooter(base string) string {
	return "— Paydesk. Choose which e-mails you get on " + base + "/settings"
}

// PayerMailArgs is a payer link e-mailed from the payment page.
type PayerMailArgs struct {
	LinkID int64
	To     string `validate:"required,email,max=254"`
	Text   string `validate:"required,max=5000"`
}

// EmailPayerLink e-mails a payer link to the payer: the message as staff edited it, to
// the address they chose. The link's record, the timeline entry ("Payer link e-mailed to
// x by y") and the message are written in one transaction; the background sender sends
// it. Each sending is a message of its own (sending again is deliberate). It refuses with
// ErrNotAllowed a
// role that cannot make links or e-mail that is off, with ErrInvalid a bad address or
// text (nothing recorded), with ErrConflict a link no longer live.
func (d *Desk) EmailPayerLink(ctx context.Context, who Person, p storage.Payment, args PayerMailArgs) (Result, error) {
	if !who.mayAct() {
		return Result{}, refuse(ErrNotAllowed, "Your role cannot send payer links; support staff and managers can.")
	}
	if !d.MailEnabled() {
		return Result{}, refuse(ErrNotAllowed, "E-mail is off on this Paydesk (PAYDESK_SMTP_URL is not set): copy the message instead.")
	}
	args.To, args.Text = strings.TrimSpace(args.To), strings.TrimSpace(args.Text)
	if msg := payerMailProblem(args); msg != "" {
		return Result{}, refuse(ErrInvalid, msg+" Nothing was sent.")
	}
	l, err := d.db.PayerLinkByID(ctx, args.LinkID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && l.PaymentID != p.ID) {
		return Result{}, refuse(ErrNotFound, "There is no such payer link on this payment.")
	}
	if err != nil {
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "Paydesk could not read the link; nothing was sent. Try again."}
	}
	now := d.cfg.Now()
	stamp := now.UnixNano()
	subject := "Please confirm the cancellation of your payment " + p.PublicID
	mail := storage.Mail{Kind: storage.MailPayerLink, To: args.To, Subject: subject, Body: args.Text,
		Ref: fmt.Sprintf("payer_link:%d", l.ID), Key: fmt.Sprintf("payer_link/%d/%d", l.ID, stamp)}
	if _, err := d.db.EmailPayerLink(ctx, l.ID, args.To, who.Email, mail); errors.Is(err, storage.ErrConflict) {
		return Result{}, refuse(ErrConflict, "This link no longer works (it was replaced, confirmed or expired); nothing was sent.")
	} else if err != nil {
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "Paydesk could not record the e-mail; nothing was sent. Try again."}
	}
	d.Audit(ctx, who, "payer_link", p.ID, fmt.Sprintf("payer link %d of %s e-mailed to %s", l.ID, p.PublicID, args.To), map[string]any{"link_id": l.ID})
	return Result{Tone: "success", Message: fmt.Sprintf("The payer link is on its way to %s.", args.To)}, nil
}

// payerMailProblem says what is wrong with a payer e-mail, in words ("" when nothing).
func payerMailProblem(a PayerMailArgs) string {
	if strings.ContainsAny(a.To, "\r\n<>,;\"") {
		return fmt.Sprintf("%q is not one e-mail address.", a.To)
	}
	var fields validator.ValidationErrors
	errors.As(validate.Struct(a), &fields)
	for _, fe := range fields {
		switch {
		case fe.Field() == "To" && fe.Tag() == "required":
			return "Type the payer's e-mail address."
		case fe.Field() == "To":
			return fmt.Sprintf("%q is not an e-mail address.", a.To)
		case fe.Field() == "Text" && fe.Tag() == "required":
			return "The message is empty."
		case fe.Field() == "Text":
			return "The message is too long (5,000 characters at most)."
		}
	}
	if !utf8.ValidString(a.Text) {
		return "The message is not valid text."
	}
	return ""
}

// RetryMail puts a failed message back in the queue (managers, from /outbox; audited).
func (d *Desk) RetryMail(ctx context.Context, who Person, id int64) (Result, error) {
	if !who.Has(RoleManager) {
		return Result{}, refuse(ErrNotAllowed, "Your role cannot retry e-mails; managers can.")
	}
	m, err := d.db.RetryMail(ctx, id, d.cfg.Now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Result{}, refuse(ErrNotFound, "There is no such message.")
	case errors.Is(err, storage.ErrConflict):
		return Result{}, refuse(ErrConflict, "This message is not failed: it is queued, being sent or sent already.")
	case err != nil:
		return Result{}, &Refusal{Reason: ErrUnavailable, Cause: err, Message: "Paydesk could not queue the message again. Try again."}
	}
	d.Audit(ctx, who, "mail_retry", 0, fmt.Sprintf("e-mail %d (%s to %s) queued again after it failed", m.ID, m.Kind, m.To), map[string]any{"mail_id": m.ID})
	return Result{Tone: "success", Message: fmt.Sprintf("The message to %s is queued again; it is sent within seconds.", m.To)}, nil
}

// RunMailer sends the outbox until ctx ends: every Poll, the due messages are claimed
// and sent one by one. Run it as a storage.JobLeader job ("mailer"): one instance sends.
func (d *Desk) RunMailer(ctx context.Context) {
	if !d.MailEnabled() {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(d.cfg.Mail.Poll)
	defer t.Stop()
	for {
		for d.SendDueMail(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mailBatch is how many messages one claim takes.
const mailBatch = 20

// SendDueMail claims the messages due now and sends them, and returns how many it
// claimed. Each is marked sending (claimed) before the SMTP call and sent after the
// server accepted it: a crash in between sends it again once the claim runs out, with
// the same Message-ID (docs/email.md: at-least-once at that one point).
func (d *Desk) SendDueMail(ctx context.Context) int {
	mc := d.cfg.Mail
	due, err := d.db.ClaimMail(ctx, d.cfg.Now(), mc.Lease, mailBatch)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("mailer: claim", "err", err)
		}
		return 0
	}
	for _, m := range due {
		d.hook("mail_before_send")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mc.Lease/2)
		err := mc.Sender.Send(sctx, m)
		cancel()
		if err == nil {
			d.hook("mail_after_send")
			if err := d.db.MarkMailSent(context.WithoutCancel(ctx), m.ID, m.Attempts, d.cfg.Now()); err != nil {
				d.log.Error("mailer: mark sent", "mail_id", m.ID, "err", err)
			}
			d.mailMetric("sent")
			continue
		}
		retry := time.Time{}
		outcome := "failed"
		if m.Attempts < mc.MaxAttempts {
			retry, outcome = d.cfg.Now().Add(mailBackoff(mc, m.Attempts)), "retry"
		}
		d.log.Warn("mailer: send", "mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts, "outcome", outcome, "err", err)
		if err := d.db.MarkMailFailed(context.WithoutCancel(ctx), m.ID, m.Attempts, err.Error(), retry); err != nil {
			d.log.Error("mailer: mark failed", "mail_id", m.ID, "err", err)
		}
		d.mailMetric(outcome)
	}
	return len(due)
}

func (d *Desk) mailMetric(outcome string) {
	if mm, ok := d.metrics.(MailMetrics); ok {
		mm.MailAttempt(outcome)
	}
}

// mailBackoff is the wait after the attempt-th failed attempt: Backoff doubled each time,
// at most MaxBackoff, with ±25% jitter so that messages failed together spread out.
func mailBackoff(mc MailConfig, attempt int) time.Duration {
	wait := mc.Backoff
	for i := 1; i < attempt && wait < mc.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, mc.MaxBackoff)
	jitter := time.Duration(rand.Int64N(int64(wait)/2+1)) - wait/4
	return wait + jitter
}
