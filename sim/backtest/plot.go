package backtest

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/bench/nab"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH     = 1200.0, 320.0
	padL, padR       = 70.0, 20.0
	padT, padB       = 30.0, 40.0
	innerW, innerH   = plotW - padL - padR, plotH - padT - padB
	plotDateTime     = "2006-01-02 15:04"
	plotPageRadius   = 4.0
	plotMaxPathSteps = 2 * int(innerW) // min and max per column of pixels
)

// WritePlot draws the series as a self-contained SVG: its values as a line, the
// labelled windows shaded, and a marker on every row that paged. Long series
// are drawn as the smallest and largest value of each column of pixels, so a
// spike of one row still shows and the file stays small.
func WritePlot(w io.Writer, title string, f CorpusFile, windows []nab.Window) error {
	s := f.Series
	if len(s.Times) == 0 {
		return fmt.Errorf("plot %s: no rows", f.Name)
	}
	t0, t1 := s.Times[0], s.Times[len(s.Times)-1]
	span := float64(t1.Sub(t0))
	if span <= 0 {
		span = 1
	}
	lo, hi := slices.Min(s.Values), slices.Max(s.Values)
	if hi == lo {
		hi = lo + 1
	}
	x := func(t time.Time) float64 { return padL + innerW*float64(t.Sub(t0))/span }
	y := func(v float64) float64 { return padT + innerH*(1-(v-lo)/(hi-lo)) }

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">
<title>%s</title>
<rect x="0" y="0" width="%g" height="%g" fill="white"/>
<text x="%g" y="18" font-size="13">%s</text>
`, plotW, plotH, plotW, plotH, escape(title), plotW, plotH, padL, escape(title))
	// NAB scores no row of its probation: a page there neither helps nor hurts.
	if prob := int(math.Ceil(nab.Probation(len(s.Times)))); prob > 0 && prob < len(s.Times) {
		fmt.Fprintf(bw, `<rect class="probation" x="%g" y="%g" width="%.1f" height="%g" fill="#000" fill-opacity="0.06"><title>NAB probation, not scored</title></rect>
`, padL, padT, x(s.Times[prob])-padL, innerH)
	}
	for _, win := range windows {
		x0, x1 := x(win.Start), x(win.End)
		fmt.Fprintf(bw, `<rect class="window" x="%.1f" y="%g" width="%.1f" height="%g" fill="#f4a261" fill-opacity="0.3"><title>window %s – %s</title></rect>
`, x0, padT, max(x1-x0, 1), innerH, win.Start.Format(plotDateTime), win.End.Format(plotDateTime))
	}
	fmt.Fprintf(bw, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#999"/>
`, padL, padT, innerW, innerH)
	for _, v := range []float64{lo, hi} {
		fmt.Fprintf(bw, `<text x="%g" y="%.1f" text-anchor="end">%s</text>
`, padL-6, y(v)+4, escape(fmt.Sprintf("%.4g", v)))
	}
	fmt.Fprintf(bw, `<text x="%g" y="%g">%s</text>
<text x="%g" y="%g" text-anchor="end">%s</text>
`, padL, plotH-padB+16, t0.Format(plotDateTime), plotW-padR, plotH-padB+16, t1.Format(plotDateTime))

	bw.WriteString(`<path class="series" fill="none" stroke="#1d3557" stroke-width="1" d="`)
	writeLine(bw, s.Times, s.Values, x, y)
	bw.WriteString("\"/>\n")

	for i, a := range f.Result.Alerts {
		if a {
			fmt.Fprintf(bw, `<circle class="page" cx="%.1f" cy="%.1f" r="%g" fill="#e63946"><title>page %s, value %g, score %.3f</title></circle>
`, x(s.Times[i]), y(s.Values[i]), plotPageRadius, escape(s.Text[i]), s.Values[i], f.Result.Scores[i])
		}
	}
	fmt.Fprintf(bw, `<text x="%g" y="%g" text-anchor="end">grey: NAB probation · orange: labelled windows (%d) · red: pages (%d)</text>
</svg>
`, plotW-padR, plotH-8, len(windows), f.Result.Pages-f.Result.Merged)
	return bw.Flush()
}

// writeLine writes the path data of the series, at most the smallest and the
// largest value of each column of pixels.
func writeLine(w *bufio.Writer, ts []time.Time, vs []float64, x func(time.Time) float64, y func(float64) float64) {
	cmd := byte('M')
	point := func(px, py float64) {
		fmt.Fprintf(w, "%c%.1f %.1f", cmd, px, py)
		cmd = 'L'
	}
	if len(ts) <= plotMaxPathSteps {
		for i := range ts {
			point(x(ts[i]), y(vs[i]))
		}
		return
	}
	for i := 0; i < len(ts); {
		col := math.Floor(x(ts[i]))
		j, lo, hi := i, i, i
		for j < len(ts) && math.Floor(x(ts[j])) == col {
			if vs[j] < vs[lo] {
				lo = j
			}
			if vs[j] > vs[hi] {
				hi = j
			}
			j++
		}
		first, second := min(lo, hi), max(lo, hi)
		point(x(ts[first]), y(vs[first]))
		if second != first {
			point(x(ts[second]), y(vs[second]))
		}
		i = j
	}
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
