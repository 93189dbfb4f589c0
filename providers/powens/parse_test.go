package powens

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"paydesk/providers"
)

// The seed's request examples decode through the wire structs to the documented values.
func TestSeedPaymentRequests(t *testing.T) {
	tests := []struct {
		file, execType, execDate string
	}{
		{"seed_payment_request_first_open_day.json", "first_open_day", ""},
		{"seed_payment_request_instant.json", "instant", ""},
		{"seed_payment_request_deferred.json", "deferred", "2024-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var p payment
			if err := json.Unmarshal(readFile(t, tt.file), &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got, want := len(p.Instructions), 1; got != want {
				t.Fatalf("instructions: got %d, want %d", got, want)
			}
			in := p.Instructions[0]
			amount, err := providers.ParseMajorJSON(in.Amount, in.Currency)
			if err != nil {
				t.Fatalf("amount: %v", err)
			}
			if amount != 5090 || in.Currency != "EUR" {
				t.Errorf("amount: got %d %s, want 5090 EUR", amount, in.Currency)
			}
			if in.ExecutionDateType != tt.execType || in.ExecutionDate != tt.execDate {
				t.Errorf("execution: got %q %q, want %q %q", in.ExecutionDateType, in.ExecutionDate, tt.execType, tt.execDate)
			}
			if in.Label != "Test" || in.Beneficiary == nil || in.Beneficiary.Label != "ACME Corp." || in.Beneficiary.SchemeName != "iban" {
				t.Errorf("label/beneficiary: got %q %+v", in.Label, in.Beneficiary)
			}
			if in.BeneficiaryIdentity == nil || in.BeneficiaryIdentity.OrgName != "ACME Corp." || in.BeneficiaryIdentity.Identification != "012345678" {
				t.Errorf("beneficiary identity: got %+v", in.BeneficiaryIdentity)
			}
			if p.PayerIdentity == nil || p.PayerIdentity.FirstName != "Germaine" || p.PayerIdentity.LastName != "Michu" || p.PayerIdentity.BirthCity != "Paris" {
				t.Errorf("payer: got %+v", p.PayerIdentity)
			}
			if p.ClientRedirectURI != "{redirectURL}" || p.ClientState != "{optionalRedirectState}" {
				t.Errorf("redirect/state: got %q %q", p.ClientRedirectURI, p.ClientState)
			}
			// As a payment (with the id and state Powens adds), the request is a Snapshot.
			p.ID, p.State, p.ClientState = "4242", "created", ""
			b, _ := json.Marshal(p)
			s, err := decodePayment(b)
			if err != nil {
				t.Fatalf("decodePayment: %v", err)
			}
			if s.Amount != 5090 || s.Instant != (tt.execType == "instant") || s.CustomerName != "Germaine Michu" || s.MerchantReference != "Test" {
				t.Errorf("snapshot: got amount %d instant %v name %q ref %q", s.Amount, s.Instant, s.CustomerName, s.MerchantReference)
			}
		})
	}
}

func TestSeedIdentities(t *testing.T) {
	var ind, corp identity
	if err := json.Unmarshal(readFile(t, "seed_identity_individual.json"), &ind); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFile(t, "seed_identity_corporate.json"), &corp); err != nil {
		t.Fatal(err)
	}
	if ind.Kind != "individual" || ind.FirstName != "Jean" || ind.LastName != "Dupont" || ind.ExternalRef != "MY-CUSTOMER-REFERENCE-012345678" ||
		!strings.Contains(ind.PostalAddress, "Entrée B Résidence Les Iris\n") {
		t.Errorf("individual: got %+v", ind)
	}
	if corp.Kind != "corporate" || corp.OrgName != "Powens" || corp.OrgLegalStatus != "SAS" || corp.Identification != "749867206" ||
		corp.OrgHQAddress != "84 RUE BEAUBOURG\n75003 PARIS 3\nFRANCE" {
		t.Errorf("corporate: got %+v", corp)
	}
}

