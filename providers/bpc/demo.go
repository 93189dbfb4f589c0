package bpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"paydesk/providers"
)

// Demo shapes demo payments as BPC's own JSON: one variant per documented state of a
// session or payment, built with the same wire structs as the client and the simulator.
// Everything is derived from the DemoSpec: ids from Seq (hashed, so stable across runs),
// customer, amount, currency, times and reference from the other fields.
type Demo struct{}

var _ providers.DemoMaker = Demo{}

// The demo variants, in DemoSpec.Variant order (taken modulo demoVariants).
const (
	variantSessionOpen           = iota // session open, no payment
	variantSessionExpired               // session expired, no payment
	variantSucceeded                    // session completed + payment succeeded
	variantPartlyRefunded               // … and partly refunded (one or two refunds)
	variantFullyRefunded                // … and fully refunded
	variantRequiresPaymentMethod        // direct payment, no card yet
	variantRequiresAction               // direct payment waiting for 3-D Secure
	variantRequiresConfirmation         // direct payment waiting for confirmation
	variantRequiresCapture              // hosted, manual capture, authorised
	variantProcessing                   // direct payment processing
	variantCanceled                     // direct payment canceled
	variantFailed                       // direct payment failed
	variantDirectSucceeded              // direct payment succeeded, no session
	variantUnknownStatus                // a status Paydesk does not know (underReview)
	demoVariants
)

// Variants is the number of distinct states the demo covers.
func (Demo) Variants() int { return demoVariants }

// Currencies are the demo's currencies: the sandbox takes EUR only [I], but the demo shows
// a second two-decimal currency and a zero-decimal one.
func (Demo) Currencies() []string { return []string{"EUR", "GBP", "JPY"} }

