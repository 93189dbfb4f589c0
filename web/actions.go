package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"paydesk/providers"
	"paydesk/storage"
	"paydesk/web/auth"
)

// providerCallTimeout bounds one action, whatever the client does.
const providerCallTimeout = 30 * time.Second

// journalState maps an outcome to the journal's states (design.md).
func journalState(k providers.OutcomeKind) string {
	switch k {
	case providers.Done:
		return "succeeded"
	case providers.NeedsPayer:
		return "needs_payer"
	case providers.NotSupported, providers.Refused:
		return "failed"
	}
	return "unknown"
}

// runAction calls the provider for an action already recorded as pending, then records
// the outcome: the journal row, the payment as the provider now sees it, a payer link
// when the payer must confirm, the audit entry. It never retries: an unknown outcome
// stays unknown until the provider is read.
func (s *Server) runAction(r *http.Request, p storage.Payment, a storage.Action, nonce string, call func(ctx context.Context) providers.Outcome) providers.Outcome {
	u := userFrom(r.Context())
	// The browser leaving must not cut a money-moving call short: that would only turn a
	// clear answer into an unknown one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), providerCallTimeout)
	defer cancel()
	s.hook("before_call")
	out := call(ctx)
	s.hook("before_store")
	s.metrics.action(a.Kind, out.Kind)
	if out.Message == "" {
		out.Message = defaultOutcomeMessage(p.Provider, out.Kind)
	}
	s.log.Info("provider action", append(logAttrs(r), "payment", p.PublicID, "action", a.Kind, "outcome", out.Kind, "detail", out.Detail)...)

	if a.RefundID != 0 && out.RefundID != "" {
		if err := s.db.SetProviderRefundID(ctx, a.RefundID, out.RefundID); err != nil {
			s.log.Error("refund provider id", "err", err)
		}
	}
	if _, err := s.db.FinishAction(ctx, a.ID, journalState(out.Kind), string(out.Kind), out.Message, string(out.Raw)); err != nil {
		s.log.Error("finish action", append(logAttrs(r), "action_id", a.ID, "err", err)...)
	}
	s.storeSnapshot(ctx, p, out, u.Email)
	if out.Kind == providers.NeedsPayer {
		var err error
		if out.Link == nil {
			err = fmt.Errorf("web: %s asked for the payer but gave no link", p.Provider)
		} else {
			_, err = s.db.CreatePayerLink(ctx, storage.PayerLink{
				PaymentID: p.ID, ActionID: a.ID, State: "active", Kind: out.Link.Kind, URL: out.Link.URL,
				Nonce: nonce, CreatedBy: u.Email, ExpiresAt: out.Link.ExpiresAt,
			})
		}
		if err != nil {
			s.log.Error("payer link", append(logAttrs(r), "err", err)...)
			out.Message += " No payer link could be made yet: use \"Make a new link\" on the payment."
		}
	}
	s.audit(r, "action", p.ID, fmt.Sprintf("%s %s on %s: %s — %s", a.Kind, moneyOrEmpty(a.Amount, a.Currency), p.PublicID, out.Kind, out.Message),
		map[string]any{"action_id": a.ID, "outcome": out.Kind, "provider": p.Provider, "detail": out.Detail})
	return out
}

// hook tells Config.Hook (the crash test) that runAction reached step.
func (s *Server) hook(step string) {
	if s.cfg.Hook != nil {
		s.cfg.Hook(step)
	}
}

// storeSnapshot records the payment as the provider returned it after an action, or
// reads it back after a success that returned nothing usable.
func (s *Server) storeSnapshot(ctx context.Context, p storage.Payment, out providers.Outcome, actor string) {
	snap := out.Snapshot
	if snap == nil && (out.Kind == providers.Done || out.Kind == providers.NeedsPayer) {
		if prov := s.provider(p.Provider); prov != nil {
			fetched, err := prov.Fetch(ctx, providers.RefOf(p.Snapshot))
			if err != nil {
				s.log.Warn("read back after action", "payment", p.PublicID, "err", err)
				return
			}
			snap = &fetched
		}
	}
	if snap == nil {
		return
	}
	if _, _, err := s.db.UpsertPayment(ctx, *snap, storage.UpsertOptions{Actor: "provider", Kind: "refreshed"}); err != nil {
		s.log.Error("store snapshot", "payment", p.PublicID, "err", err)
	}
}

