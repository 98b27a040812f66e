package backtest

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
)

// Series is a raw "timestamp,value" export made into the regular series that
// detectors.RunSeries reads. Exports are rarely clean: rows come out of order,
// a clock change repeats or skips an hour, a collector misses buckets. Every
// repair is reported in Warnings, because it changes what the detector sees.
type Series struct {
	// Times are the export's distinct timestamps in order, Text the text each
	// had on the first row that carried it, Values what the detector reads
	// there (repeats merged, Shift added). Results are reported on these rows,
	// so that NAB's windows, which name them, find them.
	Times  []time.Time
	Text   []string
	Values []float64

	// Counts is true when every value is a non-negative integer: a missing
	// bucket then means nothing happened, and is filled with a zero.
	Counts bool
	Width  time.Duration // median spacing of Times: one bucket
	Shift  float64       // added to every value so that the smallest is 0
	Filled int           // zero buckets inserted into gaps

	Warnings []string

	// The rows RunSeries reads: Times with the filled buckets inserted; at[k]
	// is the row of Times that regular row k is reported on.
	regTimes  []time.Time
	regValues []float64
	at        []int
}

// SeriesResult is a detector run over a Series, reported on its Times.
type SeriesResult struct {
	// Scores[i] is the highest anomaly score of row i and of the filled
	// buckets just before it; Alerts[i] is whether any of them paged.
	Scores []float64
	Alerts []bool
	// Pages are the pages the detector sent on the regular series; Moved of
	// them fell on a filled bucket and are reported on the next row of the
	// export; Merged of those landed on a row that paged already, the only way
	// Pages can exceed the rows of Alerts that are true.
	Pages, Moved, Merged int
}

// Run runs the surge detector over the series.
func (s *Series) Run(cfg detectors.Config) (SeriesResult, error) {
	scores, alerts, err := detectors.RunSeries(cfg, s.regTimes, s.regValues)
	if err != nil {
		return SeriesResult{}, err
	}
	return s.report(scores, alerts), nil
}

// report maps a run over the regular series back onto Times.
func (s *Series) report(scores []float64, alerts []bool) SeriesResult {
	res := SeriesResult{Scores: make([]float64, len(s.Times)), Alerts: make([]bool, len(s.Times))}
	for k, i := range s.at {
		res.Scores[i] = max(res.Scores[i], scores[k])
		if !alerts[k] {
			continue
		}
		res.Pages++
		if !s.regTimes[k].Equal(s.Times[i]) {
			res.Moved++
		}
		if res.Alerts[i] {
			res.Merged++
		}
		res.Alerts[i] = true
	}
	return res
}

// ReadSeriesFile reads an export from disk; errors name the file.
func ReadSeriesFile(path string) (*Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer f.Close()
	s, err := ReadSeries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// row is one data row of an export.
type row struct {
	t    time.Time
	text string
	v    float64
	line int
}

// ReadSeries reads a "timestamp,value" CSV export (NAB's layout) and makes it
// regular. Only a value that is not a finite number, a timestamp it cannot
// read or a file without rows is refused; everything else is repaired.
func ReadSeries(r io.Reader) (*Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if len(header) < 2 || !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(header[0], "\ufeff")), "timestamp") ||
		!strings.EqualFold(strings.TrimSpace(header[1]), "value") {
		return nil, fmt.Errorf("line 1: header %q, want timestamp,value", strings.Join(header, ","))
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("line %d: %q is not timestamp,value", line, strings.Join(rec, ","))
		}
		t, err := ParseTime(rec[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: timestamp %q: %w", line, rec[0], err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value %q is not a number", line, rec[1])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: value %q is not a finite number", line, rec[1])
		}
		rows = append(rows, row{t: t, text: strings.TrimSpace(rec[0]), v: v, line: line})
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows after the header")
	}
	return regularize(rows), nil
}

// ParseTime reads the timestamps NAB writes ("2006-01-02 15:04:05", with or
// without fractional seconds, as UTC) and RFC 3339 ones.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want YYYY-MM-DD HH:MM:SS or RFC 3339")
}

