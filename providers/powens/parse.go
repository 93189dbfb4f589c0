package powens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"paydesk/providers"
)

// ParseEnvelope turns one import envelope, {"provider":"powens","payment":{…}}, into a
// Snapshot. The payment is Powens' own object as GET /payments/{id} returns it; amounts are
// converted to minor units exactly. Snapshot.Raw is the envelope normalised: the provider
// tag and the payment, compacted, nothing else.
func ParseEnvelope(raw []byte) (providers.Snapshot, error) {
	env, err := providers.DecodeEnvelope(raw, Name)
	if err != nil {
		return providers.Snapshot{}, err
	}
	p := bytes.TrimSpace(env.Payment)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return providers.Snapshot{}, errors.New("powens: envelope has no payment")
	}
	return decodePayment(p)
}

// decodePayment is the one place that turns a Powens payment object into a Snapshot: the
// import (ParseEnvelope), Fetch, List, the cancel answer and the simulator all go through it.
func decodePayment(raw []byte) (providers.Snapshot, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return providers.Snapshot{}, errors.New("powens: payment is not a JSON object")
	}
	var p payment
	if err := json.Unmarshal(raw, &p); err != nil {
		return providers.Snapshot{}, fmt.Errorf("powens: payment: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return providers.Snapshot{}, fmt.Errorf("powens: payment: %w", err)
	}
	env, err := envelopeOf(compact.Bytes())
	if err != nil {
		return providers.Snapshot{}, err
	}
	return snapshotOf(p, env)
}

// envelopeOf wraps a payment's JSON in the import envelope.
func envelopeOf(paymentJSON []byte) (json.RawMessage, error) {
	b, err := json.Marshal(providers.Envelope{Provider: Name, Payment: paymentJSON})
	if err != nil {
		return nil, fmt.Errorf("powens: envelope: %w", err)
	}
	return b, nil
}

// snapshotOf translates a decoded payment into Paydesk's terms; env becomes Snapshot.Raw.
func snapshotOf(p payment, env json.RawMessage) (providers.Snapshot, error) {
	id := strings.TrimSpace(string(p.ID))
	if id == "" {
		return providers.Snapshot{}, errors.New("powens: payment has no id")
	}
	if p.State == "" {
		return providers.Snapshot{}, fmt.Errorf("powens: payment %s has no state", id)
	}
	if len(p.Instructions) == 0 {
		return providers.Snapshot{}, fmt.Errorf("powens: payment %s has no instructions, so no amount or currency", id)
	}
	var (
		total    int64
		currency string
		instant  bool
		labels   []string
	)
	for i, in := range p.Instructions {
		if in.Currency == "" {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s instruction %d has no currency", id, i+1)
		}
		if !providers.ValidCurrency(in.Currency) {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s instruction %d: invalid currency %q", id, i+1, in.Currency)
		}
		if currency == "" {
			currency = in.Currency
		} else if in.Currency != currency {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s mixes currencies %s and %s", id, currency, in.Currency)
		}
		amount, err := providers.ParseMajorJSON(in.Amount, in.Currency)
		if err != nil {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s instruction %d: %w", id, i+1, err)
		}
		if amount < 0 {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s instruction %d: %w: negative amount", id, i+1, providers.ErrAmount)
		}
		if total > math.MaxInt64-amount {
			return providers.Snapshot{}, fmt.Errorf("powens: payment %s: %w: total too large", id, providers.ErrAmount)
		}
		total += amount
		if in.ExecutionDateType == "instant" {
			instant = true
		}
		if in.Label != "" {
			labels = append(labels, in.Label)
		}
	}
	created, err := parseTime(p.RegisterDate)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("powens: payment %s: register_date: %w", id, err)
	}

	s := providers.Snapshot{
		Provider:    Name,
		PaymentID:   id,
		Amount:      total,
		Currency:    currency,
		RawStatus:   p.State,
		StateDetail: p.StateDetail,
		ErrorCode:   p.ErrorCode,
		Instant:     instant,
		ValidateURI: p.ValidateURI,
		Description: strings.Join(labels, "; "),
		CreatedAt:   created,
		Raw:         env,
	}
	// accepted: the bank will send no further update, Powens' guide says it may be treated
	// as done; both count as taken.
	if p.State == "done" || p.State == "accepted" {
		s.Captured = total
	}
	s.MerchantReference = p.ClientState
	if s.MerchantReference == "" {
		s.MerchantReference = p.Instructions[0].Label
	}
	if who := p.PayerIdentity; who != nil {
		s.CustomerName = strings.TrimSpace(who.FirstName + " " + who.LastName)
		if s.CustomerName == "" {
			s.CustomerName = who.OrgName
		}
		s.CustomerEmail = who.Email
	}
	return s, nil
}

// timeLayouts are the forms Powens dates come in: "2006-01-02 15:04:05" in its answers,
// RFC 3339 in some integrations [I]. A time without a zone is taken as UTC [I].
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseTime reads a Powens date; an empty string is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", s)
}

// powensTime formats t the way Powens writes dates.
func powensTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05")
}
