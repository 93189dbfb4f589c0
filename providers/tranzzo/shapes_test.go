package tranzzo

import "testing"

// simMode is the answer shape every fixture's simulator uses; TestClientShapes changes it
// while it runs the client tests again (the package's tests do not run in parallel).
var simMode struct {
	Shapes      Shape
	ExtraFields bool
}

// TestClientShapes runs the client's tests against the simulator writing its answers the
// way Tranzzo's document does, then with unknown fields added to every transaction: the
// client reads the same outcomes. (Run alone, the same tests use the full shapes.)
func TestClientShapes(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"FetchEveryVariant", TestFetchEveryVariant},
		{"FetchEscapesOrderID", TestFetchEscapesOrderID},
		{"FetchErrors", TestFetchErrors},
		{"Credentials", TestCredentials},
		{"Cancel", TestCancel},
		{"CancelUnpaidAnswer", TestCancelUnpaidAnswer},
		{"Void", TestVoid},
		{"Refund", TestRefund},
		{"RefundOutcomes", TestRefundOutcomes},
		{"Faults", TestFaults},
		{"ReadRetriedOnceOnConnectionError", TestReadRetriedOnceOnConnectionError},
		{"MoneyMovingCallNotRetried", TestMoneyMovingCallNotRetried},
		{"MountedUnderPrefix", TestMountedUnderPrefix},
	}
	modes := []struct {
		name  string
		shape Shape
		extra bool
	}{
		{"documented", Documented, false},
		{"documented+extra", Documented, true},
		{"full+extra", Full, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			simMode.Shapes, simMode.ExtraFields = m.shape, m.extra
			defer func() { simMode.Shapes, simMode.ExtraFields = Full, false }()
			for _, tt := range tests {
				t.Run(tt.name, tt.run)
			}
		})
	}
}
