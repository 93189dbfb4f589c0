package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"paydesk/providers"
)

// ErrInvalidSnapshot is wrapped by UpsertPayment's errors for snapshots it refuses to
// store (unknown provider, no id, bad currency, negative amount, …). Nothing is written.
var ErrInvalidSnapshot = errors.New("invalid payment snapshot")

// Payment is one stored payment: Paydesk's ids, the provider's view of it and the
// normalised status. Snapshot.UpdatedAt is when Paydesk last changed the row and
// Snapshot.Raw is the provider's last objects; Snapshot.Refunds is not loaded (see the
// refunds table).
type Payment struct {
	ID       int64
	PublicID string
	providers.Snapshot
	Status providers.Status
}

// Cursor returns the keyset position of p in the payments list.
func (p Payment) Cursor() Cursor { return Cursor{CreatedAt: p.CreatedAt, ID: p.ID} }

// UpsertOptions says who is writing a snapshot and how.
type UpsertOptions struct {
	// Actor is who brought the snapshot: a person's e-mail, "import", "provider",
	// "webhook" or "reconciler". Empty means "system".
	Actor string
	// Kind is the timeline kind of the event written: "imported", "refreshed",
	// "webhook", … Empty means "imported" for a new payment and "refreshed" otherwise.
	Kind string
	// RejectStale refuses a snapshot whose status ranks below the stored one (an
	// out-of-order webhook), returning Change{Stale: true} and writing nothing.
	RejectStale bool
}

// Change says what UpsertPayment did.
type Change struct {
	// Created is true when the payment was new.
	Created bool
	// Changed is true when anything was written (always true with Created).
	Changed bool
	// Stale is true when the snapshot was refused because RejectStale was set and its
	// status ranks below the stored one.
	Stale bool
	// Fields lists the stored fields an update changed, for people (empty on create).
	Fields []FieldChange
}

// FieldChange is one field an update changed, with both values as shown to people
// (money formatted with its currency, status as its label, "" when empty).
type FieldChange struct {
	Field string
	Old   string
	New   string
}

// paymentColumns is the column list every payments query selects, in scanPayment's order.
const paymentColumns = `id, public_id, provider, provider_payment_id, session_id, order_id, merchant_reference,
	amount, captured, refunded, currency, status, raw_status, state_detail, error_code, session_status,
	method, mode, voided, instant, validate_uri, customer_name, customer_email, card_last4, description,
	created_at, updated_at, account, raw_json`

// scanPayment reads one row selected with paymentColumns.
func scanPayment(s interface{ Scan(dest ...any) error }) (Payment, error) {
	var p Payment
	err := scanPaymentInto(s, &p)
	return p, err
}

// scanPaymentInto is scanPayment into a Payment of the caller's: reading a page into a
// slice allocates the rows once, not once more each.
func scanPaymentInto(s interface{ Scan(dest ...any) error }, p *Payment) error {
	var provider, status, raw string
	var voided, instant int64
	var createdAt, updatedAt int64
	err := s.Scan(&p.ID, &p.PublicID, &provider, &p.PaymentID, &p.SessionID, &p.OrderID, &p.MerchantReference,
		&p.Amount, &p.Captured, &p.Refunded, &p.Currency, &status, &p.RawStatus, &p.StateDetail, &p.ErrorCode, &p.SessionStatus,
		&p.Method, &p.Mode, &voided, &instant, &p.ValidateURI, &p.CustomerName, &p.CustomerEmail, &p.CardLast4, &p.Description,
		&createdAt, &updatedAt, &p.Account, &raw)
	if err != nil {
		*p = Payment{}
		return err
	}
	p.Provider = providers.Name(provider)
	p.Status = providers.Status(status)
	p.Voided = voided != 0
	p.Instant = instant != 0
	p.CreatedAt = fromMS(createdAt)
	p.UpdatedAt = fromMS(updatedAt)
	p.Raw = json.RawMessage(raw)
	return nil
}

// PublicIDFor returns the Paydesk id of a payment of the default account first seen by
// key (its first non-empty provider id): "pd_" and 12 lower-case base32 characters of
// sha256(provider|key). It is deterministic so that demo data and re-imports get the same
// ids.
func PublicIDFor(provider providers.Name, key string) string {
	return PublicIDForAccount(provider, providers.DefaultAccount, key)
}

