package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"paydesk/providers"
)

// ErrInvalidFilter is wrapped by the errors of a payments filter or cursor that cannot be
// used (unknown provider or status, bad currency, min above max, …).
var ErrInvalidFilter = errors.New("invalid filter")

// Payment list limits.
const (
	// DefaultPageSize is the page size when PaymentFilter.Limit is zero.
	DefaultPageSize = 50
	// MaxPageSize is the largest page ListPayments returns.
	MaxPageSize = 200
	// CountCap is where ListPayments stops counting matching rows, when payment_counts
	// cannot count them (a search, an amount, dates, needs attention). Counting costs one
	// index entry per match, more for sparse filters: 500 keeps the count of a filtered
	// list around a millisecond on a million payments, where 10,000 cost up to 10 ms. The
	// same count chooses how a search or "needs attention" reads its page (ListPayments):
	// a higher cap alone would make a search of 500–10,000 matches with another filter
	// read that filter's whole index range to count it (docs/benchmarks.md).
	CountCap = 500
	// maxSearchLen bounds the search box, in characters.
	maxSearchLen = 200
)

// PaymentFilter selects and pages the payments list. Zero fields do not filter; every
// field combines with the others.
type PaymentFilter struct {
	// Query is the search box: an e-mail, a card's last 4, any id or reference, or words
	// of a customer's name (prefixes match).
	Query    string
	Provider providers.Name
	// Account keeps one account of Provider (it needs Provider: account names are the
	// provider's own).
	Account  string
	Status   providers.Status
	Currency string
	// MinAmount and MaxAmount bound the amount (minor units, inclusive) when set.
	MinAmount, MaxAmount *int64
	// From and To select created_at in [From, To) when non-zero.
	From, To time.Time
	// NeedsAttention keeps payments someone should look at: cancelling or unknown, with
	// an action, refund or payer link still open, or with an anomaly (anomalies.go).
	NeedsAttention bool
	// Anomaly keeps only the payments whose provider's answer cannot be right.
	Anomaly bool
	// UnknownOutcome keeps the payments with an action whose outcome is unknown
	// (the dashboard's work queue, work_queue.go).
	UnknownOutcome bool
	// Link keeps the payments by their payer link: LinkNone (no live link), LinkActive
	// (a link waiting for the payer) or LinkAbandoned; "" does not filter.
	Link string
	// FailedSince, when non-zero, keeps the payments with an action or a refund that
	// failed at or after it.
	FailedSince time.Time
	// Customer keeps one customer's payments: an e-mail, a name or a card (customers.go).
	Customer *Customer
	// AwaitingApproval keeps the payments with a refund awaiting a manager's approval.
	AwaitingApproval bool
	// RefundedFrom and RefundedTo, when non-zero, keep the payments with a refund that
	// succeeded in [RefundedFrom, RefundedTo) (either bound may be zero: open).
	RefundedFrom, RefundedTo time.Time
	// After asks for the page of payments older than the cursor; Before for the page
	// newer than it. At most one is set.
	After, Before *Cursor
	// Limit is the page size: DefaultPageSize when zero, at most MaxPageSize.
	Limit int

	// currencies are the stored currencies, for a search by an amount that names none;
	// wholeEmail says the search is a stored e-mail. ListPayments fills them in.
	currencies []string
	wholeEmail bool
	// postgres says the search's SQL is PostgreSQL's (payments_search.go).
	postgres bool
}

// The values of PaymentFilter.Link.
const (
	LinkNone      = "none"
	LinkActive    = "active"
	LinkAbandoned = "abandoned"
)

// Cursor is a position in the payments list (newest first): a payment's created_at and id.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// String renders the cursor for a URL: unix milliseconds, a dash, the id ("1732240000123-42").
func (c Cursor) String() string {
	return strconv.FormatInt(ms(c.CreatedAt), 10) + "-" + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads a cursor written by Cursor.String. Errors wrap ErrInvalidFilter.
func ParseCursor(s string) (Cursor, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return Cursor{}, fmt.Errorf("storage: cursor %q: %w: want <milliseconds>-<id>", s, ErrInvalidFilter)
	}
	at, err1 := strconv.ParseInt(s[:i], 10, 64)
	id, err2 := strconv.ParseInt(s[i+1:], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return Cursor{}, fmt.Errorf("storage: cursor %q: %w: want <milliseconds>-<id>", s, ErrInvalidFilter)
	}
	return Cursor{CreatedAt: fromMS(at), ID: id}, nil
}

