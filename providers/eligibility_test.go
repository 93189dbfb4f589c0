package providers_test

import (
	"strings"
	"testing"

	"paydesk/providers"
)

// eligibilityTest is one decision of providers.Eligible: for snap, the decision on
// action must be as described. reason lists the words the Reason must contain (the rule
// and the payment's current state).
type eligibilityTest struct {
	name         string
	snap         providers.Snapshot
	action       providers.Action
	allowed      bool
	op           providers.Operation
	maxRefund    int64
	mayNeedPayer bool
	reason       []string
}

func withInstant(s providers.Snapshot) providers.Snapshot {
	s.Instant = true
	return s
}

func withSession(s providers.Snapshot, status string) providers.Snapshot {
	s.SessionID = "ps_1"
	s.SessionStatus = status
	return s
}

func voidedAuth() providers.Snapshot {
	s := tranzzoSnap("auth", "hosted", "success", "1002")
	s.Voided = true
	s.Captured = 10000
	return s
}

var eligibilityTests = []eligibilityTest{
	// Powens cancel.
	{name: "powens created", snap: powensSnap("created", "", ""), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, mayNeedPayer: true, reason: []string{"Powens", "cancel"}},
	{name: "powens created with an instant instruction", snap: withInstant(powensSnap("created", "", "")), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, mayNeedPayer: true, reason: []string{"Powens", "cancel"}},
	{name: "powens validating", snap: powensSnap("validating", "", ""), action: providers.ActionCancel,
		reason: []string{"created or pending", "validating"}},
	{name: "powens pending first_open_day", snap: powensSnap("pending", "", ""), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, mayNeedPayer: true, reason: []string{"Powens", "cancel", "payer"}},
	{name: "powens pending instant", snap: withInstant(powensSnap("pending", "", "")), action: providers.ActionCancel,
		reason: []string{"instant", "pending"}},
	{name: "powens pending cancelling_webauth", snap: powensSnap("pending", "cancelling_webauth", ""), action: providers.ActionCancel,
		reason: []string{"already waiting for the payer", "payer link"}},
	{name: "powens pending cancelling", snap: powensSnap("pending", "cancelling", ""), action: providers.ActionCancel,
		reason: []string{"already waiting for the payer", "payer link"}},
	{name: "powens pending instant cancelling_webauth", snap: withInstant(powensSnap("pending", "cancelling_webauth", "")), action: providers.ActionCancel,
		reason: []string{"already waiting for the payer"}},
	{name: "powens accepted", snap: powensSnap("accepted", "", ""), action: providers.ActionCancel,
		reason: []string{"created or pending", "accepted"}},
	{name: "powens done", snap: powensSnap("done", "", ""), action: providers.ActionCancel,
		reason: []string{"created or pending", "done"}},
	{name: "powens rejected", snap: powensSnap("rejected", "", "insufficientFunds"), action: providers.ActionCancel,
		reason: []string{"created or pending", "rejected"}},
	{name: "powens rejected cancelledByUser", snap: powensSnap("rejected", "", "cancelledByUser"), action: providers.ActionCancel,
		reason: []string{"created or pending", "rejected"}},
	{name: "powens expired", snap: powensSnap("expired", "", ""), action: providers.ActionCancel,
		reason: []string{"created or pending", "expired"}},

	// Powens expire and refund: never.
	{name: "powens expire created", snap: powensSnap("created", "", ""), action: providers.ActionExpire,
		reason: []string{"Powens has no expire", "expired state itself"}},
	{name: "powens expire pending", snap: powensSnap("pending", "", ""), action: providers.ActionExpire,
		reason: []string{"Powens has no expire"}},
	{name: "powens refund done", snap: paidWith(powensSnap("done", "", ""), 5090, 0), action: providers.ActionRefund,
		reason: []string{"Powens has no refunds", "cannot be reversed"}},
	{name: "powens refund accepted", snap: paidWith(powensSnap("accepted", "", ""), 5090, 0), action: providers.ActionRefund,
		reason: []string{"Powens has no refunds"}},

	// BPC cancel.
	{name: "bpc cancel requiresPaymentMethod", snap: bpcPayment("requiresPaymentMethod"), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"BPC", "cancel"}},
	{name: "bpc cancel requiresAction", snap: bpcPayment("requiresAction"), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"BPC", "cancel"}},
	{name: "bpc cancel requiresCapture", snap: bpcPayment("requiresCapture"), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"BPC", "cancel", "release"}},
	{name: "bpc cancel requiresCapture with completed session", snap: withSession(bpcPayment("requiresCapture"), "completed"), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"BPC", "cancel"}},
	{name: "bpc cancel requiresConfirmation", snap: bpcPayment("requiresConfirmation"), action: providers.ActionCancel,
		reason: []string{"before capture", "requiresPaymentMethod, requiresAction, requiresCapture", "is requiresConfirmation"}},
	{name: "bpc cancel processing", snap: bpcPayment("processing"), action: providers.ActionCancel,
		reason: []string{"before capture", "is processing"}},
	{name: "bpc cancel succeeded", snap: paidWith(bpcPayment("succeeded"), 5090, 0), action: providers.ActionCancel,
		reason: []string{"before capture", "is succeeded"}},
	{name: "bpc cancel canceled", snap: bpcPayment("canceled"), action: providers.ActionCancel,
		reason: []string{"before capture", "is canceled"}},
	{name: "bpc cancel failed", snap: bpcPayment("failed"), action: providers.ActionCancel,
		reason: []string{"before capture", "is failed"}},
	{name: "bpc cancel session with no payment", snap: bpcSessionOnly("open"), action: providers.ActionCancel,
		reason: []string{"BPC cancels payments", "session (open) has none", "expire the session"}},

	// BPC expire.
	{name: "bpc expire open session", snap: bpcSessionOnly("open"), action: providers.ActionExpire,
		allowed: true, op: providers.OpExpire, reason: []string{"BPC", "expire the session"}},
	{name: "bpc expire open session with payment", snap: withSession(bpcPayment("requiresPaymentMethod"), "open"), action: providers.ActionExpire,
		allowed: true, op: providers.OpExpire, reason: []string{"BPC", "expire the session"}},
	{name: "bpc expire expired session", snap: bpcSessionOnly("expired"), action: providers.ActionExpire,
		reason: []string{"BPC expires only open sessions; this one is expired."}},
	{name: "bpc expire completed session", snap: withSession(paidWith(bpcPayment("succeeded"), 5090, 0), "completed"), action: providers.ActionExpire,
		reason: []string{"BPC expires only open sessions; this one is completed."}},
	{name: "bpc expire completed session with no payment", snap: bpcSessionOnly("completed"), action: providers.ActionExpire,
		reason: []string{"BPC expires only open sessions; this one is completed."}},
	{name: "bpc expire payment with no session", snap: bpcPayment("requiresPaymentMethod"), action: providers.ActionExpire,
		reason: []string{"BPC expires hosted-page sessions", "has none"}},

	// BPC refund.
	{name: "bpc refund succeeded", snap: paidWith(bpcPayment("succeeded"), 5090, 0), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 5090, reason: []string{"BPC", "refund up to 50.90 EUR"}},
	{name: "bpc refund partially refunded", snap: paidWith(bpcPayment("succeeded"), 5090, 1000), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 4090, reason: []string{"BPC", "refund up to 40.90 EUR"}},
	{name: "bpc refund nearly all refunded", snap: paidWith(bpcPayment("succeeded"), 5090, 5089), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 1, reason: []string{"refund up to 0.01 EUR"}},
	{name: "bpc refund captured less than amount", snap: paidWith(bpcPayment("succeeded"), 3000, 0), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 3000, reason: []string{"refund up to 30.00 EUR"}},
	{name: "bpc refund fully refunded", snap: paidWith(bpcPayment("succeeded"), 5090, 5090), action: providers.ActionRefund,
		reason: []string{"captured (50.90 EUR)", "refunded already"}},
	{name: "bpc refund over-refunded", snap: paidWith(bpcPayment("succeeded"), 5090, 6000), action: providers.ActionRefund,
		reason: []string{"refunded already"}},
	{name: "bpc refund nothing captured", snap: paidWith(bpcPayment("succeeded"), 0, 0), action: providers.ActionRefund,
		reason: []string{"refunded already"}},
	{name: "bpc refund negative refunded total", snap: paidWith(bpcPayment("succeeded"), 5090, -100), action: providers.ActionRefund,
		reason: []string{"negative"}},
	{name: "bpc refund negative captured total", snap: paidWith(bpcPayment("succeeded"), -5090, 0), action: providers.ActionRefund,
		reason: []string{"negative"}},
	{name: "bpc refund requiresCapture", snap: paidWith(bpcPayment("requiresCapture"), 0, 0), action: providers.ActionRefund,
		reason: []string{"only captured payments (succeeded)", "is requiresCapture"}},
	{name: "bpc refund canceled", snap: bpcPayment("canceled"), action: providers.ActionRefund,
		reason: []string{"only captured payments (succeeded)", "is canceled"}},
	{name: "bpc refund failed", snap: bpcPayment("failed"), action: providers.ActionRefund,
		reason: []string{"only captured payments (succeeded)", "is failed"}},
	{name: "bpc refund session with no payment", snap: bpcSessionOnly("completed"), action: providers.ActionRefund,
		reason: []string{"only captured payments (succeeded)", "session with no payment"}},

	// Tranzzo cancel.
	{name: "tranzzo cancel init hosted purchase", snap: tranzzoSnap("purchase", "hosted", "init", ""), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"Tranzzo", "cancel the unpaid hosted payment"}},
	{name: "tranzzo cancel init hosted auth", snap: tranzzoSnap("auth", "hosted", "init", ""), action: providers.ActionCancel,
		allowed: true, op: providers.OpCancel, reason: []string{"Tranzzo", "cancel the unpaid hosted payment"}},
	{name: "tranzzo cancel init direct purchase", snap: tranzzoSnap("purchase", "direct", "init", ""), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments", "direct"}},
	{name: "tranzzo cancel init hosted capture", snap: tranzzoSnap("capture", "hosted", "init", ""), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments", "capture init"}},
	{name: "tranzzo void auth success", snap: paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 0), action: providers.ActionCancel,
		allowed: true, op: providers.OpVoid, reason: []string{"Tranzzo", "void the authorisation"}},
	{name: "tranzzo void auth success direct", snap: paidWith(tranzzoSnap("auth", "direct", "success", "1002"), 10000, 0), action: providers.ActionCancel,
		allowed: true, op: providers.OpVoid, reason: []string{"void the authorisation"}},
	{name: "tranzzo cancel voided auth", snap: voidedAuth(), action: providers.ActionCancel,
		reason: []string{"already voided"}},
	{name: "tranzzo cancel purchase success", snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments (init)", "voids held authorisations", "purchase success"}},
	{name: "tranzzo cancel purchase pending", snap: tranzzoSnap("purchase", "hosted", "pending", ""), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments (init)", "purchase pending"}},
	{name: "tranzzo cancel auth pending", snap: tranzzoSnap("auth", "hosted", "pending", ""), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments (init)", "auth pending"}},
	{name: "tranzzo cancel cancelled payment", snap: tranzzoSnap("purchase", "hosted", "failure", "6007"), action: providers.ActionCancel,
		reason: []string{"only unpaid hosted payments (init)", "purchase failure"}},

	// Tranzzo refund.
	{name: "tranzzo refund purchase success", snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 10000, reason: []string{"Tranzzo", "refund up to 100.00 XTS"}},
	{name: "tranzzo refund capture success", snap: paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 0), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 10000, reason: []string{"Tranzzo", "refund up to 100.00 XTS"}},
	{name: "tranzzo refund partially refunded", snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 2550), action: providers.ActionRefund,
		allowed: true, op: providers.OpRefund, maxRefund: 7450, reason: []string{"refund up to 74.50 XTS"}},
	{name: "tranzzo refund fully refunded", snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 10000), action: providers.ActionRefund,
		reason: []string{"captured (100.00 XTS)", "refunded already"}},
	{name: "tranzzo refund auth success", snap: paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 0), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "auth success"}},
	{name: "tranzzo refund voided auth", snap: voidedAuth(), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "voided"}},
	{name: "tranzzo refund voided purchase", snap: func() providers.Snapshot {
		s := paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0)
		s.Voided = true
		return s
	}(), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "voided"}},
	{name: "tranzzo refund failure", snap: paidWith(tranzzoSnap("purchase", "hosted", "failure", "2122"), 10000, 0), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "purchase failure"}},
	{name: "tranzzo refund pending", snap: tranzzoSnap("purchase", "hosted", "pending", ""), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "purchase pending"}},
	{name: "tranzzo refund init", snap: tranzzoSnap("purchase", "hosted", "init", ""), action: providers.ActionRefund,
		reason: []string{"only successful purchases or captures", "purchase init"}},

	// Tranzzo expire: never.
	{name: "tranzzo expire init hosted", snap: tranzzoSnap("purchase", "hosted", "init", ""), action: providers.ActionExpire,
		reason: []string{"Tranzzo has no expire", "cancelled instead"}},
	{name: "tranzzo expire purchase success", snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), action: providers.ActionExpire,
		reason: []string{"Tranzzo has no expire"}},

	// BPC refund of a session that never had a payment.
	{name: "bpc refund on expired session", snap: bpcSessionOnly("expired"), action: providers.ActionRefund,
		reason: []string{"session with no payment"}},
}

