package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"paydesk/providers"
	"paydesk/storage"
)

// The verdicts a webhook is recorded, counted and answered with (docs/providers.md).
const (
	// VerdictApplied: what the provider says is stored (perhaps nothing changed).
	VerdictApplied = "applied"
	// VerdictDuplicate: the same webhook was received before.
	VerdictDuplicate = "duplicate"
	// VerdictStale: older than the state Paydesk holds (it arrived out of order).
	VerdictStale = "stale"
	// VerdictUnknownPayment: about something Paydesk does not hold and cannot create.
	VerdictUnknownPayment = "unknown_payment"
	// VerdictBadSignature: not verified (a wrong or missing signature, or no way to
	// verify it).
	VerdictBadSignature = "bad_signature"
	// VerdictMalformed: verified, but not what the provider sends.
	VerdictMalformed = "malformed"
	// VerdictRetryLater: nothing decided and nothing recorded; the provider sends it again.
	VerdictRetryLater = "retry_later"
	// VerdictRateLimited: refused (not verified, or too large) from a source past its
	// budget of refusals: answered 429 and not recorded (webhook_limit.go).
	VerdictRateLimited = "rate_limited"
	// VerdictTooLarge: refused unread, its body above the size limit; not recorded.
	VerdictTooLarge = "too_large"
)

// WebhookKind sorts a webhook's verdict by what the sender must be told; web maps each
// kind to an HTTP status.
type WebhookKind int

const (
	// WebhookTaken: decided and recorded (applied, duplicate, stale, unknown payment,
	// conflict).
	WebhookTaken WebhookKind = iota
	// WebhookBadSignature: refused, not verified; recorded.
	WebhookBadSignature
	// WebhookNotConfigured: refused because Paydesk cannot verify this provider's
	// webhooks yet; recorded. The provider should send it again once it can.
	WebhookNotConfigured
	// WebhookMalformed: verified but unreadable; recorded.
	WebhookMalformed
	// WebhookRetry: nothing decided (the provider or the database could not be read);
	// nothing recorded. The provider should send it again.
	WebhookRetry
	// WebhookNotRecorded: decided, but the webhook could not be recorded. The provider
	// should send it again.
	WebhookNotRecorded
	// WebhookLimited: refused, from a source past its budget of refusals; nothing
	// recorded. The sender may try again after RetryAfter.
	WebhookLimited
	// WebhookTooLarge: refused unread, too large; nothing recorded.
	WebhookTooLarge
)

// WebhookResult says what became of one webhook.
type WebhookResult struct {
	// Verdict is what the webhook was recorded and counted with (VerdictRetryLater when
	// nothing was decided).
	Verdict string
	// Detail says why, in plain words (recorded with the webhook).
	Detail string
	// Kind is what the sender must be told.
	Kind WebhookKind
	// Type and Ref are the event's type and the provider's id it is about ("" when it
	// was not decoded), for the log.
	Type, Ref string
	// Payment is the public id of the payment it concerned ("" when none).
	Payment string
	// RetryAfter is how long a WebhookLimited sender should wait.
	RetryAfter time.Duration
}

// webhookLocks holds one mutex per provider: one webhook at a time per provider.
type webhookLocks struct{ m sync.Map }

