package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sim/dist"
)

func csvOf(rows ...string) string {
	return "timestamp,value\n" + strings.Join(rows, "\n") + "\n"
}

func TestReadSeries(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		times    []string  // distinct timestamps, as Text
		values   []float64 // what the detector reads at them
		regular  []float64 // the series RunSeries reads
		counts   bool
		shift    float64
		warnings []string // one substring per warning, in order
	}{
		{
			name:    "clean counts",
			in:      csvOf("2015-01-01 00:00:00,3", "2015-01-01 00:05:00,0", "2015-01-01 00:10:00,7"),
			times:   []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:10:00"},
			values:  []float64{3, 0, 7},
			regular: []float64{3, 0, 7},
			counts:  true,
		},
		{
			name:     "unsorted row",
			in:       csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:10:00,3", "2015-01-01 00:05:00,2", "2015-01-01 00:15:00,4"),
			times:    []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:10:00", "2015-01-01 00:15:00"},
			values:   []float64{1, 2, 3, 4},
			regular:  []float64{1, 2, 3, 4},
			counts:   true,
			warnings: []string{"1 row is earlier than a row above (first at line 4)"},
		},
		{
			name:     "clock set back: counts summed",
			in:       csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,2", "2015-01-01 00:05:00,5", "2015-01-01 00:05:00,1", "2015-01-01 00:10:00,4"),
			times:    []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:10:00"},
			values:   []float64{1, 8, 4},
			regular:  []float64{1, 8, 4},
			counts:   true,
			warnings: []string{"2 rows repeat the timestamp of a row before (1 timestamp, first repeat at line 4); counts summed"},
		},
		{
			name:    "gap in counts filled with zeros",
			in:      csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,2", "2015-01-01 00:20:00,5", "2015-01-01 00:25:00,1"),
			times:   []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:20:00", "2015-01-01 00:25:00"},
			values:  []float64{1, 2, 5, 1},
			regular: []float64{1, 2, 0, 0, 5, 1},
			counts:  true,
			warnings: []string{
				"2 missing buckets of 5m0s in 1 gap (longest 15m0s) filled with zero counts",
			},
		},
		{
			// 4 and 6 minutes around 5 are jitter, not a missing bucket.
			name:    "jitter is no gap",
			in:      csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,2", "2015-01-01 00:09:00,3", "2015-01-01 00:15:00,4", "2015-01-01 00:20:00,5"),
			times:   []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:09:00", "2015-01-01 00:15:00", "2015-01-01 00:20:00"},
			values:  []float64{1, 2, 3, 4, 5},
			regular: []float64{1, 2, 3, 4, 5},
			counts:  true,
		},
		{
			name:     "measurements: gaps kept, repeats averaged",
			in:       csvOf("2015-01-01 00:00:00,1.5", "2015-01-01 00:05:00,2", "2015-01-01 00:05:00,4", "2015-01-01 00:20:00,5", "2015-01-01 00:25:00,1"),
			times:    []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:20:00", "2015-01-01 00:25:00"},
			values:   []float64{1.5, 3, 5, 1},
			regular:  []float64{1.5, 3, 5, 1},
			warnings: []string{"measurements averaged", "line 2: value 1.5 has a fraction, so the series is read as measurements, not counts; rows kept in sequence at their own times, 1 gap (longest 15m0s) left unfilled, no zeros invented"},
		},
		{
			name:    "negative values shifted",
			in:      csvOf("2015-01-01 00:00:00,3", "2015-01-01 00:05:00,-22", "2015-01-01 00:10:00,7"),
			times:   []string{"2015-01-01 00:00:00", "2015-01-01 00:05:00", "2015-01-01 00:10:00"},
			values:  []float64{25, 0, 29},
			regular: []float64{25, 0, 29},
			shift:   22,
			warnings: []string{
				"values go down to -22; every value shifted up by 22",
				"line 3: value -22 is negative, so the series is read as measurements",
			},
		},
		{
			name:     "another header, semicolons",
			in:       "Date;Count\n2015-01-01;3\n2015-01-02;4\n",
			times:    []string{"2015-01-01", "2015-01-02"},
			values:   []float64{3, 4},
			regular:  []float64{3, 4},
			counts:   true,
			warnings: []string{`column "Date" read as the time, "Count" as the value`},
		},
		{
			name:     "value before time, more columns, tabs, minutes",
			in:       "value\tlabel\ttime\n3\ta\t2015-01-01 00:00\n5\tb\t2015-01-01 00:01\n",
			times:    []string{"2015-01-01 00:00", "2015-01-01 00:01"},
			values:   []float64{3, 5},
			regular:  []float64{3, 5},
			counts:   true,
			warnings: []string{`column "time" read as the time, "value" as the value`},
		},
		{
			name:     "no header, Unix seconds",
			in:       "1420070400,3\n1420070460,0\n1420070520.0,7\n",
			times:    []string{"1420070400", "1420070460", "1420070520.0"},
			values:   []float64{3, 0, 7},
			regular:  []float64{3, 0, 7},
			counts:   true,
			warnings: []string{"no header: column 1 read as the time, column 2 as the value"},
		},
		{
			name:    "Unix milliseconds",
			in:      csvOf("1420070400000,1", "1420070700000,2"),
			times:   []string{"1420070400000", "1420070700000"},
			values:  []float64{1, 2},
			regular: []float64{1, 2},
			counts:  true,
		},
		{
			// pandas writes a missing value empty or NaN, R writes NA.
			name:    "missing values are missing buckets",
			in:      csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,", "2015-01-01 00:10:00,NaN", "2015-01-01 00:15:00,4", "2015-01-01 00:20:00, NA ", "2015-01-01 00:25:00,2"),
			times:   []string{"2015-01-01 00:00:00", "2015-01-01 00:15:00", "2015-01-01 00:25:00"},
			values:  []float64{1, 4, 2},
			regular: []float64{1, 0, 0, 4, 0, 2},
			counts:  true,
			warnings: []string{
				`3 rows have no value (first at line 3: ""), read as missing buckets, as gaps are`,
				"3 missing buckets of 5m0s in 2 gaps (longest 15m0s) filled with zero counts",
			},
		},
		{
			name:     "no header, the first row without a value",
			in:       "2015-01-01 00:00:00,\n2015-01-01 00:05:00,2\n2015-01-01 00:10:00,3\n",
			times:    []string{"2015-01-01 00:05:00", "2015-01-01 00:10:00"},
			values:   []float64{2, 3},
			regular:  []float64{2, 3},
			counts:   true,
			warnings: []string{"no header", `1 row has no value (first at line 1: "")`},
		},
		{
			name:    "BOM, CRLF, blank line, fractional seconds",
			in:      "\ufefftimestamp,value\r\n2015-01-01 00:00:00.000000,1\r\n\r\n2015-01-01 00:05:00,2\r\n",
			times:   []string{"2015-01-01 00:00:00.000000", "2015-01-01 00:05:00"},
			values:  []float64{1, 2},
			regular: []float64{1, 2},
			counts:  true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadSeries(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Text, tc.times) || !slices.Equal(s.Values, tc.values) || !slices.Equal(s.regValues, tc.regular) {
				t.Errorf("got times %q values %v regular %v\nwant times %q values %v regular %v",
					s.Text, s.Values, s.regValues, tc.times, tc.values, tc.regular)
			}
			if s.Counts != tc.counts || s.Shift != tc.shift {
				t.Errorf("counts %v shift %v, want %v %v", s.Counts, s.Shift, tc.counts, tc.shift)
			}
			if len(s.Warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d like %q", s.Warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(s.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to say %q", i, s.Warnings[i], w)
				}
			}
			for k := 1; k < len(s.regTimes); k++ {
				if !s.regTimes[k].After(s.regTimes[k-1]) {
					t.Fatalf("regular row %d at %s, not after %s", k, s.regTimes[k], s.regTimes[k-1])
				}
			}
		})
	}
}

