package nab

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

// The check values of SCORING.md §2 and §10.

func TestScaledSigmoid(t *testing.T) {
	if got := ScaledSigmoid(-1); got != 0.9866142981514305 {
		t.Errorf("maxTP = %v, want 0.9866142981514305 exactly", got)
	}
	cases := []struct{ y, want float64 }{
		{-0.5, 0.84828}, {-0.25, 0.55460}, {0, 0}, {0.5, -0.84828}, {0.75, -0.95405}, {1, -0.98661}, {3, -0.99999939},
	}
	for _, tc := range cases {
		if got := ScaledSigmoid(tc.y); math.Abs(got-tc.want) > 5e-6 {
			t.Errorf("S(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
	if got := ScaledSigmoid(3.0000001); got != -1 {
		t.Errorf("S(>3) = %v, want -1 exactly", got)
	}
}

func TestProbation(t *testing.T) {
	for n, want := range map[int]float64{100: 15, 4999: 749, 5000: 750, 15902: 750} {
		if got := Probation(n); got != want {
			t.Errorf("Probation(%d) = %v, want %v", n, got, want)
		}
	}
}

// NAB tests/integration/sweeper_test.py.
func TestSweepUnitExample(t *testing.T) {
	rows := []Row{
		{0.5, -1000, "", true}, {0.5, -1000, "", true},
		{0.0, -3, "", false}, {0.2, 20, "A", false}, {0.3, 10, "A", false}, {0.5, 5, "B", false}, {0.5, -3, "", false},
	}
	got := Sweep(rows, Profile{TP: 1, FP: 1, FN: 5})
	want := []Point{
		{1.1, -10, 0, 2, 0, 3}, {0.5, -3, 1, 1, 1, 2}, {0.3, 12, 2, 1, 1, 1}, {0.2, 22, 3, 1, 1, 0}, {0.0, 19, 3, 0, 2, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("Sweep = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Threshold != w.Threshold || !close(g.Score, w.Score) || g.TP != w.TP || g.TN != w.TN || g.FP != w.FP || g.FN != w.FN {
			t.Errorf("point %d = %+v, want %+v", i, g, w)
		}
	}
	if b := Best(got); b.Threshold != 0.2 {
		t.Errorf("Best = %+v, want threshold 0.2", b)
	}
	for _, tc := range []struct{ th, want float64 }{{0.5, -3}, {0.4, -3}, {0.25, 12}, {1.2, -10}, {-1, 19}} {
		if p := At(got, tc.th); !close(p.Score, tc.want) {
			t.Errorf("At(%v) = %+v, want score %v", tc.th, p, tc.want)
		}
	}
}

func minutes(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = time.Date(2015, 3, 1, 0, i, 0, 0, time.UTC)
	}
	return ts
}

// NAB tests/integration/scorer_test.py::testScoringAllMetrics: 100 rows, no
// probation, windows [30..34] and [65..69], detections at 30, 31 and 37.
func TestScoreFileExample(t *testing.T) {
	ts := minutes(100)
	windows := []Window{{ts[30], ts[34]}, {ts[65], ts[69]}}
	scores := make([]float64, 100)
	scores[30], scores[31], scores[37] = 1, 1, 1
	rows, err := Rows("f.csv", ts, scores, windows, Profile{TP: 1, FP: 1, FN: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].Probationary = false // the NAB test scores with no probationary period
	}
	p := At(Sweep(rows, Profile{TP: 1, FP: 1, FN: 1}), 0.5)
	if !close(p.Score, -0.9540452601799487) || p.TP != 2 || p.FP != 1 || p.FN != 8 || p.TN != 89 {
		t.Errorf("score %+v, want -0.9540452601799487 with tp=2 fp=1 fn=8 tn=89", p)
	}
}

func TestRowsWeights(t *testing.T) {
	ts := minutes(2000)
	windows := []Window{{ts[1000], ts[1099]}}
	rows, err := Rows("f.csv", ts, make([]float64, len(ts)), windows, Profile{TP: 1, FP: 0.11, FN: 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		i      int
		weight float64
		window string
		prob   bool
	}{
		{0, -0.11, "", true},
		{299, -0.11, "", true}, // P(2000) = 300
		{300, -0.11, "", false},
		{999, -0.11, "", false}, // before the first window: the full penalty
		{1000, 1, "f.csv|2015-03-01 16:40:00", false},
		{1099, ScaledSigmoid(-1.0/100) / ScaledSigmoid(-1), "f.csv|2015-03-01 16:40:00", false},
		{1100, 0.11 * ScaledSigmoid(1.0/99), "", false},
		{1500, -0.11, "", false},
	}
	for _, tc := range cases {
		r := rows[tc.i]
		if !close(r.Weight, tc.weight) || r.Window != tc.window || r.Probationary != tc.prob {
			t.Errorf("row %d = %+v, want weight %v window %q probationary %v", tc.i, r, tc.weight, tc.window, tc.prob)
		}
	}
	if _, err := Rows("f.csv", ts, make([]float64, len(ts)), []Window{{ts[5], ts[5].Add(time.Second)}}, Profile{}); err == nil {
		t.Error("a window not ending on a row was accepted")
	}
	bad := make([]float64, len(ts))
	bad[3] = 1.5
	if _, err := Rows("f.csv", ts, bad, nil, Profile{}); err == nil {
		t.Error("an anomaly score above 1 was accepted")
	}
}

// TestCorpusBounds: the null detector scores 0 and a detector that fires once
// at the start of every window scores 100, on the real windows of the shared data.
func TestCorpusBounds(t *testing.T) {
	files, windows, profiles := loadTweets(t)
	null, perfect := Corpus{Windows: windows}, Corpus{Windows: windows}
	for _, f := range files {
		half := make([]float64, len(f.ts))
		first := make([]float64, len(f.ts))
		for i := range half {
			half[i] = 0.5
		}
		for _, w := range windows[f.name] {
			first[index(f.ts, w.Start)] = 1
		}
		null.Files = append(null.Files, File{f.name, f.ts, half})
		perfect.Files = append(perfect.Files, File{f.name, f.ts, first})
	}
	for _, name := range ProfileNames() {
		p := profiles[name]
		n, err := null.ScoreBest(p)
		if err != nil {
			t.Fatal(err)
		}
		if n.Threshold != 1.1 || !close(n.Normalized, 0) || n.Windows != 16 {
			t.Errorf("%s: null detector %+v, want 0 at threshold 1.1 over 16 windows", name, n)
		}
		q, err := perfect.ScoreAt(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !close(q.Normalized, 100) || q.Hit != 16 || q.FP != 0 {
			t.Errorf("%s: perfect detector %+v, want 100", name, q)
		}
	}
	if got := Normalize(46.63445, -116, 116); math.Abs(got-70.101) > 5e-4 {
		t.Errorf("Normalize of numenta's standard raw score = %v, want 70.101", got)
	}
}

func TestLoad(t *testing.T) {
	dir := dataDir(t)
	profiles, err := LoadProfiles(filepath.Join(dir, "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Profile{
		Standard:        {Standard, 1, 0.11, 1},
		RewardLowFPRate: {RewardLowFPRate, 1, 0.22, 1},
		RewardLowFNRate: {RewardLowFNRate, 1, 0.11, 2},
	}
	if !reflect.DeepEqual(profiles, want) {
		t.Errorf("profiles = %+v, want %+v", profiles, want)
	}
	if !reflect.DeepEqual(DefaultProfiles(), want) {
		t.Errorf("DefaultProfiles() = %+v, want NAB's %+v", DefaultProfiles(), want)
	}
	windows, err := LoadWindows(filepath.Join(dir, "windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ws := range windows {
		n += len(ws)
	}
	aapl := windows["realTweets/Twitter_volume_AAPL.csv"]
	if n != 16 || len(windows) != 5 || !aapl[0].Start.Equal(time.Date(2015, 3, 3, 4, 37, 53, 0, time.UTC)) {
		t.Errorf("%d windows in %d files, AAPL's first %v", n, len(windows), aapl[0])
	}
}

func TestReadSeries(t *testing.T) {
	ts, v, err := ReadSeries(strings.NewReader("timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53,1.5\n"))
	if err != nil || len(ts) != 2 || v[1] != 1.5 || !ts[0].Equal(time.Date(2015, 2, 26, 21, 42, 53, 0, time.UTC)) {
		t.Fatalf("ReadSeries = %v, %v, %v", ts, v, err)
	}
	for name, in := range map[string]string{
		"header":       "time,value\n",
		"empty":        "",
		"no comma":     "timestamp,value\n2015-02-26 21:42:53\n",
		"bad time":     "timestamp,value\n2015-02-26T21:42:53,1\n",
		"bad value":    "timestamp,value\n2015-02-26 21:42:53,x\n",
		"out of order": "timestamp,value\n2015-02-26 21:42:53,1\n2015-02-26 21:42:53,2\n",
	} {
		if _, _, err := ReadSeries(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		}
	}
}

func FuzzReadSeries(f *testing.F) {
	f.Add("timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53,100\n")
	f.Add("timestamp,value\n2015-02-26 21:42:53.5,1e3\n")
	f.Add("timestamp,value\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, v, err := ReadSeries(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(ts) != len(v) {
			t.Fatalf("%d timestamps, %d values", len(ts), len(v))
		}
		for i := 1; i < len(ts); i++ {
			if !ts[i].After(ts[i-1]) {
				t.Fatalf("row %d not after row %d", i, i-1)
			}
		}
	})
}

func FuzzParseWindows(f *testing.F) {
	f.Add([]byte(`{"realTweets/a.csv": [["2015-03-03 04:37:53.000000", "2015-03-04 13:37:53.000000"]]}`))
	f.Add([]byte(`{"a": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ws, err := ParseWindows(b)
		if err != nil {
			return
		}
		for file, list := range ws {
			for i, w := range list {
				if w.End.Before(w.Start) || i > 0 && w.Start.Before(list[i-1].Start) {
					t.Fatalf("%s: windows %v not sorted and well formed", file, list)
				}
			}
		}
	})
}

func FuzzParseProfiles(f *testing.F) {
	f.Add([]byte(`{"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParseProfiles(b)
		if err != nil {
			return
		}
		for name, p := range ps {
			if p.Name != name || !(p.TP > 0 && p.FP > 0 && p.FN > 0) {
				t.Fatalf("profile %q = %+v", name, p)
			}
		}
	})
}

func TestParseWindowsKeepsFilesWithout(t *testing.T) {
	w, err := ParseWindows([]byte(`{"a/none.csv": [], "a/one.csv": [["2015-03-01 00:05:00.000000", "2015-03-01 00:10:00.000000"]]}`))
	if err != nil {
		t.Fatal(err)
	}
	none, ok := w["a/none.csv"]
	if !ok || len(none) != 0 || len(w["a/one.csv"]) != 1 {
		t.Errorf("windows = %v; want a/none.csv listed without windows, a/one.csv with one", w)
	}
}
