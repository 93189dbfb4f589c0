package powens

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
)

var _ providers.DemoMaker = Demo{}

// Demo makes demo payments in Powens' own shape, one per documented state (see
// DemoVariants). Everything is derived from the DemoSpec: no randomness.
type Demo struct {
	// SimulatorURL is the simulator's public URL, used for the validate_uri of the
	// "pending + cancelling" variant. Empty leaves that URI relative
	// ("/bank/validate/{id}"); Simulator.Load resolves it against its PublicURL.
	SimulatorURL string
}

// DemoVariant is one documented state the demo covers.
type DemoVariant struct {
	Name        string
	State       string
	StateDetail string
	ErrorCode   string
	// ExecutionDateType is the instruction's: first_open_day, instant or deferred.
	ExecutionDateType string
}

// DemoVariants are the states the demo covers, in Variant order.
var DemoVariants = []DemoVariant{
	{Name: "created", State: "created", ExecutionDateType: "first_open_day"},
	{Name: "validating", State: "validating", ExecutionDateType: "first_open_day"},
	{Name: "pending", State: "pending", ExecutionDateType: "first_open_day"},
	{Name: "pending instant", State: "pending", ExecutionDateType: "instant"},
	{Name: "pending, payer must confirm in the webview", State: "pending", StateDetail: "cancelling_webauth", ExecutionDateType: "first_open_day"},
	{Name: "pending, payer must confirm at the bank", State: "pending", StateDetail: "cancelling", ExecutionDateType: "first_open_day"},
	{Name: "accepted", State: "accepted", ExecutionDateType: "first_open_day"},
	{Name: "done", State: "done", ExecutionDateType: "first_open_day"},
	{Name: "cancelled by the payer", State: "rejected", ErrorCode: "cancelledByUser", ExecutionDateType: "first_open_day"},
	{Name: "rejected for insufficient funds", State: "rejected", ErrorCode: "insufficientFunds", ExecutionDateType: "first_open_day"},
	{Name: "expired", State: "expired", ExecutionDateType: "first_open_day"},
	{Name: "pending deferred", State: "pending", ExecutionDateType: "deferred"},
	{Name: "unknown state", State: "processing_v2", ExecutionDateType: "first_open_day"},
}

// demoIDBase offsets demo payment ids so they look like Powens' numeric ids.
const demoIDBase = 480000

// DemoPaymentID is the Powens id the demo gives the payment of sequence number seq.
func DemoPaymentID(seq int) string { return strconv.Itoa(demoIDBase + seq) }

// Variants is len(DemoVariants).
func (Demo) Variants() int { return len(DemoVariants) }

// Currencies are the currencies Powens Pay handles in the demo.
func (Demo) Currencies() []string { return []string{"EUR", "GBP"} }

// DemoSnapshot returns one demo payment as ParseEnvelope reads its envelope: the bulk
// demo loader saves a parse per payment (Snapshot.Raw is the envelope).
func (d Demo) DemoSnapshot(spec providers.DemoSpec) (providers.Snapshot, error) {
	if spec.Seq < 0 {
		return providers.Snapshot{}, fmt.Errorf("powens: demo: sequence %d is negative", spec.Seq)
	}
	if !providers.ValidCurrency(spec.Currency) {
		return providers.Snapshot{}, fmt.Errorf("powens: demo: invalid currency %q", spec.Currency)
	}
	if spec.Amount <= 0 {
		return providers.Snapshot{}, fmt.Errorf("powens: demo: amount %d must be positive", spec.Amount)
	}
	if spec.CreatedAt.IsZero() {
		return providers.Snapshot{}, errors.New("powens: demo: creation time is required")
	}
	n := len(DemoVariants)
	v := DemoVariants[((spec.Variant%n)+n)%n]
	id := DemoPaymentID(spec.Seq)
	created := spec.CreatedAt.UTC()

	first, last, _ := strings.Cut(strings.TrimSpace(spec.Name), " ")
	in := instruction{
		Label:             spec.Reference,
		Amount:            json.RawMessage(providers.FormatMajor(spec.Amount, spec.Currency)),
		Currency:          spec.Currency,
		ExecutionDateType: v.ExecutionDateType,
		Beneficiary:       &beneficiary{SchemeName: "iban", Identification: "FR7630006000011234567890189", Label: "Paydesk Demo Shop"},
		BeneficiaryIdentity: &identity{Kind: "corporate", OrgName: "Paydesk Demo Shop", OrgLegalStatus: "SAS",
			SchemeName: "siren", Identification: "012345678"},
	}
	if spec.Currency == "GBP" {
		in.Beneficiary = &beneficiary{SchemeName: "sort_code_account_number", Identification: "40051512345678", Label: "Paydesk Demo Shop Ltd"}
		in.BeneficiaryIdentity = &identity{Kind: "corporate", OrgName: "Paydesk Demo Shop Ltd", OrgLegalStatus: "Ltd",
			SchemeName: "company_number", Identification: "01234567"}
	}
	if v.ExecutionDateType == "deferred" {
		in.ExecutionDate = created.AddDate(0, 0, 14).Format("2006-01-02")
	}
	p := payment{
		ID:           flexID(id),
		State:        v.State,
		StateDetail:  v.StateDetail,
		ErrorCode:    v.ErrorCode,
		RegisterDate: powensTime(created),
		ClientState:  spec.Reference,
		Instructions: []instruction{in},
		PayerIdentity: &identity{Kind: "individual", FirstName: first, LastName: strings.TrimSpace(last),
			Email: spec.Email},
	}
	switch v.ErrorCode {
	case "cancelledByUser":
		p.ErrorDescription = "The payment was cancelled."
	case "insufficientFunds":
		p.ErrorDescription = "The payer's account has insufficient funds."
	}
	// Every state past the payer's validation has a validation date.
	if v.State != "created" && v.State != "validating" {
		p.ValidateDate = powensTime(created.Add(3 * time.Minute))
	}
	if v.StateDetail == "cancelling" {
		p.ValidateURI = strings.TrimRight(d.SimulatorURL, "/") + "/bank/validate/" + url.PathEscape(id)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("powens: demo: %w", err)
	}
	env, err := envelopeOf(b)
	if err != nil {
		return providers.Snapshot{}, err
	}
	return snapshotOf(p, env)
}

// Envelope returns one demo payment as an import envelope.
func (d Demo) Envelope(spec providers.DemoSpec) (json.RawMessage, error) {
	snap, err := d.DemoSnapshot(spec)
	if err != nil {
		return nil, err
	}
	return snap.Raw, nil
}
