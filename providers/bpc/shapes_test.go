package bpc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// TestClientShapes runs the client's tests against the simulator answering in the
// document's shapes, then with unknown fields added to every object: whatever BPC adds or
// leaves out of what its document shows, the client reads the same outcomes. (Run alone,
// the same tests use the full shapes.)
func TestClientShapes(t *testing.T) {
	providertest.RunShaped(t, &simMode, []providertest.Test{
		{Name: "ClientSendsDocumentedRequests", Run: TestClientSendsDocumentedRequests},
		{Name: "Fetch", Run: TestFetch},
		{Name: "FetchErrors", Run: TestFetchErrors},
		{Name: "CredentialsAndVersion", Run: TestCredentialsAndVersion},
		{Name: "Cancel", Run: TestCancel},
		{Name: "Expire", Run: TestExpire},
		{Name: "Refund", Run: TestRefund},
		{Name: "RefundsAndRefundByID", Run: TestRefundsAndRefundByID},
		{Name: "Faults", Run: TestFaults},
		{Name: "FaultsOnReadsAndOtherActions", Run: TestFaultsOnReadsAndOtherActions},
		{Name: "ProviderAnswers", Run: TestProviderAnswers},
		{Name: "MountedUnderAPrefix", Run: TestMountedUnderAPrefix},
		{Name: "ConcurrentRefunds", Run: TestConcurrentRefunds},
	})
}

// TestSimulatorShapes: in the documented shape the simulator answers a session and a
// payment with exactly the keys of the guide's examples; the full shape adds the
// session's undocumented paymentUrl (and paymentId once linked); ExtraFields adds unknown
// keys to every object, nested ones included.
func TestSimulatorShapes(t *testing.T) {
	keysOf := func(t *testing.T, b []byte) []string {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	get := func(t *testing.T, sim *Simulator, path string) []byte {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("X-Api-Key", testKey)
		r.Header.Set("X-Version", DefaultVersion)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	session, payment := readFixture(t, "seed_session_expired.json"), readFixture(t, "seed_payment_canceled.json")
	var sid, pid struct{ ID string }
	json.Unmarshal(session, &sid)
	json.Unmarshal(payment, &pid)
	load := func(t *testing.T, shape simshape.Shape, extra bool) *Simulator {
		sim := NewSimulator(SimConfig{APIKey: testKey, PublicURL: "http://sim.test", Shapes: shape, ExtraFields: extra})
		for _, part := range []string{`"session":` + string(session), `"payment":` + string(payment)} {
			if err := sim.Load([]byte(`{"provider":"bpc",` + part + `}`)); err != nil {
				t.Fatal(err)
			}
		}
		return sim
	}

	doc := load(t, simshape.Documented, false)
	for _, c := range []struct{ path, fixture string }{{"/sessions/" + sid.ID, "seed_session_expired.json"}, {"/payments/" + pid.ID, "seed_payment_canceled.json"}} {
		if got, want := keysOf(t, get(t, doc, c.path)), keysOf(t, readFixture(t, c.fixture)); !reflect.DeepEqual(got, want) {
			t.Errorf("documented GET %s keys\n %v\nwant the guide's\n %v", c.path, got, want)
		}
	}
	full := load(t, simshape.Full, false)
	if got := string(get(t, full, "/sessions/"+sid.ID)); !strings.Contains(got, `"paymentUrl":"http://sim.test/pay/`+sid.ID+`"`) {
		t.Errorf("full session %s, want its paymentUrl", got)
	}
	extra := load(t, simshape.Documented, true)
	got := string(get(t, extra, "/payments/"+pid.ID))
	if strings.Count(got, `"simUnknownField"`) < 5 { // the payment, customerDetails, address, paymentMethod, card, …
		t.Errorf("payment with extra fields %s, want them in every object", got)
	}
}