// PublicIDForAccount is PublicIDFor for a payment of any account: the same id for the
// default account (payments stored before accounts existed keep theirs), and
// sha256(provider|account|key) for the others, since two accounts may use one key.
func PublicIDForAccount(provider providers.Name, account, key string) string {
	in := string(provider) + "|" + key
	if account = providers.AccountOr(account); account != providers.DefaultAccount {
		in = string(provider) + "|" + account + "|" + key
	}
	sum := sha256.Sum256([]byte(in))
	return "pd_" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:12])
}

// snapshotKey is the first non-empty provider id of s, the key of its public id.
func snapshotKey(s providers.Snapshot) string {
	for _, id := range []string{s.PaymentID, s.SessionID, s.OrderID} {
		if id != "" {
			return id
		}
	}
	return ""
}

// validateSnapshot checks what storage must be able to rely on, and returns the snapshot
// as it will be stored (raw JSON compacted unless rawCompact vouches it is, refund
// currencies filled in).
func validateSnapshot(s providers.Snapshot, rawCompact bool) (providers.Snapshot, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("storage: payment %s %s: %w: %s", s.Provider, snapshotKey(s), ErrInvalidSnapshot, fmt.Sprintf(format, args...))
	}
	if !s.Provider.Valid() {
		return s, fmt.Errorf("storage: payment: %w: unknown provider %q", ErrInvalidSnapshot, s.Provider)
	}
	if snapshotKey(s) == "" {
		return s, fmt.Errorf("storage: %s payment: %w: no payment, session or order id", s.Provider, ErrInvalidSnapshot)
	}
	s.Account = providers.AccountOr(s.Account)
	if err := providers.CheckAccountName(s.Account); err != nil {
		return s, bad("%v", err)
	}
	if !providers.ValidCurrency(s.Currency) {
		return s, bad("currency %q is not an ISO 4217 code", s.Currency)
	}
	for _, a := range []struct {
		name string
		v    int64
	}{{"amount", s.Amount}, {"captured", s.Captured}, {"refunded", s.Refunded}} {
		if a.v < 0 {
			return s, bad("%s %d is negative", a.name, a.v)
		}
	}
	switch {
	case rawCompact && len(s.Raw) > 0:
		// The bulk loader's caller vouches for it (BulkOptions.RawCompact).
	case len(bytes.TrimSpace(s.Raw)) > 0:
		var buf bytes.Buffer
		if err := json.Compact(&buf, s.Raw); err != nil {
			return s, bad("raw JSON: %v", err)
		}
		s.Raw = buf.Bytes()
	default:
		s.Raw = nil
	}
	seen := make(map[string]bool, len(s.Refunds))
	refunds := make([]providers.RefundSnapshot, len(s.Refunds))
	for i, r := range s.Refunds {
		if r.ID == "" {
			return s, bad("refund %d has no id", i+1)
		}
		if seen[r.ID] {
			return s, bad("refund %s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Amount <= 0 {
			return s, bad("refund %s amount %d is not positive", r.ID, r.Amount)
		}
		if r.Currency == "" {
			r.Currency = s.Currency
		}
		if r.Currency != s.Currency {
			return s, bad("refund %s is in %s, the payment in %s", r.ID, r.Currency, s.Currency)
		}
		if r.Succeeded && r.Failed {
			return s, bad("refund %s is both succeeded and failed", r.ID)
		}
		refunds[i] = r
	}
	s.Refunds = refunds
	return s, nil
}

// UpsertPayment stores what a provider says about a payment, in one write transaction:
// it finds the stored row by provider and any of the snapshot's ids (a checkout session stored
// first and later seen with its payment is one row), inserts or updates it, syncs the
// refunds the provider reports into the refunds table and appends one timeline event
// saying what changed. A snapshot that changes nothing writes nothing (importing twice is
// harmless). Empty ids, session status, reference, customer details, description and raw
// JSON in the snapshot keep the stored values: a provider that does not repeat them has
// not erased them. Invalid snapshots return an error wrapping ErrInvalidSnapshot; a
// snapshot whose ids match two stored payments returns a *TwoPaymentsError (wrapping
// ErrConflict).
func (db *DB) UpsertPayment(ctx context.Context, snap providers.Snapshot, opt UpsertOptions) (Payment, Change, error) {
	snap, err := validateSnapshot(snap, false)
	if err != nil {
		return Payment{}, Change{}, err
	}
	if opt.Actor == "" {
		opt.Actor = "system"
	}
	var out Payment
	var change Change
	var failed error // an error of ours, already prefixed
	err = db.tx(ctx, func(tx *Tx) error {
		failed = db.upsert(ctx, tx, snap, opt, &out, &change)
		return failed
	})
	if err != nil {
		if failed != nil {
			return Payment{}, Change{}, failed
		}
		return Payment{}, Change{}, fmt.Errorf("storage: upsert %s payment %s: %w", snap.Provider, snapshotKey(snap), err)
	}
	return out, change, nil
}

