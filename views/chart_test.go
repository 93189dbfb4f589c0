package views

import (
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestNiceStep(t *testing.T) {
	tests := []struct{ in, want int64 }{
		{0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {51, 100},
		{30864, 50000}, {100000, 100000}, {100001, 200000},
	}
	for _, tt := range tests {
		if got := niceStep(tt.in); got != tt.want {
			t.Errorf("niceStep(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestChartAxis(t *testing.T) {
	tests := []struct {
		name string
		bars []int64
		want []int64
	}{
		{"empty", nil, []int64{0}},
		{"all zero", []int64{0, 0}, []int64{0}},
		{"one minor unit", []int64{1}, []int64{0, 1}},
		{"round top", []int64{100, 400}, []int64{0, 100, 200, 300, 400}},
		{"above a step", []int64{123456}, []int64{0, 50000, 100000, 150000}},
		{"JPY", []int64{80000, 5}, []int64{0, 20000, 40000, 60000, 80000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Chart{Currency: "EUR"}
			for _, a := range tt.bars {
				c.Bars = append(c.Bars, ChartBar{Label: "x", Amount: a})
			}
			got := c.Axis()
			if strings.Join(fmtInts(got), ",") != strings.Join(fmtInts(tt.want), ",") {
				t.Errorf("Axis(%v) = %v, want %v", tt.bars, got, tt.want)
			}
		})
	}
}

func fmtInts(v []int64) []string {
	var out []string
	for _, x := range v {
		out = append(out, strconv.FormatInt(x, 10))
	}
	return out
}

var rectRe = regexp.MustCompile(`<rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)"[^>]*data-amount="(\d+)"><title>([^<]*)</title>`)

func TestBarChartSVG(t *testing.T) {
	c := Chart{ID: "chart-eur", Currency: "EUR", Bucket: "day", Bars: []ChartBar{
		{Label: "2026-01-01", Amount: 40000, Count: 2},
		{Label: "2026-01-02", Amount: 0, Count: 0},
		{Label: "2026-01-03", Amount: 10000, Count: 1},
		{Label: "2026-01-04", Amount: 1, Count: 1},
	}}
	svg := BarChartSVG(c)

	// Well-formed XML, so browsers and assistive technology read it as drawn.
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{
		`role="img"`, `aria-labelledby="chart-eur-title chart-eur-desc"`,
		`<title id="chart-eur-title">Refunded per day in EUR</title>`,
		`<desc id="chart-eur-desc">Succeeded refunds in EUR per day from 2026-01-01 to 2026-01-04: 4 refunds, 500.01 EUR in total; the highest day is 2026-01-01 with 400.00 EUR.</desc>`,
		`>400.00</text>`, `>0.00</text>`, // the axis, in major units
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %s:\n%s", want, svg)
		}
	}
	bars := rectRe.FindAllStringSubmatch(svg, -1)
	if len(bars) != len(c.Bars) {
		t.Fatalf("%d bars drawn, want %d", len(bars), len(c.Bars))
	}
	plotH := float64(chartHeight - chartTop - chartBottom)
	wantHeights := []float64{plotH, 0, plotH / 4, 1} // the top tick is 400.00; a refund is never invisible
	wantTips := []string{"2026-01-01: 400.00 EUR, 2 refunds", "2026-01-02: 0.00 EUR, 0 refunds", "2026-01-03: 100.00 EUR, 1 refund", "2026-01-04: 0.01 EUR, 1 refund"}
	var lastX float64
	for i, b := range bars {
		x, _ := strconv.ParseFloat(b[1], 64)
		y, _ := strconv.ParseFloat(b[2], 64)
		h, _ := strconv.ParseFloat(b[4], 64)
		if diff := h - wantHeights[i]; diff > 0.1 || diff < -0.1 {
			t.Errorf("bar %d height %.1f, want %.1f", i, h, wantHeights[i])
		}
		if base := y + h; base < float64(chartTop)+plotH-0.1 || base > float64(chartTop)+plotH+0.1 {
			t.Errorf("bar %d stands on %.1f, want the base line %.1f", i, base, float64(chartTop)+plotH)
		}
		if i > 0 && x <= lastX {
			t.Errorf("bar %d at x %.1f is not right of the previous one (%.1f)", i, x, lastX)
		}
		lastX = x
		if b[5] != strconv.FormatInt(c.Bars[i].Amount, 10) || b[6] != wantTips[i] {
			t.Errorf("bar %d = amount %s %q, want %d %q", i, b[5], b[6], c.Bars[i].Amount, wantTips[i])
		}
	}
}

func TestBarChartSVGCurrencies(t *testing.T) {
	tests := []struct {
		currency string
		amount   int64
		want     string
	}{
		{"JPY", 80000, "80,000 JPY"},
		{"BHD", 100500, "100.500 BHD"},
		{"EUR", 50000, "500.00 EUR"},
	}
	for _, tt := range tests {
		svg := BarChartSVG(Chart{ID: "c", Currency: tt.currency, Bucket: "month", Bars: []ChartBar{{Label: "2026-01", Amount: tt.amount, Count: 1}}})
		if !strings.Contains(svg, "2026-01: "+tt.want+", 1 refund") {
			t.Errorf("%s chart does not say %q:\n%s", tt.currency, tt.want, svg)
		}
	}
}

func TestBarChartSVGEscapesAndEmpty(t *testing.T) {
	if got := BarChartSVG(Chart{ID: "c", Currency: "EUR"}); got != "" {
		t.Errorf("a chart without bars drew %q, want nothing", got)
	}
	svg := BarChartSVG(Chart{ID: `x"><script>`, Currency: "EUR", Bucket: "day", Bars: []ChartBar{{Label: "<b>&", Amount: 5, Count: 1}}})
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;b&gt;&amp;") {
		t.Errorf("text is not escaped:\n%s", svg)
	}
}

func TestChartLabelsDoNotCrowd(t *testing.T) {
	c := Chart{ID: "c", Currency: "EUR", Bucket: "day"}
	for i := 0; i < 60; i++ {
		c.Bars = append(c.Bars, ChartBar{Label: strconv.Itoa(i), Amount: int64(i + 1), Count: 1})
	}
	labels := regexp.MustCompile(`<text [^>]*text-anchor="middle"`).FindAllString(BarChartSVG(c), -1)
	if len(labels) == 0 || len(labels) > chartMaxLabels {
		t.Errorf("%d bucket labels under 60 bars, want between 1 and %d", len(labels), chartMaxLabels)
	}
}
