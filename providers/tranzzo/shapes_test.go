package tranzzo

import (
	"context"
	"encoding/json"
	"paydesk/providers/providertest"
	"paydesk/providers/simshape"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// simMode is the answer shape every fixture's simulator uses; TestClientShapes changes it
// while it runs the client tests again (the package's tests do not run in parallel).
var simMode providertest.Shaped

// TestClientShapes runs the client's tests against the simulator writing its answers the
// way Tranzzo's document does, then with unknown fields added to every transaction: the
// client reads the same outcomes. (Run alone, the same tests use the full shapes.)
func TestClientShapes(t *testing.T) {
	providertest.RunShaped(t, &simMode, []providertest.Test{
		{Name: "FetchEveryVariant", Run: TestFetchEveryVariant},
		{Name: "FetchEscapesOrderID", Run: TestFetchEscapesOrderID},
		{Name: "FetchErrors", Run: TestFetchErrors},
		{Name: "Credentials", Run: TestCredentials},
		{Name: "Cancel", Run: TestCancel},
		{Name: "CancelUnpaidAnswer", Run: TestCancelUnpaidAnswer},
		{Name: "Void", Run: TestVoid},
		{Name: "Refund", Run: TestRefund},
		{Name: "RefundOutcomes", Run: TestRefundOutcomes},
		{Name: "Faults", Run: TestFaults},
		{Name: "ReadRetriedOnceOnConnectionError", Run: TestReadRetriedOnceOnConnectionError},
		{Name: "MoneyMovingCallNotRetried", Run: TestMoneyMovingCallNotRetried},
		{Name: "MountedUnderPrefix", Run: TestMountedUnderPrefix},
	})
}

// TestSimulatorShapes: in the documented shape the cancel answer is an array of
// transactions with exactly the keys of the guide's example and its plain amount; void
// and refund answer arrays too; ExtraFields adds unknown keys to every transaction.
func TestSimulatorShapes(t *testing.T) {
	keysOf := func(t *testing.T, obj json.RawMessage) []string {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(obj, &m); err != nil {
			t.Fatalf("%v: %s", err, obj)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	var seed []json.RawMessage
	if err := json.Unmarshal(readFixture(t, "seed_cancel_response_fixed.json"), &seed); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		shape simshape.Shape
		extra bool
	}{{simshape.Documented, false}, {simshape.Documented, true}, {simshape.Full, false}} {
		t.Run(m.shape.String()+map[bool]string{true: "+extra"}[m.extra], func(t *testing.T) {
			simMode = providertest.Shaped{Shape: m.shape, Extra: m.extra}
			defer func() { simMode = providertest.Shaped{} }()
			f := newFixture(t, nil)
			unpaid := f.load(t, VariantHostedPurchaseInit, "UAH", 100)
			held := f.load(t, VariantAuthHeld, "UAH", 4250)
			out := f.client.CancelUnpaid(context.Background(), unpaid)
			var list []json.RawMessage
			if err := json.Unmarshal(out.Raw, &list); err != nil || len(list) != 1 {
				t.Fatalf("cancel answer %s, want an array of one transaction", out.Raw)
			}
			got, want := keysOf(t, list[0]), keysOf(t, seed[0])
			if m.extra {
				want = append(want, "sim_unknown_field", "sim_unknown_object")
				sort.Strings(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cancel answer keys\n %v\nwant\n %v", got, want)
			}
			var tx transaction
			json.Unmarshal(list[0], &tx)
			if wantAmount := map[simshape.Shape]string{simshape.Documented: "1", simshape.Full: "1.00"}[m.shape]; string(tx.Amount) != wantAmount {
				t.Errorf("amount %s, want %s", tx.Amount, wantAmount)
			}
			void := f.client.Void(context.Background(), held, "")
			if isArray := strings.HasPrefix(string(void.Raw), "["); isArray != (m.shape == simshape.Documented) {
				t.Errorf("void answer %s: array %v, want %v", void.Raw, isArray, m.shape == simshape.Documented)
			}
		})
	}
}
