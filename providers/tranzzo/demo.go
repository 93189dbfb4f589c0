package tranzzo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// DemoPOSID is the pos_id written into demo transactions when Demo.POSID is empty; the
// demo's simulator should be configured with the same one.
const DemoPOSID = "d3e0b0a1-7a2a-4c8e-9f00-000000000001"

// The demo's variants, one per documented state of a Tranzzo payment.
const (
	VariantHostedPurchaseInit = iota
	VariantHostedAuthInit
	VariantDirectPurchaseInit
	VariantPurchasePending
	VariantPurchaseSuccess
	VariantPartlyRefunded
	VariantFullyRefunded
	VariantAuthHeld
	VariantAuthVoided
	VariantAuthCaptured
	VariantPurchaseFailed
	VariantHostedCancelled
	VariantUnknownStatus

	variantCount
)

// demoDeclineCode and demoDeclineText are the decline the failed demo payment carries
// (plausible; Tranzzo's full code list is not public) [I].
const (
	demoDeclineCode = "2122"
	demoDeclineText = "Card declined"
)

// Demo shapes demo payments as Tranzzo orders (import envelopes). Ids derive from
// DemoSpec.Seq only, so the same spec always gives the same JSON.
type Demo struct {
	// POSID is written into each transaction's pos_id; empty means DemoPOSID.
	POSID string
}

var _ providers.DemoMaker = Demo{}

// Variants is the number of documented states the demo covers (see the Variant…
// constants).
func (Demo) Variants() int { return variantCount }

// Currencies are Tranzzo's demo currencies: hryvnia, the test currency, euro.
func (Demo) Currencies() []string { return []string{"UAH", "XTS", "EUR"} }