// PaymentPage is one page of the payments list.
type PaymentPage struct {
	Payments []Payment
	// Next is the cursor for the older page (PaymentFilter.After), nil on the last page.
	// Prev is the cursor for the newer page (PaymentFilter.Before), nil on the first page.
	Next, Prev *Cursor
	// Count is how many payments match the filter (cursor aside): exact, whatever the
	// number, with no filter or only provider, status and currency (payment_counts);
	// otherwise counted up to CountCap.
	Count int
	// CountCapped is true when more than CountCap payments match (then Count is CountCap).
	CountCapped bool
}

// normalise validates f and fills in its defaults.
func (f PaymentFilter) normalise() (PaymentFilter, error) {
	bad := func(format string, args ...any) (PaymentFilter, error) {
		return f, fmt.Errorf("storage: payments filter: %w: %s", ErrInvalidFilter, fmt.Sprintf(format, args...))
	}
	f.Query = strings.TrimSpace(f.Query)
	if n := len([]rune(f.Query)); n > maxSearchLen {
		return bad("search is %d characters long, at most %d", n, maxSearchLen)
	}
	if f.Provider != "" && !f.Provider.Valid() {
		return bad("unknown provider %q", f.Provider)
	}
	if f.Account != "" && f.Provider == "" {
		return bad("account %q without its provider", f.Account)
	}
	if f.Status != "" && !f.Status.Valid() {
		return bad("unknown status %q", f.Status)
	}
	if f.Currency != "" {
		f.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
		if !providers.ValidCurrency(f.Currency) {
			return bad("currency %q is not a three-letter ISO 4217 code", f.Currency)
		}
	}
	if f.MinAmount != nil && *f.MinAmount < 0 {
		return bad("minimum amount %d is negative", *f.MinAmount)
	}
	if f.MaxAmount != nil && *f.MaxAmount < 0 {
		return bad("maximum amount %d is negative", *f.MaxAmount)
	}
	if f.MinAmount != nil && f.MaxAmount != nil && *f.MinAmount > *f.MaxAmount {
		return bad("minimum amount %d is above maximum amount %d", *f.MinAmount, *f.MaxAmount)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return bad("from %s is after to %s", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	if !f.RefundedFrom.IsZero() && !f.RefundedTo.IsZero() && !f.RefundedFrom.Before(f.RefundedTo) {
		return bad("refunded from %s is not before refunded to %s", f.RefundedFrom.Format(time.RFC3339), f.RefundedTo.Format(time.RFC3339))
	}
	if f.After != nil && f.Before != nil {
		return bad("both after and before cursors are set")
	}
	switch f.Link {
	case "", LinkNone, LinkActive, LinkAbandoned:
	default:
		return bad("unknown payer link state %q", f.Link)
	}
	if f.Customer != nil {
		c, err := f.Customer.Normalise()
		if err != nil {
			return f, err
		}
		f.Customer = &c
	}
	switch {
	case f.Limit < 0:
		return bad("limit %d is negative", f.Limit)
	case f.Limit == 0:
		f.Limit = DefaultPageSize
	case f.Limit > MaxPageSize:
		f.Limit = MaxPageSize
	}
	return f, nil
}

// paymentConds are the WHERE terms and their arguments.
type paymentConds struct {
	terms []string
	args  []any
	// idSet is the search's subquery of matching ids, when the search is the only term
	// (then the rows need not be read to count them).
	idSet     string
	idSetArgs []any
	// search is the search's subquery of ids (whatever the other terms), searchTerm its
	// place in terms.
	search     string
	searchArgs []any
	searchTerm int
	// attentionTerm is the place of the needs-attention term in terms (-1 if none).
	attentionTerm int
	// queueSets are the work-queue filters' sets of payment ids (work_queue.go), each
	// with its place in terms.
	queueSets []queueSet
}

func (c *paymentConds) add(term string, args ...any) {
	c.terms = append(c.terms, term)
	c.args = append(c.args, args...)
}

// sql returns the terms joined by AND ("1 = 1" when there are none) and a copy of the args.
func (c paymentConds) sql() (string, []any) {
	if len(c.terms) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(c.terms, " AND "), append([]any(nil), c.args...)
}

// replace returns c with its i-th term (and that term's arguments) replaced.
func (c paymentConds) replace(i int, term string, args ...any) paymentConds {
	// The arguments are in the terms' order: count those of the terms before i.
	before := 0
	for _, t := range c.terms[:i] {
		before += strings.Count(t, "?")
	}
	n := strings.Count(c.terms[i], "?")
	c.terms = slices.Clone(c.terms)
	c.terms[i] = term
	c.args = append(append(append([]any(nil), c.args[:before]...), args...), c.args[before+n:]...)
	return c
}

// with returns c plus one more term.
func (c paymentConds) with(term string, args ...any) paymentConds {
	c.terms = append(append([]string(nil), c.terms...), term)
	c.args = append(append([]any(nil), c.args...), args...)
	c.idSet, c.idSetArgs = "", nil
	return c
}

// Exact-key matches on every id column, the public id and the merchant reference; more
// terms may follow, each after a UNION. The not-empty terms let SQLite use the partial
// indexes. A provider's ids are unique per account, in (provider, account, id) indexes
// (0014_accounts.sql): each is looked up once per stored provider and account, which the
// stored and pairs CTEs list without naming any and without reading the payments (each
// step seeks the next name past the last one; min() of an indexed column is one seek), so
// a search costs a few seeks where SELECT DISTINCT provider, or no provider term, reads
// every payment. CROSS JOIN keeps the accounts as the outer loop: "provider IN (SELECT …
// FROM stored)" took 0.4 ms a term on 100,000 payments instead of 10 µs.
const idMatchSQL = `WITH RECURSIVE stored(provider) AS (
		SELECT min(provider) FROM payments
		UNION ALL SELECT (SELECT min(provider) FROM payments WHERE provider > stored.provider) FROM stored
			WHERE stored.provider IS NOT NULL),
	pairs(provider, account) AS (
		SELECT provider, (SELECT min(account) FROM payments p WHERE p.provider = stored.provider) FROM stored
			WHERE stored.provider IS NOT NULL
		UNION ALL SELECT provider, (SELECT min(account) FROM payments p WHERE p.provider = pairs.provider AND p.account > pairs.account)
			FROM pairs WHERE pairs.account IS NOT NULL)
	SELECT id FROM payments WHERE public_id = ?
	UNION SELECT p.id FROM pairs s CROSS JOIN payments p ON p.provider = s.provider AND p.account = s.account AND p.provider_payment_id = ? AND p.provider_payment_id <> ''
	UNION SELECT p.id FROM pairs s CROSS JOIN payments p ON p.provider = s.provider AND p.account = s.account AND p.session_id = ? AND p.session_id <> ''
	UNION SELECT p.id FROM pairs s CROSS JOIN payments p ON p.provider = s.provider AND p.account = s.account AND p.order_id = ? AND p.order_id <> ''
	UNION SELECT id FROM payments WHERE merchant_reference = ? AND merchant_reference <> ''`

// idMatchPostgresSQL is idMatchSQL on PostgreSQL, whose unique indexes lead with the
// provider's id (postgres/0018_schema.sql): each id is one seek, no providers to walk.
const idMatchPostgresSQL = `SELECT id FROM payments WHERE public_id = ?
	UNION SELECT id FROM payments WHERE provider_payment_id = ? AND provider_payment_id <> ''
	UNION SELECT id FROM payments WHERE session_id = ? AND session_id <> ''
	UNION SELECT id FROM payments WHERE order_id = ? AND order_id <> ''
	UNION SELECT id FROM payments WHERE merchant_reference = ? AND merchant_reference <> ''`

// The payments someone should look at: cancelling or unknown, with an action, refund or
// payer link still open, or with an anomaly (a handful of rows in a table of their own,
// 0011_anomalies.sql). The actions term repeats the partial index's own WHERE so that
// SQLite may use actions_state.
const (
	openActionsSQL = `SELECT payment_id FROM actions
		WHERE state IN ('pending', 'unknown', 'needs_payer', 'failed') AND state IN ('pending', 'unknown', 'needs_payer')`
	openRefundsSQL = `SELECT payment_id FROM refunds WHERE status IN ('awaiting_approval', 'unknown', 'pending')`
	openLinksSQL   = `SELECT payment_id FROM payer_links WHERE state IN ('active', 'abandoned')`
	anomaliesSQL   = `SELECT payment_id FROM payment_anomalies`
	attentionIDs   = `SELECT id FROM payments WHERE status IN ('cancelling', 'unknown')
	UNION ` + openActionsSQL + `
	UNION ` + openRefundsSQL + `
	UNION ` + openLinksSQL + `
	UNION ` + anomaliesSQL
	// needsAttentionSQL drives the page by those payments: right when they are few.
	needsAttentionSQL = `id IN (` + attentionIDs + `)`
	// needsAttentionScanSQL reads the list's index in date order and checks each row's
	// status on the index and its id against the open actions, refunds and links (the
	// unary + keeps SQLite from driving by these terms): right when the payments to look
	// at are many, as gathering and sorting 70,000 cancelling or unknown ones took 800 ms.
	needsAttentionScanSQL = `(+status IN ('cancelling', 'unknown') OR +id IN (` + openActionsSQL + `
	UNION ` + openRefundsSQL + `
	UNION ` + openLinksSQL + `
	UNION ` + anomaliesSQL + `))`
	// attentionStatusSQL counts the cancelling and unknown payments, and attentionSizeSQL
	// all of them roughly (a payment may count twice), to choose.
	attentionStatusSQL = `SELECT count(*) FROM (SELECT 1 FROM payments WHERE status IN ('cancelling', 'unknown') LIMIT ?) AS capped`
	attentionSizeSQL   = `SELECT count(*) FROM (SELECT id FROM payments WHERE status IN ('cancelling', 'unknown')
	UNION ALL ` + openActionsSQL + `
	UNION ALL ` + openRefundsSQL + `
	UNION ALL ` + openLinksSQL + `
	UNION ALL ` + anomaliesSQL + ` LIMIT ?) AS capped`
)

// filterConditions turns a normalised filter into WHERE terms (cursor aside).
func filterConditions(f PaymentFilter) paymentConds {
	var c paymentConds
	if f.Customer != nil {
		// The customer's own index range (0020_customers.sql), newest first.
		term, args := f.Customer.term("")
		c.add(term, args...)
	}
	switch q := f.Query; {
	case q == "":
	case f.wholeEmail:
		// An e-mail typed whole: its payments, read from payments_email in date order.
		c.add("customer_email = ? COLLATE NOCASE", q)
	default:
		c.idSet, c.idSetArgs = searchSet(q, f.currencies, f.postgres)
		c.search, c.searchArgs, c.searchTerm = c.idSet, c.idSetArgs, len(c.terms)
		c.add("id IN ("+c.idSet+")", c.idSetArgs...)
	}
	if f.Provider != "" {
		c.add("provider = ?", string(f.Provider))
	}
	if f.Account != "" {
		c.add("account = ?", f.Account)
	}
	if f.Status != "" {
		c.add("status = ?", string(f.Status))
	}
	if f.Currency != "" {
		c.add("currency = ?", f.Currency)
	}
	if f.MinAmount != nil {
		c.add("amount >= ?", *f.MinAmount)
	}
	if f.MaxAmount != nil {
		c.add("amount <= ?", *f.MaxAmount)
	}
	if !f.From.IsZero() {
		c.add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("created_at < ?", ms(f.To))
	}
	c.attentionTerm = -1
	if f.NeedsAttention {
		c.attentionTerm = len(c.terms)
		c.add(needsAttentionSQL)
	}
	if f.Anomaly {
		c.add("id IN (" + anomaliesSQL + ")")
	}
	if f.UnknownOutcome {
		c.addSet(`SELECT payment_id FROM actions WHERE state = 'unknown' AND state IN ('pending', 'unknown', 'needs_payer', 'failed')`)
	}
	switch f.Link {
	case LinkNone:
		c.add("id NOT IN (" + liveLinksSQL + ")")
	case LinkActive, LinkAbandoned:
		c.addSet("SELECT payment_id FROM payer_links WHERE state = ?", f.Link)
	}
	if !f.FailedSince.IsZero() {
		c.addSet("SELECT payment_id FROM ("+failedSinceSQL+") AS failed", ms(f.FailedSince), ms(f.FailedSince))
	}
	if f.AwaitingApproval {
		// refunds_status_updated: the few refunds awaiting approval are one index range.
		c.addSet("SELECT payment_id FROM refunds WHERE status = 'awaiting_approval'")
	}
	if !f.RefundedFrom.IsZero() || !f.RefundedTo.IsZero() {
		// refunds_status_updated: a succeeded refund's updated_at is when it succeeded.
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		if !f.RefundedFrom.IsZero() {
			from = ms(f.RefundedFrom)
		}
		if !f.RefundedTo.IsZero() {
			to = ms(f.RefundedTo)
		}
		c.addSet("SELECT payment_id FROM refunds WHERE status = 'succeeded' AND updated_at >= ? AND updated_at < ?", from, to)
	}
	if len(c.terms) != 1 {
		c.idSet, c.idSetArgs = "", nil // other terms: count rows, not ids
	}
	return c
}

// isLast4 reports whether q is exactly four ASCII digits.
func isLast4(q string) bool {
	if len(q) != 4 {
		return false
	}
	for _, r := range q {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ftsToken reports whether r belongs to a search token: what payments_fts's tokenizer
// keeps (letters, numbers, private use) plus its extra token characters.
func ftsToken(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r) || strings.ContainsRune("_-@.", r)
}

// maxFTSTokens bounds how many words of a search reach FTS5.
const maxFTSTokens = 8

// searchWords are the words of a search the index is asked for (both engines): runs of
// token characters, at most maxFTSTokens of them. A word of punctuation alone ("Dupont -
// order") names nothing; joined by AND it would hide every payment.
func searchWords(q string) []string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !ftsToken(r) })
	words = slices.DeleteFunc(words, func(w string) bool { return strings.Trim(w, "_-@.") == "" })
	if len(words) > maxFTSTokens {
		words = words[:maxFTSTokens]
	}
	return words
}

