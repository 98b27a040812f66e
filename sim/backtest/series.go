package backtest

import (
	"bufio"
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
	// had on the first row that carried it, Values the value there (repeats
	// merged, Shift added), which the detector reads times Scale. Results are
	// reported on these rows, so that NAB's windows, which name them, find
	// them.
	Times  []time.Time
	Text   []string
	Values []float64

	// Counts is true when every value is a non-negative integer: a missing
	// bucket then means nothing happened, and is filled with a zero.
	Counts bool
	Width  time.Duration // median spacing of Times: one bucket
	Shift  float64       // added to every value so that the smallest is 0
	// Scale is what the detector multiplies a measurement by (1 for counts):
	// see measurementScale.
	Scale  float64
	Filled int // zero buckets inserted into gaps

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
	vals := s.regValues
	if s.Scale != 1 {
		vals = make([]float64, len(s.regValues))
		for i, v := range s.regValues {
			vals[i] = v * s.Scale
		}
	}
	scores, alerts, err := detectors.RunSeries(cfg, s.regTimes, vals)
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

// timeColumns and valueColumns are the header names ReadSeries takes for an
// export's time and its value, case aside: NAB's, and what spreadsheets,
// monitoring exports and notebooks call them.
var (
	timeColumns  = []string{"timestamp", "time", "date", "datetime", "ts", "t", "bucket", "period", "minute", "hour", "day"}
	valueColumns = []string{"value", "count", "counts", "volume", "mentions", "posts", "tweets", "total", "n", "y"}
)

// ReadSeries reads a time series export and makes it regular: a CSV (or
// semicolon- or tab-separated) file of a time and a value per row, NAB's
// "timestamp,value" layout or any header whose columns timeColumns and
// valueColumns name, or no header at all (time, then value). A row whose
// value is missing (missingValue) is a missing bucket. Only a value that is
// not a finite number, a timestamp it cannot read or a file without values
// is refused; everything else is repaired.
func ReadSeries(r io.Reader) (*Series, error) {
	br := bufio.NewReader(r)
	first, err := br.ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("header: %w", err)
	}
	cr := csv.NewReader(io.MultiReader(strings.NewReader(first), br))
	cr.Comma = separator(first)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF || err == nil && len(header) == 1 && strings.TrimSpace(header[0]) == "" && strings.TrimSpace(first) == "" {
		return nil, errors.New("empty file: want a header or timestamp,value rows")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	var rows []row
	var notes []string
	tcol, vcol, headed, err := columns(header)
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	if !headed {
		notes = append(notes, fmt.Sprintf("no header: column 1 read as the time, column 2 as the value (a header names them: %s and %s)", timeColumns[0], valueColumns[0]))
	} else if !strings.EqualFold(strings.TrimSpace(header[tcol]), "timestamp") || !strings.EqualFold(strings.TrimSpace(header[vcol]), "value") {
		notes = append(notes, fmt.Sprintf("column %q read as the time, %q as the value", strings.TrimSpace(header[tcol]), strings.TrimSpace(header[vcol])))
	}
	// Rows without a value are a bucket the export has no reading for, as a
	// gap is; pandas writes a missing value empty or "NaN", R "NA".
	var absentAt []time.Time
	firstAbsent, absentText := 0, ""
	add := func(rec []string, line int) error {
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			return nil
		}
		if len(rec) <= max(tcol, vcol) {
			return fmt.Errorf("line %d: %q has %d fields, want the time in field %d and the value in field %d", line, strings.Join(rec, string(cr.Comma)), len(rec), tcol+1, vcol+1)
		}
		t, err := ParseTime(rec[tcol])
		if err != nil {
			return fmt.Errorf("line %d: timestamp %q: %w", line, rec[tcol], err)
		}
		if missingValue(rec[vcol]) {
			if len(absentAt) == 0 {
				firstAbsent, absentText = line, strings.TrimSpace(rec[vcol])
			}
			absentAt = append(absentAt, t)
			return nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[vcol]), 64)
		if err != nil {
			return fmt.Errorf("line %d: value %q is not a number", line, rec[vcol])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("line %d: value %q is not a finite number", line, rec[vcol])
		}
		rows = append(rows, row{t: t, text: strings.TrimSpace(rec[tcol]), v: v, line: line})
		return nil
	}
	if !headed {
		if err := add(header, 1); err != nil {
			return nil, err
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		if err := add(rec, line); err != nil {
			return nil, err
		}
	}
	if n := len(absentAt); n > 0 {
		notes = append(notes, fmt.Sprintf("%s no value (first at line %d: %q), read as missing buckets, as gaps are", plural(n, "row has", "rows have"), firstAbsent, absentText))
	}
	if len(rows) == 0 {
		if n := len(absentAt); n > 0 {
			return nil, fmt.Errorf("no row after the header has a value (%d without one, first at line %d)", n, firstAbsent)
		}
		return nil, errors.New("no rows after the header")
	}
	s, err := regularize(rows, absentAt)
	if err != nil {
		return nil, err
	}
	s.Warnings = append(notes, s.Warnings...)
	return s, nil
}

