package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
)

// TestStreamRows: every row arrives in order, whatever the batches; an error of fn stops
// the reader and is returned as is; a scan error is returned.
func TestStreamRows(t *testing.T) {
	db := newTestDB(t)
	count := func(n int) *sql.Rows {
		t.Helper()
		rows, err := db.db.Query(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c WHERE i <= ?`, n, n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rows.Close() })
		return rows
	}
	scanInt := func(rows *sql.Rows) (int, error) {
		var i int
		err := rows.Scan(&i)
		return i, err
	}
	wrap := func(err error) error { return fmt.Errorf("storage: test: %w", err) }

	for _, n := range []int{0, 1, streamBatch, streamBatch + 1, 10*streamBatch + 7} {
		var got []int
		err := streamRows(count(n), scanInt, func(i int) error {
			got = append(got, i)
			return nil
		}, wrap)
		if err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
		if len(got) != n {
			t.Fatalf("%d rows: got %d", n, len(got))
		}
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("%d rows: row %d is %d, want %d", n, i, v, i+1)
			}
		}
	}

	stop := errors.New("enough")
	seen := 0
	err := streamRows(count(50*streamBatch), scanInt, func(i int) error {
		if seen++; seen == 300 {
			return stop
		}
		return nil
	}, wrap)
	if !errors.Is(err, stop) || seen != 300 {
		t.Errorf("fn error: got %v after %d rows, want %v after 300", err, seen, stop)
	}

	bad := errors.New("bad row")
	err = streamRows(count(1000), func(rows *sql.Rows) (int, error) {
		i, err := scanInt(rows)
		if i == 600 {
			return 0, bad
		}
		return i, err
	}, func(int) error { return nil }, wrap)
	if !errors.Is(err, bad) {
		t.Errorf("scan error: got %v, want %v", err, bad)
	}
}
