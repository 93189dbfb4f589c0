package ops

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"paydesk/providers"
)

// AmountError is an amount a person typed that Paydesk will not read: Message says why
// and how to write it, in words for that person. It wraps providers.ErrAmount.
type AmountError struct {
	Message string
	// readings are the two plain forms ("1.234", "1234") of an amount read two ways, nil
	// for any other problem; negative says it had a minus sign.
	readings []string
	negative bool
}

func (e *AmountError) Error() string { return "ops: amount: " + e.Message }

// Unwrap makes errors.Is(err, providers.ErrAmount) hold.
func (e *AmountError) Unwrap() error { return providers.ErrAmount }

// amountProblem builds an AmountError.
func amountProblem(format string, args ...any) error {
	return &AmountError{Message: fmt.Sprintf(format, args...)}
}

// maxTypedAmount bounds what is read at all (bytes): a grouped 18-digit amount with
// decimals, its sign and its currency code fit well within it.
const maxTypedAmount = 64

// ParseTypedAmount reads an amount as a person types it, in whichever way their locale
// writes numbers, into minor units of currency — exactly, without floating point:
//
//   - a decimal point or a decimal comma: "100.50", "100,50", "0,5";
//   - thousands grouped by spaces (also no-break and thin spaces), apostrophes, or the
//     other of point and comma: "1 234,50", "1'234.50", "1,234.50", "1.234,50",
//     "1,234,567";
//   - the currency's code before or after: "100,50 EUR", "EUR 100.50".
//
// It never guesses: an amount that two conventions read differently — a single point or
// comma followed by exactly three digits, as in "1,234" (1234, or 1.234) — is refused with
// a message asking for an unambiguous form. More decimals than the currency has are
// refused unless they are zeros. A leading minus gives a negative amount (the caller
// refuses it in its own words). Errors are *AmountError.
func ParseTypedAmount(s, currency string) (int64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, amountProblem("Enter an amount.")
	}
	if len(in) > maxTypedAmount {
		return 0, amountProblem("That is too long to be an amount.")
	}
	body := stripCurrency(in, currency)
	neg := false
	if r, size := utf8.DecodeRuneInString(body); r == '-' || r == '+' || r == '−' {
		neg = r != '+'
		body = strings.TrimSpace(body[size:])
	}
	whole, frac, err := splitTyped(in, body, currency)
	if err != nil {
		var ae *AmountError
		if errors.As(err, &ae) {
			ae.negative = neg
		}
		return 0, err
	}
	plain := whole
	if frac != "" {
		plain += "." + frac
	}
	v, err := providers.ParseMajor(plain, currency)
	if err != nil {
		exp := providers.Exponent(currency)
		if len(strings.TrimRight(frac, "0")) > exp {
			if exp == 0 {
				return 0, amountProblem("%q has decimals, and %s has none: write a whole amount.", in, currency)
			}
			return 0, amountProblem("%q has more decimals than %s has (%d).", in, currency, exp)
		}
		return 0, amountProblem("%q is too large.", in)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// stripCurrency removes the currency's code typed before or after the amount.
func stripCurrency(s, currency string) string {
	if currency == "" {
		return s
	}
	if len(s) > len(currency) && strings.EqualFold(s[len(s)-len(currency):], currency) {
		return strings.TrimSpace(s[:len(s)-len(currency)])
	}
	if len(s) > len(currency) && strings.EqualFold(s[:len(currency)], currency) {
		return strings.TrimSpace(s[len(currency):])
	}
	return s
}

// groupOnly are the characters that only ever group thousands.
func groupOnly(r rune) bool {
	switch r {
	case ' ', '\u00a0', '\u202f', '\u2009', '\'', '’':
		return true
	}
	return false
}

// splitTyped splits the unsigned amount body into its whole digits (no separators) and
// its decimal digits; in is what was typed, for the messages.
func splitTyped(in, body, currency string) (whole, frac string, err error) {
	notAmount := amountProblem("%q is not an amount: write digits, with a point or a comma before the decimals (for example 100.50 or 100,50).", in)
	if body == "" {
		return "", "", notAmount
	}
	// Tokens: runs of digits, and the single separator between them.
	var digits []string
	var seps []rune
	run := strings.Builder{}
	prevSep := true // at the start, a separator is as bad as after another one
	for _, r := range body {
		switch {
		case r >= '0' && r <= '9':
			run.WriteRune(r)
			prevSep = false
		case r == '.' || r == ',' || groupOnly(r):
			if prevSep && !(len(seps) == 0 && run.Len() == 0 && (r == '.' || r == ',')) {
				return "", "", notAmount
			}
			digits = append(digits, run.String())
			run.Reset()
			seps = append(seps, r)
			prevSep = true
		default:
			return "", "", notAmount
		}
	}
	if prevSep {
		return "", "", amountProblem("%q ends with a separator: add the digits after it, or remove it.", in)
	}
	digits = append(digits, run.String())

	var dots, commas, groups int
	for _, r := range seps {
		switch {
		case r == '.':
			dots++
		case r == ',':
			commas++
		default:
			groups++
		}
	}
	// Which separator, if any, starts the decimals: its index in seps, or -1.
	dec := -1
	last := len(seps) - 1
	switch {
	case dots > 0 && commas > 0:
		// Both: the last one is the decimal separator, and it appears once.
		if r := seps[last]; groupOnly(r) || countRune(seps, r) != 1 {
			return "", "", amountProblem("%q mixes points and commas in a way that cannot be read: use one of them before the decimals only (for example 1,234.50 or 1.234,50).", in)
		}
		dec = last
	case dots+commas == 1:
		i := indexDecimalCandidate(seps)
		switch {
		case groups > 0:
			// Spaces or apostrophes group the thousands: the point or comma is decimal.
			dec = i
		case len(digits[i+1]) != 3 || strings.Trim(digits[i], "0") == "" || len(digits[i]) > 3:
			// Not three digits after it, or nothing a thousands group could follow.
			dec = i
		default:
			w, f := digits[i], digits[i+1]
			example := w + f
			if exp := providers.Exponent(currency); exp > 0 {
				example += " or " + w + f + "." + strings.Repeat("0", exp)
			}
			return "", "", &AmountError{
				Message:  fmt.Sprintf("%q could mean %s or %s.%s: write it without a thousands separator, for example %s.", in, w+f, w, f, example),
				readings: []string{w + "." + f, w + f},
			}
		}
	}
	if dec >= 0 && dec != last {
		return "", "", amountProblem("%q has digits after its decimals that cannot be read.", in)
	}
	// Every other separator groups thousands, all of one kind (spaces of any width
	// count as one kind): 1–3 digits first, then groups of exactly three.
	var kind rune
	for i, r := range seps {
		if i == dec {
			continue
		}
		switch r {
		case '\u00a0', '\u202f', '\u2009':
			r = ' '
		case '’':
			r = '\''
		}
		if kind != 0 && r != kind {
			return "", "", amountProblem("%q mixes thousands separators: use one kind (for example 1 234 567,89 or 1,234,567.89).", in)
		}
		kind = r
	}
	intParts := digits
	if dec >= 0 {
		intParts, frac = digits[:dec+1], digits[dec+1]
	}
	if len(intParts) > 1 {
		if n := len(intParts[0]); n < 1 || n > 3 {
			return "", "", badGrouping(in)
		}
		for _, g := range intParts[1:] {
			if len(g) != 3 {
				return "", "", badGrouping(in)
			}
		}
	}
	whole = strings.Join(intParts, "")
	if whole == "" {
		whole = "0"
	}
	return whole, frac, nil
}

func badGrouping(in string) error {
	return amountProblem("%q: the digits between thousands separators must come in threes (for example 1 234 567,89 or 1,234,567.89).", in)
}

// indexDecimalCandidate is the index of the one point or comma in seps.
func indexDecimalCandidate(seps []rune) int {
	for i, r := range seps {
		if r == '.' || r == ',' {
			return i
		}
	}
	return -1
}

func countRune(rs []rune, r rune) int {
	n := 0
	for _, x := range rs {
		if x == r {
			n++
		}
	}
	return n
}

// AmountMessage is the words for people of an amount error from ParseTypedAmount, or a
// generic sentence for any other error.
func AmountMessage(err error, currency string) string {
	var ae *AmountError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return fmt.Sprintf("That is not an amount in %s.", currency)
}