// missingValue reports a value field that says there is no value: empty, or
// a spreadsheet's or a dataframe's marker of a missing one. Infinities are
// values, and refused.
func missingValue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "na", "n/a", "nan", "null", "none", "-":
		return true
	}
	return false
}

// separator is the field separator of an export whose first line is line:
// a comma, unless the line has none and has semicolons (a spreadsheet in a
// locale with decimal commas) or tabs.
func separator(line string) rune {
	if strings.Contains(line, ",") {
		return ','
	}
	if strings.Contains(line, ";") {
		return ';'
	}
	if strings.Contains(line, "\t") {
		return '\t'
	}
	return ','
}

// columns finds the time and value fields of an export from its first row:
// named by a header, or, where the row is data already (a time and a
// number), the first two fields of a file without one.
func columns(first []string) (tcol, vcol int, headed bool, err error) {
	if len(first) >= 2 {
		if _, err := ParseTime(first[0]); err == nil {
			if _, err := strconv.ParseFloat(strings.TrimSpace(first[1]), 64); err == nil || missingValue(first[1]) {
				return 0, 1, false, nil
			}
		}
	}
	named := func(names []string, skip int) int {
		for _, n := range names {
			for i, h := range first {
				if i != skip && strings.EqualFold(strings.TrimSpace(h), n) {
					return i
				}
			}
		}
		return -1
	}
	tcol = named(timeColumns, -1)
	if tcol < 0 {
		return 0, 0, true, fmt.Errorf("header %q names no time column: want one of %s (or no header, the time first)", strings.Join(first, ","), strings.Join(timeColumns, ", "))
	}
	vcol = named(valueColumns, tcol)
	if vcol < 0 {
		if len(first) != 2 {
			return 0, 0, true, fmt.Errorf("header %q names no value column: want one of %s", strings.Join(first, ","), strings.Join(valueColumns, ", "))
		}
		vcol = 1 - tcol
	}
	return tcol, vcol, true, nil
}

// timeLayouts are the timestamps ParseTime reads besides Unix times: NAB's
// ("2006-01-02 15:04:05", with or without fractional seconds), RFC 3339, and
// the same without seconds, without a zone, with slashes, or a date alone;
// an offset after a space-separated time, as pandas writes a zoned
// timestamp, or without its colon (ISO 8601's basic form); and the Twitter
// API's created_at. A time without a zone is UTC.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02T15:04Z07:00",
	"2006/01/02 15:04:05.999999999", "2006/01/02 15:04", "2006-01-02",
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z0700",
	time.RubyDate,
}

// ParseTime reads an export's timestamp: one of timeLayouts, or a Unix time
// in seconds or milliseconds (fractions allowed), told apart by size. A
// trailing " UTC" or " GMT", as SQL engines write a zoned time, is UTC; no
// other zone name is read, since an abbreviation such as CST names several
// offsets.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := strings.CutSuffix(s, " UTC"); ok {
		s = t
	} else if t, ok := strings.CutSuffix(s, " GMT"); ok {
		s = t
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && s != "" && (s[0] >= '0' && s[0] <= '9') {
		switch {
		case v >= 1e8 && v < 1e11: // seconds: 1973 to 5138
			sec, frac := math.Modf(v)
			return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
		case v >= 1e11 && v < 1e14: // milliseconds
			return time.UnixMilli(int64(math.Round(v))).UTC(), nil
		}
		return time.Time{}, errors.New("a number, but not a Unix time in seconds (1e8 to 1e11) or milliseconds (1e11 to 1e14)")
	}
	if d, _, ok := strings.Cut(s, "/"); ok && len(d) <= 2 {
		return time.Time{}, errors.New("a date with the day or the month first is ambiguous (01/02 is January 2 or February 1): want YYYY-MM-DD HH:MM:SS, RFC 3339 or a Unix time")
	}
	return time.Time{}, errors.New("want YYYY-MM-DD HH:MM:SS, RFC 3339 or a Unix time")
}

// maxScaledLevel bounds a measurement's median level once scaled: at 10^4 a
// count's own noise (its square root) is a hundredth of the level, so the
// count model judges the series by its relative changes alone, as it should
// a measurement with no noise between rows to scale it by.
const maxScaledLevel = 1e4

