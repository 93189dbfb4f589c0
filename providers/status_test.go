package providers_test

import (
	"testing"

	"paydesk/providers"
)

func powensSnap(state, detail, code string) providers.Snapshot {
	return providers.Snapshot{Provider: providers.Powens, PaymentID: "4242", RawStatus: state, StateDetail: detail, ErrorCode: code, Currency: "EUR", Amount: 5090}
}

func bpcPayment(status string) providers.Snapshot {
	return providers.Snapshot{Provider: providers.BPC, PaymentID: "p_1", RawStatus: status, Currency: "EUR", Amount: 5090}
}

func bpcSessionOnly(status string) providers.Snapshot {
	return providers.Snapshot{Provider: providers.BPC, SessionID: "ps_1", RawStatus: status, SessionStatus: status, Currency: "EUR", Amount: 5090}
}

func tranzzoSnap(method, mode, status, code string) providers.Snapshot {
	return providers.Snapshot{Provider: providers.Tranzzo, PaymentID: "tz_1", OrderID: "order-1", Method: method, Mode: mode, RawStatus: status, ErrorCode: code, Currency: "XTS", Amount: 10000}
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

	tests := []struct {
		name string
		snap providers.Snapshot
		want providers.Status
	}{
		// Powens.
		{"powens created", powensSnap("created", "", ""), providers.StatusAwaitingPayment},
		{"powens validating", powensSnap("validating", "", ""), providers.StatusAwaitingPayment},
		{"powens pending", powensSnap("pending", "", ""), providers.StatusProcessing},
		{"powens pending with another state_detail", powensSnap("pending", "sent_to_bank", ""), providers.StatusProcessing},
		{"powens pending cancelling_webauth", powensSnap("pending", "cancelling_webauth", ""), providers.StatusCancelling},
		{"powens pending cancelling", powensSnap("pending", "cancelling", ""), providers.StatusCancelling},
		{"powens accepted", powensSnap("accepted", "", ""), providers.StatusInitiated},
		{"powens done", powensSnap("done", "", ""), providers.StatusPaid},
		{"powens done ignores refunded total", paidWith(powensSnap("done", "", ""), 5090, 5090), providers.StatusPaid},
		{"powens rejected cancelledByUser", powensSnap("rejected", "", "cancelledByUser"), providers.StatusCancelled},
		{"powens rejected by bank", powensSnap("rejected", "", "insufficientFunds"), providers.StatusFailed},
		{"powens rejected without code", powensSnap("rejected", "", ""), providers.StatusFailed},
		{"powens expired", powensSnap("expired", "", ""), providers.StatusExpired},
		{"powens unknown state", powensSnap("teleported", "", ""), providers.StatusUnknown},
		{"powens empty state", powensSnap("", "", ""), providers.StatusUnknown},
		{"powens state is case-sensitive", powensSnap("Done", "", ""), providers.StatusUnknown},
		{"powens bpc status is not a powens state", powensSnap("succeeded", "", ""), providers.StatusUnknown},

		// BPC payments.
		{"bpc requiresPaymentMethod", bpcPayment("requiresPaymentMethod"), providers.StatusAwaitingPayment},
		{"bpc requiresConfirmation", bpcPayment("requiresConfirmation"), providers.StatusAwaitingPayment},
		{"bpc requiresAction", bpcPayment("requiresAction"), providers.StatusAwaitingPayment},
		{"bpc processing", bpcPayment("processing"), providers.StatusProcessing},
		{"bpc requiresCapture", bpcPayment("requiresCapture"), providers.StatusAuthorized},
		{"bpc succeeded", paidWith(bpcPayment("succeeded"), 5090, 0), providers.StatusPaid},
		{"bpc succeeded partially refunded", paidWith(bpcPayment("succeeded"), 5090, 1000), providers.StatusPartiallyRefunded},
		{"bpc succeeded refunded", paidWith(bpcPayment("succeeded"), 5090, 5090), providers.StatusRefunded},
		{"bpc succeeded refunded above captured", paidWith(bpcPayment("succeeded"), 5090, 6000), providers.StatusRefunded},
		{"bpc canceled", bpcPayment("canceled"), providers.StatusCancelled},
		{"bpc canceled keeps cancelled with refunds", paidWith(bpcPayment("canceled"), 0, 100), providers.StatusCancelled},
		{"bpc failed", bpcPayment("failed"), providers.StatusFailed},
		{"bpc unknown status", bpcPayment("teleported"), providers.StatusUnknown},
		{"bpc empty status", bpcPayment(""), providers.StatusUnknown},
		{"bpc british spelling is not bpc's", bpcPayment("cancelled"), providers.StatusUnknown},

		// BPC sessions with no payment.
		{"bpc session open", bpcSessionOnly("open"), providers.StatusAwaitingPayment},
		{"bpc session expired", bpcSessionOnly("expired"), providers.StatusExpired},
		{"bpc session completed", bpcSessionOnly("completed"), providers.StatusProcessing},
		{"bpc session unknown", bpcSessionOnly("teleported"), providers.StatusUnknown},
		{"bpc session empty", bpcSessionOnly(""), providers.StatusUnknown},

		// Tranzzo.
		{"tranzzo init", tranzzoSnap("purchase", "hosted", "init", ""), providers.StatusAwaitingPayment},
		{"tranzzo pending", tranzzoSnap("purchase", "hosted", "pending", ""), providers.StatusProcessing},
		{"tranzzo auth success", tranzzoSnap("auth", "hosted", "success", "1002"), providers.StatusAuthorized},
		{"tranzzo auth success ignores refunded total", paidWith(tranzzoSnap("auth", "hosted", "success", "1002"), 10000, 500), providers.StatusAuthorized},
		{"tranzzo purchase success", paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 0), providers.StatusPaid},
		{"tranzzo capture success", paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 0), providers.StatusPaid},
		{"tranzzo purchase partially refunded", paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 2550), providers.StatusPartiallyRefunded},
		{"tranzzo purchase refunded", paidWith(tranzzoSnap("purchase", "hosted", "success", "1000"), 10000, 10000), providers.StatusRefunded},
		{"tranzzo capture refunded", paidWith(tranzzoSnap("capture", "direct", "success", "1000"), 10000, 10000), providers.StatusRefunded},
		{"tranzzo failure 6007 cancelled", tranzzoSnap("purchase", "hosted", "failure", "6007"), providers.StatusCancelled},
		{"tranzzo failure other code", tranzzoSnap("purchase", "hosted", "failure", "2122"), providers.StatusFailed},
		{"tranzzo failure no code", tranzzoSnap("purchase", "hosted", "failure", ""), providers.StatusFailed},
		{"tranzzo voided auth", voided, providers.StatusCancelled},
		{"tranzzo success of unknown method", tranzzoSnap("teleport", "hosted", "success", "1000"), providers.StatusUnknown},
		{"tranzzo success with no method", tranzzoSnap("", "hosted", "success", "1000"), providers.StatusUnknown},
		{"tranzzo unknown status", tranzzoSnap("purchase", "hosted", "teleported", ""), providers.StatusUnknown},
		{"tranzzo empty status", tranzzoSnap("purchase", "hosted", "", ""), providers.StatusUnknown},

		// Unknown providers.
		{"unknown provider", providers.Snapshot{Provider: "stripe", RawStatus: "succeeded"}, providers.StatusUnknown},
		{"empty provider", providers.Snapshot{RawStatus: "done"}, providers.StatusUnknown},
		{"provider name is case-sensitive", providers.Snapshot{Provider: "Powens", RawStatus: "done"}, providers.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := providers.Normalise(tt.snap)
			if got != tt.want {
				t.Errorf("Normalise(%+v) = %q; want %q", tt.snap, got, tt.want)
			}
			if !got.Valid() {
				t.Errorf("Normalise returned %q, which Status.Valid refuses", got)
			}
		})
	}
}

