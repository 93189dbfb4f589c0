// The people table: who signed in (their e-mail, whether a manager) and which e-mails
// they want. docs/email.md.

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Person is someone who signed in, as last seen, with their mail preferences.
type Person struct {
	Key     string
	Email   string
	Name    string
	Manager bool
	SeenAt  time.Time
	Prefs   MailPrefs
}

// MailPrefs says which e-mails a person gets.
type MailPrefs struct {
	// Approvals: a refund awaits a manager's approval (managers).
	Approvals bool
	// Decisions: a manager approved or rejected one of my requests.
	Decisions bool
	// PayerLinks: a payer confirmed through a payer link I made.
	PayerLinks bool
}

// AllMail is the preferences of a person who chose nothing: every e-mail.
var AllMail = MailPrefs{Approvals: true, Decisions: true, PayerLinks: true}

// RecordPerson records a sign-in: the person's e-mail and name, and whether they hold the
// manager role, as the identity provider said this time. Their preferences are kept.
func (db *DB) RecordPerson(ctx context.Context, key, email, name string, manager bool) error {
	key = strings.TrimSpace(key)
	if key == "" {
		return errors.New("storage: record person: missing key")
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO people (person_key, email, name, manager, seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_key) DO UPDATE SET email = excluded.email, name = excluded.name, manager = excluded.manager,
			seen_at = excluded.seen_at`, key, strings.TrimSpace(email), strings.TrimSpace(name), boolInt(manager), ms(db.Now()))
	if err != nil {
		return fmt.Errorf("storage: record person: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const personColumns = `person_key, email, name, manager, seen_at, mail_approvals, mail_decisions, mail_payer_links`

func scanPerson(s scannable) (Person, error) {
	var p Person
	var manager, a, d, l int
	var seen int64
	err := s.Scan(&p.Key, &p.Email, &p.Name, &manager, &seen, &a, &d, &l)
	p.Manager, p.SeenAt = manager == 1, fromMS(seen)
	p.Prefs = MailPrefs{Approvals: a == 1, Decisions: d == 1, PayerLinks: l == 1}
	return p, err
}

// PersonByKey returns a person seen at sign-in, or ErrNotFound.
func (db *DB) PersonByKey(ctx context.Context, key string) (Person, error) {
	p, err := scanPerson(db.db.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE person_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("storage: person: %w", ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("storage: person: %w", err)
	}
	return p, nil
}

// MailPrefsOf returns a person's preferences: AllMail for a person never seen.
func (db *DB) MailPrefsOf(ctx context.Context, key string) (MailPrefs, error) {
	p, err := db.PersonByKey(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return AllMail, nil
	}
	return p.Prefs, err
}

// SetMailPrefs stores a person's choice of e-mails (a person not seen yet is recorded
// with their key alone).
func (db *DB) SetMailPrefs(ctx context.Context, key string, p MailPrefs) error {
	if strings.TrimSpace(key) == "" {
		return errors.New("storage: mail preferences: missing person key")
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO people (person_key, seen_at, mail_approvals, mail_decisions, mail_payer_links)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_key) DO UPDATE SET mail_approvals = excluded.mail_approvals,
			mail_decisions = excluded.mail_decisions, mail_payer_links = excluded.mail_payer_links`,
		key, ms(db.Now()), boolInt(p.Approvals), boolInt(p.Decisions), boolInt(p.PayerLinks))
	if err != nil {
		return fmt.Errorf("storage: mail preferences: %w", err)
	}
	return nil
}

// prefColumn is the preference that decides a kind of mail.
func prefColumn(kind string) string {
	switch kind {
	case MailApprovalRequest:
		return "mail_approvals"
	case MailDecision:
		return "mail_decisions"
	case MailPayerConfirmed:
		return "mail_payer_links"
	}
	return ""
}

// wants reports whether these preferences let e-mails of kind through (prefColumn's kinds;
// any other kind goes through).
func (p MailPrefs) wants(kind string) bool {
	switch kind {
	case MailApprovalRequest:
		return p.Approvals
	case MailDecision:
		return p.Decisions
	case MailPayerConfirmed:
		return p.PayerLinks
	}
	return true
}

// WantsMail reports whether the person with key wants e-mails of kind (a Mail* kind), in
// tx or outside one (q: *DB's SQL() or a *Tx). A person never seen, and a kind no
// preference covers, get it: the default is on.
func WantsMail(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *Row
}, personKey, kind string) (bool, error) {
	col := prefColumn(kind)
	if col == "" || personKey == "" {
		return true, nil
	}
	var v int
	err := q.QueryRowContext(ctx, `SELECT `+col+` FROM people WHERE person_key = ?`, personKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: wants mail: %w", err)
	}
	return v == 1, nil
}

// WantsMail is storage.WantsMail outside a transaction.
func (db *DB) WantsMail(ctx context.Context, personKey, kind string) (bool, error) {
	return WantsMail(ctx, db.db, personKey, kind)
}

// WantsMail is storage.WantsMail inside tx.
func (tx *Tx) WantsMail(ctx context.Context, personKey, kind string) (bool, error) {
	return WantsMail(ctx, tx, personKey, kind)
}

// WantsMailAt is WantsMail for the person last seen signing in with the e-mail address
// addr (names in the records are e-mails, e.g. a payer link's maker): someone never seen
// gets it. Of two people with one address, the one seen last decides.
func (tx *Tx) WantsMailAt(ctx context.Context, addr, kind string) (bool, error) {
	col := prefColumn(kind)
	if col == "" {
		return true, nil
	}
	var v int
	err := tx.QueryRowContext(ctx, `SELECT `+col+` FROM people WHERE email = ? COLLATE NOCASE ORDER BY seen_at DESC LIMIT 1`, addr).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: wants mail: %w", err)
	}
	return v == 1, nil
}

// Managers returns, in tx, the managers seen at sign-in who have an e-mail address and
// want kind, by e-mail.
func (tx *Tx) Managers(ctx context.Context, kind string) ([]Person, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+personColumns+` FROM people WHERE manager = 1 AND email LIKE '%@%'
		ORDER BY lower(email), seen_at DESC, person_key`)
	if err != nil {
		return nil, fmt.Errorf("storage: managers: %w", err)
	}
	defer rows.Close()
	var out []Person
	last := ""
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: managers: %w", err)
		}
		// One message per address: a person seen under two keys (an identity provider
		// moved to another issuer URL, as the demo's does at each start) is the one seen
		// last, with their latest preferences.
		if strings.EqualFold(last, p.Email) {
			continue
		}
		last = p.Email
		if p.Prefs.wants(kind) {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// Managers is tx.Managers outside a transaction of the caller's.
func (db *DB) Managers(ctx context.Context, kind string) ([]Person, error) {
	var out []Person
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.Managers(ctx, kind)
		return err
	})
	return out, err
}
