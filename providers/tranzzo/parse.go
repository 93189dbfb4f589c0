package tranzzo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// errNoTransactions is returned for an order (or envelope) holding no transaction at all.
var errNoTransactions = errors.New("tranzzo: the order has no transactions")

// ParseEnvelope turns one import envelope {"provider":"tranzzo","transactions":[…]} (the
// GET /pos/{pos}/orders/{order} answer, tagged) into a Snapshot. Amounts are converted
// exactly to minor units; Snapshot.Raw is the envelope re-encoded compactly.
func ParseEnvelope(raw []byte) (providers.Snapshot, error) {
	env, err := providers.DecodeEnvelope(raw, Name)
	if err != nil {
		return providers.Snapshot{}, err
	}
	list, err := transactionList(env.Transactions)
	if err != nil {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: envelope: %w", err)
	}
	return snapshotOf(list)
}

// transactionList splits a JSON array of transactions into its elements.
func transactionList(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errNoTransactions
	}
	if raw[0] != '[' {
		return nil, errors.New("transactions must be a JSON array")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("transactions: %w", err)
	}
	if len(list) == 0 {
		return nil, errNoTransactions
	}
	return list, nil
}

// envelopeOf builds the normalised import envelope for an order's transactions, each kept
// exactly as the provider sent it (compacted).
func envelopeOf(list []json.RawMessage) (json.RawMessage, error) {
	// Each transaction compacted once, into the list (json.Marshal would compact them
	// again at each level: providers.Envelope.Encode).
	var txs bytes.Buffer
	txs.WriteByte('[')
	for i, item := range list {
		if i > 0 {
			txs.WriteByte(',')
		}
		if err := json.Compact(&txs, item); err != nil {
			return nil, fmt.Errorf("tranzzo: transaction %d: %w", i, err)
		}
	}
	txs.WriteByte(']')
	return providers.Envelope{Provider: Name, Transactions: txs.Bytes()}.Encode(), nil
}

// decodedTx is a transaction with its times parsed.
type decodedTx struct {
	transaction
	index     int
	created   time.Time
	processed time.Time
}

// isPayment reports whether the transaction is one that takes money (the payment itself,
// as opposed to a void or refund of it).
func (d decodedTx) isPayment() bool {
	switch string(d.Method) {
	case methodPurchase, methodAuth, methodCapture:
		return true
	}
	return false
}

// after reports whether d happened after o: by created_at, then by position in the array.
func (d decodedTx) after(o decodedTx) bool {
	if !d.created.Equal(o.created) {
		return d.created.After(o.created)
	}
	return d.index > o.index
}