// DemoSnapshot returns the order of spec as ParseEnvelope reads its envelope: the bulk
// demo loader saves a parse per payment (Snapshot.Raw is the envelope).
func (d Demo) DemoSnapshot(spec providers.DemoSpec) (providers.Snapshot, error) {
	if spec.Seq < 0 {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: demo: negative seq %d", spec.Seq)
	}
	if !providers.ValidCurrency(spec.Currency) {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: demo: invalid currency %q", spec.Currency)
	}
	if spec.Amount <= 0 {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: demo: amount %d must be positive", spec.Amount)
	}
	variant := spec.Variant % variantCount
	if variant < 0 {
		variant += variantCount
	}
	if (variant == VariantPartlyRefunded || variant == VariantFullyRefunded) && spec.Amount < 2 {
		return providers.Snapshot{}, errors.New("tranzzo: demo: a refunded variant needs an amount of at least 2 minor units")
	}
	pos := d.POSID
	if pos == "" {
		pos = DemoPOSID
	}
	created := spec.CreatedAt.UTC().Truncate(time.Millisecond)
	first, last, _ := strings.Cut(strings.TrimSpace(spec.Name), " ")
	// later is the time d after creation, but never after spec.Now: a recent demo payment
	// is not refunded in the future.
	later := func(d time.Duration) time.Time {
		t := created.Add(d)
		if now := spec.Now.UTC().Truncate(time.Millisecond); !spec.Now.IsZero() && t.After(now) {
			t = now
			if now.Before(created) {
				t = created
			}
		}
		return t
	}
	money := func(v int64) json.RawMessage { return json.RawMessage(providers.FormatMajor(v, spec.Currency)) }

	base := transaction{
		PaymentID:       text(demoPaymentID(spec.Seq, 0)),
		OrderID:         text(fmt.Sprintf("ord-%06d", spec.Seq)),
		POSID:           text(pos),
		Mode:            modeHosted,
		Method:          methodPurchase,
		Amount:          money(spec.Amount),
		Currency:        text(spec.Currency),
		Description:     text(fmt.Sprintf("Order %06d", spec.Seq)),
		Options3DS:      "supported",
		CustomerID:      text(fmt.Sprintf("cust-%06d", spec.Seq)),
		CustomerIP:      text(fmt.Sprintf("198.51.100.%d", spec.Seq%250+1)),
		CustomerFName:   text(first),
		CustomerLName:   text(strings.TrimSpace(last)),
		CustomerEmail:   text(spec.Email),
		CustomerCountry: "UA",
		ResultURL:       "https://shop.example.com/result",
		CreatedAt:       text(formatTime(created)),
		ProcessedAt:     text(formatTime(later(3 * time.Second))),
		Payload:         text(spec.Reference),
	}
	// paid fills what a card payment that reached the bank carries.
	paid := func(t *transaction) {
		t.CCMask = text(fmt.Sprintf("424242******%04d", (spec.Seq*7919+1234)%10000))
		t.GatewayOrderID = text(fmt.Sprintf("gw-%08d", spec.Seq))
		t.BillingOrderID = text(fmt.Sprintf("bill-%08d", spec.Seq))
		t.ECI = "05"
		t.MCC = "5999"
	}
	status := func(t *transaction, status, code, desc string) {
		t.Status, t.StatusCode, t.StatusDescription = text(status), text(code), text(desc)
	}
	// follow derives a later transaction (capture, void, refund) sub-th after the payment.
	follow := func(sub int, method string, amount int64, after time.Duration) transaction {
		t := base
		t.PaymentID = text(demoPaymentID(spec.Seq, sub))
		t.Method = text(method)
		t.Amount = money(amount)
		t.CreatedAt = text(formatTime(later(after)))
		t.ProcessedAt = text(formatTime(later(after + 2*time.Second)))
		status(&t, statusSuccess, codeOK, "Success")
		return t
	}
	initHosted := func(t *transaction) {
		status(t, statusInit, "", "")
		t.ProcessedAt = ""
	}

	var txs []transaction
	switch variant {
	case VariantHostedPurchaseInit:
		initHosted(&base)
		txs = []transaction{base}
	case VariantHostedAuthInit:
		base.Method = methodAuth
		initHosted(&base)
		txs = []transaction{base}
	case VariantDirectPurchaseInit:
		base.Mode = modeDirect
		initHosted(&base)
		base.UserActionRequired = true
		base.UserActionURL = text(fmt.Sprintf("https://acs.example.com/3ds/%s", base.PaymentID))
		paid(&base)
		base.ECI, base.MCC = "", ""
		txs = []transaction{base}
	case VariantPurchasePending:
		paid(&base)
		status(&base, statusPending, "1001", "Payment is processing")
		txs = []transaction{base}
	case VariantPurchaseSuccess:
		paid(&base)
		status(&base, statusSuccess, codeOK, "Success")
		txs = []transaction{base}
	case VariantPartlyRefunded:
		paid(&base)
		status(&base, statusSuccess, codeOK, "Success")
		txs = []transaction{base, follow(1, methodRefund, max(1, spec.Amount/3), 48*time.Hour)}
	case VariantFullyRefunded:
		paid(&base)
		status(&base, statusSuccess, codeOK, "Success")
		part := max(1, spec.Amount/2)
		txs = []transaction{base,
			follow(1, methodRefund, part, 24*time.Hour),
			follow(2, methodRefund, spec.Amount-part, 72*time.Hour)}
	case VariantAuthHeld:
		base.Method = methodAuth
		paid(&base)
		status(&base, statusSuccess, codeAuthOK, "Success")
		txs = []transaction{base}
	case VariantAuthVoided:
		base.Method = methodAuth
		paid(&base)
		status(&base, statusSuccess, codeAuthOK, "Success")
		txs = []transaction{base, follow(1, methodVoid, spec.Amount, 6*time.Hour)}
	case VariantAuthCaptured:
		base.Method = methodAuth
		paid(&base)
		status(&base, statusSuccess, codeAuthOK, "Success")
		txs = []transaction{base, follow(1, methodCapture, spec.Amount, 2*time.Hour)}
	case VariantPurchaseFailed:
		paid(&base)
		status(&base, statusFailure, demoDeclineCode, demoDeclineText)
		txs = []transaction{base}
	case VariantHostedCancelled:
		status(&base, statusFailure, codeCancelled, descCancelled)
		base.ProcessedAt = text(formatTime(later(20 * time.Minute)))
		txs = []transaction{base}
	case VariantUnknownStatus:
		paid(&base)
		status(&base, "processing", "1005", "Payment is being processed by the acquirer")
		txs = []transaction{base}
	}
	snap, err := snapshotOfTxs(txs)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: demo: %w", err)
	}
	return snap, nil
}

// Envelope returns the order of spec in Tranzzo's own JSON, as an import envelope. The
// variant is spec.Variant modulo Variants().
func (d Demo) Envelope(spec providers.DemoSpec) (json.RawMessage, error) {
	snap, err := d.DemoSnapshot(spec)
	if err != nil {
		return nil, err
	}
	return snap.Raw, nil
}

// demoPaymentID is a UUID-like payment_id from the demo's seq and the transaction's place
// in its order (0 for the payment itself).
func demoPaymentID(seq, sub int) string {
	return fmt.Sprintf("de300000-%04x-4000-8000-%012d", sub, seq)
}
