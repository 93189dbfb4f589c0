package providers_test

import (
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/providertest"
	"paydesk/providers/tranzzo"
)

func withSession(s providers.Snapshot, status string) providers.Snapshot {
	s.SessionID = "ps_1"
	s.SessionStatus = status
	return s
}

// unknownTests are snapshots of providers Paydesk does not know: nothing is eligible and
// every reason says so. Each provider's own unknown statuses are in its package
// (rules_test.go).
var unknownTests = []providertest.UnknownCase{
	{Name: "unknown provider", Snap: providers.Snapshot{Provider: "stripe", PaymentID: "pi_1", RawStatus: "succeeded", Captured: 100, Currency: "EUR"}, Reason: []string{`Provider "stripe"`, "unknown"}},
	{Name: "unknown provider with a powens state", Snap: providers.Snapshot{Provider: "Powens", PaymentID: "1", RawStatus: "created"}, Reason: []string{`Provider "Powens"`, "unknown"}},
	{Name: "no provider", Snap: providers.Snapshot{RawStatus: "created"}, Reason: []string{`Provider ""`, "unknown"}},
}

func TestEligibleUnknownOffersNothing(t *testing.T) { providertest.RunUnknown(t, unknownTests) }

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
	provs := []providers.Name{powens.Name, bpc.Name, tranzzo.Name, "stripe"}

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
	if e.Expire.Allowed && (s.Provider != bpc.Name || s.SessionStatus != "open") {
		t.Fatalf("Eligible(%+v): expire allowed outside an open BPC session", s)
	}
	card := s.Provider == bpc.Name || s.Provider == tranzzo.Name
	paid := st == providers.StatusPaid || st == providers.StatusPartiallyRefunded
	wantRefund := card && paid && s.Refunded >= 0 && s.Captured > s.Refunded
	if e.Refund.Allowed != wantRefund {
		t.Fatalf("Eligible(%+v): refund allowed = %v with status %s; want %v", s, e.Refund.Allowed, st, wantRefund)
	}
	if e.Refund.Allowed && e.Refund.MaxRefund != s.Captured-s.Refunded {
		t.Fatalf("Eligible(%+v): MaxRefund = %d; want captured - refunded = %d", s, e.Refund.MaxRefund, s.Captured-s.Refunded)
	}
}