// unknownTests are snapshots Paydesk cannot place: nothing is eligible and every reason
// quotes what was not understood.
var unknownTests = []struct {
	name   string
	snap   providers.Snapshot
	reason []string
}{
	{"powens unknown state", powensSnap("teleported", "", ""), []string{"Powens", `"teleported"`, "unknown"}},
	{"powens unknown state with cancel details", withInstant(powensSnap("Pending", "cancelling", "")), []string{"Powens", `"Pending"`, "unknown"}},
	{"bpc unknown payment status", paidWith(bpcPayment("refunded"), 5090, 0), []string{"BPC", `"refunded"`, "unknown"}},
	{"bpc unknown session status", bpcSessionOnly("paused"), []string{"BPC", `"paused"`, "unknown"}},
	{"bpc unknown payment status with open session", withSession(bpcPayment("onHold"), "open"), []string{"BPC", `"onHold"`, "unknown"}},
	{"tranzzo unknown status", tranzzoSnap("purchase", "hosted", "chargeback", ""), []string{"Tranzzo", `"chargeback"`, "unknown"}},
	{"tranzzo success of an unknown method", paidWith(tranzzoSnap("refund", "hosted", "success", "1000"), 10000, 0), []string{"Tranzzo", `"success"`, "unknown"}},
	{"powens no status", powensSnap("", "", ""), []string{"Powens", "no status"}},
	{"tranzzo no status", tranzzoSnap("auth", "hosted", "", ""), []string{"Tranzzo", "no status"}},
	{"unknown provider", providers.Snapshot{Provider: "stripe", PaymentID: "pi_1", RawStatus: "succeeded", Captured: 100, Currency: "EUR"}, []string{`Provider "stripe"`, "unknown"}},
	{"unknown provider with a powens state", providers.Snapshot{Provider: "Powens", PaymentID: "1", RawStatus: "created"}, []string{`Provider "Powens"`, "unknown"}},
	{"no provider", providers.Snapshot{RawStatus: "created"}, []string{`Provider ""`, "unknown"}},
}