// snapshotOf is the one place that turns an order's transactions into a Snapshot; both
// ParseEnvelope and Client.Fetch use it. See docs/providers.md#tranzzo-order for the rules.
func snapshotOf(list []json.RawMessage) (providers.Snapshot, error) {
	if len(list) == 0 {
		return providers.Snapshot{}, errNoTransactions
	}
	txs := make([]decodedTx, len(list))
	for i, item := range list {
		d := decodedTx{index: i}
		if err := json.Unmarshal(item, &d.transaction); err != nil {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: transaction %d: %w", i, err)
		}
		if d.OrderID == "" {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: transaction %d: missing order_id", i)
		}
		if i > 0 && d.OrderID != txs[0].OrderID {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: transaction %d belongs to order %q, not %q", i, d.OrderID, txs[0].OrderID)
		}
		var err error
		if d.created, err = parseTime(string(d.CreatedAt)); err != nil {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: transaction %d: created_at: %w", i, err)
		}
		if d.processed, err = parseTime(string(d.ProcessedAt)); err != nil {
			return providers.Snapshot{}, fmt.Errorf("tranzzo: transaction %d: processed_at: %w", i, err)
		}
		txs[i] = d
	}

	main, origin := -1, -1
	for i, d := range txs {
		if !d.isPayment() {
			continue
		}
		if main < 0 || d.after(txs[main]) {
			main = i
		}
		if d.Method != methodCapture && (origin < 0 || d.after(txs[origin])) {
			origin = i
		}
	}
	if main < 0 {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: order %q has no purchase, auth or capture transaction", txs[0].OrderID)
	}
	if origin < 0 {
		origin = main // a capture whose auth is not in the answer
	}
	m := txs[main]
	if m.PaymentID == "" {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: order %q: %s transaction has no payment_id", m.OrderID, m.Method)
	}
	currency := string(m.Currency)
	if currency == "" {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: order %q: missing currency", m.OrderID)
	}
	if !providers.ValidCurrency(currency) {
		return providers.Snapshot{}, fmt.Errorf("tranzzo: order %q: invalid currency %q", m.OrderID, currency)
	}

	// amountOf converts one transaction's amount, refusing another currency than the
	// order's: totals across currencies would be meaningless.
	amountOf := func(d decodedTx) (int64, error) {
		if d.Currency != "" && string(d.Currency) != currency {
			return 0, fmt.Errorf("tranzzo: order %q: %s transaction %q is in %q, the order in %q", d.OrderID, d.Method, d.PaymentID, d.Currency, currency)
		}
		v, err := providers.ParseMajorJSON(d.Amount, currency)
		if err != nil {
			return 0, fmt.Errorf("tranzzo: order %q: %s transaction %q: amount: %w", d.OrderID, d.Method, d.PaymentID, err)
		}
		if v < 0 {
			return 0, fmt.Errorf("tranzzo: order %q: %s transaction %q: negative amount %s", d.OrderID, d.Method, d.PaymentID, d.Amount)
		}
		return v, nil
	}

	snap := providers.Snapshot{
		Provider:          Name,
		PaymentID:         string(m.PaymentID),
		OrderID:           string(m.OrderID),
		MerchantReference: string(m.OrderID),
		Currency:          currency,
		RawStatus:         string(m.Status),
		ErrorCode:         string(m.StatusCode),
		Method:            string(m.Method),
		Mode:              string(m.Mode),
		Description:       string(m.Description),
		CardLast4:         last4(string(m.CCMask)),
	}
	if m.Payload != "" {
		snap.MerchantReference = string(m.Payload)
	}
	var err error
	if snap.Amount, err = amountOf(txs[origin]); err != nil {
		return providers.Snapshot{}, err
	}
	if m.Status == statusSuccess && (m.Method == methodPurchase || m.Method == methodCapture) {
		if snap.Captured, err = amountOf(m); err != nil {
			return providers.Snapshot{}, err
		}
	}

	customer := m
	for _, d := range txs {
		// The payment was created with the order's first transaction.
		if !d.created.IsZero() && (snap.CreatedAt.IsZero() || d.created.Before(snap.CreatedAt)) {
			snap.CreatedAt = d.created
		}
		for _, t := range []time.Time{d.created, d.processed} {
			if t.After(snap.UpdatedAt) {
				snap.UpdatedAt = t
			}
		}
		if customer.CustomerFName == "" && customer.CustomerLName == "" && customer.CustomerEmail == "" &&
			(d.CustomerFName != "" || d.CustomerLName != "" || d.CustomerEmail != "") {
			customer = d
		}
		if snap.CardLast4 == "" {
			snap.CardLast4 = last4(string(d.CCMask))
		}
		switch string(d.Method) {
		case methodVoid:
			if d.Status == statusSuccess {
				snap.Voided = true
			}
		case methodRefund:
			amount, err := amountOf(d)
			if err != nil {
				return providers.Snapshot{}, err
			}
			r := providers.RefundSnapshot{
				ID:        string(d.PaymentID),
				Amount:    amount,
				Currency:  currency,
				Status:    string(d.Status),
				Succeeded: d.Status == statusSuccess,
				Failed:    d.Status == statusFailure,
				CreatedAt: d.created,
			}
			if r.Succeeded {
				snap.Refunded += amount
			}
			snap.Refunds = append(snap.Refunds, r)
		}
	}
	snap.CustomerName = strings.TrimSpace(string(customer.CustomerFName) + " " + string(customer.CustomerLName))
	snap.CustomerEmail = string(customer.CustomerEmail)

	if snap.Raw, err = envelopeOf(list); err != nil {
		return providers.Snapshot{}, err
	}
	return snap, nil
}

// parseTime reads Tranzzo's timestamps: "2018-10-10T10:10:22.100" without a zone (taken as
// UTC), RFC 3339 with a zone, or a space instead of the T. Empty is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		// Fractional seconds are accepted after the seconds even when the layout has none.
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}

// formatTime writes a timestamp the way Tranzzo does: UTC, milliseconds, no zone.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000")
}

// last4 returns the last four digits of a card mask such as "424242******4242".
func last4(mask string) string {
	if len(mask) < 4 {
		return ""
	}
	tail := mask[len(mask)-4:]
	for _, r := range tail {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return tail
}
