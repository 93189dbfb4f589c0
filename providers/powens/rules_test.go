package powens

import (
	"testing"

	"paydesk/providers"
	"paydesk/providers/providertest"
)

// Powens's status table and rules, checked through the registry (main_test.go registers
// the provider) as the rest of Paydesk reaches them.

func powensSnap(state, detail, code string) providers.Snapshot {
	return providers.Snapshot{Provider: Name, PaymentID: "4242", RawStatus: state, StateDetail: detail, ErrorCode: code, Currency: "EUR", Amount: 5090}
}

func withInstant(s providers.Snapshot) providers.Snapshot {
	s.Instant = true
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
		{Name: "powens created", Snap: powensSnap("created", "", ""), Want: providers.StatusAwaitingPayment},
		{Name: "powens validating", Snap: powensSnap("validating", "", ""), Want: providers.StatusAwaitingPayment},
		{Name: "powens pending", Snap: powensSnap("pending", "", ""), Want: providers.StatusProcessing},
		{Name: "powens pending with another state_detail", Snap: powensSnap("pending", "sent_to_bank", ""), Want: providers.StatusProcessing},
		{Name: "powens pending cancelling_webauth", Snap: powensSnap("pending", "cancelling_webauth", ""), Want: providers.StatusCancelling},
		{Name: "powens pending cancelling", Snap: powensSnap("pending", "cancelling", ""), Want: providers.StatusCancelling},
		{Name: "powens accepted", Snap: powensSnap("accepted", "", ""), Want: providers.StatusInitiated},
		{Name: "powens done", Snap: powensSnap("done", "", ""), Want: providers.StatusPaid},
		{Name: "powens done ignores refunded total", Snap: paidWith(powensSnap("done", "", ""), 5090, 5090), Want: providers.StatusPaid},
		{Name: "powens rejected cancelledByUser", Snap: powensSnap("rejected", "", "cancelledByUser"), Want: providers.StatusCancelled},
		{Name: "powens rejected by bank", Snap: powensSnap("rejected", "", "insufficientFunds"), Want: providers.StatusFailed},
		{Name: "powens rejected without code", Snap: powensSnap("rejected", "", ""), Want: providers.StatusFailed},
		{Name: "powens expired", Snap: powensSnap("expired", "", ""), Want: providers.StatusExpired},
		{Name: "powens unknown state", Snap: powensSnap("teleported", "", ""), Want: providers.StatusUnknown},
		{Name: "powens empty state", Snap: powensSnap("", "", ""), Want: providers.StatusUnknown},
		{Name: "powens state is case-sensitive", Snap: powensSnap("Done", "", ""), Want: providers.StatusUnknown},
		{Name: "powens bpc status is not a powens state", Snap: powensSnap("succeeded", "", ""), Want: providers.StatusUnknown},
	})
}

var eligibilityTests = []providertest.EligibilityCase{
	{Name: "powens created", Snap: powensSnap("created", "", ""), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, MayNeedPayer: true, Reason: []string{"Powens", "cancel"}},
	{Name: "powens created with an instant instruction", Snap: withInstant(powensSnap("created", "", "")), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, MayNeedPayer: true, Reason: []string{"Powens", "cancel"}},
	{Name: "powens validating", Snap: powensSnap("validating", "", ""), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "validating"}},
	{Name: "powens pending first_open_day", Snap: powensSnap("pending", "", ""), Action: providers.ActionCancel,
		Allowed: true, Op: providers.OpCancel, MayNeedPayer: true, Reason: []string{"Powens", "cancel", "payer"}},
	{Name: "powens pending instant", Snap: withInstant(powensSnap("pending", "", "")), Action: providers.ActionCancel,
		Reason: []string{"instant", "pending"}},
	{Name: "powens pending cancelling_webauth", Snap: powensSnap("pending", "cancelling_webauth", ""), Action: providers.ActionCancel,
		Reason: []string{"already waiting for the payer", "payer link"}},
	{Name: "powens pending cancelling", Snap: powensSnap("pending", "cancelling", ""), Action: providers.ActionCancel,
		Reason: []string{"already waiting for the payer", "payer link"}},
	{Name: "powens pending instant cancelling_webauth", Snap: withInstant(powensSnap("pending", "cancelling_webauth", "")), Action: providers.ActionCancel,
		Reason: []string{"already waiting for the payer"}},
	{Name: "powens accepted", Snap: powensSnap("accepted", "", ""), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "accepted"}},
	{Name: "powens done", Snap: powensSnap("done", "", ""), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "done"}},
	{Name: "powens rejected", Snap: powensSnap("rejected", "", "insufficientFunds"), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "rejected"}},
	{Name: "powens rejected cancelledByUser", Snap: powensSnap("rejected", "", "cancelledByUser"), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "rejected"}},
	{Name: "powens expired", Snap: powensSnap("expired", "", ""), Action: providers.ActionCancel,
		Reason: []string{"created or pending", "expired"}},
	{Name: "powens expire created", Snap: powensSnap("created", "", ""), Action: providers.ActionExpire,
		Reason: []string{"Powens has no expire", "expired state itself"}},
	{Name: "powens expire pending", Snap: powensSnap("pending", "", ""), Action: providers.ActionExpire,
		Reason: []string{"Powens has no expire"}},
	{Name: "powens refund done", Snap: paidWith(powensSnap("done", "", ""), 5090, 0), Action: providers.ActionRefund,
		Reason: []string{"Powens has no refunds", "cannot be reversed"}},
	{Name: "powens refund accepted", Snap: paidWith(powensSnap("accepted", "", ""), 5090, 0), Action: providers.ActionRefund,
		Reason: []string{"Powens has no refunds"}},
}

func TestEligible(t *testing.T) { providertest.RunEligibility(t, eligibilityTests) }

// unknownTests are Powens snapshots Paydesk cannot place: nothing is eligible and every
// reason quotes what was not understood.
var unknownTests = []providertest.UnknownCase{
	{Name: "powens unknown state", Snap: powensSnap("teleported", "", ""), Reason: []string{"Powens", `"teleported"`, "unknown"}},
	{Name: "powens unknown state with cancel details", Snap: withInstant(powensSnap("Pending", "cancelling", "")), Reason: []string{"Powens", `"Pending"`, "unknown"}},
	{Name: "powens no status", Snap: powensSnap("", "", ""), Reason: []string{"Powens", "no status"}},
}

func TestEligibleUnknownOffersNothing(t *testing.T) { providertest.RunUnknown(t, unknownTests) }

// FuzzEligible fuzzes the generic properties of Eligible from this provider's table.
func FuzzEligible(f *testing.F) {
	providertest.FuzzEligibleFrom(f, eligibilityTests, unknownTests)
}