// upsert is UpsertPayment's transaction body; it sets *out and *change on success.
func (db *DB) upsert(ctx context.Context, tx *Tx, snap providers.Snapshot, opt UpsertOptions, out *Payment, change *Change) error {
	old, found, err := findPayment(ctx, tx, snap)
	if err != nil {
		return err
	}
	now := db.Now()
	next := mergeSnapshot(old, found, snap, now)
	var fields []FieldChange
	rawChanged := true
	if found {
		fields = diffPayments(old, next)
		rawChanged = !bytes.Equal(old.Raw, next.Raw)
	}
	plan, err := planProviderRefunds(ctx, tx, old.ID, found, snap, now)
	if err != nil {
		return err
	}
	if found && opt.RejectStale && next.Status.Rank() < old.Status.Rank() && (len(fields) > 0 || rawChanged || len(plan) > 0) {
		*out, change.Stale = old, true
		return nil
	}
	// What the answer says that cannot be right is checked on every answer, changed or not.
	anom := anomalyChange{now: anomalyOf(next, snap.Refunds)}
	if found {
		a, had, err := storedAnomaly(ctx, tx, old.ID)
		if err != nil {
			return err
		}
		anom.old, anom.had = a.Message, had
		// A provider's link between two payments stays until a person deals with it: this
		// answer, about one of them, says nothing about it (linked_payments.go).
		anom.now = joinAnomaly(anom.now, linkedPart(a.Message))
	}
	if found && len(fields) == 0 && !rawChanged && len(plan) == 0 {
		*out = old
		if anom.changed() {
			change.Changed = true
			return db.applyAnomaly(ctx, tx, old, anom, opt.Actor, now)
		}
		return nil
	}
	var kind, msg string
	if found {
		kind = opt.Kind
		if kind == "" {
			kind = "refreshed"
		}
		if err := updatePayment(ctx, tx, next); err != nil {
			return err
		}
		msg = paymentUpdatedMessage(kind, next, fields, plan)
	} else {
		kind = opt.Kind
		if kind == "" {
			kind = "imported"
		}
		next.ID, err = insertPayment(ctx, tx, next)
		if err != nil {
			return err
		}
		msg = paymentCreatedMessage(kind, next, plan)
	}
	if err := applyProviderRefunds(ctx, tx, next.ID, plan, now); err != nil {
		return err
	}
	data, err := json.Marshal(upsertEventData{Status: next.Status, Fields: fields, Refunds: plan})
	if err != nil {
		return fmt.Errorf("storage: payment %s: event data: %w", next.PublicID, err)
	}
	if _, err := db.addEvent(ctx, tx, Event{PaymentID: next.ID, At: now, Actor: opt.Actor, Kind: kind, Message: msg, Data: data}); err != nil {
		return err
	}
	if err := db.applyAnomaly(ctx, tx, next, anom, opt.Actor, now); err != nil {
		return err
	}
	*out, err = paymentWhere(ctx, tx, "id = ?", next.ID)
	if err != nil {
		return fmt.Errorf("storage: payment %s: %w", next.PublicID, err)
	}
	*change = Change{Created: !found, Changed: true, Fields: fields}
	return nil
}

// upsertEventData is the JSON detail of an upsert's timeline event.
type upsertEventData struct {
	Status  providers.Status `json:"status"`
	Fields  []FieldChange    `json:"fields,omitempty"`
	Refunds []refundSync     `json:"refunds,omitempty"`
}

