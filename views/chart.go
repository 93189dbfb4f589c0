package views

import (
	"fmt"
	"html"
	"strings"

	"paydesk/providers"
)

// ChartBar is one bucket (day, week or month) of a refund chart.
type ChartBar struct {
	Label  string // "2026-01-05" (a day or the Monday of a week) or "2026-01"
	Amount int64  // minor units of the chart's currency
	Count  int    // how many refunds
}

// Chart is the refunded amounts over time of one currency. Currencies are never drawn
// on one axis: each has its own chart.
type Chart struct {
	// ID is unique in the page (it names the SVG's title and description for screen readers).
	ID       string
	Currency string
	// Bucket is what one bar covers: day, week or month.
	Bucket string
	Bars   []ChartBar
	// Note says something about the chart people should know (e.g. a coarser bucket).
	Note string
}

// Chart geometry, in SVG user units.
// A chart is small (several sit side by side on the refund history, above the rows);
// the page scales it down further on a narrow screen.
const (
	chartWidth  = 420
	chartHeight = 170
	chartLeft   = 76 // room for the amounts of the y axis
	chartRight  = 10
	chartTop    = 10
	chartBottom = 30 // room for the bucket labels
	// chartMaxLabels is how many bucket labels fit under the bars without overlapping.
	chartMaxLabels = 4
	chartBarColour = "#3b7dd8"
)

// Total is the sum of the chart's bars, in minor units.
func (c Chart) Total() (amount int64, count int) {
	for _, b := range c.Bars {
		amount += b.Amount
		count += b.Count
	}
	return amount, count
}

// Money formats an amount of the chart's currency for people.
func (c Chart) Money(minor int64) string { return providers.FormatMoney(minor, c.Currency) }

// Title is the chart's one-line title.
func (c Chart) Title() string {
	return fmt.Sprintf("Refunded per %s in %s", c.Bucket, c.Currency)
}

// Description says in words what the chart shows, for screen readers and as its caption.
func (c Chart) Description() string {
	if len(c.Bars) == 0 {
		return fmt.Sprintf("No succeeded refund in %s in this selection.", c.Currency)
	}
	amount, count := c.Total()
	top := c.Bars[0]
	for _, b := range c.Bars[1:] {
		if b.Amount > top.Amount {
			top = b
		}
	}
	first, last := c.Bars[0].Label, c.Bars[len(c.Bars)-1].Label
	span := "from " + first + " to " + last
	if first == last {
		span = "on " + first
	}
	if c.Bucket == "week" {
		span = "in the weeks starting " + first + " to " + last
	}
	return fmt.Sprintf("Succeeded refunds in %s per %s %s: %d %s, %s in total; the highest %s is %s with %s.",
		c.Currency, c.Bucket, span, count, plural(count, "refund", "refunds"), c.Money(amount), c.Bucket, top.Label, c.Money(top.Amount))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// niceStep returns the smallest 1, 2 or 5 × 10^k (k ≥ 0) at least v, so the axis reads in
// round amounts of minor units.
func niceStep(v int64) int64 {
	if v <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
		if p > (1<<62)/10 {
			return v
		}
	}
}

// Axis returns the y axis ticks, from 0 up to the first tick at or above the largest bar
// (about four steps), in minor units.
func (c Chart) Axis() []int64 {
	var top int64
	for _, b := range c.Bars {
		top = max(top, b.Amount)
	}
	if top <= 0 {
		return []int64{0}
	}
	step := niceStep((top + 3) / 4)
	ticks := []int64{0}
	for v := int64(0); v < top; {
		v += step
		ticks = append(ticks, v)
	}
	return ticks
}

// BarChartSVG draws a chart as an accessible SVG bar chart: role img, a <title> and a
// <desc> it is labelled by, one bar per bucket each with its own <title> (the exact
// amount), the y axis in the currency's major units. It is a pure function of the chart;
// every text is escaped. A chart without bars draws nothing ("").
func BarChartSVG(c Chart) string {
	if len(c.Bars) == 0 {
		return ""
	}
	esc := html.EscapeString
	id := esc(c.ID)
	ticks := c.Axis()
	top := ticks[len(ticks)-1]
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	baseY := float64(chartTop) + plotH

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d" aria-labelledby="%s-title %s-desc" data-testid="chart" data-currency="%s" font-family="sans-serif" font-size="11">`,
		chartWidth, chartHeight, chartWidth, chartHeight, id, id, esc(c.Currency))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, id, esc(c.Title()))
	fmt.Fprintf(&b, `<desc id="%s-desc">%s</desc>`, id, esc(c.Description()))

	// The y axis: a grid line and an amount per tick.
	b.WriteString(`<g aria-hidden="true">`)
	for _, t := range ticks {
		y := baseY
		if top > 0 {
			y = baseY - float64(t)/float64(top)*plotH
		}
		opacity := "0.15" // a faint grid line
		if t == 0 {
			opacity = "0.6" // the base line
		}
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="currentColor" stroke-opacity="%s"/>`,
			chartLeft, chartWidth-chartRight, y, y, opacity)
		label := strings.TrimSuffix(c.Money(t), " "+c.Currency)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="currentColor">%s</text>`,
			chartLeft-6, y, esc(label))
	}
	b.WriteString(`</g>`)

	// The bars, each with its exact value as a tooltip and for assistive technology.
	slot := plotW / float64(len(c.Bars))
	barW := max(slot*0.8, 1)
	every := (len(c.Bars) + chartMaxLabels - 1) / chartMaxLabels
	b.WriteString(`<g>`)
	for i, bar := range c.Bars {
		x := float64(chartLeft) + float64(i)*slot + (slot-barW)/2
		h := 0.0
		if top > 0 && bar.Amount > 0 {
			h = max(float64(bar.Amount)/float64(top)*plotH, 1) // a refund is never invisible
		}
		tip := fmt.Sprintf("%s: %s, %d %s", bar.Label, c.Money(bar.Amount), bar.Count, plural(bar.Count, "refund", "refunds"))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-testid="bar" data-amount="%d"><title>%s</title></rect>`,
			x, baseY-h, barW, h, chartBarColour, bar.Amount, esc(tip))
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="currentColor" aria-hidden="true">%s</text>`,
				x+barW/2, chartHeight-chartBottom+16, esc(bar.Label))
		}
	}
	b.WriteString(`</g></svg>`)
	return b.String()
}
