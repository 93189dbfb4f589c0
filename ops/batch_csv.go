package ops

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"paydesk/storage"
)

// BatchLineError is one CSV line that cannot be read, and why.
type BatchLineError struct {
	Line    int
	Problem string
}

// batchColumns maps the header names a batch CSV may use to its columns.
var batchColumns = map[string]string{
	"payment": "payment", "payment_id": "payment", "id": "payment", "provider_id": "payment", "paydesk_id": "payment",
	"amount": "amount",
	"reason": "reason",
	"note":   "note", "comment": "note",
}

// ParseBatchCSV reads a batch's CSV file (docs/batches.md): a header naming the columns
// payment, amount, reason and note (in any order; a BOM is skipped), then one item a
// line. A refund's amount is in major units ("12.50", "12,50") or "rest"; its reason is
// one of the refund reasons' codes or labels. Lines that cannot be read are returned with
// their number and the reason, and then no item should be used: nothing runs on half a
// file. More than maxItems items is a line error too.
func ParseBatchCSV(r io.Reader, kind string, maxItems int) ([]BatchInput, []BatchLineError) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []BatchLineError{{Line: 1, Problem: "The file is empty: it needs a header line (payment,amount,reason,note) and one line per item."}}
	}
	if err != nil {
		return nil, []BatchLineError{{Line: 1, Problem: csvProblem(err)}}
	}
	col := map[string]int{}
	var bad []BatchLineError
	for i, h := range header {
		name, ok := batchColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			bad = append(bad, BatchLineError{Line: 1, Problem: fmt.Sprintf("The header's column %d, %q, is not one of payment, amount, reason, note.", i+1, h)})
			continue
		}
		if _, dup := col[name]; dup {
			bad = append(bad, BatchLineError{Line: 1, Problem: fmt.Sprintf("The header names the %s column twice.", name)})
			continue
		}
		col[name] = i
	}
	need := []string{"payment"}
	if kind == BatchRefund {
		need = append(need, "amount", "reason")
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			bad = append(bad, BatchLineError{Line: 1, Problem: fmt.Sprintf("The header has no %s column: it should be payment,amount,reason,note.", n)})
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var items []BatchInput
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var line int
		if err == nil { // FieldPos panics after a read error: the record has no fields
			line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			bad = append(bad, BatchLineError{Line: line, Problem: csvProblem(err)})
			if len(bad) >= 100 {
				break
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		in := BatchInput{Line: line, Payment: field(rec, "payment"), Amount: field(rec, "amount"), Reason: field(rec, "reason"), Note: field(rec, "note")}
		if p := batchLineProblem(&in, kind, len(rec), len(header)); p != "" {
			bad = append(bad, BatchLineError{Line: line, Problem: p})
			if len(bad) >= 100 {
				break
			}
			continue
		}
		items = append(items, in)
		if len(items) > maxItems {
			bad = append(bad, BatchLineError{Line: line, Problem: fmt.Sprintf("A batch holds at most %d items: split the file.", maxItems)})
			break
		}
	}
	if len(bad) == 0 && len(items) == 0 {
		bad = append(bad, BatchLineError{Line: 2, Problem: "The file has a header but no items."})
	}
	return items, bad
}

// batchLineProblem says what is wrong with one item's fields ("" when nothing is), and
// writes the reason as its code when a label was given.
func batchLineProblem(in *BatchInput, kind string, fields, columns int) string {
	switch {
	case fields > columns:
		return fmt.Sprintf("The line has %d fields but the header names %d columns (a comma inside a note needs the note in quotes).", fields, columns)
	case !utf8.ValidString(in.Payment + in.Amount + in.Reason + in.Note):
		return "The line is not valid text (UTF-8)."
	case in.Payment == "":
		return "No payment is given."
	case len(in.Payment) > 200:
		return "The payment id is too long."
	case utf8.RuneCountInString(in.Note) > 500:
		return "The note is too long (500 characters at most)."
	}
	if kind != BatchRefund {
		return ""
	}
	if in.Amount == "" {
		return "No amount is given: write an amount such as 12.50, or \"rest\" for all that is left."
	}
	if !strings.EqualFold(in.Amount, BatchRest) && strings.IndexFunc(in.Amount, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
		return fmt.Sprintf("The amount %q is not a number: write an amount such as 12.50, or \"rest\" for all that is left.", in.Amount)
	}
	if code, ok := refundReasonCode(in.Reason); ok {
		in.Reason = code
	} else {
		return fmt.Sprintf("The reason %q is not one of: %s.", in.Reason, reasonCodes())
	}
	if in.Reason == "other" && in.Note == "" {
		return "The reason is \"other\": explain it in the note."
	}
	return ""
}

// refundReasonCode reads a refund reason given by its code or its label (any case).
func refundReasonCode(s string) (string, bool) {
	for _, r := range storage.RefundReasons {
		if strings.EqualFold(s, r.Code) || strings.EqualFold(s, r.Label) {
			return r.Code, true
		}
	}
	return "", false
}

// csvProblem says in words why a CSV line cannot be read.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return "A quote is misplaced: put a field holding commas or quotes in double quotes, and double the quotes inside it."
		}
		return "The line cannot be read as CSV: " + pe.Err.Error() + "."
	}
	return "The file cannot be read as CSV."
}
