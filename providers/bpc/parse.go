package bpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// ParseEnvelope turns one BPC import envelope
//
//	{"provider":"bpc","session":{…},"payment":{…},"refunds":[{…},…]}
//
// (session and/or payment; refunds as a bare array, {"data":[…]} or {"refunds":[…]}) into
// a Snapshot. Amounts are BPC's integer minor units, decoded exactly. The Snapshot's Raw is
// the normalised envelope: the same objects, compacted, with refunds as a bare array
// (always present, possibly empty, when there is a payment). ParseEnvelope(s.Raw) gives
// the same Snapshot back.
//
// It refuses, with an error naming the object and field: another provider's tag, an
// envelope with neither session nor payment, missing ids, a missing or malformed currency,
// amounts that are not whole numbers of minor units (or negative), unreadable times, and
// objects that do not belong together (different currencies, a refund of another payment).
// Unknown status strings are not errors: they are kept verbatim.
func ParseEnvelope(raw []byte) (providers.Snapshot, error) {
	env, err := providers.DecodeEnvelope(raw, Name)
	if err != nil {
		return providers.Snapshot{}, err
	}
	refunds, err := decodeRefundList(env.Refunds)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("bpc: envelope: %w", err)
	}
	return snapshotOf(env.Session, env.Payment, refunds)
}

