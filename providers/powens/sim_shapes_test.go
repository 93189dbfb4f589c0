package powens

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"paydesk/providers"
	"paydesk/providers/simshape"
)

// keysOf lists a JSON object's keys, sorted.
func keysOf(t *testing.T, b []byte) string {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// The documented shapes answer exactly the fields the guides show.
func TestSimulatorDocumentedShapes(t *testing.T) {
	tests := []struct {
		scenario CancelScenario
		status   int
		keys     string
		want     string
	}{
		{CancelDone, 200, "error_code,id,state", `{"id":500,"state":"rejected","error_code":"cancelledByUser"}`},
		{CancelNeedsPayerWebview, 200, "id,state,state_detail", `{"id":500,"state":"pending","state_detail":"cancelling_webauth"}`},
		{CancelNeedsPayerValidateURI, 200, "id,state,state_detail", `{"id":500,"state":"pending","state_detail":"cancelling"}`},
		{CancelNotSupported, 200, "code,description", `{"code":"notSupported","description":"Bad request, please check your request parameters."}`},
	}
	for _, tt := range tests {
		t.Run(tt.scenario.String(), func(t *testing.T) {
			e := newShapedEnv(t, simShape{shapes: simshape.Documented, notSupportedStatus: http.StatusOK}, nil)
			e.load(t, testPayment("500", "pending", "", "first_open_day"))
			e.sim.SetCancelScenario("500", tt.scenario)
			auth := map[string]string{"Authorization": "Bearer " + e.adminToken(t)}
			status, _, body := e.do(t, "POST", "/payments/500", `{"cancel":true}`, auth)
			if status != tt.status || keysOf(t, body) != tt.keys {
				t.Errorf("got %d %s, want %d with %s", status, body, tt.status, tt.keys)
			}
			var got, want any
			json.Unmarshal(body, &got)
			json.Unmarshal([]byte(tt.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %s, want %s", body, tt.want)
			}
		})
	}

	e := newShapedEnv(t, simShape{shapes: simshape.Documented}, nil)
	e.load(t, testPayment("501", "created", "", "first_open_day"))
	auth := map[string]string{"Authorization": "Bearer " + e.adminToken(t)}
	// A payment read carries error_code and error_description as null, as the guide's
	// created payment does.
	_, _, body := e.do(t, "GET", "/payments/501", "", auth)
	if !strings.Contains(string(body), `"error_code":null`) || !strings.Contains(string(body), `"error_description":null`) {
		t.Errorf("payment: got %s", body)
	}
	// Error bodies are code and description only; notSupported defaults to 400.
	status, _, body := e.do(t, "GET", "/payments/404", "", auth)
	if status != 404 || keysOf(t, body) != "code,description" {
		t.Errorf("error: got %d %s", status, body)
	}
	e.sim.SetCancelScenario("501", CancelNotSupported)
	if status, _, _ := e.do(t, "POST", "/payments/501", `{"cancel":true}`, auth); status != 400 {
		t.Errorf("notSupported: got %d, want 400 by default", status)
	}
	// The scoped token answer has the guide's four fields.
	status, _, body = e.do(t, "POST", "/payments/501/scopedtoken", `{"scope":["payments:validate"]}`, auth)
	if status != 200 || keysOf(t, body) != keysOf(t, readFile(t, "fixed_scopedtoken_answer.json")) {
		t.Errorf("scoped token: got %d %s", status, body)
	}
	// The service token answer has the guide's two fields.
	_, _, body = e.do(t, "POST", "/auth/token", strings.NewReplacer("{clientId}", testClientID, "{clientSecret}", testClientSecret).Replace(string(readFile(t, "fixed_token_request.json"))), nil)
	if keysOf(t, body) != keysOf(t, readFile(t, "seed_token_answer.json")) {
		t.Errorf("token: got %s", body)
	}
}

// ExtraFields puts unknown fields into every object of every answer, nested ones too.
func TestSimulatorExtraFields(t *testing.T) {
	e := newShapedEnv(t, simShape{shapes: simshape.Full, extra: true}, nil)
	p := testPayment("510", "pending", "", "first_open_day")
	p.Instructions[0].Amount = json.RawMessage("50.90")
	e.load(t, p)
	auth := map[string]string{"Authorization": "Bearer " + e.adminToken(t)}
	for _, call := range [][2]string{{"GET", "/payments/510"}, {"GET", "/payments"}, {"GET", "/payments/999"}} {
		_, _, body := e.do(t, call[0], call[1], "", auth)
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		objects := 0
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if _, ok := x["sim_extra_object"]; !ok {
					t.Errorf("%s %s: an object without the extra fields: %v", call[0], call[1], x)
				}
				objects++
				for k, y := range x {
					if !strings.HasPrefix(k, "sim_extra_") {
						walk(y)
					}
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			}
		}
		walk(v)
		if objects < 2 && call[1] != "/payments/999" {
			t.Errorf("%s: only %d objects", call[1], objects)
		}
		// Amounts are kept as written.
		if call[1] == "/payments/510" && !strings.Contains(string(body), `"amount":50.90`) {
			t.Errorf("amount rewritten: %s", body)
		}
	}
	// The client reads such a payment as the plain one.
	got, err := e.client.Fetch(t.Context(), providers.Ref{PaymentID: "510"})
	if err != nil || got.Amount != 5090 || got.RawStatus != "pending" || !strings.Contains(string(got.Raw), "sim_extra_object") {
		t.Errorf("Fetch: %+v, %v", got, err)
	}
}
