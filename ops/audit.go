package ops

import (
	"context"
	"encoding/json"
	"time"

	"paydesk/storage"
)

// Audit writes an audit entry naming who (their e-mail, "anonymous" when none, and where
// the request came from); failures are logged, never returned: the audit log must not
// stop the work it records.
func (d *Desk) Audit(ctx context.Context, who Person, kind string, paymentID int64, message string, data any) {
	actor := who.Email
	if actor == "" {
		actor = "anonymous"
	}
	e := storage.AuditEntry{Actor: actor, Kind: kind, PaymentID: paymentID, Message: message, Remote: who.Remote}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	if _, err := d.db.Audit(ctx, e); err != nil {
		d.log.Error("audit", "kind", kind, "err", err)
	}
}

// The audit page verifies the whole hash chain, which reads every entry (about 0.8 s per
// 200,000 entries). It tries at most once a minute (the result is kept in the settings
// table, shared by every page load and process) and gives up after auditVerifyBudget,
// showing the last complete result instead, so a very long log never makes the page slow;
// the maintenance round completes a verification, without a budget, when the last one is
// older than auditVerifyBackground.
const (
	auditVerifyEvery      = time.Minute
	auditVerifyBudget     = 3 * time.Second
	auditVerifyBackground = 10 * time.Minute
	auditVerifySetting    = "audit.last_verification"
)

// AuditVerification is the last verification of the audit chain, as kept in the settings.
type AuditVerification struct {
	// At is when the last complete verification ran; zero when none has completed.
	At time.Time `json:"at"`
	// OK says the chain was intact then.
	OK bool `json:"ok"`
	// Checked is how many entries it read.
	Checked int `json:"checked"`
	// FirstBroken is the id of the first entry that does not match (when !OK).
	FirstBroken int64 `json:"first_broken"`
	// Problem says what is wrong with it.
	Problem string `json:"problem"`
	// TriedAt is when a verification last started (it may not have finished in time).
	TriedAt time.Time `json:"tried_at"`
}

// lastAuditVerification reads the kept verification (zero when there is none).
func (d *Desk) lastAuditVerification(ctx context.Context) AuditVerification {
	var v AuditVerification
	if raw, err := d.db.Setting(ctx, auditVerifySetting); err == nil {
		if err := json.Unmarshal(raw, &v); err != nil {
			d.log.Warn("audit verification: unreadable kept result", "err", err)
			return AuditVerification{}
		}
	}
	return v
}

// VerifyAuditChain verifies the whole chain within budget (none when 0) and keeps the
// result; a verification that does not finish keeps only when it was tried.
func (d *Desk) VerifyAuditChain(ctx context.Context, budget time.Duration) (AuditVerification, error) {
	v := d.lastAuditVerification(ctx)
	now := d.cfg.Now()
	v.TriedAt = now
	vctx, cancel := ctx, context.CancelFunc(func() {})
	if budget > 0 {
		vctx, cancel = context.WithTimeout(ctx, budget)
	}
	res, err := d.db.VerifyAudit(vctx)
	cancel()
	if err == nil {
		v = AuditVerification{At: now, OK: res.OK, Checked: res.Checked, FirstBroken: res.FirstBroken, Problem: res.Problem, TriedAt: now}
	}
	if raw, merr := json.Marshal(v); merr == nil {
		if serr := d.db.SetSetting(context.WithoutCancel(ctx), auditVerifySetting, raw); serr != nil {
			d.log.Warn("audit verification: keep the result", "err", serr)
		}
	}
	return v, err
}

// AuditChain says whether the chain is intact, for the audit page: the kept result when a
// verification was tried less than a minute ago, otherwise a fresh one within a few
// seconds (falling back to the last complete result: At before TriedAt then).
func (d *Desk) AuditChain(ctx context.Context) AuditVerification {
	now := d.cfg.Now()
	last := d.lastAuditVerification(ctx)
	if now.Sub(last.TriedAt) >= auditVerifyEvery || now.Before(last.TriedAt) {
		var err error
		if last, err = d.VerifyAuditChain(ctx, auditVerifyBudget); err != nil {
			d.log.Warn("audit verification did not finish", "err", err)
		}
	}
	return last
}
