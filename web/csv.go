package web

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// csvFlushEvery is how many rows a CSV export writes between two flushes to the client:
// the export is streamed, its memory does not grow with the number of rows.
const csvFlushEvery = 200

// csvSafe neutralises a cell a spreadsheet would run as a formula (OWASP "CSV injection"):
// a cell whose first character, after any leading blanks, is =, +, -, @ (or their
// full-width forms, which some spreadsheets read as the same), or which starts with a tab,
// a carriage return or a line feed, gets a leading single quote, which spreadsheets show
// as text and do not evaluate. Spreadsheets trim leading spaces (" =1+1" runs as =1+1),
// non-breaking and other Unicode spaces included, so the blanks do not hide the formula.
// Every cell is treated alike: amounts are written positive (docs/governance.md), so no
// money cell is affected.
func csvSafe(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '\t', '\r', '\n':
		return "'" + cell
	}
	rest := strings.TrimLeftFunc(cell, csvBlank)
	if rest == "" {
		return cell
	}
	r, _ := utf8.DecodeRuneInString(rest)
	switch r {
	case '=', '+', '-', '@', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20':
		return "'" + cell
	}
	return cell
}

// csvBlank reports whether a spreadsheet may skip r at the start of a cell: Unicode white
// space (space, tab, CR, LF, no-break space U+00A0, the U+2000 spaces, U+3000, …) and the
// invisible zero-width space, word joiner and byte-order mark.
func csvBlank(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200B' || r == '\u2060' || r == '\uFEFF'
}

// csvTime writes a time for a CSV cell: RFC 3339 in UTC, empty when zero.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// csvExport streams a CSV download: the headers of an attachment, the header row, then
// each row as it comes, neutralised and flushed every csvFlushEvery rows.
type csvExport struct {
	w     http.ResponseWriter
	cw    *csv.Writer
	rc    *http.ResponseController
	rows  int
	cells []string
}

// csvBOM starts every export: the UTF-8 byte-order mark. Excel reads a CSV file without
// it in the machine's legacy code page (Windows-1252 and the like), so "Müller" or
// "Шевченко" arrive garbled; with it, Excel, LibreOffice, Numbers and Google Sheets all
// read UTF-8. Programs that read CSV as UTF-8 skip it (Python's utf-8-sig, pandas, R's
// readr); Go's encoding/csv does not: strip it first (docs/governance.md).
const csvBOM = "\uFEFF"

// startCSV writes the response headers of an attachment named name-YYYYMMDD-HHMMSS.csv,
// the byte-order mark and the header row.
func startCSV(w http.ResponseWriter, name string, now time.Time, header []string) *csvExport {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, name, now.UTC().Format("20060102-150405")))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	e := &csvExport{w: w, cw: csv.NewWriter(w), rc: http.NewResponseController(w)}
	io.WriteString(w, csvBOM)
	e.cw.Write(header)
	return e
}

// row writes one row, each cell neutralised.
func (e *csvExport) row(cells ...string) error {
	e.cells = e.cells[:0]
	for _, c := range cells {
		e.cells = append(e.cells, csvSafe(c))
	}
	if err := e.cw.Write(e.cells); err != nil {
		return fmt.Errorf("web: csv: %w", err)
	}
	e.rows++
	if e.rows%csvFlushEvery == 0 {
		return e.flush()
	}
	return nil
}

// flush sends what is buffered to the client.
func (e *csvExport) flush() error {
	e.cw.Flush()
	if err := e.cw.Error(); err != nil {
		return fmt.Errorf("web: csv: %w", err)
	}
	if err := e.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("web: csv flush: %w", err)
	}
	return nil
}

// csvFilterText describes the filters of an export for the audit log ("all" when none).
func csvFilterText(q map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			if v != "" {
				parts = append(parts, k+"="+v)
			}
		}
	}
	if len(parts) == 0 {
		return "no filter (every row)"
	}
	return strings.Join(parts, ", ")
}
