package backtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
)

// burstSeries is a quiet count series of n five-minute rows with a burst at
// row at (none if at < 0), as NAB's CSV.
func burstSeries(n, at int) string {
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range n {
		v := 5 + i%3
		if at >= 0 && i >= at && i < at+6 {
			v = 400
		}
		fmt.Fprintf(&b, "%s,%d\n", t0.Add(time.Duration(i)*5*time.Minute).Format(time.DateTime), v)
	}
	return b.String()
}

// writeCorpus lays out a corpus in NAB's layout under a temporary folder and
// returns it with its windows file.
func writeCorpus(t *testing.T, files map[string]string, windows string) (dir, windowsFile string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "data")
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	windowsFile = filepath.Join(root, "windows.json")
	if err := os.WriteFile(windowsFile, []byte(windows), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, windowsFile
}

func TestScoreCorpus(t *testing.T) {
	dir, wf := writeCorpus(t, map[string]string{
		"tweets/burst.csv":   burstSeries(3000, 2000),
		"tweets/quiet.csv":   burstSeries(3000, -1),
		"other/gappy.csv":    strings.Replace(burstSeries(3000, 2500), "2015-01-02 00:00:00,5\n", "", 1),
		"other/notes.txt":    "not a series",
		"stray-at-root.csv":  burstSeries(10, -1),
		"other/nested/x.csv": burstSeries(10, -1),
	}, `{
		"tweets/burst.csv": [["2015-01-07 22:00:00.000000", "2015-01-08 02:00:00.000000"]],
		"tweets/quiet.csv": [],
		"other/gappy.csv": [["2015-01-09 14:00:00.000000", "2015-01-09 18:00:00.000000"]],
		"held/out.csv": [["2015-01-01 00:00:00.000000", "2015-01-01 01:00:00.000000"]]
	}`)
	windows, profiles, err := LoadLabels(wf)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(profiles) != fmt.Sprint(nab.DefaultProfiles()) {
		t.Errorf("without a profiles.json, profiles = %v, want NAB's", profiles)
	}
	var calls int
	var last [3]int64
	files, err := RunCorpus(detectors.DefaultConfig(), dir, func(read, rows, total int64) {
		calls++
		last = [3]int64{read, rows, total}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || calls != 3 || last[0] != last[2] || last[1] != 3000+3000+2999 {
		t.Fatalf("%d files, %d progress calls, last %v; want 3 files, 3 calls, all bytes and 8999 rows", len(files), calls, last)
	}
	sc, err := ScoreCorpus(files, windows, profiles)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		cat                 string
		files, windows, hit int
	}{{"other", 1, 1, 1}, {"tweets", 2, 1, 1}, {AllCategories, 3, 2, 2}}
	if len(sc.Categories) != len(want) {
		t.Fatalf("%d rows, want %d", len(sc.Categories), len(want))
	}
	for i, w := range want {
		c := sc.Categories[i]
		if c.Category != w.cat || c.Files != w.files || c.Windows != w.windows || c.Own[0].Hit != w.hit || len(c.Best) != 3 {
			t.Errorf("row %d = %s: %d files, %d windows, own hit %d; want %+v", i, c.Category, c.Files, c.Windows, c.Own[0].Hit, w)
		}
	}
	var b bytes.Buffer
	if err := sc.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if len(lines) < 5 || !strings.HasPrefix(lines[0], "| category | files |") || !strings.HasPrefix(lines[4], "| **all** | 3 | 8999 | 2 |") {
		t.Errorf("table:\n%s", b.String())
	}
	for _, l := range lines[:5] {
		if strings.Count(l, "|") != strings.Count(lines[0], "|") {
			t.Errorf("row %q has not as many columns as the header", l)
		}
	}

	delete(windows, "other/gappy.csv")
	if _, err := ScoreCorpus(files, windows, profiles); err == nil || !strings.Contains(err.Error(), "other/gappy.csv has no entry") {
		t.Errorf("a file without windows: err = %v", err)
	}
}

// TestFlatCorpus: a folder of CSV files and no category folders is one
// category named after the folder, so NAB's own folder of one category is read
// with NAB's keys; windows keyed by the bare file name serve where that name
// is the corpus's only one; WritePages reads a corpus without labels.
func TestFlatCorpus(t *testing.T) {
	root, _ := writeCorpus(t, map[string]string{
		"tweets/burst.csv": burstSeries(3000, 2000),
		"tweets/quiet.csv": burstSeries(3000, -1),
		"tweets/notes.txt": "not a series",
	}, "{}")
	files, err := RunCorpus(detectors.DefaultConfig(), filepath.Join(root, "tweets"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if fmt.Sprint(names) != "[tweets/burst.csv tweets/quiet.csv]" {
		t.Fatalf("files %v, want tweets/burst.csv and tweets/quiet.csv", names)
	}
	burst := [][2]string{{"2015-01-07 22:00:00.000000", "2015-01-08 02:00:00.000000"}}
	for _, tc := range []struct {
		name    string
		windows map[string][][2]string
	}{
		{"category keys", map[string][][2]string{"tweets/burst.csv": burst, "tweets/quiet.csv": {}}},
		{"bare keys", map[string][][2]string{"burst.csv": burst, "quiet.csv": {}}},
	} {
		ws := map[string][]nab.Window{}
		for k, v := range tc.windows {
			for _, w := range v {
				a, _ := time.Parse("2006-01-02 15:04:05.000000", w[0])
				b, _ := time.Parse("2006-01-02 15:04:05.000000", w[1])
				ws[k] = append(ws[k], nab.Window{Start: a, End: b})
			}
			if len(v) == 0 {
				ws[k] = nil
			}
		}
		sc, err := ScoreCorpus(files, ws, nab.DefaultProfiles())
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c := sc.Categories[0]; len(sc.Categories) != 1 || c.Category != "tweets" || c.Files != 2 || c.Windows != 1 || c.Own[0].Hit != 1 {
			t.Errorf("%s: %+v, want one category tweets of 2 files with its window hit", tc.name, sc.Categories)
		}
	}

	// A bare name two categories share is no one file's.
	dir, _ := writeCorpus(t, map[string]string{"a/x.csv": burstSeries(100, -1), "b/x.csv": burstSeries(100, -1)}, "{}")
	twins, err := RunCorpus(detectors.DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ScoreCorpus(twins, map[string][]nab.Window{"x.csv": nil}, nab.DefaultProfiles()); err == nil || !strings.Contains(err.Error(), "a/x.csv has no entry") {
		t.Errorf("a bare key two files share: err = %v", err)
	}

	var b bytes.Buffer
	if err := WritePages(&b, files); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| tweets/burst.csv | 3000 | 1 | 2015-01-07 ", "| tweets/quiet.csv | 3000 | 0 | – |", "1 of 2 files paged (50.0 %), 1 page in all"} {
		if !strings.Contains(out, want) {
			t.Errorf("pages table has no %q:\n%s", want, out)
		}
	}
}

func TestRunCorpusRefuses(t *testing.T) {
	dir, _ := writeCorpus(t, map[string]string{
		"a/good.csv": burstSeries(10, -1),
		"a/bad.csv":  "timestamp,value\n2015-01-01 00:00:00,1\n2015-01-01 00:05:00,inf\n",
	}, "{}")
	_, err := RunCorpus(detectors.DefaultConfig(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "a", "bad.csv")+": line 3:") {
		t.Errorf("err = %v, want the file and line of the bad value", err)
	}
	if _, err := RunCorpus(detectors.DefaultConfig(), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no CSV files") {
		t.Errorf("an empty folder was taken for a corpus: err = %v", err)
	}
}

// svgCounts parses an SVG and counts its elements by "name.class".
func svgCounts(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		key := se.Name.Local
		for _, a := range se.Attr {
			if a.Name.Local == "class" {
				key += "." + a.Value
			}
			if key == "path.series" && a.Name.Local == "d" {
				counts["path.points"] = strings.Count(a.Value, "L") + strings.Count(a.Value, "M")
				if !strings.HasPrefix(a.Value, "M") {
					t.Errorf("path data %.40q does not start with a move", a.Value)
				}
			}
		}
		counts[key]++
	}
	return counts
}

func TestWritePlot(t *testing.T) {
	cases := []struct {
		name      string
		rows      int
		maxPoints int
	}{
		{"short series: every row", 600, 600},
		{"long series: two points a column of pixels", 20000, plotMaxPathSteps + 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadSeries(strings.NewReader(burstSeries(tc.rows, tc.rows/2)))
			if err != nil {
				t.Fatal(err)
			}
			f := CorpusFile{Name: "tweets/<burst>.csv", Series: s, Result: s.report(make([]float64, len(s.Times)), make([]bool, len(s.Times)))}
			f.Result.Alerts[tc.rows/2], f.Result.Alerts[tc.rows/2+3] = true, true
			f.Result.Pages = 2
			w := []nab.Window{{Start: s.Times[tc.rows/2-10], End: s.Times[tc.rows/2+10]}, {Start: s.Times[10], End: s.Times[20]}}
			var b bytes.Buffer
			if err := WritePlot(&b, f.Name+" & co", f, w); err != nil {
				t.Fatal(err)
			}
			got := svgCounts(t, b.Bytes())
			if got["svg"] != 1 || got["path.series"] != 1 || got["rect.window"] != 2 || got["circle.page"] != 2 || got["rect.probation"] != 1 {
				t.Errorf("elements %v, want one svg, one series path, 2 windows, 2 pages, the probation", got)
			}
			if n := got["path.points"]; n < 100 || n > tc.maxPoints {
				t.Errorf("path has %d points, want 100 to %d", n, tc.maxPoints)
			}
		})
	}
}