func decision(e providers.Eligibility, a providers.Action) providers.Decision {
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

// checkWellFormed reports the invariants every Eligibility keeps: each decision is for
// its own action and has a reason; only an allowed decision names an operation; only an
// allowed refund has a MaxRefund, and it is positive.
func checkWellFormed(t *testing.T, e providers.Eligibility) {
	t.Helper()
	for _, a := range []providers.Action{providers.ActionCancel, providers.ActionExpire, providers.ActionRefund} {
		d := decision(e, a)
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

func TestEligible(t *testing.T) {
	for _, tt := range eligibilityTests {
		t.Run(tt.name, func(t *testing.T) {
			e := providers.Eligible(tt.snap)
			checkWellFormed(t, e)
			got := decision(e, tt.action)
			if got.Allowed != tt.allowed {
				t.Errorf("%s Allowed = %v; want %v (reason %q)", tt.action, got.Allowed, tt.allowed, got.Reason)
			}
			if got.Op != tt.op {
				t.Errorf("%s Op = %q; want %q", tt.action, got.Op, tt.op)
			}
			if got.MaxRefund != tt.maxRefund {
				t.Errorf("%s MaxRefund = %d; want %d", tt.action, got.MaxRefund, tt.maxRefund)
			}
			if got.MayNeedPayer != tt.mayNeedPayer {
				t.Errorf("%s MayNeedPayer = %v; want %v", tt.action, got.MayNeedPayer, tt.mayNeedPayer)
			}
			for _, w := range tt.reason {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("%s Reason = %q; want it to contain %q", tt.action, got.Reason, w)
				}
			}
		})
	}
}

func TestEligibleUnknownOffersNothing(t *testing.T) {
	for _, tt := range unknownTests {
		t.Run(tt.name, func(t *testing.T) {
			e := providers.Eligible(tt.snap)
			checkWellFormed(t, e)
			if e.Any() {
				t.Errorf("Eligible(%+v).Any() = true; want nothing eligible", tt.snap)
			}
			for _, d := range e.Decisions() {
				if d.Allowed {
					t.Errorf("%s allowed; want refused", d.Action)
				}
				for _, w := range tt.reason {
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

func TestEligibilityDecisionsAndAny(t *testing.T) {
	e := providers.Eligible(withSession(bpcPayment("requiresCapture"), "open"))
	ds := e.Decisions()
	want := []providers.Action{providers.ActionCancel, providers.ActionExpire, providers.ActionRefund}
	if len(ds) != len(want) {
		t.Fatalf("len(Decisions()) = %d; want %d", len(ds), len(want))
	}
	for i, d := range ds {
		if d.Action != want[i] {
			t.Errorf("Decisions()[%d].Action = %q; want %q", i, d.Action, want[i])
		}
	}
	if !ds[0].Allowed || !ds[1].Allowed || ds[2].Allowed {
		t.Errorf("requiresCapture with an open session: got cancel %v, expire %v, refund %v; want true, true, false", ds[0].Allowed, ds[1].Allowed, ds[2].Allowed)
	}
	if !e.Any() {
		t.Errorf("Any() = false with cancel allowed; want true")
	}

	for _, tt := range []struct {
		name string
		snap providers.Snapshot
		want bool
	}{
		{"only refund", paidWith(bpcPayment("succeeded"), 100, 0), true},
		{"only expire", withSession(bpcPayment("processing"), "open"), true},
		{"only cancel", powensSnap("created", "", ""), true},
		{"none", powensSnap("done", "", ""), false},
		{"none fully refunded", paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 100, 100), false},
	} {
		if got := providers.Eligible(tt.snap).Any(); got != tt.want {
			t.Errorf("%s: Any() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestEligibleAgreesWithNormalise walks a grid of snapshot fields and checks that the
// decisions agree with the normalised status: nothing is offered for an unknown status,
// a cancel only before the money is taken, an expire only on an open BPC session, and a
// refund exactly when a card payment is paid with something left to give back.
func TestEligibleAgreesWithNormalise(t *testing.T) {
	rawStatuses := []string{
		"", "created", "validating", "pending", "accepted", "done", "rejected", "expired",
		"requiresPaymentMethod", "requiresConfirmation", "requiresAction", "requiresCapture",
		"processing", "succeeded", "canceled", "failed", "open", "completed",
		"init", "success", "failure", "weird",
	}
	details := []string{"", "cancelling_webauth", "cancelling"}
	methods := []string{"", "purchase", "auth", "capture", "void", "refund"}
	modes := []string{"", "hosted", "direct"}
	sessionStatuses := []string{"", "open", "expired", "completed"}
	amounts := [][2]int64{{0, 0}, {5000, 0}, {5000, 2000}, {5000, 5000}, {5000, 7000}, {5000, -1}}
	provs := []providers.Name{providers.Powens, providers.BPC, providers.Tranzzo, "stripe"}

	n := 0
	for _, p := range provs {
		for _, raw := range rawStatuses {
			for _, detail := range details {
				for _, method := range methods {
					for _, mode := range modes {
						for _, ss := range sessionStatuses {
							for _, amt := range amounts {
								for _, flags := range []int{0, 1, 2, 3} {
									s := providers.Snapshot{
										Provider: p, RawStatus: raw, StateDetail: detail, Method: method, Mode: mode,
										SessionStatus: ss, Captured: amt[0], Refunded: amt[1], Currency: "EUR",
										Instant: flags&1 != 0, Voided: flags&2 != 0, ErrorCode: "6007",
									}
									if ss != "" {
										s.SessionID = "ps_1"
									}
									if raw != "open" && raw != "completed" {
										s.PaymentID = "p_1"
									}
									checkAgreement(t, s)
									n++
								}
							}
						}
					}
				}
			}
		}
	}
	if n < 100000 {
		t.Errorf("checked %d snapshots; want the whole grid", n)
	}
}

func checkAgreement(t *testing.T, s providers.Snapshot) {
	t.Helper()
	e := providers.Eligible(s)
	st := providers.Normalise(s)
	for _, d := range e.Decisions() {
		if strings.TrimSpace(d.Reason) == "" {
			t.Fatalf("Eligible(%+v): %s has an empty Reason", s, d.Action)
		}
		if d.MaxRefund < 0 {
			t.Fatalf("Eligible(%+v): %s MaxRefund = %d; want >= 0", s, d.Action, d.MaxRefund)
		}
	}
	if st == providers.StatusUnknown && e.Any() {
		t.Fatalf("Eligible(%+v): something allowed for an unknown status: %+v", s, e)
	}
	if e.Cancel.Allowed {
		switch st {
		case providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusAuthorized:
		default:
			t.Fatalf("Eligible(%+v): cancel allowed with status %s", s, st)
		}
	}
	if e.Expire.Allowed && (s.Provider != providers.BPC || s.SessionStatus != "open") {
		t.Fatalf("Eligible(%+v): expire allowed outside an open BPC session", s)
	}
	card := s.Provider == providers.BPC || s.Provider == providers.Tranzzo
	paid := st == providers.StatusPaid || st == providers.StatusPartiallyRefunded
	wantRefund := card && paid && s.Refunded >= 0 && s.Captured > s.Refunded
	if e.Refund.Allowed != wantRefund {
		t.Fatalf("Eligible(%+v): refund allowed = %v with status %s; want %v", s, e.Refund.Allowed, st, wantRefund)
	}
	if e.Refund.Allowed && e.Refund.MaxRefund != s.Captured-s.Refunded {
		t.Fatalf("Eligible(%+v): MaxRefund = %d; want captured - refunded = %d", s, e.Refund.MaxRefund, s.Captured-s.Refunded)
	}
}