// DemoSnapshot returns one demo payment as ParseEnvelope reads its envelope: the
// bulk demo loader saves a parse per payment (Snapshot.Raw is the envelope).
func (Demo) DemoSnapshot(spec providers.DemoSpec) (providers.Snapshot, error) {
	cur := strings.ToUpper(strings.TrimSpace(spec.Currency))
	if !providers.ValidCurrency(cur) {
		return providers.Snapshot{}, fmt.Errorf("bpc: demo %d: invalid currency %q", spec.Seq, spec.Currency)
	}
	if spec.Amount <= 0 {
		return providers.Snapshot{}, fmt.Errorf("bpc: demo %d: amount must be positive, got %d", spec.Seq, spec.Amount)
	}
	if spec.CreatedAt.IsZero() {
		return providers.Snapshot{}, fmt.Errorf("bpc: demo %d: CreatedAt is required", spec.Seq)
	}
	variant := ((spec.Variant % demoVariants) + demoVariants) % demoVariants
	if spec.Amount < 2 && variant == variantPartlyRefunded {
		return providers.Snapshot{}, fmt.Errorf("bpc: demo %d: a partly refunded payment needs an amount of at least 2 minor units", spec.Seq)
	}

	seq := strconv.Itoa(spec.Seq)
	created := spec.CreatedAt.UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return created.Add(d).Format(time.RFC3339) }
	// later is an event d after creation, but never after spec.Now: a recent demo
	// payment is not refunded in the future.
	later := func(d time.Duration) string {
		t := created.Add(d)
		if now := spec.Now.UTC().Truncate(time.Second); !spec.Now.IsZero() && t.After(now) {
			t = now
			if now.Before(created) {
				t = created
			}
		}
		return t.Format(time.RFC3339)
	}
	customer := customerDetails{Name: spec.Name, Email: spec.Email}
	amount := minorUnits(spec.Amount)

	newSession := func(status, paymentStatus, capture string) *session {
		id := hashedID("ps_", "paydesk-demo-bpc-session:"+seq)
		return &session{
			ID:                  id,
			Amount:              amount,
			Created:             at(0),
			Currency:            cur,
			CustomerDetails:     customer,
			ExpiresAt:           at(20 * time.Minute),
			FailureURL:          "https://shop.example/checkout/failure",
			Locale:              "EN",
			MerchantReferenceID: spec.Reference,
			Metadata:            json.RawMessage(`{}`),
			PaymentData:         &paymentData{CaptureMethod: capture},
			PaymentStatus:       paymentStatus,
			Status:              status,
			SuccessURL:          "https://shop.example/checkout/success",
		}
	}
	newPayment := func(status string, withCard bool) *payment {
		p := &payment{
			ID:                 hashedID("p_", "paydesk-demo-bpc-payment:"+seq),
			Amount:             amount,
			CaptureMethod:      "automatic",
			Created:            later(2 * time.Minute),
			Currency:           cur,
			CustomerDetails:    customer,
			Description:        "Order " + spec.Reference,
			MerchantCustomerID: "cus_" + seq,
			Metadata:           mustJSON(map[string]string{"merchantReferenceId": spec.Reference}),
			ReturnURL:          "https://shop.example/checkout/return",
			Status:             status,
		}
		if withCard {
			bin := "411111"
			if spec.Seq%2 == 1 {
				bin = "555544"
			}
			p.PaymentMethod = &paymentMethod{Type: "card", Card: &card{
				ExpiryMonth:  json.RawMessage(strconv.Itoa(1 + spec.Seq%12)),
				ExpiryYear:   json.RawMessage(strconv.Itoa(created.Year() + 2 + spec.Seq%3)),
				HolderName:   strings.ToUpper(spec.Name),
				MaskedNumber: fmt.Sprintf("%s**%04d", bin, (spec.Seq*7919+1111)%10000),
			}}
		}
		return p
	}
	refundsOf := func(p *payment, amounts ...int64) []*refund {
		var list []*refund
		for i, a := range amounts {
			list = append(list, &refund{
				ID:        hashedID("re_", "paydesk-demo-bpc-refund:"+seq+":"+strconv.Itoa(i)),
				Amount:    minorUnits(a),
				Created:   later(time.Duration(i+1) * 24 * time.Hour),
				Currency:  cur,
				PaymentID: p.ID,
				Status:    "succeeded",
			})
		}
		return list
	}

	var sess *session
	var pay *payment
	var refunds []*refund
	succeeded := func(p *payment) *payment {
		p.AmountReceived = amount
		return p
	}
	switch variant {
	case variantSessionOpen:
		sess = newSession("open", "unpaid", "automatic")
	case variantSessionExpired:
		sess = newSession("expired", "unpaid", "automatic")
	case variantSucceeded:
		sess = newSession("completed", "paid", "automatic")
		pay = succeeded(newPayment("succeeded", true))
	case variantPartlyRefunded:
		sess = newSession("completed", "paid", "automatic")
		pay = succeeded(newPayment("succeeded", true))
		parts := []int64{max(1, spec.Amount/4)}
		if spec.Amount >= 20 {
			parts = append(parts, spec.Amount/10)
		}
		refunds = refundsOf(pay, parts...)
	case variantFullyRefunded:
		sess = newSession("completed", "paid", "automatic")
		pay = succeeded(newPayment("succeeded", true))
		if spec.Amount >= 2 {
			refunds = refundsOf(pay, spec.Amount/2, spec.Amount-spec.Amount/2)
		} else {
			refunds = refundsOf(pay, spec.Amount)
		}
	case variantRequiresPaymentMethod:
		pay = newPayment("requiresPaymentMethod", false)
	case variantRequiresAction:
		pay = newPayment("requiresAction", true)
	case variantRequiresConfirmation:
		pay = newPayment("requiresConfirmation", true)
	case variantRequiresCapture:
		sess = newSession("completed", "unpaid", "manual")
		pay = newPayment("requiresCapture", true)
		pay.CaptureMethod = "manual"
		pay.AmountCapturable = amount
	case variantProcessing:
		pay = newPayment("processing", true)
	case variantCanceled:
		pay = newPayment("canceled", true)
		pay.CanceledAt = later(15 * time.Minute)
	case variantFailed:
		pay = newPayment("failed", true)
	case variantDirectSucceeded:
		pay = succeeded(newPayment("succeeded", true))
	case variantUnknownStatus:
		pay = newPayment("underReview", true)
	default:
		return providers.Snapshot{}, errors.New("bpc: demo: unreachable variant")
	}
	if sess != nil && pay != nil {
		sess.PaymentID = pay.ID
	}
	if sess == nil && pay != nil {
		pay.Created = at(0) // a direct payment starts at spec.CreatedAt, not after a session
	}

	var sessRaw, payRaw json.RawMessage
	if sess != nil {
		sessRaw = mustJSON(sess)
	}
	var refundsRaw []json.RawMessage
	if pay != nil {
		payRaw = mustJSON(pay)
		for _, r := range refunds {
			refundsRaw = append(refundsRaw, mustJSON(r))
		}
	}
	snap, err := snapshotOf(sessRaw, payRaw, refundsRaw)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("bpc: demo %d: %w", spec.Seq, err)
	}
	return snap, nil
}

// Envelope returns one demo payment as an import envelope (see ParseEnvelope).
func (d Demo) Envelope(spec providers.DemoSpec) (json.RawMessage, error) {
	snap, err := d.DemoSnapshot(spec)
	if err != nil {
		return nil, err
	}
	return snap.Raw, nil
}