// ftsExpression builds a safe FTS5 MATCH expression from a search: every word quoted as
// an FTS5 string (so quotes, *, -, NEAR, AND, … are only text), made a prefix, joined by
// AND: `jean dup` → `"jean"* AND "dup"*`. It returns "" when the search has no word.
func ftsExpression(q string) string {
	words := searchWords(q)
	parts := make([]string, 0, len(words))
	for _, w := range words {
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
	}
	return strings.Join(parts, " AND ")
}

// broadAmount reports whether f has an amount range wider than a few percent ("from
// 1,000.00", "100.00 to 200.00"): its page is better read in date order, checking the
// amount on the date index, than found through payments_currency_amount and sorted by
// date (5 ms for "100.00 to 200.00" on a million payments). A narrow range (an exact
// amount) keeps the amount index, and the count always does: it needs no order.
func broadAmount(f PaymentFilter) bool {
	if f.MinAmount == nil && f.MaxAmount == nil {
		return false
	}
	return f.MinAmount == nil || f.MaxAmount == nil || *f.MaxAmount-*f.MinAmount > *f.MaxAmount/20
}

// offAmountIndex returns c with its amount terms written +amount, which SQLite does not
// look up in an index.
func (c paymentConds) offAmountIndex() paymentConds {
	terms := slices.Clone(c.terms)
	for i, t := range terms {
		if t == "amount >= ?" || t == "amount <= ?" {
			terms[i] = "+" + t
		}
	}
	c.terms = terms
	return c
}

