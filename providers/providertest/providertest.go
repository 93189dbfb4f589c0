// Package providertest holds the table checks every provider package runs on its own
// status table and rules, through the registry (providers.Normalise, providers.Eligible),
// so that each provider's tests assert the same things the same way.
package providertest

import (
	"strings"
	"testing"

	"paydesk/providers"
)

// NormaliseCase is one line of a provider's status table: snap normalises to want.
type NormaliseCase struct {
	Name string
	Snap providers.Snapshot
	Want providers.Status
}

// RunNormalise checks every case through providers.Normalise: the status expected, and a
// valid one.
func RunNormalise(t *testing.T, cases []NormaliseCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			got := providers.Normalise(tt.Snap)
			if got != tt.Want {
				t.Errorf("Normalise(%+v) = %q; want %q", tt.Snap, got, tt.Want)
			}
			if !got.Valid() {
				t.Errorf("Normalise returned %q, which Status.Valid refuses", got)
			}
		})
	}
}

// EligibilityCase is one decision of providers.Eligible: for Snap, the decision on Action
// must be as described. Reason lists the words the Reason must contain (the rule and the
// payment's current state).
type EligibilityCase struct {
	Name         string
	Snap         providers.Snapshot
	Action       providers.Action
	Allowed      bool
	Op           providers.Operation
	MaxRefund    int64
	MayNeedPayer bool
	Reason       []string
}

// RunEligibility checks every case through providers.Eligible, and that the whole
// Eligibility is well formed (CheckWellFormed).
func RunEligibility(t *testing.T, cases []EligibilityCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			e := providers.Eligible(tt.Snap)
			CheckWellFormed(t, e)
			got := Decision(e, tt.Action)
			if got.Allowed != tt.Allowed {
				t.Errorf("%s Allowed = %v; want %v (reason %q)", tt.Action, got.Allowed, tt.Allowed, got.Reason)
			}
			if got.Op != tt.Op {
				t.Errorf("%s Op = %q; want %q", tt.Action, got.Op, tt.Op)
			}
			if got.MaxRefund != tt.MaxRefund {
				t.Errorf("%s MaxRefund = %d; want %d", tt.Action, got.MaxRefund, tt.MaxRefund)
			}
			if got.MayNeedPayer != tt.MayNeedPayer {
				t.Errorf("%s MayNeedPayer = %v; want %v", tt.Action, got.MayNeedPayer, tt.MayNeedPayer)
			}
			for _, w := range tt.Reason {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("%s Reason = %q; want it to contain %q", tt.Action, got.Reason, w)
				}
			}
		})
	}
}

// UnknownCase is a snapshot Paydesk cannot place: nothing is eligible and every reason
// contains the words of Reason (what was not understood).
type UnknownCase struct {
	Name   string
	Snap   providers.Snapshot
	Reason []string
}

// RunUnknown checks that nothing is offered for each case, and why.
func RunUnknown(t *testing.T, cases []UnknownCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			e := providers.Eligible(tt.Snap)
			CheckWellFormed(t, e)
			if e.Any() {
				t.Errorf("Eligible(%+v).Any() = true; want nothing eligible", tt.Snap)
			}
			for _, d := range e.Decisions() {
				if d.Allowed {
					t.Errorf("%s allowed; want refused", d.Action)
				}
				for _, w := range tt.Reason {
					if !strings.Contains(d.Reason, w) {
						t.Errorf("%s Reason = %q; want it to contain %q", d.Action, d.Reason, w)
					}
				}
				if strings.HasPrefix(d.Reason, " ") {
					t.Errorf("%s Reason = %q starts with a space", d.Action, d.Reason)
				}
			}
		})
	}
}

// Decision returns e's decision on action a.
func Decision(e providers.Eligibility, a providers.Action) providers.Decision {
	switch a {
	case providers.ActionCancel:
		return e.Cancel
	case providers.ActionExpire:
		return e.Expire
	case providers.ActionRefund:
		return e.Refund
	}
	panic("unknown action " + string(a))
}

// CheckWellFormed reports the invariants every Eligibility keeps: each decision is for
// its own action and has a reason; only an allowed decision names an operation; only an
// allowed refund has a MaxRefund, and it is positive.
func CheckWellFormed(t *testing.T, e providers.Eligibility) {
	t.Helper()
	for _, a := range []providers.Action{providers.ActionCancel, providers.ActionExpire, providers.ActionRefund} {
		d := Decision(e, a)
		if d.Action != a {
			t.Errorf("decision in the %s slot has Action %q; want %q", a, d.Action, a)
		}
		if strings.TrimSpace(d.Reason) == "" {
			t.Errorf("%s decision has an empty Reason: %+v", a, d)
		}
		if d.Allowed && d.Op == "" {
			t.Errorf("%s allowed with no Op", a)
		}
		if !d.Allowed && (d.Op != "" || d.MaxRefund != 0 || d.MayNeedPayer) {
			t.Errorf("%s refused but Op = %q, MaxRefund = %d, MayNeedPayer = %v; want zero values", a, d.Op, d.MaxRefund, d.MayNeedPayer)
		}
		if a != providers.ActionRefund && d.MaxRefund != 0 {
			t.Errorf("%s decision has MaxRefund %d; want 0", a, d.MaxRefund)
		}
		if a == providers.ActionRefund && d.Allowed && d.MaxRefund <= 0 {
			t.Errorf("refund allowed with MaxRefund %d; want > 0", d.MaxRefund)
		}
	}
}