// measurementScale is the factor that puts a measurement on the scale of a
// count: the detector's count model takes a count's noise to be at least
// Poisson, its variance its level, and a measurement has a unit of its own
// (a CPU share, a price, a rate per second), so its level alone says nothing
// of how noisy it is. Read times k = level / noise², where level is the
// median and noise the standard deviation of the change from one row to the
// next (its median absolute value over 0.6745·√2, robust to spikes and
// level shifts), the series' noise is Poisson's: a rate of counts, the count
// divided by a span, is read as the count again, and a smooth measurement
// gets a high level and is judged on its relative changes. Without it the
// count model's supports (surge.min_support 10 mentions) sat above whole
// series: NAB's ad-exchange prices, at 0.1 to 2, never paged.
//
// A series idle most of the time (its median 0: bytes written to a disk, a
// queue's backlog) is measured where it is active: the level is the median of
// its values above 0, the noise that of its changes into, out of and within
// its active rows. Read times 1 instead, NAB's disk writes of 10^7 bytes
// after a row of 0 were counts 10^4 standard deviations out, far beyond any
// tail a term learns, and each of their ordinary bursts paged (50 of the
// corpus's 138 false pages, on two files). 1 for a series with fewer than
// three values above 0. active is how many values above 0 it was measured on,
// 0 when it was measured on every row.
func measurementScale(values []float64) (k float64, active int) {
	if len(values) < 3 {
		return 1, 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	level := sorted[len(sorted)/2]
	if !(level > 0) {
		i, _ := slices.BinarySearch(sorted, math.SmallestNonzeroFloat64)
		if active = len(sorted) - i; active < 3 {
			return 1, 0
		}
		level = sorted[i+active/2]
	}
	d := make([]float64, 0, len(values)-1)
	for i := 1; i < len(values); i++ {
		if active == 0 || values[i] > 0 || values[i-1] > 0 {
			d = append(d, math.Abs(values[i]-values[i-1]))
		}
	}
	slices.Sort(d)
	noise := d[len(d)/2] / (0.6745 * math.Sqrt2)
	k = maxScaledLevel / level
	if noise > 0 {
		k = min(k, level/(noise*noise))
	}
	return k, active
}

// regularize makes an export's rows (with a value) one regular series, each
// repair a warning; absentAt are the times of its rows without a value, which
// count only towards the export's spacing.
func regularize(rows []row, absentAt []time.Time) (*Series, error) {
	s := &Series{Counts: true, Scale: 1}
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
		if math.IsInf(sum, 0) {
			// Each value was finite, or its row was refused: only the sum
			// of a repeated timestamp's runs past what a float64 holds.
			return nil, fmt.Errorf("line %d: timestamp %s repeated, and its %d values add up to more than %g", rows[i].line, rows[i].text, j-i, math.MaxFloat64)
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
	if len(absentAt) > 0 {
		// The rows without a value were buckets all the same: the export's
		// spacing is read with them, or a run of them would widen it.
		all := slices.Concat(s.Times, absentAt)
		slices.SortFunc(all, time.Time.Compare)
		s.Width = medianStep(slices.CompactFunc(all, time.Time.Equal))
	}
	gaps, longest, fill := 0, time.Duration(0), 0
	for i := 1; i < len(s.Times); i++ {
		step := s.Times[i].Sub(s.Times[i-1])
		if n := missing(step, s.Width); n > 0 {
			gaps++
			longest = max(longest, step)
			if fill += n; s.Counts && (n > maxFilled || fill > maxFilled) {
				return nil, fmt.Errorf("%s follows %s: filling the gaps of this count series with zero buckets of %s would take more than %d (a timestamp out of place, or a year mistyped?)",
					s.Text[i], s.Text[i-1], s.Width, maxFilled)
			}
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
		var active int
		s.Scale, active = measurementScale(s.Values)
		// Values near the smallest a float64 holds (1e-320) make the
		// scale overflow, and one near the largest overflows once scaled:
		// refused here, with the values, rather than as an infinite count.
		if top := slices.Max(s.Values); !(s.Scale > 0) || math.IsInf(s.Scale, 0) || math.IsInf(top*s.Scale, 0) {
			return nil, fmt.Errorf("measurements from %g to %g are out of the range this reader can scale to counts (times %g): rescale the export",
				slices.Min(s.Values), top, s.Scale)
		}
		where := ""
		if active > 0 {
			where = fmt.Sprintf(" where it is active (its median is 0: measured on the %d values above 0)", active)
		}
		warn("line %d: value %s %s, so the series is read as measurements, not counts; rows kept in sequence at their own times, %s; each value read times %s, the unit in which its noise from one row to the next is a count's%s",
			r.line, strconv.FormatFloat(r.v, 'g', -1, 64), what, gapNote, strconv.FormatFloat(s.Scale, 'g', 4, 64), where)
	}

	s.regTimes, s.regValues, s.at = s.Times, s.Values, make([]int, len(s.Times))
	for i := range s.at {
		s.at[i] = i
	}
	if !s.Counts || gaps == 0 {
		return s, nil
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
	return s, nil
}

// maxFilled bounds the zero buckets ReadSeries fills into a count series'
// gaps: a hundred years of minutes is 53 million, and one stray timestamp
// must not make the reader allocate them.
const maxFilled = 5_000_000

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