// listColumns are paymentColumns without the provider's raw objects, which the list does
// not show: a page reads 50 rows, not 50 kilobytes of JSON.
var listColumns = strings.TrimSuffix(paymentColumns, "raw_json") + "'{}'"

// paymentListSQL is the query of one page: the filter's paymentConds, the cursor, the order.
// ascending is true for a Before page (read upwards, then reversed).
func paymentListSQL(f PaymentFilter, c paymentConds) (query string, args []any, ascending bool) {
	if broadAmount(f) {
		c = c.offAmountIndex()
	}
	order := "DESC"
	switch {
	case f.After != nil:
		c = c.with("(created_at, id) < (?, ?)", ms(f.After.CreatedAt), f.After.ID)
	case f.Before != nil:
		c = c.with("(created_at, id) > (?, ?)", ms(f.Before.CreatedAt), f.Before.ID)
		order, ascending = "ASC", true
	}
	where, args := c.sql()
	query = "SELECT " + listColumns + " FROM payments WHERE " + where +
		" ORDER BY created_at " + order + ", id " + order + " LIMIT ?"
	return query, append(args, f.Limit+1), ascending
}

// paymentCountSQL counts matching rows, stopping one past CountCap.
func paymentCountSQL(c paymentConds) (string, []any) {
	if c.idSet != "" {
		// Every id a search finds is a payment: count the ids alone.
		args := append([]any(nil), c.idSetArgs...)
		return "SELECT count(*) FROM (" + c.idSet + " LIMIT ?) AS capped", append(args, CountCap+1)
	}
	where, args := c.sql()
	return "SELECT count(*) FROM (SELECT 1 FROM payments WHERE " + where + " LIMIT ?) AS capped", append(args, CountCap+1)
}