func TestSeedTokensAndCancel(t *testing.T) {
	var tok tokenAnswer
	if err := json.Unmarshal(readFile(t, "seed_token_answer.json"), &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Token != "{accessToken}" || tok.Scope != "payments:admin" {
		t.Errorf("token answer: got %+v", tok)
	}
	var st scopedTokenRequest
	if err := json.Unmarshal(readFile(t, "seed_scopedtoken_request.json"), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Scope) != 1 || st.Scope[0] != "payments:validate" {
		t.Errorf("scoped token request: got %+v", st)
	}
	var cr cancelRequest
	if err := json.Unmarshal(readFile(t, "seed_cancel_request.json"), &cr); err != nil {
		t.Fatal(err)
	}
	if !cr.Cancel || cr.ClientRedirectURI != "{redirectURL}" || cr.ClientState != "{optionalRedirectState}" {
		t.Errorf("cancel request: got %+v", cr)
	}
	// The client's own cancel body has the seed's shape.
	mine, _ := json.Marshal(cancelRequest{Cancel: true, ClientRedirectURI: "{redirectURL}", ClientState: "{optionalRedirectState}"})
	var a, b map[string]any
	json.Unmarshal(mine, &a)
	json.Unmarshal(readFile(t, "seed_cancel_request.json"), &b)
	if len(a) != len(b) || a["cancel"] != b["cancel"] || a["client_state"] != b["client_state"] || a["client_redirect_uri"] != b["client_redirect_uri"] {
		t.Errorf("client cancel body: got %s, want the seed's %v", mine, b)
	}
}

// The seed examples that are not JSON as published are kept verbatim; their fixed copy
// decodes to the documented values.
func TestSeedFixedCopies(t *testing.T) {
	pairs := []struct{ seed, fixed string }{
		{"seed_token_request.txt", "fixed_token_request.json"},
		{"seed_payment_created_answer.txt", "fixed_payment_created_answer.json"},
		{"seed_scopedtoken_answer.txt", "fixed_scopedtoken_answer.json"},
		{"seed_cancel_answer_done.txt", "fixed_cancel_answer_done.json"},
		{"seed_cancel_answer_webauth.txt", "fixed_cancel_answer_webauth.json"},
		{"seed_cancel_answer_not_supported.txt", "fixed_cancel_answer_not_supported.json"},
	}
	for _, p := range pairs {
		if json.Valid(readFile(t, p.seed)) {
			t.Errorf("%s: the verbatim seed is valid JSON; it needs no fixed copy", p.seed)
		}
		if !json.Valid(readFile(t, p.fixed)) {
			t.Errorf("%s: not valid JSON", p.fixed)
		}
	}

	var tr tokenRequest
	if err := json.Unmarshal(readFile(t, "fixed_token_request.json"), &tr); err != nil {
		t.Fatal(err)
	}
	if tr != (tokenRequest{GrantType: "client_credentials", ClientID: "{clientId}", ClientSecret: "{clientSecret}", Scope: "payments:admin"}) {
		t.Errorf("token request: got %+v", tr)
	}
	var sa scopedTokenAnswer
	if err := json.Unmarshal(readFile(t, "fixed_scopedtoken_answer.json"), &sa); err != nil {
		t.Fatal(err)
	}
	if sa.Token != "{scopedAccessToken}" || sa.Scope != "payments:validate" || sa.ExpiresIn != 604800 || sa.IDPayment != "4242" {
		t.Errorf("scoped token answer: got %+v", sa)
	}
	var eb errorBody
	if err := json.Unmarshal(readFile(t, "fixed_cancel_answer_not_supported.json"), &eb); err != nil {
		t.Fatal(err)
	}
	if eb.Code != "notSupported" || eb.Description != "Bad request, please check your request parameters." {
		t.Errorf("not supported: got %+v", eb)
	}

	answers := []struct {
		file                   string
		state, detail, errCode string
	}{
		{"fixed_payment_created_answer.json", "created", "", ""},
		{"fixed_cancel_answer_done.json", "rejected", "", "cancelledByUser"},
		{"fixed_cancel_answer_webauth.json", "pending", "cancelling_webauth", ""},
	}
	for _, a := range answers {
		var p payment
		if err := json.Unmarshal(readFile(t, a.file), &p); err != nil {
			t.Fatalf("%s: %v", a.file, err)
		}
		if p.ID != "4242" || p.State != a.state || p.StateDetail != a.detail || p.ErrorCode != a.errCode {
			t.Errorf("%s: got id %q state %q detail %q error %q", a.file, p.ID, p.State, p.StateDetail, p.ErrorCode)
		}
		// The seed's answers elide the instructions: as a Snapshot they lack an amount.
		if _, err := decodePayment(readFile(t, a.file)); err == nil || !strings.Contains(err.Error(), "no instructions") {
			t.Errorf("%s: decodePayment error %v, want one about missing instructions", a.file, err)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		file string
		want providers.Snapshot
	}{
		{"envelope_seed_payment.json", providers.Snapshot{
			PaymentID: "4242", MerchantReference: "Test", Amount: 5090, Captured: 0, Currency: "EUR",
			RawStatus: "pending", CustomerName: "Germaine Michu", Description: "Test",
			CreatedAt: time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC),
		}},
		{"envelope_gbp_two_instructions.json", providers.Snapshot{
			PaymentID: "9001", MerchantReference: "ORDER-77", Amount: 120007, Captured: 120007, Currency: "GBP",
			RawStatus: "done", Instant: true, CustomerName: "Widgets Ltd", CustomerEmail: "ap@widgets.example",
			Description: "Rent; Fees", CreatedAt: time.Date(2024, 3, 5, 7, 30, 0, 0, time.UTC),
		}},
		{"envelope_cancelling_validate_uri.json", providers.Snapshot{
			PaymentID: "77", MerchantReference: "Invoice 12", Amount: 1999, Currency: "EUR",
			RawStatus: "pending", StateDetail: "cancelling", ValidateURI: "https://bank.example/validate/77",
			CustomerName: "Ana Lima", CustomerEmail: "ana@example.com", Description: "Invoice 12",
			CreatedAt: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseEnvelope(readFile(t, tt.file))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			want := tt.want
			want.Provider = Name
			raw := got.Raw
			got.Raw = nil
			if !equalSnapshots(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			// Raw is the normalised envelope: it parses to the same snapshot, and again to itself.
			again, err := ParseEnvelope(raw)
			if err != nil {
				t.Fatalf("ParseEnvelope(Raw): %v", err)
			}
			if string(again.Raw) != string(raw) {
				t.Errorf("Raw is not stable:\n%s\n%s", raw, again.Raw)
			}
			again.Raw = nil
			if !equalSnapshots(again, want) {
				t.Errorf("Raw parses to %+v", again)
			}
			if strings.Contains(string(raw), "\n") || !strings.HasPrefix(string(raw), `{"provider":"powens","payment":{`) {
				t.Errorf("Raw is not a compact envelope: %s", raw)
			}
		})
	}
	// Fields Paydesk does not know are kept in Raw.
	s, _ := ParseEnvelope(readFile(t, "envelope_gbp_two_instructions.json"))
	if !strings.Contains(string(s.Raw), `"unknown_field":{"kept":true}`) {
		t.Errorf("Raw lost an unknown field: %s", s.Raw)
	}
}

func equalSnapshots(a, b providers.Snapshot) bool {
	return a.Provider == b.Provider && a.PaymentID == b.PaymentID && a.MerchantReference == b.MerchantReference &&
		a.Amount == b.Amount && a.Captured == b.Captured && a.Refunded == b.Refunded && a.Currency == b.Currency &&
		a.RawStatus == b.RawStatus && a.StateDetail == b.StateDetail && a.ErrorCode == b.ErrorCode &&
		a.Instant == b.Instant && a.ValidateURI == b.ValidateURI && a.CustomerName == b.CustomerName &&
		a.CustomerEmail == b.CustomerEmail && a.Description == b.Description && a.CreatedAt.Equal(b.CreatedAt) &&
		a.Refunds == nil && b.Refunds == nil
}

func TestParseEnvelopeErrors(t *testing.T) {
	pay := func(inner string) string { return `{"provider":"powens","payment":` + inner + `}` }
	instr := `"instructions":[{"amount":10.5,"currency":"EUR"}]`
	tests := []struct {
		name, raw, want string
	}{
		{"not json", `{"provider":`, "powens: envelope"},
		{"no provider", `{"payment":{"id":1,"state":"done",` + instr + `}}`, `"provider" tag is missing`},
		{"wrong provider", `{"provider":"bpc","payment":{"id":1}}`, `provider is "bpc"`},
		{"no payment", `{"provider":"powens"}`, "no payment"},
		{"null payment", pay(`null`), "no payment"},
		{"payment not object", pay(`[1,2]`), "not a JSON object"},
		{"missing id", pay(`{"state":"done",` + instr + `}`), "no id"},
		{"empty id", pay(`{"id":"","state":"done",` + instr + `}`), "no id"},
		{"fractional id", pay(`{"id":1.5,"state":"done",` + instr + `}`), "neither a string nor an integer"},
		{"missing state", pay(`{"id":1,` + instr + `}`), "no state"},
		{"no instructions", pay(`{"id":1,"state":"done","instructions":[]}`), "no instructions"},
		{"missing currency", pay(`{"id":1,"state":"done","instructions":[{"amount":1}]}`), "no currency"},
		{"invalid currency", pay(`{"id":1,"state":"done","instructions":[{"amount":1,"currency":"eur"}]}`), `invalid currency "eur"`},
		{"mixed currencies", pay(`{"id":1,"state":"done","instructions":[{"amount":1,"currency":"EUR"},{"amount":1,"currency":"GBP"}]}`), "mixes currencies EUR and GBP"},
		{"missing amount", pay(`{"id":1,"state":"done","instructions":[{"currency":"EUR"}]}`), "invalid amount: missing"},
		{"too many decimals", pay(`{"id":1,"state":"done","instructions":[{"amount":10.505,"currency":"EUR"}]}`), "more than 2 decimals"},
		{"exponent", pay(`{"id":1,"state":"done","instructions":[{"amount":1e3,"currency":"EUR"}]}`), "not a decimal number"},
		{"negative", pay(`{"id":1,"state":"done","instructions":[{"amount":-1,"currency":"EUR"}]}`), "negative amount"},
		{"amount is object", pay(`{"id":1,"state":"done","instructions":[{"amount":{},"currency":"EUR"}]}`), "invalid amount"},
		{"bad date", pay(`{"id":1,"state":"done","register_date":"yesterday",` + instr + `}`), `unreadable date "yesterday"`},
		{"state not string", pay(`{"id":1,"state":3,` + instr + `}`), "powens: payment"},
		{"overflow", pay(`{"id":1,"state":"done","instructions":[{"amount":90000000000000000,"currency":"EUR"},{"amount":90000000000000000,"currency":"EUR"}]}`), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope([]byte(tt.raw))
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "powens: ") {
				t.Errorf("got %q, want it to start with powens: and contain %q", err, tt.want)
			}
		})
	}
	_, err := ParseEnvelope([]byte(pay(`{"id":1,"state":"done","instructions":[{"amount":"x","currency":"EUR"}]}`)))
	if !errors.Is(err, providers.ErrAmount) {
		t.Errorf("amount error %v does not wrap providers.ErrAmount", err)
	}
}

