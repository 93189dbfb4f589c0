package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"paydesk/storage"
)

func TestCSVSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ada Lovelace", "Ada Lovelace"},
		{"12.50", "12.50"},
		{"=1+1", "'=1+1"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\n=1", "'\n=1"},
		{"a=1", "a=1"},
		{"'quoted", "'quoted"},
		// Blanks a spreadsheet skips before the formula.
		{" =1+1", "' =1+1"},
		{"   +1", "'   +1"},
		{"\t=1", "'\t=1"},
		{"\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"},
		{"\r\n-2", "'\r\n-2"},
		{"\u2003=1", "'\u2003=1"},
		{"\u3000-1", "'\u3000-1"},
		{"\u200b=1", "'\u200b=1"},
		{"\ufeff=1", "'\ufeff=1"},
		{" \u00a0 \t=HYPERLINK(\"x\")", "' \u00a0 \t=HYPERLINK(\"x\")"},
		{"\uff1d1+1", "'\uff1d1+1"},
		// Left as they are: text and numbers that start otherwise, blanks alone.
		{" Ada", " Ada"},
		{"\u00a0100.00", "\u00a0100.00"},
		{"1500.00", "1500.00"},
		{"150000", "150000"},
		{"EUR", "EUR"},
		{"   ", "   "},
		{"a -1", "a -1"},
		{"ada@example.com", "ada@example.com"},
		// A leading minus is quoted even on a number: no amount Paydesk exports is negative.
		{"-12.00", "'-12.00"},
	}
	for _, tt := range tests {
		if got := csvSafe(tt.in); got != tt.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBucketStart(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	tests := []struct{ day, bucket, want string }{
		{"2026-01-07", "day", "2026-01-07"},
		{"2026-01-07", "week", "2026-01-05"}, // a Wednesday: its Monday
		{"2026-01-05", "week", "2026-01-05"}, // a Monday
		{"2026-01-11", "week", "2026-01-05"}, // a Sunday ends the week
		{"2026-01-01", "week", "2025-12-29"},
		{"2026-02-28", "month", "2026-02-01"},
	}
	for _, tt := range tests {
		if got := bucketStart(day(tt.day), tt.bucket).Format("2006-01-02"); got != tt.want {
			t.Errorf("bucketStart(%s, %s) = %s, want %s", tt.day, tt.bucket, got, tt.want)
		}
	}
}

func TestRefundCharts(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	pt := func(d, cur string, amount int64) storage.SeriesPoint {
		return storage.SeriesPoint{Bucket: day(d), Currency: cur, Amount: amount, Count: 1}
	}
	bars := func(c []string) string { return strings.Join(c, " ") }
	describe := func(cs []chartSummary) string { return fmt.Sprint(cs) }
	tests := []struct {
		name     string
		points   []storage.SeriesPoint
		from, to string
		bucket   string
		want     []chartSummary
	}{
		{"empty", nil, "", "", "", nil},
		{"days with a gap, per currency", []storage.SeriesPoint{pt("2026-01-01", "EUR", 100), pt("2026-01-03", "EUR", 50), pt("2026-01-03", "JPY", 7)}, "", "", "",
			[]chartSummary{{"EUR", "day", bars([]string{"2026-01-01:100", "2026-01-02:0", "2026-01-03:50"})}, {"JPY", "day", bars([]string{"2026-01-01:0", "2026-01-02:0", "2026-01-03:7"})}}},
		{"the filter's dates widen the axis", []storage.SeriesPoint{pt("2026-01-02", "EUR", 100)}, "2026-01-01", "2026-01-04", "",
			[]chartSummary{{"EUR", "day", bars([]string{"2026-01-01:0", "2026-01-02:100", "2026-01-03:0"})}}},
		{"automatic weeks", []storage.SeriesPoint{pt("2026-01-01", "EUR", 1), pt("2026-01-02", "EUR", 2), pt("2026-03-20", "EUR", 4)}, "", "", "",
			[]chartSummary{{"EUR", "week", "2025-12-29:3 " + weeksBetween("2026-01-05", "2026-03-09") + "2026-03-16:4"}}},
		{"months asked", []storage.SeriesPoint{pt("2026-01-01", "GBP", 1), pt("2026-01-31", "GBP", 2), pt("2026-03-01", "GBP", 4)}, "", "", "month",
			[]chartSummary{{"GBP", "month", "2026-01:3 2026-02:0 2026-03:4"}}},
		{"too many days: weeks", []storage.SeriesPoint{pt("2024-01-01", "EUR", 1), pt("2026-01-01", "EUR", 1)}, "", "", "day",
			nil /* checked below by bucket only */},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var from, to time.Time
			if tt.from != "" {
				from = day(tt.from)
			}
			if tt.to != "" {
				to = day(tt.to)
			}
			charts := refundCharts(tt.points, from, to, tt.bucket)
			if tt.name == "too many days: weeks" {
				if len(charts) != 1 || charts[0].Bucket != "week" || charts[0].Note == "" || len(charts[0].Bars) > maxChartBars {
					t.Errorf("two years by day = %d charts, bucket %q, note %q, %d bars; want weeks with a note", len(charts), charts[0].Bucket, charts[0].Note, len(charts[0].Bars))
				}
				return
			}
			var got []chartSummary
			for _, c := range charts {
				var bs []string
				for _, b := range c.Bars {
					bs = append(bs, fmt.Sprintf("%s:%d", b.Label, b.Amount))
				}
				got = append(got, chartSummary{c.Currency, c.Bucket, bars(bs)})
			}
			if describe(got) != describe(tt.want) {
				t.Errorf("refundCharts =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

type chartSummary struct{ currency, bucket, bars string }

// weeksBetween lists empty weekly bars from one Monday to another, each followed by a space.
func weeksBetween(first, last string) string {
	a, _ := time.Parse("2006-01-02", first)
	b, _ := time.Parse("2006-01-02", last)
	var s strings.Builder
	for d := a; !d.After(b); d = d.AddDate(0, 0, 7) {
		s.WriteString(d.Format("2006-01-02") + ":0 ")
	}
	return s.String()
}