// findPayment returns the stored payment matching any of the snapshot's ids.
func findPayment(ctx context.Context, x execer, s providers.Snapshot) (Payment, bool, error) {
	var match Payment
	found := false
	for _, k := range []struct{ col, id string }{
		{"provider_payment_id", s.PaymentID}, {"session_id", s.SessionID}, {"order_id", s.OrderID},
	} {
		if k.id == "" {
			continue
		}
		// The "<> ''" term lets SQLite use the partial unique index.
		p, err := paymentWhere(ctx, x, "provider = ? AND account = ? AND "+k.col+" = ? AND "+k.col+" <> ''",
			string(s.Provider), providers.AccountOr(s.Account), k.id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Payment{}, false, fmt.Errorf("storage: %s payment %s: %w", s.Provider, k.id, err)
		}
		if found && p.ID != match.ID {
			return Payment{}, false, &TwoPaymentsError{First: match, Second: p, PaymentID: s.PaymentID, SessionID: s.SessionID}
		}
		match, found = p, true
	}
	return match, found, nil
}

// mergeSnapshot builds the row to store from the stored one (if found) and the snapshot.
func mergeSnapshot(old Payment, found bool, s providers.Snapshot, now time.Time) Payment {
	keep := func(stored, fresh string) string {
		if fresh == "" {
			return stored
		}
		return fresh
	}
	next := Payment{Snapshot: s}
	next.Refunds = nil
	if found {
		next.ID = old.ID
		next.PublicID = old.PublicID
		next.Account = old.Account // found in that account: a payment never moves
		next.PaymentID = keep(old.PaymentID, s.PaymentID)
		next.SessionID = keep(old.SessionID, s.SessionID)
		next.OrderID = keep(old.OrderID, s.OrderID)
		// The merchant's reference is fixed once known: a cancellation the payer confirms can
		// replace the provider's field it may live in with Paydesk's own signed state
		// (docs/providers.md).
		next.MerchantReference = keep(s.MerchantReference, old.MerchantReference)
		next.CustomerName = keep(old.CustomerName, s.CustomerName)
		next.CustomerEmail = keep(old.CustomerEmail, s.CustomerEmail)
		next.SessionStatus = keep(old.SessionStatus, s.SessionStatus)
		next.CardLast4 = keep(old.CardLast4, s.CardLast4)
		next.Description = keep(old.Description, s.Description)
		if s.CreatedAt.IsZero() {
			next.CreatedAt = old.CreatedAt
		}
		if s.Raw == nil {
			next.Raw = old.Raw
		}
	} else {
		next.PublicID = PublicIDForAccount(s.Provider, s.Account, snapshotKey(s))
		if s.CreatedAt.IsZero() {
			next.CreatedAt = now
		}
	}
	if next.Raw == nil {
		next.Raw = json.RawMessage("{}")
	}
	next.CreatedAt = fromMS(ms(next.CreatedAt))
	next.UpdatedAt = fromMS(ms(now))
	// The status is what the snapshot itself says, read by the provider's table.
	next.Status = providers.Normalise(s)
	return next
}

// paymentFields are the stored fields compared between two versions of a payment, each
// shown as people read it.
var paymentFields = []struct {
	name string
	show func(p Payment) string
}{
	{"status", func(p Payment) string { return p.Status.Label() }},
	{"provider status", func(p Payment) string { return p.RawStatus }},
	{"state detail", func(p Payment) string { return p.StateDetail }},
	{"error code", func(p Payment) string { return p.ErrorCode }},
	{"session status", func(p Payment) string { return p.SessionStatus }},
	{"amount", func(p Payment) string { return providers.FormatMoney(p.Amount, p.Currency) }},
	{"captured", func(p Payment) string { return providers.FormatMoney(p.Captured, p.Currency) }},
	{"refunded", func(p Payment) string { return providers.FormatMoney(p.Refunded, p.Currency) }},
	{"currency", func(p Payment) string { return p.Currency }},
	{"method", func(p Payment) string { return p.Method }},
	{"mode", func(p Payment) string { return p.Mode }},
	{"voided", func(p Payment) string { return yesNoField(p.Voided) }},
	{"instant", func(p Payment) string { return yesNoField(p.Instant) }},
	{"validate URI", func(p Payment) string { return p.ValidateURI }},
	{"payment id", func(p Payment) string { return p.PaymentID }},
	{"session id", func(p Payment) string { return p.SessionID }},
	{"order id", func(p Payment) string { return p.OrderID }},
	{"reference", func(p Payment) string { return p.MerchantReference }},
	{"customer name", func(p Payment) string { return p.CustomerName }},
	{"customer e-mail", func(p Payment) string { return p.CustomerEmail }},
	{"card last 4", func(p Payment) string { return p.CardLast4 }},
	{"description", func(p Payment) string { return p.Description }},
	{"created", func(p Payment) string { return p.CreatedAt.UTC().Format("2006-01-02 15:04:05.000 UTC") }},
}