func TestStatusRankFollowsAPaymentsLife(t *testing.T) {
	// Each path is a life a payment can have; every step must rank strictly higher than
	// the one before so that a stale snapshot never moves a payment back.
	paths := [][]providers.Status{
		{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusPaid, providers.StatusPartiallyRefunded, providers.StatusRefunded},
		{providers.StatusAwaitingPayment, providers.StatusAuthorized, providers.StatusPaid},
		{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusAuthorized, providers.StatusPaid},
		{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusInitiated, providers.StatusPaid},
		{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusCancelling, providers.StatusCancelled},
		{providers.StatusAwaitingPayment, providers.StatusAuthorized, providers.StatusCancelled},
		{providers.StatusAwaitingPayment, providers.StatusProcessing, providers.StatusFailed},
		{providers.StatusAwaitingPayment, providers.StatusExpired},
		{providers.StatusPaid, providers.StatusRefunded},
	}
	for _, path := range paths {
		for i := 1; i < len(path); i++ {
			prev, next := path[i-1], path[i]
			if prev.Rank() >= next.Rank() {
				t.Errorf("%s.Rank() = %d, %s.Rank() = %d; want %s below %s", prev, prev.Rank(), next, next.Rank(), prev, next)
			}
		}
	}
}

func TestStatusRankTerminalHighest(t *testing.T) {
	terminal := []providers.Status{providers.StatusCancelled, providers.StatusExpired, providers.StatusFailed}
	want := terminal[0].Rank()
	for _, st := range terminal {
		if got := st.Rank(); got != want {
			t.Errorf("%s.Rank() = %d; want %d like the other terminal statuses", st, got, want)
		}
	}
	for _, st := range providers.Statuses {
		if st == providers.StatusCancelled || st == providers.StatusExpired || st == providers.StatusFailed {
			continue
		}
		if st.Rank() >= want {
			t.Errorf("%s.Rank() = %d; want below the terminal rank %d", st, st.Rank(), want)
		}
	}
}