// lock takes the provider's mutex and returns its unlock.
func (l *webhookLocks) lock(n providers.Name) func() {
	mu, _ := l.m.LoadOrStore(n, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// notConfigured is the receiver of a provider or account whose webhooks Paydesk cannot
// verify.
type notConfigured struct {
	provider providers.Name
	account  string // the account named in the URL, "" for /webhooks/{provider}
}

func (notConfigured) Headers() []string { return nil }

func (n notConfigured) Verify(http.Header, []byte) error {
	if n.account != "" {
		return fmt.Errorf("%w: %s account %q is not configured in this Paydesk", providers.ErrWebhookNotConfigured, n.provider.Label(), n.account)
	}
	return fmt.Errorf("%w: %s webhooks are not configured in this Paydesk", providers.ErrWebhookNotConfigured, n.provider.Label())
}

func (notConfigured) Decode(http.Header, []byte) (providers.WebhookEvent, error) {
	return providers.WebhookEvent{}, providers.ErrWebhookNotConfigured
}

// receiver is the webhook receiver of a provider's account (account "" is the default
// account, /webhooks/{provider}) and that account; without one every webhook is refused
// as not configured.
func (d *Desk) receiver(n providers.Name, account string) (providers.WebhookReceiver, *Account) {
	a := d.account(n, account)
	if account == "" && a != nil && d.defaultAccount(n) != a {
		a = nil
	}
	if a != nil && a.Webhooks != nil {
		return a.Webhooks, a
	}
	return notConfigured{n, account}, nil
}

// AccountWebhookHeaders are the request headers one account's receiver reads and wants
// kept with the raw webhook (none of them secret); account "" is the provider's default.
func (d *Desk) AccountWebhookHeaders(n providers.Name, account string) []string {
	r, _ := d.receiver(n, account)
	return r.Headers()
}

// ReceiveWebhook applies one webhook of a provider, header holding the request headers
// kept with it: verify and decode (the provider's receiver), then — one webhook at a
// time per provider — find the stored payment, recognise duplicates, build what the
// provider says and store it, refusing an older state than the one stored, and settle
// what the news settles (payer links, unknown actions). Every decided webhook is recorded
// with its verdict — an accepted one whole, a refused one as its hash, size, headers and
// excerpt (storage.WebhookRefused); one about a known payment also leaves a line on its
// timeline. Its refusals are not limited: web calls ReceiveWebhookFrom.
func (d *Desk) ReceiveWebhook(ctx context.Context, n providers.Name, header http.Header, body []byte) WebhookResult {
	return d.ReceiveWebhookFrom(ctx, n, "", header, body)
}

// ReceiveWebhookFrom is ReceiveWebhook for a webhook sent from source (WebhookSource): a
// webhook that fails verification spends one of the source's refusals, and once they are
// spent it is answered WebhookLimited and not recorded. A verified webhook is never
// limited and spends nothing. An empty source is not limited.
func (d *Desk) ReceiveWebhookFrom(ctx context.Context, n providers.Name, source string, header http.Header, body []byte) WebhookResult {
	return d.ReceiveAccountWebhookFrom(ctx, n, "", source, header, body)
}

// ReceiveAccountWebhookFrom is ReceiveWebhookFrom for one account of the provider
// (/webhooks/{provider}/{account}; "" is the default account): the webhook is verified
// with that account's secret only, and applies to that account's payments only.
func (d *Desk) ReceiveAccountWebhookFrom(ctx context.Context, n providers.Name, account, source string, header http.Header, body []byte) WebhookResult {
	rec := storage.WebhookEvent{Provider: string(n), Body: body, Headers: headersJSON(header)}
	res := d.applyWebhook(ctx, n, account, header, body, &rec)
	if res.Kind == WebhookBadSignature || res.Kind == WebhookNotConfigured {
		if limited, ok := d.limitRefusal(ctx, n, source); !ok {
			return limited
		}
	}
	if res.Verdict != "" {
		rec.Verdict, rec.Detail = res.Verdict, res.Detail
		if _, err := d.db.RecordWebhook(ctx, rec); err != nil {
			d.log.Error("record webhook", "provider", n, "err", err)
			res.Kind, res.Detail = WebhookNotRecorded, "the webhook could not be recorded: "+err.Error()
			return res
		}
	} else {
		res.Verdict = VerdictRetryLater
	}
	d.metrics.Webhook(n, res.Verdict)
	return res
}

// WebhookTooLarge refuses, unread, a webhook whose body is above the size limit: nothing
// is recorded, and it spends one of the source's refusals (WebhookLimited once they are
// spent).
func (d *Desk) WebhookTooLarge(ctx context.Context, n providers.Name, source string) WebhookResult {
	if limited, ok := d.limitRefusal(ctx, n, source); !ok {
		return limited
	}
	d.metrics.Webhook(n, VerdictTooLarge)
	return WebhookResult{Verdict: VerdictTooLarge, Kind: WebhookTooLarge, Detail: "the body is too large to read"}
}

// limitRefusal spends one refusal of source's budget. When none is left it counts the
// webhook as rate limited and returns what to answer, and false.
func (d *Desk) limitRefusal(ctx context.Context, n providers.Name, source string) (WebhookResult, bool) {
	if source == "" {
		return WebhookResult{}, true
	}
	wait := d.refusalLimiter().refuse(ctx, source, string(n), d.cfg.Now())
	if wait == 0 {
		return WebhookResult{}, true
	}
	d.metrics.Webhook(n, VerdictRateLimited)
	return WebhookResult{Verdict: VerdictRateLimited, Kind: WebhookLimited, RetryAfter: wait,
		Detail: "too many refused webhooks from this address; nothing recorded"}, false
}

// applyWebhook decides a webhook's verdict and applies it, filling rec's event and
// payment. A verdict of "" means nothing was decided and nothing is recorded.
func (d *Desk) applyWebhook(ctx context.Context, n providers.Name, account string, header http.Header, body []byte, rec *storage.WebhookEvent) WebhookResult {
	recv, acct := d.receiver(n, account)
	if err := recv.Verify(header, body); err != nil {
		kind := WebhookBadSignature
		if errors.Is(err, providers.ErrWebhookNotConfigured) {
			kind = WebhookNotConfigured
		}
		return WebhookResult{Verdict: VerdictBadSignature, Detail: err.Error(), Kind: kind}
	}
	ev, err := recv.Decode(header, body)
	if err != nil {
		return WebhookResult{Verdict: VerdictMalformed, Detail: err.Error(), Kind: WebhookMalformed, Type: ev.Type, Ref: ev.Ref}
	}
	// Two accounts may number their events alike: another account's event is not a
	// duplicate. The default account's keys stay as they were before accounts existed.
	if ev.Key != "" && acct.Name != providers.DefaultAccount {
		ev.Key = acct.Name + "/" + ev.Key
	}
	rec.EventKey, rec.EventType = ev.Key, ev.Type
	answer := func(verdict string, kind WebhookKind, detail string, p *storage.Payment) WebhookResult {
		r := WebhookResult{Verdict: verdict, Detail: detail, Kind: kind, Type: ev.Type, Ref: ev.Ref}
		if p != nil {
			r.Payment = p.PublicID
		}
		return r
	}

	// One at a time per provider: a duplicate arriving while its twin is applied is still
	// a duplicate, and two events about one payment merge one after the other.
	defer d.hooks.lock(n)()

	var stored *storage.Payment
	p, err := d.webhookPayment(ctx, acct, ev)
	switch {
	case err == nil:
		stored = &p
		rec.PaymentID = p.ID
	case !errors.Is(err, storage.ErrNotFound):
		d.log.Error("webhook: find payment", "provider", n, "ref", ev.Ref, "err", err)
		return answer("", WebhookRetry, "payment lookup failed", nil)
	}
	label := n.Label() + " webhook " + ev.Type
	seen, err := d.db.WebhookSeen(ctx, string(n), ev.Key)
	if err != nil {
		d.log.Error("webhook: seen", "provider", n, "err", err)
		return answer("", WebhookRetry, "dedupe lookup failed", nil)
	}
	if seen {
		d.webhookTimeline(ctx, stored, label+" received again: a duplicate of one already received (applied, or recorded as a conflict); nothing changed")
		return answer(VerdictDuplicate, WebhookTaken, "the same webhook was received before", stored)
	}
	var storedSnap *providers.Snapshot
	if stored != nil {
		storedSnap = &stored.Snapshot
	}
	snap, err := ev.Snapshot(ctx, storedSnap)
	switch {
	case errors.Is(err, providers.ErrUnknownPayment):
		d.webhookTimeline(ctx, stored, label+" received about something Paydesk does not hold; nothing changed")
		return answer(VerdictUnknownPayment, WebhookTaken, err.Error(), stored)
	case errors.Is(err, providers.ErrWebhookNotConfigured):
		return answer("", WebhookRetry, err.Error(), stored)
	case errors.Is(err, providers.ErrProviderUnavailable):
		d.webhookTimeline(ctx, stored, label+" received, but "+n.Label()+" could not be read to follow it; it will be sent again")
		return answer("", WebhookRetry, err.Error(), stored)
	case err != nil:
		return answer(VerdictMalformed, WebhookMalformed, err.Error(), stored)
	}
	// The payment belongs to the account the webhook came to (where it was found, for a
	// payment stored before accounts existed).
	snap.Account = acct.Name
	if stored != nil {
		snap.Account = stored.Account
	}
	after, change, err := d.db.UpsertPayment(ctx, d.withoutOwnState(snap), storage.UpsertOptions{Actor: "webhook", Kind: "webhook", RejectStale: true})
	switch {
	case errors.Is(err, storage.ErrInvalidSnapshot):
		return answer(VerdictMalformed, WebhookMalformed, err.Error(), stored)
	case err != nil:
		if two, rerr := d.linkedPayments(ctx, err, "webhook"); two != nil && rerr == nil {
			rec.PaymentID = two.First.ID
			if stored != nil {
				rec.PaymentID = stored.ID
			}
			return answer(VerdictConflict, WebhookTaken, label+" "+linkedDetail(two), stored)
		} else if rerr != nil {
			err = rerr
		}
		d.log.Error("webhook: store", "provider", n, "ref", ev.Ref, "err", err)
		return answer("", WebhookRetry, "the payment could not be stored", stored)
	}
	rec.PaymentID = after.ID
	if change.Stale {
		d.webhookTimeline(ctx, &after, fmt.Sprintf("%s received out of order: it says %s, Paydesk already has %s; nothing changed",
			label, providers.Normalise(snap).Label(), after.Status.Label()))
		return answer(VerdictStale, WebhookTaken, fmt.Sprintf("older than the stored state (%s < %s)", providers.Normalise(snap), after.Status), &after)
	}
	detail := "applied"
	if !change.Changed {
		detail = "applied; nothing changed"
		d.webhookTimeline(ctx, &after, label+" received: nothing changed")
	}
	d.SettlePayerLinks(ctx, after.ID, snap, "webhook")
	d.SettleUnknownActions(ctx, after, snap)
	return answer(VerdictApplied, WebhookTaken, detail, &after)
}

// webhookPayment returns the stored payment of the account an event is about: the first
// of its ids Paydesk holds in that account, or an error wrapping storage.ErrNotFound.
func (d *Desk) webhookPayment(ctx context.Context, a *Account, ev providers.WebhookEvent) (storage.Payment, error) {
	for _, id := range ev.IDs {
		if id == "" {
			continue
		}
		for _, account := range d.storedUnder(a) {
			p, err := d.db.PaymentByAccountID(ctx, a.Provider, account, id)
			if err == nil || !errors.Is(err, storage.ErrNotFound) {
				return p, err
			}
		}
	}
	return storage.Payment{}, fmt.Errorf("%s %s: %w", a.Provider, ev.Ref, storage.ErrNotFound)
}

// webhookTimeline writes a timeline line for a webhook about a known payment.
func (d *Desk) webhookTimeline(ctx context.Context, p *storage.Payment, msg string) {
	if p == nil || p.ID == 0 {
		return
	}
	if _, err := d.db.AddEvent(ctx, storage.Event{PaymentID: p.ID, Actor: "webhook", Kind: "webhook", Message: msg}); err != nil {
		d.log.Error("webhook timeline", "payment", p.PublicID, "err", err)
	}
}

// headersJSON is the JSON object of the headers kept with a webhook, each value cut to
// 500 bytes.
func headersJSON(h http.Header) json.RawMessage {
	kept := map[string]string{}
	for name := range h {
		if v := h.Get(name); v != "" {
			kept[http.CanonicalHeaderKey(name)] = truncateRunes(v, 500)
		}
	}
	b, _ := json.Marshal(kept)
	return b
}

// truncateRunes shortens s to at most n bytes without splitting a character.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