func TestParseAmountsAndIDs(t *testing.T) {
	tests := []struct {
		id, amount, currency string
		wantID               string
		want                 int64
	}{
		{`4242`, `50.90`, "EUR", "4242", 5090},
		{`"4242"`, `50.9`, "EUR", "4242", 5090},
		{`"pay_x"`, `"0.10"`, "EUR", "pay_x", 10},
		{`1`, `0.1`, "GBP", "1", 10},
		{`2`, `1234567.89`, "EUR", "2", 123456789},
		{`3`, `250`, "JPY", "3", 250},
		{`4`, `1.005`, "BHD", "4", 1005},
		{`5`, `19.990000`, "EUR", "5", 1999},
	}
	for _, tt := range tests {
		raw := `{"provider":"powens","payment":{"id":` + tt.id + `,"state":"created","instructions":[{"amount":` + tt.amount + `,"currency":"` + tt.currency + `"}]}}`
		s, err := ParseEnvelope([]byte(raw))
		if err != nil {
			t.Errorf("%s %s: %v", tt.amount, tt.currency, err)
			continue
		}
		if s.PaymentID != tt.wantID || s.Amount != tt.want || s.Currency != tt.currency {
			t.Errorf("%s %s: got id %q %d %s, want %q %d", tt.amount, tt.currency, s.PaymentID, s.Amount, s.Currency, tt.wantID, tt.want)
		}
	}
}