func TestReadSeriesRefuses(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"text value", csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,lots"), `line 3: value "lots" is not a number`},
		{"Inf", csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,+Inf"), `line 3: value "+Inf" is not a finite number`},
		{"a repeat's sum past float64", csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,1e308", "2015-01-01 00:05:00,1e308", "2015-01-01 00:10:00,3"),
			"line 3: timestamp 2015-01-01 00:05:00 repeated, and its 2 values add up to more than"},
		{"no value at all", csvOf("2015-01-01 00:00:00,", "2015-01-01 00:05:00,NaN"), `no row after the header has a value (2 without one, first at line 2)`},
		{"bad time", csvOf("yesterday,1"), `line 2: timestamp "yesterday"`},
		{"one field", csvOf("2015-01-01 00:00:00"), `line 2: "2015-01-01 00:00:00" has 1 fields, want the time in field 1 and the value in field 2`},
		{"no time column", "when,amount\n2015-01-01 00:00:00,1\n", `line 1: header "when,amount" names no time column`},
		{"no value column", "time,a,b\n2015-01-01 00:00:00,1,2\n", `line 1: header "time,a,b" names no value column`},
		{"a century's gap", csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:01:00,1", "2015-01-01 00:02:00,1", "2115-01-01 00:00:00,1"),
			"2115-01-01 00:00:00 follows 2015-01-01 00:02:00: filling the gaps of this count series with zero buckets of 1m0s would take more than 5000000"},
		{"small number", csvOf("12345,1"), `line 2: timestamp "12345": a number, but not a Unix time`},
		{"no rows", "timestamp,value\n", "no rows"},
		{"empty file", "", "empty file"},
		{"a newline alone", "\n", "empty file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSeries(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(path, []byte(csvOf("2015-01-01 00:00:00,x")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSeriesFile(path); err == nil || !strings.Contains(err.Error(), path+": line 2:") {
		t.Errorf("err = %v, want it to name %s and line 2", err, path)
	}
}

// TestReportMapsPagesBack: a page on a filled bucket is reported on the next
// row of the export, never lost, never counted twice.
func TestReportMapsPagesBack(t *testing.T) {
	s, err := ReadSeries(strings.NewReader(csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,2", "2015-01-01 00:10:00,2",
		"2015-01-01 00:25:00,5", "2015-01-01 00:30:00,1", "2015-01-01 00:35:00,1", "2015-01-01 00:50:00,3")))
	if err != nil {
		t.Fatal(err)
	}
	// Regular rows: 0:00 0:05 0:10 [0:15 0:20] 0:25 0:30 0:35 [0:40 0:45] 0:50,
	// the bracketed ones filled.
	cases := []struct {
		name   string
		scores []float64
		alerts []int // regular rows that page
		want   []int // export rows that page
		wantSc []float64
		moved  int
		merged int
	}{
		{"page on an export row", []float64{0, 0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []int{1}, []int{1}, []float64{0, 0.6, 0, 0, 0, 0, 0}, 0, 0},
		{"page on a filled bucket moves on", []float64{0, 0, 0, 0.7, 0, 0.2, 0, 0, 0, 0, 0}, []int{3}, []int{3}, []float64{0, 0, 0, 0.7, 0, 0, 0}, 1, 0},
		{"two pages on one row count once", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.9, 0.1}, []int{8, 10}, []int{6}, []float64{0, 0, 0, 0, 0, 0, 0.9}, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			alerts := make([]bool, len(s.regTimes))
			for _, k := range tc.alerts {
				alerts[k] = true
			}
			res := s.report(tc.scores, alerts)
			var got []int
			for i, a := range res.Alerts {
				if a {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(res.Scores, tc.wantSc) {
				t.Errorf("pages on rows %v scores %v, want %v %v", got, res.Scores, tc.want, tc.wantSc)
			}
			if res.Pages != len(tc.alerts) || res.Moved != tc.moved || res.Merged != tc.merged || res.Pages-res.Merged != len(got) {
				t.Errorf("pages %d moved %d merged %d, want %d %d %d", res.Pages, res.Moved, res.Merged, len(tc.alerts), tc.moved, tc.merged)
			}
		})
	}
}

// TestRunAfterGap runs the detector over a count series with a gap just before
// a burst: the page comes on the burst's second row of the export (its first is
// a lone outlier until the second confirms it), not shifted by the gap.
func TestRunAfterGap(t *testing.T) {
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	step := 5 * time.Minute
	n := 3000
	for i := range n {
		if i >= 2000 && i < 2003 { // a gap of three buckets
			continue
		}
		v := 5 + i%3
		if i >= 2003 && i < 2010 {
			v = 400
		}
		b.WriteString(t0.Add(time.Duration(i)*step).Format(time.DateTime) + "," + strconv.Itoa(v) + "\n")
	}
	s, err := ReadSeries(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Filled != 3 || len(s.Times) != n-3 || len(s.regTimes) != n {
		t.Fatalf("filled %d, %d rows, %d regular; want 3, %d, %d", s.Filled, len(s.Times), len(s.regTimes), n-3, n)
	}
	res, err := s.Run(detectors.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Alerts[2001] || res.Pages != 1 {
		t.Errorf("%d pages; the burst after the gap pages on its second row (%s): %v", res.Pages, s.Text[2001], res.Alerts[2001])
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2015, 1, 1, 0, 5, 0, 0, time.UTC)
	for _, in := range []string{
		"2015-01-01 00:05:00", "2015-01-01 00:05:00.000000", "2015-01-01T00:05:00Z", "2015-01-01T01:05:00+01:00",
		"2015-01-01T00:05:00", "2015-01-01 00:05", "2015-01-01T00:05", "2015/01/01 00:05:00", "2015/01/01 00:05",
		"1420070700", "1420070700.0", "1420070700000", " 1420070700 ",
		"2015-01-01 01:05:00+01:00", "2015-01-01 00:05:00.000+00:00", "2015-01-01T01:05:00+0100", "2015-01-01 00:05:00 UTC",
		"2015-01-01 00:05:00 GMT", "Thu Jan 01 00:05:00 +0000 2015",
	} {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if got, err := ParseTime("2015-01-01"); err != nil || !got.Equal(want.Truncate(24*time.Hour)) {
		t.Errorf("a date alone: %s, %v", got, err)
	}
	if got, err := ParseTime("1420070700.25"); err != nil || !got.Equal(want.Add(250*time.Millisecond)) {
		t.Errorf("fractional seconds: %s, %v", got, err)
	}
	for _, in := range []string{"", "yesterday", "12345", "-1420070700", "1e20", "NaN", "2015-13-01 00:00:00", "2015-01-01 00:05:00 CST", "01/02/2015 00:05"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) took it", in)
		}
	}
}

// FuzzReadSeries: whatever the bytes, ReadSeries refuses them or returns a
// series the detector can run: distinct times in order, one value each, a
// regular series strictly later row by row, no value below zero.
func FuzzReadSeries(f *testing.F) {
	f.Add(csvOf("2015-01-01 00:00:00,3", "2015-01-01 00:05:00,0", "2015-01-01 00:20:00,7"))
	f.Add("Date;Count\n2015-01-01;3\n2015-01-02;-4\n")
	f.Add("1420070400,3\n1420070460,0.5\n1420070400,7\n")
	f.Add("value\tlabel\ttime\n3\ta\t2015-01-01 00:00\n")
	f.Add("\ufefftimestamp,value\r\n2015-01-01 00:00:00.000000,1\r\n\r\n")
	f.Add(csvOf("2015-01-01 00:00:00,1", "2015-01-01 00:05:00,", "2015-01-01 00:10:00,NA", "2015-01-01 00:15:00,4"))
	f.Add(csvOf("2015-01-01 00:00:00,0", "2015-01-01 00:05:00,1.5e-320", "2015-01-01 00:10:00,3e-320", "2015-01-01 00:15:00,2e-320"))
	f.Add(csvOf("2015-01-01 00:00:00,1.5", "2015-01-01 00:05:00,1.25", "2015-01-01 00:10:00,1e308", "2015-01-01 00:15:00,1.75"))
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ReadSeries(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(s.Times) == 0 || len(s.Times) != len(s.Text) || len(s.Times) != len(s.Values) {
			t.Fatalf("%d times, %d texts, %d values", len(s.Times), len(s.Text), len(s.Values))
		}
		for i := 1; i < len(s.Times); i++ {
			if !s.Times[i].After(s.Times[i-1]) {
				t.Fatalf("time %d (%s) not after %s", i, s.Times[i], s.Times[i-1])
			}
		}
		for k := 1; k < len(s.regTimes); k++ {
			if !s.regTimes[k].After(s.regTimes[k-1]) {
				t.Fatalf("regular row %d at %s, not after %s", k, s.regTimes[k], s.regTimes[k-1])
			}
		}
		for _, v := range s.regValues {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(v*s.Scale, 0) {
				t.Fatalf("regular value %v, times scale %v", v, s.Scale)
			}
		}
		if !(s.Scale > 0) || math.IsInf(s.Scale, 0) {
			t.Fatalf("scale %v", s.Scale)
		}
		// Run's time grows with the buckets: a gap filled up to maxFilled
		// (4.95 million zero buckets from a four-row file with a year out of
		// place) took 18 s, past what the fuzzer waits for one input, which
		// it then reported as a failure. What the reader made is checked
		// above whatever its length.
		if len(s.regValues) > 100_000 {
			return
		}
		if _, err := s.Run(detectors.DefaultConfig()); err != nil {
			t.Fatalf("run: %v", err)
		}
	})
}

func TestMeasurementScale(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rate := make([]float64, 2000) // counts of about 50 a bucket, per second of a two-minute bucket
	for i := range rate {
		rate[i] = dist.Poisson(r, 50) / 120
	}
	noisy := make([]float64, 2000) // a CPU share about 30 %, its noise 2.1 points (3 from one row to the next)
	for i := range noisy {
		noisy[i] = 30 + 3*r.NormFloat64()/math.Sqrt2
	}
	idle := make([]float64, 2000) // counts of about 400 per second of a minute in stretches of 50 rows, 0 in between, thrice as long
	for i := range idle {
		if i%200 < 50 {
			idle[i] = dist.Poisson(r, 400) / 60
		}
	}
	for _, tc := range []struct {
		name   string
		values []float64
		lo, hi float64
		active int // values above 0 it is measured on, 0 for every row
	}{
		{"a rate of counts is read as the counts", rate, 100, 140, 0},
		{"a noisy measurement", noisy, 30 / 4.5 * 0.85, 30 / 4.5 * 1.15, 0},
		{"no noise between rows: relative changes alone", []float64{20, 20, 20, 20, 40, 20, 20}, maxScaledLevel / 20, maxScaledLevel / 20, 0},
		{"a median of 0: measured where it is active", idle, 60 * 0.75, 60 * 1.25, 500},
		{"a median of 0, too few active rows to say", []float64{0, 0, 0, 0.5, 0, 0.7}, 1, 1, 0},
		{"too short to say", []float64{0.2, 0.3}, 1, 1, 0},
	} {
		k, active := measurementScale(tc.values)
		if k < tc.lo || k > tc.hi || active != tc.active {
			t.Errorf("%s: scale %.4g on %d active values, want %.4g to %.4g on %d", tc.name, k, active, tc.lo, tc.hi, tc.active)
		}
	}
}

// TestMeasurementSurgePages checks that a measurement far below the count
// model's supports is judged on its own noise: a rate per second of about 50
// posts a bucket that rises fivefold for an hour pages in that hour, and its
// values come back as they were written.
func TestMeasurementSurgePages(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const n, onset = 3 * 720, 2*720 + 300
	for i := range n {
		mu := 50.0
		if i >= onset && i < onset+30 {
			mu = 250
		}
		fmt.Fprintf(&b, "%s,%s\n", start.Add(time.Duration(i)*2*time.Minute).Format(time.DateTime), strconv.FormatFloat(dist.Poisson(r, mu)/120, 'f', 4, 64))
	}
	s, err := ReadSeries(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts || s.Scale < 100 || s.Scale > 140 {
		t.Fatalf("counts %v, scale %.4g: want a measurement read near 120 times", s.Counts, s.Scale)
	}
	res, err := s.Run(detectors.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	paged := false
	for i := onset; i < onset+30; i++ {
		paged = paged || res.Alerts[i]
	}
	if !paged {
		t.Error("a fivefold rise for an hour did not page")
	}
	if s.Values[0] > 2 {
		t.Errorf("first value %v: want the export's own, not scaled", s.Values[0])
	}
}
