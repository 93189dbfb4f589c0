// Times as the tables store them: INTEGER unix milliseconds, UTC.

package storage

import (
	"database/sql"
	"time"
)

// ms converts a time to the stored unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts stored unix milliseconds to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS converts a nullable stored time.
func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// anyMS converts stored unix milliseconds scanned into an any (zero if NULL).
func anyMS(v any) time.Time {
	if n, ok := v.(int64); ok {
		return fromMS(n)
	}
	return time.Time{}
}

// fromMSOrZero is fromMS, but 0 (not set) is the zero time.
func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}
