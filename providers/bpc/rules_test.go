package bpc

import (
	"testing"

	"paydesk/providers"
	"paydesk/providers/providertest"
)

// BPC's status table and rules, checked through the registry (main_test.go registers
// the provider) as the rest of Paydesk reaches them.

func bpcPayment(status string) providers.Snapshot {
	return providers.Snapshot{Provider: Name, PaymentID: "p_1", RawStatus: status, Currency: "EUR", Amount: 5090}
}

func bpcSessionOnly(status string) providers.Snapshot {
	return providers.Snapshot{Provider: Name, SessionID: "ps_1", RawStatus: status, SessionStatus: status, Currency: "EUR", Amount: 5090}
}

func withSession(s providers.Snapshot, status string) providers.Snapshot {
	s.SessionID = "ps_1"
	s.SessionStatus = status
	return s
}

// paidWith returns s with captured and refunded totals set.
func paidWith(s providers.Snapshot, captured, refunded int64) providers.Snapshot {
	s.Captured = captured
	s.Refunded = refunded
	return s
}

func TestNormalise(t *testing.T) {
	providertest.RunNormalise(t, []providertest.NormaliseCase{
		{Name: "bpc requiresPaymentMethod", Snap: bpcPayment("requiresPaymentMethod"), Want: providers.StatusAwaitingPayment},
		{Name: "bpc requiresConfirmation", Snap: bpcPayment("requiresConfirmation"), Want: providers.StatusAwaitingPayment},
		{Name: "bpc requiresAction", Snap: bpcPayment("requiresAction"), Want: providers.StatusAwaitingPayment},
		{Name: "bpc processing", Snap: bpcPayment("processing"), Want: providers.StatusProcessing},
		{Name: "bpc requiresCapture", Snap: bpcPayment("requiresCapture"), Want: providers.StatusAuthorized},
		{Name: "bpc succeeded", Snap: paidWith(bpcPayment("succeeded"), 5090, 0), Want: providers.StatusPaid},
		{Name: "bpc succeeded partially refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 1000), Want: providers.StatusPartiallyRefunded},
		{Name: "bpc succeeded refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 5090), Want: providers.StatusRefunded},
		{Name: "bpc succeeded refunded above captured", Snap: paidWith(bpcPayment("succeeded"), 5090, 6000), Want: providers.StatusRefunded},
		{Name: "bpc canceled", Snap: bpcPayment("canceled"), Want: providers.StatusCancelled},
		{Name: "bpc canceled keeps cancelled with refunds", Snap: paidWith(bpcPayment("canceled"), 0, 100), Want: providers.StatusCancelled},
		{Name: "bpc failed", Snap: bpcPayment("failed"), Want: providers.StatusFailed},
		{Name: "bpc unknown status", Snap: bpcPayment("teleported"), Want: providers.StatusUnknown},
		{Name: "bpc empty status", Snap: bpcPayment(""), Want: providers.StatusUnknown},
		{Name: "bpc british spelling is not bpc's", Snap: bpcPayment("cancelled"), Want: providers.StatusUnknown},
		{Name: "bpc session open", Snap: bpcSessionOnly("open"), Want: providers.StatusAwaitingPayment},
		{Name: "bpc session expired", Snap: bpcSessionOnly("expired"), Want: providers.StatusExpired},
		{Name: "bpc session completed", Snap: bpcSessionOnly("completed"), Want: providers.StatusProcessing},
		{Name: "bpc session unknown", Snap: bpcSessionOnly("teleported"), Want: providers.StatusUnknown},
		{Name: "bpc session empty", Snap: bpcSessionOnly(""), Want: providers.StatusUnknown},
	})
}

var eligibilityTests = []providertest.EligibilityCase{
	{Name: "bpc cancel requiresPaymentMethod", Snap: bpcPayment("requiresPaymentMethod"), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"BPC", "cancel"}},
	{Name: "bpc cancel requiresAction", Snap: bpcPayment("requiresAction"), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"BPC", "cancel"}},
	{Name: "bpc cancel requiresCapture", Snap: bpcPayment("requiresCapture"), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"BPC", "cancel", "release"}},
	{Name: "bpc cancel requiresCapture with completed session", Snap: withSession(bpcPayment("requiresCapture"), "completed"), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"BPC", "cancel"}},
	{Name: "bpc cancel requiresConfirmation", Snap: bpcPayment("requiresConfirmation"), Action: providers.ActionCancel,
		Reason: []string{"before capture", "waiting for the card, the payer's authentication or the capture", "(requiresConfirmation)"}},
	{Name: "bpc cancel processing", Snap: bpcPayment("processing"), Action: providers.ActionCancel,
		Reason: []string{"before capture", "is processing"}},
	{Name: "bpc cancel succeeded", Snap: paidWith(bpcPayment("succeeded"), 5090, 0), Action: providers.ActionCancel,
		Reason: []string{"before capture", "captured (succeeded)"}},
	{Name: "bpc cancel canceled", Snap: bpcPayment("canceled"), Action: providers.ActionCancel,
		Reason: []string{"before capture", "cancelled (canceled)"}},
	{Name: "bpc cancel failed", Snap: bpcPayment("failed"), Action: providers.ActionCancel,
		Reason: []string{"before capture", "is failed"}},
	{Name: "bpc cancel session with no payment", Snap: bpcSessionOnly("open"), Action: providers.ActionCancel,
		Reason: []string{"BPC cancels payments", "session (open) has none", "expire the session"}},
	{Name: "bpc expire open session", Snap: bpcSessionOnly("open"), Action: providers.ActionExpire,
		Allowed: true, Op: providers.OpExpire, Reason: []string{"BPC", "expire the session"}},
	{Name: "bpc expire open session with payment", Snap: withSession(bpcPayment("requiresPaymentMethod"), "open"), Action: providers.ActionExpire,
		Allowed: true, Op: providers.OpExpire, Reason: []string{"BPC", "expire the session"}},
	{Name: "bpc expire expired session", Snap: bpcSessionOnly("expired"), Action: providers.ActionExpire,
		Reason: []string{"BPC expires only open sessions; this one is expired."}},
	{Name: "bpc expire completed session", Snap: withSession(paidWith(bpcPayment("succeeded"), 5090, 0), "completed"), Action: providers.ActionExpire,
		Reason: []string{"BPC expires only open sessions; this one is completed."}},
	{Name: "bpc expire completed session with no payment", Snap: bpcSessionOnly("completed"), Action: providers.ActionExpire,
		Reason: []string{"BPC expires only open sessions; this one is completed."}},
	{Name: "bpc expire payment with no session", Snap: bpcPayment("requiresPaymentMethod"), Action: providers.ActionExpire,
		Reason: []string{"BPC expires hosted-page sessions", "has none"}},
	{Name: "bpc refund succeeded", Snap: paidWith(bpcPayment("succeeded"), 5090, 0), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 5090, Reason: []string{"BPC", "refund up to 50.90 EUR"}},
	{Name: "bpc refund partially refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 1000), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 4090, Reason: []string{"BPC", "refund up to 40.90 EUR"}},
	{Name: "bpc refund nearly all refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 5089), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 1, Reason: []string{"refund up to 0.01 EUR"}},
	{Name: "bpc refund captured less than amount", Snap: paidWith(bpcPayment("succeeded"), 3000, 0), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 3000, Reason: []string{"refund up to 30.00 EUR"}},
	{Name: "bpc refund fully refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 5090), Action: providers.ActionRefund,
		Reason: []string{"captured (50.90 EUR)", "refunded already"}},
	{Name: "bpc refund over-refunded", Snap: paidWith(bpcPayment("succeeded"), 5090, 6000), Action: providers.ActionRefund,
		Reason: []string{"refunded already"}},
	{Name: "bpc refund nothing captured", Snap: paidWith(bpcPayment("succeeded"), 0, 0), Action: providers.ActionRefund,
		Reason: []string{"refunded already"}},
	{Name: "bpc refund negative refunded total", Snap: paidWith(bpcPayment("succeeded"), 5090, -100), Action: providers.ActionRefund,
		Reason: []string{"negative"}},
	{Name: "bpc refund negative captured total", Snap: paidWith(bpcPayment("succeeded"), -5090, 0), Action: providers.ActionRefund,
		Reason: []string{"negative"}},
	{Name: "bpc refund requiresCapture", Snap: paidWith(bpcPayment("requiresCapture"), 0, 0), Action: providers.ActionRefund,
		Reason: []string{"only captured payments", "authorised, not captured (requiresCapture)"}},
	{Name: "bpc refund canceled", Snap: bpcPayment("canceled"), Action: providers.ActionRefund,
		Reason: []string{"only captured payments", "(canceled)"}},
	{Name: "bpc refund failed", Snap: bpcPayment("failed"), Action: providers.ActionRefund,
		Reason: []string{"only captured payments", "(failed)"}},
	{Name: "bpc refund session with no payment", Snap: bpcSessionOnly("completed"), Action: providers.ActionRefund,
		Reason: []string{"only captured payments", "session with no payment"}},
	{Name: "bpc refund on expired session", Snap: bpcSessionOnly("expired"), Action: providers.ActionRefund,
		Reason: []string{"session with no payment"}},
}

func TestEligible(t *testing.T) { providertest.RunEligibility(t, eligibilityTests) }

// unknownTests are BPC snapshots Paydesk cannot place: nothing is eligible and every
// reason quotes what was not understood.
var unknownTests = []providertest.UnknownCase{
	{Name: "bpc unknown payment status", Snap: paidWith(bpcPayment("refunded"), 5090, 0), Reason: []string{"BPC", `"refunded"`, "unknown"}},
	{Name: "bpc unknown session status", Snap: bpcSessionOnly("paused"), Reason: []string{"BPC", `"paused"`, "unknown"}},
	{Name: "bpc unknown payment status with open session", Snap: withSession(bpcPayment("onHold"), "open"), Reason: []string{"BPC", `"onHold"`, "unknown"}},
}

func TestEligibleUnknownOffersNothing(t *testing.T) { providertest.RunUnknown(t, unknownTests) }

// FuzzEligible fuzzes the generic properties of Eligible from this provider's table.
func FuzzEligible(f *testing.F) {
	providertest.FuzzEligibleFrom(f, eligibilityTests, unknownTests)
}
