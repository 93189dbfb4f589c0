// Pieces of SQL built from a filter: the terms of a WHERE clause, and placeholders.

package storage

import "strings"

// sqlWhere gathers the terms of a WHERE clause, ANDed, and their arguments.
type sqlWhere struct {
	conds []string
	args  []any
}

// add adds a term and the arguments its placeholders take.
func (w *sqlWhere) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// clause is " WHERE t1 AND t2…", or "" without terms.
func (w *sqlWhere) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// questionMarks returns "?, ?, ?" for n arguments.
func questionMarks(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
