package providers_test

import (
	"testing"

	"paydesk/providers"
	"paydesk/providers/bpc"
	"paydesk/providers/powens"
	"paydesk/providers/providertest"
	"paydesk/providers/tranzzo"
)

func powensSnap(state, detail, code string) providers.Snapshot {
	return providers.Snapshot{Provider: powens.Name, PaymentID: "4242", RawStatus: state, StateDetail: detail, ErrorCode: code, Currency: "EUR", Amount: 5090}
}

func bpcPayment(status string) providers.Snapshot {
	return providers.Snapshot{Provider: bpc.Name, PaymentID: "p_1", RawStatus: status, Currency: "EUR", Amount: 5090}
}

func tranzzoSnap(method, mode, status, code string) providers.Snapshot {
	return providers.Snapshot{Provider: tranzzo.Name, PaymentID: "tz_1", OrderID: "order-1", Method: method, Mode: mode, RawStatus: status, ErrorCode: code, Currency: "XTS", Amount: 10000}
}

// paidWith returns s with captured and refunded totals set.
func paidWith(s providers.Snapshot, captured, refunded int64) providers.Snapshot {
	s.Captured = captured
	s.Refunded = refunded
	return s
}

// TestNormalise: a provider that is not registered has no status table, so everything
// of it is unknown. Each provider's own table is in its package (rules_test.go).
func TestNormalise(t *testing.T) {
	providertest.RunNormalise(t, []providertest.NormaliseCase{
		{Name: "unknown provider", Snap: providers.Snapshot{Provider: "stripe", RawStatus: "succeeded"}, Want: providers.StatusUnknown},
		{Name: "empty provider", Snap: providers.Snapshot{RawStatus: "done"}, Want: providers.StatusUnknown},
		{Name: "provider name is case-sensitive", Snap: providers.Snapshot{Provider: "Powens", RawStatus: "done"}, Want: providers.StatusUnknown},
	})
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
		t.Errorf("len(Statuses) = %d; want %d (docs/states.md's table)", got, want)
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