func TestStatusRankUnknownLowest(t *testing.T) {
	unknown := providers.StatusUnknown.Rank()
	for _, st := range providers.Statuses {
		if st == providers.StatusUnknown {
			continue
		}
		if st.Rank() <= unknown {
			t.Errorf("%s.Rank() = %d; want above unknown's %d", st, st.Rank(), unknown)
		}
	}
	if got := providers.Status("teleported").Rank(); got != unknown {
		t.Errorf("Rank of a status outside the list = %d; want %d (unknown's)", got, unknown)
	}
}

func TestStatusValidAndLabel(t *testing.T) {
	seen := map[providers.Status]bool{}
	for _, st := range providers.Statuses {
		if !st.Valid() {
			t.Errorf("%q.Valid() = false; want true", st)
		}
		if seen[st] {
			t.Errorf("%q listed twice in Statuses", st)
		}
		seen[st] = true
		if st.Label() == "" {
			t.Errorf("%q.Label() is empty", st)
		}
	}
	if got, want := len(providers.Statuses), 12; got != want {
		t.Errorf("len(Statuses) = %d; want %d (design.md's table)", got, want)
	}
	for _, st := range []providers.Status{"", "paid ", "PAID", "canceled"} {
		if st.Valid() {
			t.Errorf("%q.Valid() = true; want false", st)
		}
	}
	labels := map[providers.Status]string{
		providers.StatusAwaitingPayment:   "awaiting payment",
		providers.StatusPartiallyRefunded: "partially refunded",
		providers.StatusPaid:              "paid",
	}
	for st, want := range labels {
		if got := st.Label(); got != want {
			t.Errorf("%q.Label() = %q; want %q", st, got, want)
		}
	}
}
