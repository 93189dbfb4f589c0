package tranzzo

import (
	"testing"

	"paydesk/providers"
	"paydesk/providers/providertest"
)

// Tranzzo's status table and rules, checked through the registry (main_test.go registers
// the provider) as the rest of Paydesk reaches them.

func tranzzoSnap(method, mode, status, code string) providers.Snapshot {
	return providers.Snapshot{Provider: Name, PaymentID: "tz_1", OrderID: "order-1", Method: method, Mode: mode, RawStatus: status, ErrorCode: code, Currency: "XTS", Amount: 10000}
}

func voidedAuth() providers.Snapshot {
	s := tranzzoSnap("auth", "hosted", "success", "1002")
	s.Voided = true
	s.Captured = 10000
	return s
}

// paidWith returns s with captured and refunded totals set.
func paidWith(s providers.Snapshot, captured, refunded int64) providers.Snapshot {
	s.Captured = captured
	s.Refunded = refunded
	return s
}

func TestNormalise(t *testing.T) {
	voided := tranzzoSnap("auth", "hosted", "success", "1002")
	voided.Voided = true
	providertest.RunNormalise(t, []providertest.NormaliseCase{
		{Name: "tranzzo init", Snap: tranzzoSnap("purchase", "hosted", "init", ""), Want: providers.StatusAwaitingPayment},
		{Name: "tranzzo pending", Snap: tranzzoSnap("purchase", "hosted", "pending", ""), Want: providers.StatusProcessing},
		{Name: "tranzzo auth success", Snap: tranzzoSnap("auth", "hosted", "success", "1002"), Want: providers.StatusAuthorized},
		{Name: "tranzzo auth success ignores refunded total", Snap: paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 500), Want: providers.StatusAuthorized},
		{Name: "tranzzo purchase success", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), Want: providers.StatusPaid},
		{Name: "tranzzo capture success", Snap: paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 0), Want: providers.StatusPaid},
		{Name: "tranzzo purchase partially refunded", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 2550), Want: providers.StatusPartiallyRefunded},
		{Name: "tranzzo purchase refunded", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 10000), Want: providers.StatusRefunded},
		{Name: "tranzzo capture refunded", Snap: paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 10000), Want: providers.StatusRefunded},
		{Name: "tranzzo failure 6007 cancelled", Snap: tranzzoSnap("purchase", "hosted", "failure", "6007"), Want: providers.StatusCancelled},
		{Name: "tranzzo failure other code", Snap: tranzzoSnap("purchase", "hosted", "failure", "2122"), Want: providers.StatusFailed},
		{Name: "tranzzo failure no code", Snap: tranzzoSnap("purchase", "hosted", "failure", ""), Want: providers.StatusFailed},
		{Name: "tranzzo voided auth", Snap: voided, Want: providers.StatusCancelled},
		{Name: "tranzzo success of unknown method", Snap: tranzzoSnap("teleport", "hosted", "success", "1000"), Want: providers.StatusUnknown},
		{Name: "tranzzo success with no method", Snap: tranzzoSnap("", "hosted", "success", "1000"), Want: providers.StatusUnknown},
		{Name: "tranzzo unknown status", Snap: tranzzoSnap("purchase", "hosted", "teleported", ""), Want: providers.StatusUnknown},
		{Name: "tranzzo empty status", Snap: tranzzoSnap("purchase", "hosted", "", ""), Want: providers.StatusUnknown},
	})
}

