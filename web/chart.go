package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are SVG drawn on the server (DESIGN.md): the handler computes
// the geometry, the template writes the elements, so every label passes
// through html/template's escaping. Each chart has a title and a
// description for screen readers, and the page shows the same figures
// in a table.

// chart is one SVG chart: lines (one per series) or bars.
type chart struct {
	ID, Title, Desc string
	Width, Height   int
	PlotLeft        float64
	PlotRight       float64
	PlotTop         float64
	PlotBottom      float64
	Lines           []chartLine
	Bars            []chartBar
	YTicks, XTicks  []chartTick
}

type chartLine struct {
	Class, Label string
	Points       string // the polyline's "x,y x,y …"
	Dots         []chartDot
}

type chartDot struct {
	X, Y  float64
	Title string // what a pointer over the dot shows
}

type chartBar struct {
	X, Y, W, H float64
	Title      string
}

type chartTick struct {
	At    float64
	Label string
}

// Geometry shared by every chart.
const (
	chartWidth  = 720
	chartHeight = 240
	chartLeft   = 64
	chartRight  = 12
	chartTop    = 12
	chartBottom = 28
)

// newChart is an empty chart frame whose y axis reaches top (at least 1).
func newChart(id, title, desc string, top float64, labels []string, yLabel func(float64) string) (chart, func(i int) float64, func(v float64) float64) {
	c := chart{ID: id, Title: title, Desc: desc, Width: chartWidth, Height: chartHeight,
		PlotLeft: chartLeft, PlotRight: chartWidth - chartRight, PlotTop: chartTop, PlotBottom: chartHeight - chartBottom}
	top = niceCeil(top)
	w := c.PlotRight - c.PlotLeft
	h := c.PlotBottom - c.PlotTop
	n := max(len(labels), 1)
	x := func(i int) float64 { return round1(c.PlotLeft + (float64(i)+0.5)*w/float64(n)) }
	y := func(v float64) float64 { return round1(c.PlotBottom - v/top*h) }
	for _, v := range []float64{0, top / 2, top} {
		c.YTicks = append(c.YTicks, chartTick{At: y(v), Label: yLabel(v)})
	}
	step := max(1, int(math.Ceil(float64(len(labels))/8)))
	for i := 0; i < len(labels); i += step {
		c.XTicks = append(c.XTicks, chartTick{At: x(i), Label: labels[i]})
	}
	return c, x, y
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1),
// so the axis' labels are round.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// lineChart draws one line per series over the buckets labelled labels.
func lineChart(id, title, desc string, labels []string, series []lineSeries) chart {
	top := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, float64(v))
		}
	}
	c, x, y := newChart(id, title, desc, top, labels, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	for k, s := range series {
		l := chartLine{Class: fmt.Sprintf("series-%d", k%8), Label: s.Label}
		var pts []string
		for i, v := range s.Values {
			px, py := x(i), y(float64(v))
			pts = append(pts, fmt.Sprintf("%g,%g", px, py))
			l.Dots = append(l.Dots, chartDot{X: px, Y: py, Title: fmt.Sprintf("%s, %s: %d", labels[i], s.Label, v)})
		}
		l.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, l)
	}
	return c
}

type lineSeries struct {
	Label  string
	Values []int64
}

// barChart draws one bar per bucket; axis writes a value on the axis,
// value in a bar's title.
func barChart(id, title, desc string, labels []string, values []float64, axis, value func(float64) string) chart {
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	c, x, y := newChart(id, title, desc, top, labels, axis)
	w := (c.PlotRight - c.PlotLeft) / float64(max(len(labels), 1))
	bw := round1(max(1, w*0.7))
	for i, v := range values {
		top := y(v)
		c.Bars = append(c.Bars, chartBar{X: round1(x(i) - bw/2), Y: top, W: bw, H: round1(c.PlotBottom - top),
			Title: labels[i] + ": " + value(v)})
	}
	return c
}

// bucketLabel names a bucket for an axis and a table row.
func bucketLabel(start time.Time, interval string) string {
	switch interval {
	case "month":
		return start.Format("Jan 2006")
	case "week":
		return "Week of " + start.Format("2 Jan 2006")
	}
	return start.Format("2 Jan 2006")
}

// barRows is a horizontal bar chart: one labelled bar a row with its
// figure after it. The funnel centres its bars, so that the stages
// narrow like a funnel; a distribution starts them at the left.
type barRows struct {
	ID, Title, Desc string
	Width, Height   int
	// LabelX is where the labels end, ValueX where the figures begin.
	LabelX, ValueX float64
	Rows           []barRow
}

type barRow struct {
	// Key names the row for a script or a test (a stage, a tag id).
	Key, Label, Value, Title string
	X, Y, W, H, TextY        float64
}

// barInput is one row to draw: Count sets the bar's length, Value is the
// figure written after it and Title what a pointer over it shows.
type barInput struct {
	Key, Label, Value, Title string
	Count                    int64
}

// Geometry of a bar-row chart.
const (
	barRowHeight = 36
	barRowBar    = 24
	barLabels    = 180 // the labels' column
	barValues    = 130 // the figures' column
)

func barRowChart(id, title, desc string, in []barInput, centred bool) barRows {
	c := barRows{ID: id, Title: title, Desc: desc, Width: chartWidth, Height: max(1, len(in))*barRowHeight + 2*chartTop,
		LabelX: barLabels - 8, ValueX: chartWidth - barValues + 8}
	left, plot := float64(barLabels), float64(chartWidth-barLabels-barValues)
	var top int64 = 1
	for _, r := range in {
		top = max(top, r.Count)
	}
	for i, r := range in {
		w := round1(float64(r.Count) / float64(top) * plot)
		if r.Count > 0 {
			w = max(w, 2) // a small figure still shows
		}
		x := left
		if centred {
			x = round1(left + (plot-w)/2)
		}
		y := float64(chartTop + i*barRowHeight + (barRowHeight-barRowBar)/2)
		c.Rows = append(c.Rows, barRow{Key: r.Key, Label: r.Label, Value: r.Value, Title: r.Title,
			X: x, Y: y, W: w, H: barRowBar, TextY: y + barRowBar/2 + 4})
	}
	return c
}