// ListPayments returns one page of payments matching f, newest first, with the cursors
// of the pages around it and how many payments match. The payments' Raw is not loaded
// ("{}"). Errors for a bad filter wrap ErrInvalidFilter.
func (db *DB) ListPayments(ctx context.Context, f PaymentFilter) (PaymentPage, error) {
	f, err := db.prepareFilter(ctx, f)
	if err != nil {
		return PaymentPage{}, err
	}
	pl, err := db.planList(ctx, f)
	if err != nil {
		return PaymentPage{}, err
	}
	c := pl.c
	query, args, ascending := paymentListSQL(f, c)
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return PaymentPage{}, fmt.Errorf("storage: list payments: %w", err)
	}
	defer rows.Close()
	list := make([]Payment, 0, f.Limit+1)
	for rows.Next() {
		list = append(list, Payment{})
		if err := scanPaymentInto(rows, &list[len(list)-1]); err != nil {
			return PaymentPage{}, fmt.Errorf("storage: list payments: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return PaymentPage{}, fmt.Errorf("storage: list payments: %w", err)
	}
	rows.Close()

	var page PaymentPage
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	if ascending {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	page.Payments = list

	switch {
	case f.Before != nil:
		if more {
			page.Prev = cursorPtr(list[0].Cursor())
		}
		// Older rows exist below this page: at least the one the cursor came from.
		edge := Cursor{CreatedAt: f.Before.CreatedAt, ID: f.Before.ID + 1} // so that "older" includes the cursor's row
		if len(list) > 0 {
			edge = list[len(list)-1].Cursor()
		}
		ok, err := db.paymentsBeyond(ctx, c, edge, "<")
		if err != nil {
			return PaymentPage{}, err
		}
		if ok {
			page.Next = cursorPtr(edge)
		}
	default:
		if more {
			page.Next = cursorPtr(list[len(list)-1].Cursor())
		}
		if f.After != nil {
			edge := Cursor{CreatedAt: f.After.CreatedAt, ID: f.After.ID - 1} // so that "newer" includes the cursor's row
			if len(list) > 0 {
				edge = list[0].Cursor()
			}
			ok, err := db.paymentsBeyond(ctx, c, edge, ">")
			if err != nil {
				return PaymentPage{}, err
			}
			if ok {
				page.Prev = cursorPtr(edge)
			}
		}
	}

	page.Count, page.CountCapped, err = db.countPlanned(ctx, f, pl)
	if err != nil {
		return PaymentPage{}, err
	}
	return page, nil
}

// listPlan is how ListPayments reads a filter's page and count: its terms, each written
// for the plan chosen, and the counts that choosing found (-1 when none).
type listPlan struct {
	c                                     paymentConds
	searchCount, attentionCount, setCount int
}

// planList chooses how a normalised filter's page is read (planList's counts are cheap
// and capped; see ListPayments).
func (db *DB) planList(ctx context.Context, f PaymentFilter) (listPlan, error) {
	var err error
	c := filterConditions(f)
	// A search that finds few payments drives the page: read them, sort them. One that
	// finds many (a common name: 25,000 on a million payments) is checked row by row
	// while the list's index is read in date order, as reading and sorting every match
	// took 150 ms. Which is which costs one capped count, reused as the page's count
	// when the search is the only filter.
	searchCount := -1
	if c.search != "" {
		rowTerm, rowArgs, words := wordsRowTerm(f.Query)
		if words && db.db.engine == Postgres {
			// PostgreSQL's UNION gathers every match before it counts: 25,000 matches of a
			// common name took 360 ms. The words alone, capped, stop at CountCap.
			if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT id FROM payments
				WHERE search_words @@ paydesk_fold(?)::tsquery LIMIT ?) AS capped`, rowArgs[len(rowArgs)-1], CountCap+1).Scan(&searchCount); err != nil {
				return listPlan{}, fmt.Errorf("storage: count payments: %w", err)
			}
		}
		sortUpTo := CountCap
		if db.db.engine == SQLite {
			if sortUpTo, err = db.sortUpTo(ctx); err != nil {
				return listPlan{}, err
			}
		}
		if searchCount <= CountCap {
			args := append(append([]any(nil), c.searchArgs...), sortUpTo+1)
			if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM ("+c.search+" LIMIT ?) AS capped", args...).Scan(&searchCount); err != nil {
				return listPlan{}, fmt.Errorf("storage: count payments: %w", err)
			}
		}
		if searchCount > sortUpTo {
			if db.db.engine == SQLite {
				c.terms[c.searchTerm] = "+id IN (" + c.search + ")"
			} else if words {
				c = c.replace(c.searchTerm, rowTerm, rowArgs...)
			}
		}
	}
	// The same choice for "needs attention": a handful of payments in a healthy history,
	// tens of thousands in the demo's (unknown states). When they are many for certain
	// and the filter is only this, the page's count is known too.
	attentionCount := -1
	if c.attentionTerm >= 0 {
		var n int
		if err := db.db.QueryRowContext(ctx, attentionStatusSQL, CountCap+1).Scan(&n); err != nil {
			return listPlan{}, fmt.Errorf("storage: count payments: %w", err)
		}
		if n > CountCap && len(c.terms) == 1 {
			attentionCount = n
		}
		if n <= CountCap {
			if err := db.db.QueryRowContext(ctx, attentionSizeSQL, CountCap+1).Scan(&n); err != nil {
				return listPlan{}, fmt.Errorf("storage: count payments: %w", err)
			}
		}
		if n > CountCap {
			// SQLite's unary + keeps a column's index out; PostgreSQL has none for text.
			c.terms[c.attentionTerm] = db.pick(needsAttentionScanSQL, strings.Replace(needsAttentionScanSQL, "+status", "status", 1))
		}
	}
	setCount, err := db.chooseQueueSets(ctx, &c)
	if err != nil {
		return listPlan{}, err
	}
	return listPlan{c: c, searchCount: searchCount, attentionCount: attentionCount, setCount: setCount}, nil
}

// countPlanned is the count of a planned filter (cursor aside): exact from
// payment_counts for the facets alone, else up to CountCap (capped true beyond).
func (db *DB) countPlanned(ctx context.Context, f PaymentFilter, pl listPlan) (n int, capped bool, err error) {
	switch {
	case facetsOnly(f):
		n, err := db.facetCount(ctx, f)
		return n, false, err // exact however many: no cap
	case pl.c.idSet != "" && pl.searchCount >= 0:
		n = pl.searchCount
	case pl.attentionCount >= 0:
		n = pl.attentionCount
	case pl.setCount >= 0:
		n = pl.setCount
	default:
		cq, cargs := paymentCountSQL(pl.c)
		if err := db.db.QueryRowContext(ctx, cq, cargs...).Scan(&n); err != nil {
			return 0, false, fmt.Errorf("storage: count payments: %w", err)
		}
	}
	if n > CountCap {
		return CountCap, true, nil
	}
	return n, false, nil
}

// prepareFilter normalises f and fills in what its search needs from the database: the
// stored currencies for an amount that names none, whether an e-mail is stored whole.
func (db *DB) prepareFilter(ctx context.Context, f PaymentFilter) (PaymentFilter, error) {
	f, err := f.normalise()
	if err != nil {
		return f, err
	}
	if a, ok := parseAmountQuery(f.Query); ok && f.Query != "" && a.currency == "" {
		if f.currencies, err = db.storedCurrencies(ctx); err != nil {
			return f, err
		}
	}
	if strings.Contains(f.Query, "@") {
		if err := db.db.QueryRowContext(ctx, wholeEmailSQL, f.Query).Scan(&f.wholeEmail); err != nil {
			return f, fmt.Errorf("storage: search e-mails: %w", err)
		}
	}
	f.postgres = db.db.engine == Postgres
	return f, nil
}

// ExportedPayment is a payment as the list's export writes it: the list's columns and
// every id the payment has, and nothing else (no description, provider details or raw
// answer): an export reads only these, a third of a payment row's columns and allocations.
type ExportedPayment struct {
	PublicID, Account                                string
	Provider                                         providers.Name
	CustomerName, CustomerEmail, CardLast4           string
	Status                                           providers.Status
	RawStatus, Currency                              string
	Amount, Captured, Refunded                       int64
	PaymentID, SessionID, OrderID, MerchantReference string
	CreatedAt, UpdatedAt                             time.Time
}

// exportColumns are ExportedPayment's columns, in the order scanExported reads them.
const exportColumns = `public_id, account, provider, customer_name, customer_email, card_last4, status, raw_status,
	currency, amount, captured, refunded, provider_payment_id, session_id, order_id, merchant_reference, created_at, updated_at`

// scanExported reads one row selected with exportColumns.
func scanExported(rows *sql.Rows) (ExportedPayment, error) {
	var p ExportedPayment
	var created, updated int64
	err := rows.Scan(&p.PublicID, &p.Account, &p.Provider, &p.CustomerName, &p.CustomerEmail, &p.CardLast4, &p.Status,
		&p.RawStatus, &p.Currency, &p.Amount, &p.Captured, &p.Refunded, &p.PaymentID, &p.SessionID, &p.OrderID,
		&p.MerchantReference, &created, &updated)
	if err != nil {
		return ExportedPayment{}, fmt.Errorf("storage: export payments: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return p, nil
}

// ExportPayments calls fn with every payment f matches, newest first as the list shows them
// (f's paging is ignored): the list's export. Rows are read on one goroutine and handed to
// fn on the caller's (stream.go): memory stays flat however many match. An error of fn
// stops the walk and is returned.
func (db *DB) ExportPayments(ctx context.Context, f PaymentFilter, fn func(ExportedPayment) error) error {
	f.After, f.Before = nil, nil
	f, err := db.prepareFilter(ctx, f)
	if err != nil {
		return err
	}
	where, args := filterConditions(f).sql()
	rows, err := db.db.QueryContext(ctx, "SELECT "+exportColumns+" FROM payments WHERE "+where+" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return fmt.Errorf("storage: export payments: %w", err)
	}
	defer rows.Close()
	return streamRows(rows, scanExported, fn, func(err error) error { return fmt.Errorf("storage: export payments: %w", err) })
}

// sortUpTo is how many matches of a search ListPayments still reads and sorts rather
// than walking the date index checking each row (SQLite). Walking finds a page after
// about pageSize × payments / matches rows; sorting reads every match: they cost the same
// near √(25 × payments), 5,000 on a million payments and 15,800 on ten million, where a
// fixed CountCap (500) had the 542 payments of a last 4 at 10M walked past millions of
// rows (680 ms).
func (db *DB) sortUpTo(ctx context.Context) (int, error) {
	total, err := db.facetCount(ctx, PaymentFilter{})
	if err != nil {
		return 0, err
	}
	return max(CountCap, int(math.Sqrt(25*float64(total)))), nil
}

// facetsOnly reports whether f filters by provider, status and currency alone (or not at
// all): payment_counts (migration 0018) has its exact count. It clears those three and
// the paging, and asks whether anything is left, so that a filter added later (account,
// the dashboard's outcome, link and failure filters…) is never counted from the facets.
func facetsOnly(f PaymentFilter) bool {
	rest := f
	rest.Provider, rest.Status, rest.Currency = "", "", ""
	rest.After, rest.Before, rest.Limit = nil, nil, 0
	rest.currencies, rest.wholeEmail, rest.postgres = nil, false, false
	return reflect.DeepEqual(rest, PaymentFilter{})
}

// facetCount adds up payment_counts' groups for f's provider, status and currency: a few
// hundred rows at most, where counting a million payments' index entries took 19–31 ms.
func (db *DB) facetCount(ctx context.Context, f PaymentFilter) (int, error) {
	var w sqlWhere
	if f.Provider != "" {
		w.add("provider = ?", string(f.Provider))
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Currency != "" {
		w.add("currency = ?", f.Currency)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM payment_counts"+w.clause(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count payments: %w", err)
	}
	return n, nil
}

// paymentsBeyond reports whether a payment matching c lies beyond edge: older with "<",
// newer with ">".
func (db *DB) paymentsBeyond(ctx context.Context, c paymentConds, edge Cursor, op string) (bool, error) {
	where, args := c.with("(created_at, id) "+op+" (?, ?)", ms(edge.CreatedAt), edge.ID).sql()
	var ok bool
	if err := db.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM payments WHERE "+where+")", args...).Scan(&ok); err != nil {
		return false, fmt.Errorf("storage: list payments: %w", err)
	}
	return ok, nil
}

func cursorPtr(c Cursor) *Cursor { return &c }

// CountMatching is how many payments f matches (its paging aside), counted as
// ListPayments counts a page's: exact from payment_counts when f filters by provider,
// status and currency alone, else up to CountCap (capped is then true). A saved view's
// count in the navigation is the count its list shows.
//
// It plans the filter as ListPayments does and counts, without reading a page.
func (db *DB) CountMatching(ctx context.Context, f PaymentFilter) (n int, capped bool, err error) {
	f.After, f.Before = nil, nil
	if f, err = db.prepareFilter(ctx, f); err != nil {
		return 0, false, err
	}
	pl, err := db.planList(ctx, f)
	if err != nil {
		return 0, false, err
	}
	return db.countPlanned(ctx, f, pl)
}