func regularize(rows []row) *Series {
	s := &Series{Counts: true}
	warn := func(format string, args ...any) { s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...)) }

	// A row is out of order if a row above it is later: a repeated hour of
	// twelve rows counts twelve, a swapped pair one.
	unsorted, firstUnsorted := 0, 0
	latest := rows[0].t
	for _, r := range rows[1:] {
		if r.t.Before(latest) {
			if unsorted == 0 {
				firstUnsorted = r.line
			}
			unsorted++
		}
		if r.t.After(latest) {
			latest = r.t
		}
	}
	if unsorted > 0 {
		// Stable: rows that repeat a timestamp keep their file order, so the
		// text reported for it is the first one in the file.
		slices.SortStableFunc(rows, func(a, b row) int { return a.t.Compare(b.t) })
		warn("%s earlier than a row above (first at line %d); rows sorted by time", plural(unsorted, "row is", "rows are"), firstUnsorted)
	}

	nonInt := -1
	for i, r := range rows {
		if r.v < 0 || r.v != math.Trunc(r.v) {
			s.Counts, nonInt = false, i
			break
		}
	}

	// Merge repeated timestamps: a clock set back repeats an hour whose counts
	// all happened, so they add up; measurements taken at one instant are one
	// reading, so they average (a sum of latencies is no latency).
	repeats, repeated, firstRepeat := 0, 0, 0
	for i := 0; i < len(rows); {
		j := i + 1
		sum := rows[i].v
		for j < len(rows) && rows[j].t.Equal(rows[i].t) {
			sum += rows[j].v
			j++
		}
		v := sum
		if n := j - i; n > 1 {
			if repeated == 0 {
				firstRepeat = rows[i+1].line
			}
			repeats += n - 1
			repeated++
			if !s.Counts {
				v = sum / float64(n)
			}
		}
		s.Times = append(s.Times, rows[i].t)
		s.Text = append(s.Text, rows[i].text)
		s.Values = append(s.Values, v)
		i = j
	}
	if repeats > 0 {
		how := "counts summed"
		if !s.Counts {
			how = "measurements averaged"
		}
		warn("%s the timestamp of a row before (%s, first repeat at line %d); %s",
			plural(repeats, "row repeats", "rows repeat"), plural(repeated, "timestamp", "timestamps"), firstRepeat, how)
	}

	// The surge detector reads counts: a series that goes below zero is moved
	// up rather than refused, and the user told by how much.
	if lo := slices.Min(s.Values); lo < 0 {
		s.Shift = -lo
		for i := range s.Values {
			s.Values[i] += s.Shift
		}
		warn("values go down to %s; every value shifted up by %s so that the smallest is 0",
			strconv.FormatFloat(lo, 'g', -1, 64), strconv.FormatFloat(s.Shift, 'g', -1, 64))
	}

	s.Width = medianStep(s.Times)
	gaps, longest := 0, time.Duration(0)
	for i := 1; i < len(s.Times); i++ {
		if step := s.Times[i].Sub(s.Times[i-1]); missing(step, s.Width) > 0 {
			gaps++
			longest = max(longest, step)
		}
	}
	if !s.Counts {
		r := rows[nonInt]
		what := "has a fraction"
		if r.v < 0 {
			what = "is negative"
		}
		gapNote := "no gaps"
		if gaps > 0 {
			gapNote = fmt.Sprintf("%s (longest %s) left unfilled, no zeros invented", plural(gaps, "gap", "gaps"), longest)
		}
		warn("line %d: value %s %s, so the series is read as measurements, not counts; rows kept in sequence at their own times, %s",
			r.line, strconv.FormatFloat(r.v, 'g', -1, 64), what, gapNote)
	}

	s.regTimes, s.regValues, s.at = s.Times, s.Values, make([]int, len(s.Times))
	for i := range s.at {
		s.at[i] = i
	}
	if !s.Counts || gaps == 0 {
		return s
	}
	s.regTimes, s.regValues, s.at = nil, nil, nil
	for i, t := range s.Times {
		if i > 0 {
			// The zeros sit a bucket apart after the row before; the next row
			// keeps its own timestamp, so a timestamp that drifts off the
			// grid is neither moved nor merged with a neighbour.
			for k := range missing(t.Sub(s.Times[i-1]), s.Width) {
				s.regTimes = append(s.regTimes, s.Times[i-1].Add(time.Duration(k+1)*s.Width))
				s.regValues = append(s.regValues, 0)
				s.at = append(s.at, i)
				s.Filled++
			}
		}
		s.regTimes = append(s.regTimes, t)
		s.regValues = append(s.regValues, s.Values[i])
		s.at = append(s.at, i)
	}
	warn("%s of %s in %s (longest %s) filled with zero counts",
		plural(s.Filled, "missing bucket", "missing buckets"), s.Width, plural(gaps, "gap", "gaps"), longest)
	return s
}

// missing is how many buckets of width fit in a step between two rows: a step
// of about two buckets (1.5 or more) misses one. Rounding leaves jitter alone.
func missing(step, width time.Duration) int {
	if width <= 0 {
		return 0
	}
	return max(0, int(math.Round(float64(step)/float64(width)))-1)
}

// medianStep is the bucket width, as RunSeries measures it: the median spacing.
func medianStep(ts []time.Time) time.Duration {
	if len(ts) < 2 {
		return 0
	}
	steps := make([]time.Duration, len(ts)-1)
	for i := range steps {
		steps[i] = ts[i+1].Sub(ts[i])
	}
	slices.SortFunc(steps, cmp.Compare)
	return steps[len(steps)/2]
}

// plural is n and the noun that goes with it.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
