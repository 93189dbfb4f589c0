// The search box's subqueries: what a search finds, by e-mail, amount, id or words.

package storage

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"paydesk/providers"
)

// The e-mails holding a search with an "@" as a part, when no e-mail is the search
// itself (that one is an exact term on payments_email: paymentConds' emailTerm). The
// search index finds the payments whose e-mail has the words before the "@" (or, for
// "@domain…", the words after it) as a phrase, and instr keeps those whose e-mail holds
// the whole search. A phrase of every word ("jules thomas31 mail example*") costs
// 110–190 ms on a million payments, as "example" is in nearly every e-mail; the local
// part's words are rare (1 ms for a common name's 300 e-mails).
const emailPartSQL = `SELECT p.id FROM payments_fts f JOIN payments p ON p.id = f.rowid
	WHERE payments_fts MATCH ? AND instr(lower(p.customer_email), ?) > 0`

// emailPartPostgresSQL is emailPartSQL on PostgreSQL: the e-mail's own words index
// (payments_email_words) instead of FTS5's column filter, the query folded as the index
// is (paydesk_fold; docs/postgres-schema.md).
const emailPartPostgresSQL = `SELECT p.id FROM payments p
	WHERE paydesk_words(p.customer_email) @@ paydesk_fold(?)::tsquery AND instr(lower(p.customer_email), ?) > 0`

// wholeEmailSQL tells whether a search is a stored e-mail (one seek of payments_email).
const wholeEmailSQL = `SELECT EXISTS (SELECT 1 FROM payments WHERE customer_email = ? COLLATE NOCASE)`

// emailSearch returns the subquery and arguments of a search holding "@" that is no
// stored e-mail as a whole.
func emailSearch(q string, postgres bool) (string, []any) {
	local, domain, _ := strings.Cut(q, "@")
	expr := ""
	switch {
	case ftsExpression(local) != "":
		// The local part is whole (the "@" follows it): its last word is not a prefix.
		expr = `customer_email : ` + ftsPhrase(local)
		if postgres {
			expr = tsPhrase(local, false)
		}
	case ftsExpression(domain) != "":
		expr = `customer_email : ` + ftsPhrase(domain) + `*`
		if postgres {
			expr = tsPhrase(domain, true)
		}
	}
	if expr == "" {
		return `SELECT id FROM payments WHERE customer_email = ? COLLATE NOCASE`, []any{q}
	}
	if postgres {
		return emailPartPostgresSQL, []any{expr, asciiLower(q)}
	}
	return emailPartSQL, []any{expr, asciiLower(q)}
}

// indexWords splits s as the search index does (PostgreSQL's paydesk_words, SQLite's
// tokenizer): letters and digits, with '_' and '-' inside words.
func indexWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-')
	})
}

// tsPhrase is ftsPhrase for PostgreSQL: s's index words one after another
// ('jules' <-> 'thomas31'), the last a prefix when prefix is set; "" when s has no word.
// Words hold only letters, digits, '_' and '-', so quoting them is enough.
func tsPhrase(s string, prefix bool) string {
	words := indexWords(s)
	if len(words) == 0 {
		return ""
	}
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = "'" + w + "'"
	}
	if prefix {
		parts[len(parts)-1] += ":*"
	}
	return strings.Join(parts, " <-> ")
}

// tsExpression is ftsExpression for PostgreSQL: each word of the search a prefix phrase,
// joined by &: `jean dup` → `'jean':* & 'dup':*`, "jules.thomas" → `'jules' <-> 'thomas':*`.
func tsExpression(q string) string {
	words := searchWords(q)
	parts := make([]string, 0, len(words))
	for _, w := range words {
		if p := tsPhrase(w, true); p != "" {
			parts = append(parts, "("+p+")")
		}
	}
	return strings.Join(parts, " & ")
}

