package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBacktest runs `trendwatch backtest args...` and returns its stdout and stderr.
func runBacktest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"backtest"}, args...))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// messyExport is a count export with what real ones have: an unsorted row, a
// repeated hour and a gap, then a burst.
func messyExport(n int) string {
	t0 := time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) string { return t0.Add(time.Duration(i) * 5 * time.Minute).Format(time.DateTime) }
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range n {
		switch {
		case i == 100: // swapped with 101 below
			continue
		case i >= 300 && i < 303: // lost buckets
			continue
		}
		v := 5 + i%3
		if i >= n-100 && i < n-94 {
			v = 400
		}
		fmt.Fprintf(&b, "%s,%d\n", at(i), v)
		if i == 101 {
			fmt.Fprintf(&b, "%s,%d\n", at(100), 6)
		}
		if i == 200 {
			fmt.Fprintf(&b, "%s,%d\n", at(200), 3) // the hour repeated
		}
	}
	return b.String()
}

func TestBacktestSeriesCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tweets", "messy.csv")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	if err := os.WriteFile(file, []byte(messyExport(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC).Add((n - 110) * 5 * time.Minute).Format(time.DateTime)
	end := time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC).Add((n - 80) * 5 * time.Minute).Format(time.DateTime)
	windows := filepath.Join(dir, "windows.json")
	if err := os.WriteFile(windows, []byte(fmt.Sprintf(`{"tweets/messy.csv": [[%q, %q]]}`, start+".000000", end+".000000")), 0o644); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(dir, "messy.svg")

	stdout, stderr, err := runBacktest(t, "--series", file, "--format", "nab", "--windows", windows, "--plot", plot)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// One row per distinct timestamp of the file: n less the three lost.
	if len(rows) != 1+n-3 || strings.Join(rows[0], ",") != "timestamp,value,anomaly_score,alert" {
		t.Fatalf("%d rows, header %v; want %d", len(rows), rows[0], 1+n-3)
	}
	if want := fmt.Sprint(5 + 200%3 + 3); rows[1+200][1] != want {
		t.Errorf("the repeated timestamp reads %s, want the two rows summed (%s)", rows[1+200][1], want)
	}
	for _, want := range []string{
		"warning: tweets/messy.csv: 1 row is earlier than a row above",
		"1 row repeats the timestamp of a row before",
		"3 missing buckets of 5m0s in 1 gap",
		"| tweets | 1 | 2997 | 1 |",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	pages := 0
	for _, r := range rows[1:] {
		if r[3] == "1" {
			pages++
		}
	}
	svg, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Errorf("%s does not parse: %v", plot, err)
	}
	if got := strings.Count(string(svg), `class="page"`); got != pages || pages == 0 {
		t.Errorf("%d page markers for %d pages", got, pages)
	}
	if !strings.Contains(string(svg), `class="window"`) || !strings.Contains(string(svg), `class="series"`) {
		t.Error("the plot has no window or no series")
	}
}

func TestBacktestCorpusCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, name := range []string{"a/one.csv", "a/two.csv", "b/three.csv"} {
		p := filepath.Join(data, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(messyExport(2000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	windows := filepath.Join(dir, "windows.json")
	w := `{"a/one.csv": [["2015-03-07 12:00:00.000000", "2015-03-07 16:00:00.000000"]], "a/two.csv": [], "b/three.csv": []}`
	if err := os.WriteFile(windows, []byte(w), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runBacktest(t, "--series", data, "--windows", windows)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"| a | 2 | 3994 | 1 |", "| b | 1 | 1997 | 0 |", "| **all** | 3 | 5991 | 1 |"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table has no row starting %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "100.0%") || !strings.Contains(stderr, "warning: b/three.csv:") {
		t.Errorf("stderr has no finished progress bar or no warnings:\n%s", stderr)
	}

	// One category's folder, flat, read with NAB's keys: "a/one.csv".
	stdout, stderr, err = runBacktest(t, "--series", filepath.Join(data, "a"), "--windows", windows)
	if err != nil {
		t.Fatalf("flat folder: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "| a | 2 | 3994 | 1 |") || strings.Contains(stdout, "| b |") {
		t.Errorf("flat folder a: table has no row \"| a | 2 | 3994 | 1 |\" alone:\n%s", stdout)
	}
	// Without labels, with --out: each file's pages, and each file's scores
	// in the corpus's layout.
	scores := filepath.Join(dir, "scores")
	stdout, stderr, err = runBacktest(t, "--series", data, "--out", scores)
	if err != nil {
		t.Fatalf("without --windows: %v\n%s", err, stderr)
	}
	for _, want := range []string{"| file | rows | pages |", "| a/one.csv | 1997 |", "| b/three.csv | 1997 |", "of 3 files paged"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("without --windows: output has no %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "100.0%") {
		t.Errorf("without --windows: stderr has no finished progress bar:\n%s", stderr)
	}
	for _, name := range []string{"a/one.csv", "a/two.csv", "b/three.csv"} {
		b, err := os.ReadFile(filepath.Join(scores, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("--out: %v", err)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "timestamp,value,anomaly_score,alert" || len(lines) != 1+1997 {
			t.Errorf("--out %s: header %q and %d rows, want the scores' header and 1997 rows", name, lines[0], len(lines)-1)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--series", dir}, "no CSV files"},
		{[]string{"--series", data, "--out", data}, "give --out a folder of its own"},
		{[]string{"--series", filepath.Join(data, "a"), "--out", data}, "give --out a folder of its own"},
		{[]string{"--series", data, "--windows", windows, "--plot", filepath.Join(dir, "x.svg")}, "--plot draws one file"},
		{[]string{"--series", filepath.Join(dir, "missing")}, "--series: stat"},
		{[]string{"--events", windows, "--windows", windows}, "go with --series"},
	} {
		_, _, err := runBacktest(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}

// TestBacktestEventsWithoutEvents: an --events file with no valid event (an
// empty file, or a count series given in its place) is an error, not a
// result of nothing at exit 0.
func TestBacktestEventsWithoutEvents(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, body, want string }{
		{"empty", "", "no valid event among 0 lines"},
		{"a CSV", "timestamp,value\n2015-03-01 00:00:00,3\n2015-03-01 00:05:00,4\n", "no valid event among 3 lines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".jsonl")
			if err := os.WriteFile(file, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := runBacktest(t, "--events", file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (%s), want it to say %q", err, stderr, tt.want)
			}
		})
	}
}

// TestFlagsThatDoNotApply: a flag the chosen mode ignores, or a value the
// command cannot mean, is refused rather than run without it.
func TestFlagsThatDoNotApply(t *testing.T) {
	series := filepath.Join(t.TempDir(), "s.csv")
	if err := os.WriteFile(series, []byte(messyExport(300)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"backtest", "--series", series, "--labels", "labels.jsonl"}, "--labels goes with --events"},
		{[]string{"backtest", "--events", "events.jsonl", "--out", "x.csv"}, "--out goes with --series"},
		{[]string{"demo", "--wall", "-5s"}, "--wall: must be >= 0"},
		{[]string{"demo", "--rows", "0"}, "--rows: must be >= 1"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(tt.args)
			if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
