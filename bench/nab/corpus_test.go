package nab_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sim/backtest"
)

// TestCorpus runs every file of the shared NAB corpus through what
// `trendwatch backtest --series DIR --windows FILE` runs, with the default
// configuration, and logs the table by category. It guards that every file
// loads and runs and that the table is made; it asserts no score, because
// the detector is judged on counts, not on NAB's measurements.
func TestCorpus(t *testing.T) {
	dir := nab.DataDir(t)
	began := time.Now()
	windows, profiles, err := backtest.LoadLabels(filepath.Join(dir, "corpus_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := backtest.RunCorpus(detectors.DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := time.Since(began)
	sc, err := backtest.ScoreCorpus(files, windows, profiles)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := sc.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)

	rows, warnings := 0, 0
	for _, f := range files {
		rows += len(f.Series.Times)
		warnings += len(f.Series.Warnings)
	}
	all := sc.Categories[len(sc.Categories)-1]
	if len(files) != 53 || all.Category != backtest.AllCategories || all.Files != 53 || all.Windows != 99 {
		t.Errorf("%d files, last row %s with %d files and %d windows; want 53 files, all 53 with NAB's 99 windows",
			len(files), all.Category, all.Files, all.Windows)
	}
	if got := strings.Count(b.String(), "\n| "); got != len(sc.Categories) {
		t.Errorf("table has %d rows, want %d:\n%s", got, len(sc.Categories), b.String())
	}
	for _, c := range sc.Categories {
		if c.Windows == 0 {
			continue
		}
		o := c.Own[0] // standard profile
		t.Logf("EVAL | NAB %s, own pages (standard) | %.1f | %d/%d windows, %d false pages |", c.Category, o.Normalized, o.Hit, c.Windows, o.FP)
	}
	t.Logf("%d files, %d rows, %d warnings; detector %s, with scoring %s\n%s",
		len(files), rows, warnings, ran.Round(time.Millisecond), took.Round(time.Millisecond), b.String())
}