func TestParseTimeLayouts(t *testing.T) {
	want := time.Date(2024, 6, 30, 18, 4, 5, 0, time.UTC)
	for _, s := range []string{"2024-06-30 18:04:05", "2024-06-30T18:04:05Z", "2024-06-30T20:04:05+02:00", "2024-06-30T18:04:05", "2024-06-30 18:04:05.000"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q): got %v, %v; want %v", s, got, err, want)
		}
	}
	if got, err := parseTime(""); err != nil || !got.IsZero() {
		t.Errorf("parseTime(\"\"): got %v, %v; want zero", got, err)
	}
	if _, err := parseTime("30/06/2024"); err == nil {
		t.Error("parseTime(30/06/2024): no error")
	}
}

func TestFlexIDMarshal(t *testing.T) {
	tests := []struct{ id, want string }{
		{"4242", `4242`}, {"0", `0`}, {"007", `"007"`}, {"p_1", `"p_1"`}, {"12345678901234567890", `"12345678901234567890"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(flexID(tt.id))
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%q): got %s, %v; want %s", tt.id, b, err, tt.want)
		}
		var back flexID
		if err := json.Unmarshal(b, &back); err != nil || string(back) != tt.id {
			t.Errorf("round trip %q: got %q, %v", tt.id, back, err)
		}
	}
}