var eligibilityTests = []providertest.EligibilityCase{
	{Name: "tranzzo cancel init hosted purchase", Snap: tranzzoSnap("purchase", "hosted", "init", ""), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"Tranzzo", "cancel the unpaid hosted payment"}},
	{Name: "tranzzo cancel init hosted auth", Snap: tranzzoSnap("auth", "hosted", "init", ""), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, Reason: []string{"Tranzzo", "cancel the unpaid hosted payment"}},
	{Name: "tranzzo cancel init direct purchase", Snap: tranzzoSnap("purchase", "direct", "init", ""), Action: providers.ActionCancel,
		Reason: []string{"only unpaid payments made on its hosted page", "direct"}},
	{Name: "tranzzo cancel init hosted capture", Snap: tranzzoSnap("capture", "hosted", "init", ""), Action: providers.ActionCancel,
		Reason: []string{"only unpaid hosted payments", "unpaid capture (capture, init)"}},
	{Name: "tranzzo void auth success", Snap: paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 0), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpVoid, Reason: []string{"Tranzzo", "void the authorisation"}},
	{Name: "tranzzo void auth success direct", Snap: paidWith(tranzzoSnap("auth", "direct", "success", "1002"), 10000, 0), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpVoid, Reason: []string{"void the authorisation"}},
	{Name: "tranzzo cancel voided auth", Snap: voidedAuth(), Action: providers.ActionCancel,
		Reason: []string{"already voided"}},
	{Name: "tranzzo cancel purchase success", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), Action: providers.ActionCancel,
		Reason: []string{"only unpaid hosted payments", "voids held authorisations", "successful purchase (purchase, success)"}},
	{Name: "tranzzo cancel purchase pending", Snap: tranzzoSnap("purchase", "hosted", "pending", ""), Action: providers.ActionCancel,
		Reason: []string{"only unpaid hosted payments", "(purchase, pending)"}},
	{Name: "tranzzo cancel auth pending", Snap: tranzzoSnap("auth", "hosted", "pending", ""), Action: providers.ActionCancel,
		Reason: []string{"only unpaid hosted payments", "an authorisation still processing (auth, pending)"}},
	{Name: "tranzzo cancel cancelled payment", Snap: tranzzoSnap("purchase", "hosted", "failure", "6007"), Action: providers.ActionCancel,
		Reason: []string{"only unpaid hosted payments", "(purchase, failure)"}},
	{Name: "tranzzo refund purchase success", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 10000, Reason: []string{"Tranzzo", "refund up to 100.00 XTS"}},
	{Name: "tranzzo refund capture success", Snap: paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 0), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 10000, Reason: []string{"Tranzzo", "refund up to 100.00 XTS"}},
	{Name: "tranzzo refund partially refunded", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 2550), Action: providers.ActionRefund,
		Allowed: true, Op: providers.OpRefund, MaxRefund: 7450, Reason: []string{"refund up to 74.50 XTS"}},
	{Name: "tranzzo refund fully refunded", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 10000), Action: providers.ActionRefund,
		Reason: []string{"captured (100.00 XTS)", "refunded already"}},
	{Name: "tranzzo refund auth success", Snap: paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 0), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "held authorisation (auth, success)", "cancel it"}},
	{Name: "tranzzo refund voided auth", Snap: voidedAuth(), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "voided"}},
	{Name: "tranzzo refund voided purchase", Snap: func() providers.Snapshot {
		s := paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0)
		s.Voided = true
		return s
	}(), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "voided"}},
	{Name: "tranzzo refund failure", Snap: paidWith(tranzzoSnap("purchase", "hosted", "failure", "2122"), 10000, 0), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "(purchase, failure)"}},
	{Name: "tranzzo refund pending", Snap: tranzzoSnap("purchase", "hosted", "pending", ""), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "(purchase, pending)"}},
	{Name: "tranzzo refund init", Snap: tranzzoSnap("purchase", "hosted", "init", ""), Action: providers.ActionRefund,
		Reason: []string{"only successful purchases or captures", "unpaid purchase (purchase, init)"}},
	{Name: "tranzzo expire init hosted", Snap: tranzzoSnap("purchase", "hosted", "init", ""), Action: providers.ActionExpire,
		Reason: []string{"Tranzzo has no expire", "cancelled instead"}},
	{Name: "tranzzo expire purchase success", Snap: paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), Action: providers.ActionExpire,
		Reason: []string{"Tranzzo has no expire"}},
}

func TestEligible(t *testing.T) { providertest.RunEligibility(t, eligibilityTests) }

// unknownTests are Tranzzo snapshots Paydesk cannot place: nothing is eligible and every
// reason quotes what was not understood.
var unknownTests = []providertest.UnknownCase{
	{Name: "tranzzo unknown status", Snap: tranzzoSnap("purchase", "hosted", "chargeback", ""), Reason: []string{"Tranzzo", `"chargeback"`, "unknown"}},
	{Name: "tranzzo success of an unknown method", Snap: paidWith(tranzzoSnap("refund", "hosted", "success", "1000"), 10000, 0), Reason: []string{"Tranzzo", `"success"`, "unknown"}},
	{Name: "tranzzo no status", Snap: tranzzoSnap("auth", "hosted", "", ""), Reason: []string{"Tranzzo", "no status"}},
}

func TestEligibleUnknownOffersNothing(t *testing.T) { providertest.RunUnknown(t, unknownTests) }

// FuzzEligible fuzzes the generic properties of Eligible from this provider's table.
func FuzzEligible(f *testing.F) {
	providertest.FuzzEligibleFrom(f, eligibilityTests, unknownTests)
}