func moneyOrEmpty(v int64, cur string) string {
	if v == 0 {
		return ""
	}
	return providers.FormatMoney(v, cur)
}

func defaultOutcomeMessage(n providers.Name, k providers.OutcomeKind) string {
	switch k {
	case providers.Done:
		return n.Label() + " confirmed it."
	case providers.NeedsPayer:
		return n.Label() + " needs the payer to confirm."
	case providers.NotSupported:
		return n.Label() + " does not support this for this payment."
	case providers.Refused:
		return n.Label() + " refused."
	}
	return n.Label() + " gave no definitive answer."
}

// outcomeFlash says in plain words what happened, for the flash after the redirect.
func outcomeFlash(n providers.Name, what string, out providers.Outcome) (kind, msg string) {
	switch out.Kind {
	case providers.Done:
		return "success", fmt.Sprintf("%s: done. %s", what, out.Message)
	case providers.NeedsPayer:
		return "info", fmt.Sprintf("%s: %s needs the payer to confirm. Send them the link below; Paydesk follows it to the end.", what, n.Label())
	case providers.NotSupported:
		return "error", fmt.Sprintf("%s: not possible for this payment. %s said: %s", what, n.Label(), out.Message)
	case providers.Refused:
		return "error", fmt.Sprintf("%s: refused. %s said: %s", what, n.Label(), out.Message)
	}
	return "error", fmt.Sprintf("%s: the outcome is unknown — %s did not give a definitive answer (%s). Paydesk will not retry; it will settle this by reading %s. Do not repeat the action elsewhere.", what, n.Label(), out.Message, n.Label())
}

// startError turns a refused journal entry into a flash and a redirect.
func (s *Server) startError(w http.ResponseWriter, r *http.Request, p storage.Payment, err error) {
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		s.flash(w, r, "info", "This was already submitted once; its outcome is shown below. Nothing was sent twice.")
	case errors.Is(err, storage.ErrConflict):
		s.flash(w, r, "error", "Another action on this payment is still waiting for its outcome, so nothing was sent. "+cleanErr(err))
	case errors.Is(err, storage.ErrInsufficientBalance):
		s.flash(w, r, "error", "Nothing was sent: "+cleanErr(err))
	default:
		s.log.Error("start action", append(logAttrs(r), "err", err)...)
		s.flash(w, r, "error", "Paydesk could not record the action, so nothing was sent to the provider. Try again.")
	}
	http.Redirect(w, r, "/payments/"+p.PublicID, http.StatusSeeOther)
}

// cleanErr strips package prefixes from a storage error for people.
func cleanErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// linkState is the opaque state Paydesk hands the provider for a payer link: a random
// nonce and its HMAC, so the return page can trust its own state and nothing else.
func (s *Server) linkState(nonce string) string {
	m := hmac.New(sha256.New, s.cfg.LinkSecret)
	m.Write([]byte("payer-link|" + nonce))
	return nonce + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifyLinkState returns the nonce of a state Paydesk signed, or false.
func (s *Server) verifyLinkState(state string) (string, bool) {
	nonce, _, ok := strings.Cut(state, ".")
	if !ok || len(nonce) != 32 {
		return "", false
	}
	want := s.linkState(nonce)
	return nonce, hmac.Equal([]byte(want), []byte(state))
}

// payerReturnURL is where the provider sends the payer back.
func (s *Server) payerReturnURL() string { return s.cfg.BaseURL + "/payer/return" }

// needFresh sends a user whose sign-in is too old to sign in again, keeping what they
// typed; it reports whether it did.
func (s *Server) needFresh(w http.ResponseWriter, r *http.Request, u auth.User, formPath string) bool {
	if s.auth.Fresh(u) {
		return false
	}
	s.audit(r, "step_up", 0, "sign-in too old for "+r.URL.Path+": asked to sign in again", nil)
	s.auth.StepUp(w, r, formPath, r.PostForm)
	return true
}

// validKey accepts the idempotency keys Paydesk's forms carry (32 hex characters).
func validKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for _, r := range k {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
