package nab_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/sim/backtest"
)

// corpusQuietCeiling bounds the share of the corpus's quiet days that page
// when each is judged from its first row (TestCorpusFirstDays): a regression
// guard a little above what detectors.DefaultConfig() measures (24.9 %).
const corpusQuietCeiling = 0.27

// TestCorpusFirstDays is TestRealTweetsFirstDays over every file of the
// corpus, read as `backtest --series` reads it (repeats merged, gaps filled,
// measurements scaled): each file is cut into days, each day judged on its
// own from its first row. A day is quiet when it overlaps none of the file's
// windows, labelled when it holds a window's middle, and a labelled day is
// found when it pages inside the window. Most of the corpus is not counts,
// so this guards the realTweets row against rules that only suit tweets.
func TestCorpusFirstDays(t *testing.T) {
	dir := nab.DataDir(t)
	windows, _, err := backtest.LoadLabels(filepath.Join(dir, "corpus_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(windows))
	for n := range windows {
		names = append(names, n)
	}
	slices.Sort(names)
	const day = 24 * time.Hour
	var quiet, quietPaged, labelled, found int
	for _, name := range names {
		s, err := backtest.ReadSeriesFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		ws := windows[name]
		for from := 0; from < len(s.Times); {
			to := from
			for to < len(s.Times) && s.Times[to].Before(s.Times[from].Add(day)) {
				to++
			}
			ts := s.Times[from:to]
			d, err := dayExport(s, from, to)
			if err != nil {
				t.Fatalf("%s from %s: %v", name, ts[0], err)
			}
			res, err := d.Run(detectors.DefaultConfig())
			if err != nil {
				t.Fatalf("%s from %s: %v", name, ts[0], err)
			}
			alerts := res.Alerts
			paged := func(a, b time.Time) bool {
				for i, al := range alerts {
					if al && !ts[i].Before(a) && !ts[i].After(b) {
						return true
					}
				}
				return false
			}
			first, last := ts[0], ts[len(ts)-1]
			overlaps := slices.ContainsFunc(ws, func(w nab.Window) bool { return !w.End.Before(first) && !w.Start.After(last) })
			if !overlaps {
				quiet++
				if paged(first, last) {
					quietPaged++
				}
			}
			for _, w := range ws {
				if mid := w.Start.Add(w.End.Sub(w.Start) / 2); !mid.Before(first) && !mid.After(last) {
					labelled++
					if paged(w.Start, w.End) {
						found++
					}
				}
			}
			from = to
		}
	}
	share := float64(quietPaged) / float64(quiet)
	t.Logf("EVAL | NAB all 53 files, each day judged from its first row: quiet days paged / labelled days found | %.1f %% / %d of %d | %d of %d quiet days paged |",
		100*share, found, labelled, quietPaged, quiet)
	if share > corpusQuietCeiling {
		t.Errorf("%.1f %% of the corpus's quiet days paged when judged from their first row, above the ceiling %.0f %%", 100*share, 100*corpusQuietCeiling)
	}
}

// dayExport is rows [from, to) of s as an export of their own, read as
// `backtest --series` reads a one-day file: a measurement's scale comes from
// that day's rows alone, as a user's one-day export would have it.
func dayExport(s *backtest.Series, from, to int) (*backtest.Series, error) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s,%s\n", s.Text[i], strconv.FormatFloat(s.Values[i], 'g', -1, 64))
	}
	return backtest.ReadSeries(strings.NewReader(b.String()))
}
