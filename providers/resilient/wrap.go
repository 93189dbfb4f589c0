package resilient

import (
	"context"
	"errors"
	"time"

	"paydesk/providers"
)

// Wrap returns p behind the guard: every call first asks the breaker (and the
// Retry-After hold), a refused call returns at once saying nothing was sent, and each
// call's result feeds the breaker and Options.Observe. The value returned implements
// exactly the capabilities p does (Canceller, Expirer, Refunder, PayerLinker), so
// callers' type assertions keep their meaning. Nothing is retried here: reads are
// retried by Transport, money-moving calls never.
func (g *Guard) Wrap(p providers.Provider) providers.Provider {
	c := &core{g: g, inner: p}
	caps := 0
	if _, ok := p.(providers.Canceller); ok {
		caps |= 1
	}
	if _, ok := p.(providers.Expirer); ok {
		caps |= 2
	}
	if _, ok := p.(providers.Refunder); ok {
		caps |= 4
	}
	if _, ok := p.(providers.PayerLinker); ok {
		caps |= 8
	}
	can, exp, ref, lnk := canceller{c}, expirer{c}, refunder{c}, linker{c}
	switch caps {
	case 1:
		return struct {
			*core
			canceller
		}{c, can}
	case 2:
		return struct {
			*core
			expirer
		}{c, exp}
	case 3:
		return struct {
			*core
			canceller
			expirer
		}{c, can, exp}
	case 4:
		return struct {
			*core
			refunder
		}{c, ref}
	case 5:
		return struct {
			*core
			canceller
			refunder
		}{c, can, ref}
	case 6:
		return struct {
			*core
			expirer
			refunder
		}{c, exp, ref}
	case 7:
		return struct {
			*core
			canceller
			expirer
			refunder
		}{c, can, exp, ref}
	case 8:
		return struct {
			*core
			linker
		}{c, lnk}
	case 9:
		return struct {
			*core
			canceller
			linker
		}{c, can, lnk}
	case 10:
		return struct {
			*core
			expirer
			linker
		}{c, exp, lnk}
	case 11:
		return struct {
			*core
			canceller
			expirer
			linker
		}{c, can, exp, lnk}
	case 12:
		return struct {
			*core
			refunder
			linker
		}{c, ref, lnk}
	case 13:
		return struct {
			*core
			canceller
			refunder
			linker
		}{c, can, ref, lnk}
	case 14:
		return struct {
			*core
			expirer
			refunder
			linker
		}{c, exp, ref, lnk}
	case 15:
		return struct {
			*core
			canceller
			expirer
			refunder
			linker
		}{c, can, exp, ref, lnk}
	}
	return c
}

// core is the guarded Provider: Name and Fetch.
type core struct {
	g     *Guard
	inner providers.Provider
}

// Name is the wrapped provider's name.
func (c *core) Name() providers.Name { return c.inner.Name() }

// Fetch reads the payment through the guard.
func (c *core) Fetch(ctx context.Context, ref providers.Ref) (providers.Snapshot, error) {
	var snap providers.Snapshot
	err := c.read(ctx, "fetch", func(ctx context.Context) error {
		var err error
		snap, err = c.inner.Fetch(ctx, ref)
		return err
	})
	return snap, err
}

// read runs a read through the guard.
func (c *core) read(ctx context.Context, op string, call func(context.Context) error) error {
	release, refusal := c.g.admit()
	if refusal != nil {
		c.observe(op, refusedLabel(refusal), 0)
		return refusal
	}
	start := time.Now()
	err := call(ctx)
	outcome, failed := readOutcome(err)
	release(failed)
	c.observe(op, outcome, time.Since(start))
	return err
}

// act runs a money-moving call through the guard; a refused one was not sent.
func (c *core) act(ctx context.Context, op string, call func(context.Context) providers.Outcome) providers.Outcome {
	release, refusal := c.g.admit()
	if refusal != nil {
		c.observe(op, refusedLabel(refusal), 0)
		return providers.Outcome{Kind: providers.Refused, Message: refusal.Safe, Detail: refusal.Error()}
	}
	start := time.Now()
	out := call(ctx)
	// An unknown outcome that still carries something the provider said (a pending
	// refund's id, the payment as it answered) came from a provider that is up.
	release(out.Kind == providers.Unknown && out.RefundID == "" && out.Snapshot == nil)
	c.observe(op, string(out.Kind), time.Since(start))
	return out
}

func (c *core) observe(op, outcome string, d time.Duration) {
	if c.g.opt.Observe != nil {
		c.g.opt.Observe(Call{Provider: c.g.name, Operation: op, Outcome: outcome, Duration: d})
	}
}

// readOutcome labels a read's result and says whether it counts as a failure for the
// breaker: only answers that say nothing (no answer, 5xx, unreadable) do; a refusal or a
// "not found" is the provider answering.
func readOutcome(err error) (string, bool) {
	if err == nil {
		return "ok", false
	}
	if errors.Is(err, providers.ErrNotFound) {
		return "not_found", false
	}
	var pe *providers.Error
	if errors.As(err, &pe) && !pe.Unknown {
		return "refused", false
	}
	return "unknown", true
}

// refusedLabel is the outcome label of a call the guard refused.
func refusedLabel(e *providers.Error) string {
	if errors.Is(e, ErrRateLimited) {
		return "rate_limited"
	}
	return "circuit_open"
}

type canceller struct{ c *core }

// Cancel cancels through the guard.
func (x canceller) Cancel(ctx context.Context, ref providers.Ref, req providers.CancelRequest) providers.Outcome {
	return x.c.act(ctx, "cancel", func(ctx context.Context) providers.Outcome {
		return x.c.inner.(providers.Canceller).Cancel(ctx, ref, req)
	})
}

type expirer struct{ c *core }

// Expire expires through the guard.
func (x expirer) Expire(ctx context.Context, ref providers.Ref) providers.Outcome {
	return x.c.act(ctx, "expire", func(ctx context.Context) providers.Outcome {
		return x.c.inner.(providers.Expirer).Expire(ctx, ref)
	})
}

type refunder struct{ c *core }

// Refund refunds through the guard.
func (x refunder) Refund(ctx context.Context, ref providers.Ref, req providers.RefundRequest) providers.Outcome {
	return x.c.act(ctx, "refund", func(ctx context.Context) providers.Outcome {
		return x.c.inner.(providers.Refunder).Refund(ctx, ref, req)
	})
}

type linker struct{ c *core }

// PayerLink makes a payer link through the guard (a scoped token: it moves no money, and
// it is not retried either — it is a POST).
func (x linker) PayerLink(ctx context.Context, ref providers.Ref, req providers.CancelRequest) (providers.PayerLink, error) {
	var l providers.PayerLink
	err := x.c.read(ctx, "payer_link", func(ctx context.Context) error {
		var err error
		l, err = x.c.inner.(providers.PayerLinker).PayerLink(ctx, ref, req)
		return err
	})
	return l, err
}
