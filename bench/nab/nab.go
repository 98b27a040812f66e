// Package nab scores anomaly detectors the way the Numenta Anomaly Benchmark
// (NAB v1.1) does: probationary period, scaled-sigmoid row weights inside and
// after labelled windows, application profiles, the exhaustive threshold sweep
// and normalisation between the null and the perfect detector. It follows
// SCORING.md in the shared NAB data, section by section; the section numbers in
// comments are that document's.
package nab

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Profile is one of NAB's application profiles: what a true positive, a false
// positive and a missed window are worth. NAB's tnWeight is never used.
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// Window is a labelled anomaly window, inclusive at both ends.
type Window struct {
	Start, End time.Time
}

// Probation is NAB's probationary length of a file of n rows (§1): rows before
// it are not scored. It is a float because NAB's is (750.0).
func Probation(n int) float64 {
	return math.Min(math.Floor(0.15*float64(n)), 0.15*5000)
}

// ScaledSigmoid is NAB's weighting curve (§2), in the 2·sigmoid(-5y)-1 form that
// matches NAB to the last bit.
func ScaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// maxTP is ScaledSigmoid(-1), the weight at a window's left edge before scaling.
var maxTP = ScaledSigmoid(-1)

// Row is one row of a file prepared for scoring.
type Row struct {
	Score        float64 // the detector's anomaly score, in [0,1]
	Weight       float64 // the row's weight if detected (§3)
	Window       string  // id of the window holding the row, "" outside every window
	Probationary bool    // in the probationary period: not scored
}

// Rows weighs the rows of one file (§3) and attaches the detector's scores.
// windows must be sorted, disjoint, and start and end exactly on timestamps of
// the file, as NAB requires; file makes the window ids unique in a corpus.
func Rows(file string, ts []time.Time, scores []float64, windows []Window, p Profile) ([]Row, error) {
	if len(ts) != len(scores) {
		return nil, fmt.Errorf("nab: %s: %d timestamps but %d scores", file, len(ts), len(scores))
	}
	for i, s := range scores {
		if !(s >= 0 && s <= 1) {
			return nil, fmt.Errorf("nab: %s: row %d: anomaly score %v outside [0,1]", file, i, s)
		}
	}
	starts := make([]int, len(windows))
	ends := make([]int, len(windows))
	for k, w := range windows {
		starts[k], ends[k] = index(ts, w.Start), index(ts, w.End)
		if starts[k] < 0 || ends[k] < 0 || ends[k] < starts[k] {
			return nil, fmt.Errorf("nab: %s: window %d [%s, %s] does not start and end on rows of the file",
				file, k, w.Start.Format(time.DateTime), w.End.Format(time.DateTime))
		}
		if k > 0 && starts[k] <= ends[k-1] {
			return nil, fmt.Errorf("nab: %s: window %d overlaps the one before", file, k)
		}
	}

	prob := Probation(len(ts))
	rows := make([]Row, len(ts))
	next := 0         // next window to open
	cur := -1         // open window, -1 for none
	var right int     // last row of the open window
	var width float64 // rows in the open window
	prevRight := -1   // last row of the window closed most recently, -1 for none
	var prevWidth float64
	for i := range ts {
		if next < len(windows) && i == starts[next] {
			cur, right = next, ends[next]
			width = float64(right - i + 1)
			next++
		}
		r := &rows[i]
		r.Score = scores[i]
		if cur >= 0 {
			pos := -float64(right-i+1) / width
			r.Weight = ScaledSigmoid(pos) * p.TP / maxTP
			r.Window = file + "|" + windows[cur].Start.Format(time.DateTime)
		} else {
			u := -1.0
			if prevRight >= 0 {
				// A window of one row would divide by zero; NAB has none, and
				// the penalty is then the full one at once.
				y := math.Inf(1)
				if prevWidth > 1 {
					y = math.Abs(float64(prevRight-i)) / (prevWidth - 1)
				}
				u = ScaledSigmoid(y)
			}
			r.Weight = u * p.FP
		}
		r.Probationary = float64(i) < prob
		if cur >= 0 && i == right {
			prevRight, prevWidth = i, width
			cur = -1
		}
	}
	return rows, nil
}

// index is the row whose timestamp equals t, -1 if none.
func index(ts []time.Time, t time.Time) int {
	i, ok := slices.BinarySearchFunc(ts, t, func(a, b time.Time) int { return a.Compare(b) })
	if !ok {
		return -1
	}
	return i
}

// Point is the score of the detections at one threshold: every row whose
// anomaly score is at least Threshold. The counts are of rows, as NAB reports
// them; only Score matters.
type Point struct {
	Threshold      float64
	Score          float64
	TP, TN, FP, FN int
}

// Sweep scores rows at every threshold (§4): 1.1 (nothing detected), then each
// distinct anomaly score in decreasing order. Rows may come from several files.
func Sweep(rows []Row, p Profile) []Point {
	live := make([]Row, 0, len(rows))
	for _, r := range rows {
		if !r.Probationary {
			live = append(live, r)
		}
	}
	slices.SortStableFunc(live, func(a, b Row) int { return cmp.Compare(b.Score, a.Score) })

	// parts[0] is the false positives; then one part per window, in order of
	// first appearance, summed in that order as NAB's dict is.
	parts := []float64{0}
	part := map[string]int{}
	var tp, fp, tn, fn int
	for _, r := range live {
		if r.Window == "" {
			tn++
			continue
		}
		fn++
		if _, ok := part[r.Window]; !ok {
			part[r.Window] = len(parts)
			parts = append(parts, -p.FN)
		}
	}
	sum := func() float64 {
		s := 0.0
		for _, v := range parts {
			s += v
		}
		return s
	}
	cur := 1.1
	var out []Point
	for _, r := range live {
		if r.Score != cur {
			out = append(out, Point{Threshold: cur, Score: sum(), TP: tp, TN: tn, FP: fp, FN: fn})
			cur = r.Score
		}
		if r.Window == "" {
			fp++
			tn--
			parts[0] += r.Weight
		} else {
			tp++
			fn--
			k := part[r.Window]
			parts[k] = math.Max(parts[k], r.Weight)
		}
	}
	return append(out, Point{Threshold: cur, Score: sum(), TP: tp, TN: tn, FP: fp, FN: fn})
}

// Best is the point of highest score (§5); a tie goes to the highest threshold.
func Best(points []Point) Point {
	best := points[0]
	for _, p := range points[1:] {
		if p.Score > best.Score {
			best = p
		}
	}
	return best
}

// At is the point whose detections are exactly the rows scoring at least
// threshold (§6).
func At(points []Point, threshold float64) Point {
	for i, p := range points {
		if p.Threshold == threshold {
			return p
		}
		if p.Threshold < threshold {
			return points[max(i-1, 0)]
		}
	}
	// Below every score: everything is detected. NAB would crash here.
	return points[len(points)-1]
}

// Normalize maps a raw score to NAB's scale (§7): 0 for the null detector, 100
// for the perfect one.
func Normalize(raw, null, perfect float64) float64 {
	return 100 * (raw - null) / (perfect - null)
}