// ftsPhrase quotes s as one FTS5 string: the index's tokenizer splits it into a phrase.
func ftsPhrase(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// asciiLower lowers A–Z only, as SQLite's lower() does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// amountQuery is a search that reads as an amount: the decimals it may mean (in major
// units, "2533.74"; "2,533" may be 2533 or 2.533) and the currency it names, if any.
type amountQuery struct {
	decimals []string
	currency string
}

// currencySigns are the signs a search may put before or after an amount.
var currencySigns = map[string]string{"€": "EUR", "£": "GBP", "¥": "JPY", "₴": "UAH", "$": "USD"}

// parseAmountQuery reads q as an amount: digits with a decimal comma or point ("2533.74",
// "2533,74"), grouped by spaces, apostrophes, points or commas ("2 533.74", "2.533,74"),
// with or without a currency sign or code ("€2533.74", "2533.74 EUR"). Bare digits
// ("2533") are an id or a card's last 4, not an amount, unless a currency is named or
// they are grouped ("2 533").
func parseAmountQuery(q string) (amountQuery, bool) {
	var a amountQuery
	s := strings.TrimSpace(q)
	for sign, code := range currencySigns {
		if rest, ok := strings.CutPrefix(s, sign); ok {
			s, a.currency = rest, code
		} else if rest, ok := strings.CutSuffix(s, sign); ok {
			s, a.currency = rest, code
		}
	}
	s = strings.TrimSpace(s)
	if a.currency == "" && len(s) > 4 {
		if c := strings.ToUpper(s[:3]); providers.ValidCurrency(c) {
			s, a.currency = s[3:], c
		} else if c := strings.ToUpper(s[len(s)-3:]); providers.ValidCurrency(c) {
			s, a.currency = s[:len(s)-3], c
		}
	}
	s = strings.TrimSpace(s)
	if s == "" || !isDigit(rune(s[0])) || !isDigit(rune(s[len(s)-1])) {
		return a, false
	}
	grouped := false
	var b strings.Builder
	for _, r := range s {
		switch {
		case isDigit(r), r == '.', r == ',':
			b.WriteRune(r)
		case r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\'' || r == '’':
			grouped = true
		default:
			return a, false
		}
	}
	s = b.String()
	points, commas := strings.Count(s, "."), strings.Count(s, ",")
	switch {
	case points == 0 && commas == 0:
		if !grouped && a.currency == "" {
			return a, false
		}
		a.decimals = []string{s}
	case points > 0 && commas > 0:
		// The last mark is the decimal one; the other groups thousands.
		dec, group := ".", ","
		if strings.LastIndex(s, ",") > strings.LastIndex(s, ".") {
			dec, group = ",", "."
		}
		i := strings.LastIndex(s, dec)
		whole, ok := ungroup(s[:i], group)
		if !ok || strings.Count(s, dec) > 1 {
			return a, false
		}
		a.decimals = []string{whole + "." + s[i+1:]}
	default:
		mark := "."
		if commas > 0 {
			mark = ","
		}
		whole, frac, _ := strings.Cut(s, mark)
		if strings.Count(s, mark) > 1 {
			// Marks more than once group thousands: "1.234.567".
			w, ok := ungroup(s, mark)
			if !ok {
				return a, false
			}
			a.decimals = []string{w}
			break
		}
		a.decimals = []string{whole + "." + frac}
		if len(frac) == 3 {
			// "2,533" is 2533 as often as 2.533 (a three-decimal currency): both.
			a.decimals = append(a.decimals, whole+frac)
		}
	}
	return a, true
}

// ungroup removes the thousands mark from s, which must group by threes ("1,234,567").
func ungroup(s, mark string) (string, bool) {
	parts := strings.Split(s, mark)
	for i, p := range parts {
		if p == "" || (i > 0 && len(p) != 3) || (i == 0 && len(p) > 3 && len(parts) > 1) {
			return "", false
		}
	}
	return strings.Join(parts, ""), true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// amountPair is an amount in one currency's minor units.
type amountPair struct {
	currency string
	minor    int64
}

// pairs returns the amounts the query means in each of currencies (or in its own
// currency when it names one), in minor units by each currency's exponent: "2533.74" is
// 253374 in EUR, 2533740 in KWD, nothing in JPY.
func (a amountQuery) pairs(currencies []string) []amountPair {
	if a.currency != "" {
		currencies = []string{a.currency}
	}
	var out []amountPair
	seen := map[amountPair]bool{}
	for _, c := range currencies {
		for _, d := range a.decimals {
			v, err := providers.ParseMajor(d, c)
			if err != nil || v < 0 {
				continue
			}
			p := amountPair{c, v}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// amountSearch returns UNION arms, one per currency and amount, each a seek of
// payments_currency_amount; "" when the amount means nothing in these currencies.
func amountSearch(pairs []amountPair) (string, []any) {
	var arms []string
	var args []any
	for _, p := range pairs {
		arms = append(arms, `SELECT id FROM payments WHERE currency = ? AND amount = ?`)
		args = append(args, p.currency, p.minor)
	}
	return strings.Join(arms, "\n\tUNION "), args
}

// storedCurrencies lists the currencies of the stored payments, each found by one seek of
// payments_currency_amount (a handful, never a scan).
func (db *DB) storedCurrencies(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `WITH RECURSIVE stored(currency) AS (
		SELECT min(currency) FROM payments
		UNION ALL SELECT (SELECT min(currency) FROM payments WHERE currency > stored.currency) FROM stored
			WHERE stored.currency IS NOT NULL)
		SELECT currency FROM stored WHERE currency IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("storage: stored currencies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("storage: stored currencies: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: stored currencies: %w", err)
	}
	return out, nil
}

// searchSet returns the subquery of the ids a search finds, and its arguments. currencies
// are the stored ones, for an amount that names none. (A stored e-mail typed whole is no
// set: filterConditions makes it a term.)
func searchSet(q string, currencies []string, postgres bool) (string, []any) {
	idMatch := idMatchSQL
	if postgres {
		idMatch = idMatchPostgresSQL
	}
	switch {
	case strings.Contains(q, "@"):
		return emailSearch(q, postgres)
	case isLast4(q):
		// Four digits are a card's last 4, or a ticket's number in a note.
		set, args := idMatch+`
			UNION SELECT id FROM payments WHERE card_last4 = ? AND card_last4 <> ''`, []any{q, q, q, q, q, q}
		arm, more := notesSearch(q, postgres)
		return set + arm, append(args, more...)
	}
	set, args := idMatch, []any{q, q, q, q, q}
	if a, ok := parseAmountQuery(q); ok {
		// An amount is not words: "2 533.74" as words would expand "2"* to every word
		// starting with a 2.
		if arms, more := amountSearch(a.pairs(currencies)); arms != "" {
			set += "\n\tUNION " + arms
			args = append(args, more...)
		}
		return set, args
	}
	if postgres {
		if expr := tsExpression(q); expr != "" {
			set += `
			UNION SELECT id FROM payments WHERE search_words @@ paydesk_fold(?)::tsquery`
			args = append(args, expr)
		}
	} else if expr := ftsExpression(q); expr != "" {
		set += `
			UNION SELECT rowid FROM payments_fts WHERE payments_fts MATCH ?`
		args = append(args, expr)
	}
	arm, more := notesSearch(q, postgres)
	return set + arm, append(args, more...)
}

// The payments whose notes hold every word of a search (each a prefix), through the
// notes' own index (payment_notes_fts on SQLite, payment_notes_words on PostgreSQL): one
// more arm of the search's UNION, which costs one lookup of an index that is empty, or
// small beside the payments', when few payments have notes (docs/notes.md). A search's
// words are looked for in the notes or in the payment's fields, not half in each.
const (
	notesWordsSQL = `
			UNION SELECT n.payment_id FROM payment_notes_fts f JOIN payment_notes n ON n.id = f.rowid WHERE payment_notes_fts MATCH ?`
	notesWordsPostgresSQL = `
			UNION SELECT payment_id FROM payment_notes WHERE body_words @@ paydesk_fold(?)::tsquery`
)

// notesSearch returns the UNION arm of the payments whose notes have q's words, and its
// argument; "" when q has no word.
func notesSearch(q string, postgres bool) (string, []any) {
	if postgres {
		if expr := tsExpression(q); expr != "" {
			return notesWordsPostgresSQL, []any{expr}
		}
		return "", nil
	}
	if expr := ftsExpression(q); expr != "" {
		return notesWordsSQL, []any{expr}
	}
	return "", nil
}

// wordsRowTerm is, on PostgreSQL, a search by words as a term each row answers itself
// (an id, its own search column, or its notes' words): for a search that finds many payments (a common
// name), the list's date index is read and each row checked until the page is full, a
// few thousand rows, where gathering every match's row first cost 0.4–2.4 s on a
// million payments. ok is false for searches that are not words (e-mails, last 4,
// amounts): those find few payments.
func wordsRowTerm(q string) (term string, args []any, ok bool) {
	if strings.Contains(q, "@") || isLast4(q) {
		return "", nil, false
	}
	if _, amount := parseAmountQuery(q); amount {
		return "", nil, false
	}
	expr := tsExpression(q)
	if expr == "" {
		return "", nil, false
	}
	return `(id IN (` + idMatchPostgresSQL + `) OR search_words @@ paydesk_fold(?)::tsquery
		OR id IN (SELECT payment_id FROM payment_notes WHERE body_words @@ paydesk_fold(?)::tsquery))`, []any{q, q, q, q, q, expr, expr}, true
}
