package powens

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The wire structs below are Powens' own JSON (docs/providers.md#powens-payment). The client decodes its
// answers with them, the simulator serves them, and the demo builds its payments with
// them, so all three speak one format.

// payment is Powens' payment object (GET /payments/{id}).
type payment struct {
	ID                flexID        `json:"id"`
	State             string        `json:"state"`
	StateDetail       string        `json:"state_detail,omitempty"`
	ErrorCode         string        `json:"error_code,omitempty"`
	ErrorDescription  string        `json:"error_description,omitempty"`
	ValidateURI       string        `json:"validate_uri,omitempty"`
	RegisterDate      string        `json:"register_date,omitempty"`
	ValidateDate      string        `json:"validate_date,omitempty"`
	ClientRedirectURI string        `json:"client_redirect_uri,omitempty"`
	ClientState       string        `json:"client_state,omitempty"`
	Instructions      []instruction `json:"instructions"`
	PayerIdentity     *identity     `json:"payer_identity,omitempty"`
}

// instruction is one transfer of a payment. Amount is a decimal in major units, kept as
// the raw JSON token so that it is converted exactly (providers.ParseMajorJSON).
type instruction struct {
	Label               string          `json:"label,omitempty"`
	Amount              json.RawMessage `json:"amount"`
	Currency            string          `json:"currency"`
	ExecutionDateType   string          `json:"execution_date_type,omitempty"`
	ExecutionDate       string          `json:"execution_date,omitempty"`
	Beneficiary         *beneficiary    `json:"beneficiary,omitempty"`
	BeneficiaryIdentity *identity       `json:"beneficiary_identity,omitempty"`
}

// beneficiary is where an instruction sends the money.
type beneficiary struct {
	SchemeName     string `json:"scheme_name,omitempty"`
	Identification string `json:"identification,omitempty"`
	Label          string `json:"label,omitempty"`
}

// identity is Powens' IdentityRequest: an individual or a corporate.
type identity struct {
	Kind           string `json:"kind,omitempty"`
	ExternalRef    string `json:"external_ref,omitempty"`
	FirstName      string `json:"first_name,omitempty"`
	LastName       string `json:"last_name,omitempty"`
	Email          string `json:"email,omitempty"`
	BirthDate      string `json:"birth_date,omitempty"`
	BirthCity      string `json:"birth_city,omitempty"`
	BirthCountry   string `json:"birth_country,omitempty"`
	Nationality    string `json:"nationality,omitempty"`
	PostalAddress  string `json:"postal_address,omitempty"`
	OrgName        string `json:"org_name,omitempty"`
	OrgLegalStatus string `json:"org_legal_status,omitempty"`
	OrgHQAddress   string `json:"org_hq_address,omitempty"`
	SchemeName     string `json:"scheme_name,omitempty"`
	Identification string `json:"identification,omitempty"`
}

// tokenRequest is the body of POST /auth/token.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Scope        string `json:"scope"`
}

// tokenAnswer is the answer of POST /auth/token. Powens documents "token"; some
// integrations read "access_token" [I], so both are accepted.
type tokenAnswer struct {
	Token       string `json:"token,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	Scope       string `json:"scope,omitempty"`
}

// cancelRequest is the body of POST /payments/{id} that asks for a cancellation.
type cancelRequest struct {
	Cancel            bool   `json:"cancel"`
	ClientRedirectURI string `json:"client_redirect_uri,omitempty"`
	ClientState       string `json:"client_state,omitempty"`
}

// cancelAnswer is what Paydesk reads of a 2xx answer to a cancellation. Powens' guide
// shows its outcomes as partial objects — {"id","state","error_code",…},
// {"id","state","state_detail",…}, {"code":"notSupported","description",…} — so only
// these fields are read; the rest of a whole payment, when there is one, is read apart.
type cancelAnswer struct {
	ID          flexID `json:"id"`
	State       string `json:"state"`
	StateDetail string `json:"state_detail"`
	ErrorCode   string `json:"error_code"`
	ValidateURI string `json:"validate_uri"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Message     string `json:"message"`
}

// notSupportedCode is the error code of a cancellation the connector cannot make.
const notSupportedCode = "notSupported"

// check accepts an answer about payment id that has a state.
func (a cancelAnswer) check(id string) error {
	got := strings.TrimSpace(string(a.ID))
	switch {
	case got == "":
		return errors.New("powens: cancel answer has no id")
	case got != id:
		return fmt.Errorf("powens: answer is about payment %s, not %s", got, id)
	case a.State == "":
		return fmt.Errorf("powens: cancel answer for payment %s has no state", id)
	}
	return nil
}

// state is where the answer says the cancellation stands.
func (a cancelAnswer) state() paymentState {
	return paymentState{State: a.State, Detail: a.StateDetail, ErrorCode: a.ErrorCode, ValidateURI: a.ValidateURI}
}

// scopedTokenRequest is the body of POST /payments/{id}/scopedtoken.
type scopedTokenRequest struct {
	Scope []string `json:"scope"`
}

// scopedTokenAnswer is the answer of POST /payments/{id}/scopedtoken.
type scopedTokenAnswer struct {
	Token     string `json:"token"`
	Scope     string `json:"scope"`
	ExpiresIn int64  `json:"expires_in"`
	IDPayment flexID `json:"id_payment"`
}

// errorBody is Powens' error answer: {"code","description"|"message","request_id"?}.
type errorBody struct {
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
	Message     string `json:"message,omitempty"`
	RequestID   flexID `json:"request_id,omitempty"`
}

// listAnswer is the answer of GET /payments. The envelope is not documented: this shape
// and a bare array are both accepted [I].
type listAnswer struct {
	Payments []json.RawMessage `json:"payments"`
	Total    *int              `json:"total,omitempty"`
	Links    *listLinks        `json:"_links,omitempty"`
}

// listLinks holds the link to the next page of a list, when there is one.
type listLinks struct {
	Next *listLink `json:"next,omitempty"`
}

// listLink is one HAL-style link.
type listLink struct {
	Href string `json:"href"`
}

// flexID is an identifier Powens sends as a JSON number in practice; it is kept as an
// opaque string and a quoted string is accepted too [I]. It is written back as a number
// when it is a plain integer, as Powens does.
type flexID string

// UnmarshalJSON accepts a JSON string, an integer number or null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = ""
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("powens: id: %w", err)
		}
		*f = flexID(str)
		return nil
	}
	if !isDigits(s) {
		return fmt.Errorf("powens: id %s is neither a string nor an integer", s)
	}
	*f = flexID(s)
	return nil
}

// MarshalJSON writes a plain integer as a JSON number, anything else as a string.
func (f flexID) MarshalJSON() ([]byte, error) {
	s := string(f)
	if isDigits(s) && len(s) <= 18 && (s == "0" || s[0] != '0') {
		return []byte(s), nil
	}
	return json.Marshal(s)
}

// isDigits reports whether s is made of ASCII digits only (and is not empty).
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