// snapshotOf is the one place that turns BPC's objects (raw, as read from the API or an
// import) into a Snapshot. Fetch, ParseEnvelope and the simulator all go through it.
func snapshotOf(sessRaw, payRaw json.RawMessage, refundsRaw []json.RawMessage) (providers.Snapshot, error) {
	if isNull(sessRaw) {
		sessRaw = nil
	}
	if isNull(payRaw) {
		payRaw = nil
	}
	if sessRaw == nil && payRaw == nil {
		return providers.Snapshot{}, errors.New("bpc: envelope has neither a session nor a payment")
	}
	if payRaw == nil && len(refundsRaw) > 0 {
		return providers.Snapshot{}, errors.New("bpc: envelope has refunds but no payment")
	}

	snap := providers.Snapshot{Provider: Name}
	env := providers.Envelope{Provider: Name}

	if sessRaw != nil {
		var s session
		if err := decodeObject(sessRaw, "session", &s, []string{"amount"}); err != nil {
			return providers.Snapshot{}, err
		}
		cur, err := checkCommon("session", s.ID, s.Currency, int64(s.Amount))
		if err != nil {
			return providers.Snapshot{}, err
		}
		created, err := parseTime("session "+s.ID, "created", s.Created)
		if err != nil {
			return providers.Snapshot{}, err
		}
		snap.SessionID = s.ID
		snap.SessionStatus = s.Status
		snap.RawStatus = s.Status
		// A session that names its payment [I] links the two even before the payment is
		// read: the stored row keeps the payment id, so the payment's own webhooks and a
		// refresh find and fill the same row (docs/providers.md#bpc-session).
		snap.PaymentID = strings.TrimSpace(s.PaymentID)
		snap.Amount = int64(s.Amount)
		snap.Currency = cur
		snap.MerchantReference = s.MerchantReferenceID
		snap.CustomerName = s.CustomerDetails.Name
		snap.CustomerEmail = s.CustomerDetails.Email
		snap.CreatedAt = created
		if env.Session, err = compact(sessRaw); err != nil {
			return providers.Snapshot{}, fmt.Errorf("bpc: session %s: %w", s.ID, err)
		}
	}

	if payRaw != nil {
		var p payment
		if err := decodeObject(payRaw, "payment", &p, []string{"amount", "amountCapturable", "amountReceived"}); err != nil {
			return providers.Snapshot{}, err
		}
		cur, err := checkCommon("payment", p.ID, p.Currency, int64(p.Amount))
		if err != nil {
			return providers.Snapshot{}, err
		}
		if p.AmountReceived < 0 || p.AmountCapturable < 0 {
			return providers.Snapshot{}, fmt.Errorf("bpc: payment %s: negative amountReceived or amountCapturable", p.ID)
		}
		if snap.PaymentID != "" && snap.PaymentID != p.ID {
			return providers.Snapshot{}, fmt.Errorf("bpc: session %s names payment %s, not %s", snap.SessionID, snap.PaymentID, p.ID)
		}
		if snap.Currency != "" && snap.Currency != cur {
			return providers.Snapshot{}, fmt.Errorf("bpc: payment %s is in %s but session %s is in %s", p.ID, cur, snap.SessionID, snap.Currency)
		}
		created, err := parseTime("payment "+p.ID, "created", p.Created)
		if err != nil {
			return providers.Snapshot{}, err
		}
		if _, err := parseTime("payment "+p.ID, "canceledAt", p.CanceledAt); err != nil {
			return providers.Snapshot{}, err
		}
		snap.PaymentID = p.ID
		snap.RawStatus = p.Status
		snap.Amount = int64(p.Amount)
		snap.Captured = int64(p.AmountReceived)
		snap.Currency = cur
		if snap.MerchantReference == "" {
			snap.MerchantReference = metadataString(p.Metadata, "merchantReferenceId", "merchantReference", "orderId", "reference")
		}
		if snap.MerchantReference == "" {
			snap.MerchantReference = p.MerchantCustomerID
		}
		if p.CustomerDetails.Name != "" {
			snap.CustomerName = p.CustomerDetails.Name
		}
		if p.CustomerDetails.Email != "" {
			snap.CustomerEmail = p.CustomerDetails.Email
		}
		if p.PaymentMethod != nil && p.PaymentMethod.Card != nil {
			snap.CardLast4 = last4(p.PaymentMethod.Card.MaskedNumber)
		}
		snap.Description = p.Description
		// The earliest of the session's and the payment's creation: when the payer started.
		if snap.CreatedAt.IsZero() || (!created.IsZero() && created.Before(snap.CreatedAt)) {
			snap.CreatedAt = created
		}
		if env.Payment, err = compact(payRaw); err != nil {
			return providers.Snapshot{}, fmt.Errorf("bpc: payment %s: %w", p.ID, err)
		}

		snap.Refunds = []providers.RefundSnapshot{}
		list := make([]json.RawMessage, 0, len(refundsRaw))
		for _, rr := range refundsRaw {
			rs, r, err := refundSnapshotOf(rr, cur)
			if err != nil {
				return providers.Snapshot{}, err
			}
			if r.PaymentID != "" && r.PaymentID != p.ID {
				return providers.Snapshot{}, fmt.Errorf("bpc: refund %s belongs to payment %s, not %s", r.ID, r.PaymentID, p.ID)
			}
			if rs.Currency != cur {
				return providers.Snapshot{}, fmt.Errorf("bpc: refund %s is in %s but payment %s is in %s", r.ID, rs.Currency, p.ID, cur)
			}
			if rs.Succeeded {
				snap.Refunded += rs.Amount
			}
			snap.Refunds = append(snap.Refunds, rs)
			c, err := compact(rr)
			if err != nil {
				return providers.Snapshot{}, fmt.Errorf("bpc: refund %s: %w", r.ID, err)
			}
			list = append(list, c)
		}
		env.Refunds = providers.JSONList(list)
	}
	// The parts were compacted above: Encode copies them as they are.
	snap.Raw = env.Encode()
	return snap, nil
}