func yesNoField(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// diffPayments lists the fields that differ between old and next.
func diffPayments(old, next Payment) []FieldChange {
	var out []FieldChange
	for _, f := range paymentFields {
		o, n := f.show(old), f.show(next)
		if o != n {
			out = append(out, FieldChange{Field: f.name, Old: o, New: n})
		}
	}
	return out
}

// insertPayment inserts a new row and returns its id.
func insertPayment(ctx context.Context, tx *Tx, p Payment) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO payments (public_id, provider, provider_payment_id, session_id, order_id,
		merchant_reference, amount, captured, refunded, currency, status, raw_status, state_detail, error_code,
		session_status, method, mode, voided, instant, validate_uri, customer_name, customer_email, card_last4,
		description, created_at, updated_at, raw_json, account)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.PublicID, string(p.Provider), p.PaymentID, p.SessionID, p.OrderID,
		p.MerchantReference, p.Amount, p.Captured, p.Refunded, p.Currency, string(p.Status), p.RawStatus, p.StateDetail, p.ErrorCode,
		p.SessionStatus, p.Method, p.Mode, p.Voided, p.Instant, p.ValidateURI, p.CustomerName, p.CustomerEmail, p.CardLast4,
		p.Description, ms(p.CreatedAt), ms(p.UpdatedAt), string(p.Raw), providers.AccountOr(p.Account)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("storage: insert payment %s: %w", p.PublicID, err)
	}
	return id, nil
}

// updatePayment rewrites a stored row.
func updatePayment(ctx context.Context, tx *Tx, p Payment) error {
	_, err := tx.ExecContext(ctx, `UPDATE payments SET provider_payment_id = ?, session_id = ?, order_id = ?,
		merchant_reference = ?, amount = ?, captured = ?, refunded = ?, currency = ?, status = ?, raw_status = ?,
		state_detail = ?, error_code = ?, session_status = ?, method = ?, mode = ?, voided = ?, instant = ?,
		validate_uri = ?, customer_name = ?, customer_email = ?, card_last4 = ?, description = ?, created_at = ?,
		updated_at = ?, raw_json = ?
		WHERE id = ?`,
		p.PaymentID, p.SessionID, p.OrderID,
		p.MerchantReference, p.Amount, p.Captured, p.Refunded, p.Currency, string(p.Status), p.RawStatus,
		p.StateDetail, p.ErrorCode, p.SessionStatus, p.Method, p.Mode, p.Voided, p.Instant,
		p.ValidateURI, p.CustomerName, p.CustomerEmail, p.CardLast4, p.Description, ms(p.CreatedAt),
		ms(p.UpdatedAt), string(p.Raw), p.ID)
	if err != nil {
		return fmt.Errorf("storage: update payment %s: %w", p.PublicID, err)
	}
	return nil
}

// paymentCreatedMessage is the timeline line of a new payment: "Imported from <provider>: paid, 50.90 EUR".
func paymentCreatedMessage(kind string, p Payment, plan []refundSync) string {
	verb := "Imported from "
	switch kind {
	case "imported":
	case "webhook":
		verb = "Received by webhook from "
	default:
		verb = "Fetched from "
	}
	parts := []string{p.Status.Label() + ", " + providers.FormatMoney(p.Amount, p.Currency)}
	parts = append(parts, refundSyncParts(plan)...)
	return verb + p.Provider.Label() + ": " + strings.Join(parts, "; ")
}

// paymentUpdatedMessage is the timeline line of an update: "Refreshed from provider: status
// processing → paid; refunded 0.00 EUR → 5.00 EUR".
func paymentUpdatedMessage(kind string, p Payment, fields []FieldChange, plan []refundSync) string {
	prefix := "Refreshed from provider"
	switch kind {
	case "imported":
		prefix = "Re-imported from " + p.Provider.Label()
	case "webhook":
		prefix = "Updated by webhook"
	}
	var parts []string
	for _, f := range fields {
		parts = append(parts, f.Field+" "+shownValue(f.Old)+" → "+shownValue(f.New))
	}
	parts = append(parts, refundSyncParts(plan)...)
	if len(parts) == 0 {
		parts = append(parts, "the provider's data changed")
	}
	return prefix + ": " + strings.Join(parts, "; ")
}