// refundSnapshotOf decodes one refund object; currency is the payment's, used when the
// refund does not name its own.
func refundSnapshotOf(raw json.RawMessage, currency string) (providers.RefundSnapshot, refund, error) {
	var r refund
	if err := decodeObject(raw, "refund", &r, []string{"amount"}); err != nil {
		return providers.RefundSnapshot{}, refund{}, err
	}
	if r.ID == "" {
		return providers.RefundSnapshot{}, refund{}, errors.New("bpc: refund: missing id")
	}
	if r.Amount < 0 {
		return providers.RefundSnapshot{}, refund{}, fmt.Errorf("bpc: refund %s: negative amount %d", r.ID, r.Amount)
	}
	cur := currency
	if r.Currency != "" {
		cur = strings.ToUpper(r.Currency)
	}
	if !providers.ValidCurrency(cur) {
		if cur == "" {
			return providers.RefundSnapshot{}, refund{}, fmt.Errorf("bpc: refund %s: missing currency", r.ID)
		}
		return providers.RefundSnapshot{}, refund{}, fmt.Errorf("bpc: refund %s: invalid currency %q", r.ID, r.Currency)
	}
	created, err := parseTime("refund "+r.ID, "created", r.Created)
	if err != nil {
		return providers.RefundSnapshot{}, refund{}, err
	}
	return providers.RefundSnapshot{
		ID:        r.ID,
		Amount:    int64(r.Amount),
		Currency:  cur,
		Status:    r.Status,
		Succeeded: r.Status == "succeeded",
		// canceled is not documented for refunds [I]; like failed, the money did not move.
		Failed:    r.Status == "failed" || r.Status == "canceled",
		CreatedAt: created,
	}, r, nil
}

// decodeObject decodes one BPC object into v after checking that it is a JSON object,
// that its amount fields are whole numbers of minor units (naming the field when not)
// and that the required ones are present.
func decodeObject(raw json.RawMessage, what string, v any, amounts []string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		if err == nil {
			err = errors.New("null")
		}
		return fmt.Errorf("bpc: %s: not a JSON object: %w", what, err)
	}
	id := ""
	if err := json.Unmarshal(fields["id"], &id); err == nil && id != "" {
		what += " " + id
	}
	for i, name := range amounts {
		val, ok := fields[name]
		if !ok || isNull(val) {
			if i == 0 { // the first amount field (amount) is required
				return fmt.Errorf("bpc: %s: missing %s", what, name)
			}
			continue
		}
		var m minorUnits
		if err := m.UnmarshalJSON(val); err != nil {
			return fmt.Errorf("bpc: %s: %s: %w", what, name, err)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("bpc: %s: %w", what, err)
	}
	return nil
}

// checkCommon checks the id, currency and amount every session and payment must have and
// returns the upper-cased currency.
func checkCommon(what, id, currency string, amount int64) (string, error) {
	if id == "" {
		return "", fmt.Errorf("bpc: %s: missing id", what)
	}
	if currency == "" {
		return "", fmt.Errorf("bpc: %s %s: missing currency", what, id)
	}
	cur := strings.ToUpper(strings.TrimSpace(currency))
	if !providers.ValidCurrency(cur) {
		return "", fmt.Errorf("bpc: %s %s: invalid currency %q", what, id, currency)
	}
	if amount < 0 {
		return "", fmt.Errorf("bpc: %s %s: negative amount %d", what, id, amount)
	}
	return cur, nil
}

func parseTime(what, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bpc: %s: %s %q is not an RFC 3339 time: %w", what, field, s, err)
	}
	return t.UTC(), nil
}

// last4 returns the last four digits of a masked card number ("411111**1111" → "1111"),
// or "" when it does not end with four digits.
func last4(masked string) string {
	masked = strings.TrimSpace(masked)
	n := 0
	for i := len(masked) - 1; i >= 0 && masked[i] >= '0' && masked[i] <= '9'; i-- {
		n++
	}
	if n < 4 {
		return ""
	}
	return masked[len(masked)-4:]
}

// metadataString returns the first of keys that metadata holds as a non-empty string.
func metadataString(metadata json.RawMessage, keys ...string) string {
	if isNull(metadata) {
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(metadata, &m); err != nil {
		return ""
	}
	for _, k := range keys {
		var s string
		if err := json.Unmarshal(m[k], &s); err == nil && s != "" {
			return s
		}
	}
	return ""
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

func compact(raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