func shownValue(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// paymentWhere returns the one payment matching a WHERE clause, or ErrNotFound.
func paymentWhere(ctx context.Context, x execer, where string, args ...any) (Payment, error) {
	p, err := scanPayment(x.QueryRowContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE "+where+" LIMIT 1", args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, ErrNotFound
	}
	return p, err
}

// PaymentByID returns the payment with Paydesk's row id.
func (db *DB) PaymentByID(ctx context.Context, id int64) (Payment, error) {
	p, err := paymentWhere(ctx, db.db, "id = ?", id)
	if err != nil {
		return Payment{}, fmt.Errorf("storage: payment %d: %w", id, err)
	}
	return p, nil
}

// PaymentByPublicID returns the payment with Paydesk's public id ("pd_…").
func (db *DB) PaymentByPublicID(ctx context.Context, pid string) (Payment, error) {
	p, err := paymentWhere(ctx, db.db, "public_id = ?", pid)
	if err != nil {
		return Payment{}, fmt.Errorf("storage: payment %s: %w", pid, err)
	}
	return p, nil
}

// PaymentByProviderID returns the payment of the provider's default account known by id
// as its payment id, session id or order id (PaymentByAccountID for another account).
func (db *DB) PaymentByProviderID(ctx context.Context, provider providers.Name, id string) (Payment, error) {
	return db.PaymentByAccountID(ctx, provider, providers.DefaultAccount, id)
}

// PaymentByAccountID returns the payment of one account of the provider known by id as
// its payment id, session id or order id (ids are unique within an account only).
func (db *DB) PaymentByAccountID(ctx context.Context, provider providers.Name, account, id string) (Payment, error) {
	if id != "" {
		// The "<> ''" terms let SQLite use the partial unique indexes.
		p, err := paymentWhere(ctx, db.db, `id IN (
			SELECT id FROM payments WHERE provider = ?1 AND account = ?3 AND provider_payment_id = ?2 AND provider_payment_id <> ''
			UNION ALL SELECT id FROM payments WHERE provider = ?1 AND account = ?3 AND session_id = ?2 AND session_id <> ''
			UNION ALL SELECT id FROM payments WHERE provider = ?1 AND account = ?3 AND order_id = ?2 AND order_id <> '')
			ORDER BY id`, string(provider), id, providers.AccountOr(account))
		if !errors.Is(err, ErrNotFound) {
			if err != nil {
				return Payment{}, fmt.Errorf("storage: %s payment %s: %w", provider, id, err)
			}
			return p, nil
		}
	}
	if id == "" {
		return Payment{}, fmt.Errorf("storage: %s payment with no id: %w", provider, ErrNotFound)
	}
	return Payment{}, fmt.Errorf("storage: %s payment %s: %w", provider, id, ErrNotFound)
}

// LastPaymentID returns the largest payment row id, 0 when there is none: a lookup, where
// CountPayments reads a whole index (25 MB on a million payments: half a second when the
// file is not in the OS cache). Payments are never deleted, so it is also how many there
// are; `paydesk demo` shows it at start-up.
func (db *DB) LastPaymentID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := db.db.QueryRowContext(ctx, "SELECT max(id) FROM payments").Scan(&id); err != nil {
		return 0, fmt.Errorf("storage: last payment id: %w", err)
	}
	return id.Int64, nil
}

// CountPayments returns how many payments are stored.
func (db *DB) CountPayments(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM payments").Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count payments: %w", err)
	}
	return n, nil
}

// eachPaymentBatch is how many rows EachPayment reads at a time.
const eachPaymentBatch = 500

// EachPayment calls fn with every payment in id order, stopping at fn's first error. It
// reads in batches and holds no query open while fn runs, so fn may use the database.
func (db *DB) EachPayment(ctx context.Context, fn func(Payment) error) error {
	var last int64
	for {
		batch, err := db.paymentsAfterID(ctx, last, eachPaymentBatch)
		if err != nil {
			return err
		}
		for _, p := range batch {
			if err := fn(p); err != nil {
				return err
			}
			last = p.ID
		}
		if len(batch) < eachPaymentBatch {
			return nil
		}
	}
}

// paymentsAfterID returns up to limit payments with an id above after, in id order.
func (db *DB) paymentsAfterID(ctx context.Context, after int64, limit int) ([]Payment, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: payments: %w", err)
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: payments: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: payments: %w", err)
	}
	return out, nil
}
