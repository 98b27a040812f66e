package nab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/internal/testenv"
)

// sharedData holds NAB's data, shared by the project and never copied into it.
const sharedData = "../../../shared/data/nab"

// dataDir is NAB's data; without it the test skips, or fails under CI.
func dataDir(tb testing.TB) string {
	tb.Helper()
	return testenv.SharedData(tb, sharedData, "NAB corpus")
}

var tweetFiles = []string{
	"realTweets/Twitter_volume_AAPL.csv",
	"realTweets/Twitter_volume_AMZN.csv",
	"realTweets/Twitter_volume_CRM.csv",
	"realTweets/Twitter_volume_CVS.csv",
	"realTweets/Twitter_volume_FB.csv",
}

type series struct {
	name   string
	ts     []time.Time
	values []float64
}

func loadTweets(tb testing.TB) ([]series, map[string][]Window, map[string]Profile) {
	tb.Helper()
	dir := dataDir(tb)
	windows, err := LoadWindows(filepath.Join(dir, "windows.json"))
	if err != nil {
		tb.Fatal(err)
	}
	profiles, err := LoadProfiles(filepath.Join(dir, "profiles.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []series
	for _, name := range tweetFiles {
		ts, v, err := ReadSeriesFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, series{name: name, ts: ts, values: v})
	}
	return out, windows, profiles
}

// Floors a little below what detectors.DefaultConfig() measures (77.5 and 53.8
// on the standard profile): a regression guard, not a target. Nothing was tuned
// on these labels. Own pages rose from 77.2 (one false page fewer) when an
// outlier long after a surge's last came to count as a lone one (see
// detectors' holt.step). Own pages rose from 76.9 (one false page fewer) when a
// young tail came to raise the surge's page bar (see
// detectors.Tail.youngBar). Own pages rose from 71.1 and the sweep from 48.7 when the
// sustained test's tail stopped learning buckets with no yesterday (see
// detectors.Tail). The threshold sweep fell from 54.8, and the own pages rose
// from 65.6, when the sustained test's tail began to count runs of exceedances
// rather than buckets (see detectors.Tail): a spiky term's long stretches
// above normal taught it a tail several times too heavy, which held its real
// surges under the bar and its other rows' scores low alike; now more of both
// score high, and one threshold for all five files separates them less well
// than the lifecycle's pages do. The threshold sweep fell from 61.4 when the tail began to
// learn each bucket against its own day-ago level, as the tests judge it
// (Observation.LearnDayAgo), while the own pages rose from 60.7: the tails are
// lighter, so more rows outside the windows score above the best threshold,
// where the lifecycle pages once. The own pages scored 63.4 before a lone outlier stopped
// paging the surge (see detectors' holt.step), 54.8 after it: of the two
// windows lost, one is labelled on a one-bucket spike (of the kind
// never-trending topics have every day); the other, a four-bucket rise, pages
// again since detectors.false_pages went from 1 to 2.
const (
	ownFloor   = 73
	sweptFloor = 50
)

// TestRealTweets scores detectors.RunSeries with the default configuration on
// NAB's five realTweets files, normalised over their 16 windows: (a) with the
// detector's own paging decision as the detections, (b) at NAB's best threshold
// of its anomaly score over these files.
func TestRealTweets(t *testing.T) {
	files, windows, profiles := loadTweets(t)
	own := Corpus{Windows: windows}
	swept := Corpus{Windows: windows}
	pages, days := 0, 0.0
	for _, f := range files {
		days += f.ts[len(f.ts)-1].Sub(f.ts[0]).Hours() / 24
		scores, alerts, err := detectors.RunSeries(detectors.DefaultConfig(), f.ts, f.values)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		paged := make([]float64, len(alerts))
		for i, a := range alerts {
			if a {
				paged[i] = 1
				pages++
			}
		}
		own.Files = append(own.Files, File{Name: f.name, Times: f.ts, Scores: paged})
		swept.Files = append(swept.Files, File{Name: f.name, Times: f.ts, Scores: scores})
	}
	var b strings.Builder
	b.WriteString("| profile | own alerts: score | windows hit | FP pages | best threshold: score | threshold | windows hit | FP rows |\n|---|---|---|---|---|---|---|---|\n")
	for _, name := range ProfileNames() {
		p := profiles[name]
		a, err := own.ScoreAt(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := swept.ScoreBest(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %d/%d | %d | %.1f | %.4f | %d/%d | %d |\n", name,
			a.Normalized, a.Hit, a.Windows, a.FP, s.Normalized, s.Threshold, s.Hit, s.Windows, s.FP)
		if name == Standard {
			if a.Normalized < ownFloor {
				t.Errorf("standard profile, own alerts: %.1f, below the floor %d", a.Normalized, ownFloor)
			}
			if s.Normalized < sweptFloor {
				t.Errorf("standard profile, best threshold: %.1f, below the floor %d", s.Normalized, sweptFloor)
			}
		}
	}
	// The category's score hides how unevenly it is earned: each file
	// alone, scored over its own windows (docs/detection.md, "The tweets,
	// file by file").
	b.WriteString("\n| file (standard profile) | own alerts: score | windows hit | FP pages | best threshold: score |\n|---|---|---|---|---|\n")
	for i, f := range own.Files {
		one := Corpus{Files: []File{f}, Windows: windows}
		sw := Corpus{Files: swept.Files[i : i+1], Windows: windows}
		a, err := one.ScoreAt(profiles[Standard], 1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sw.ScoreBest(profiles[Standard])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %d/%d | %d | %.1f |\n", strings.TrimSuffix(filepath.Base(f.Name), ".csv"), a.Normalized, a.Hit, a.Windows, a.FP, s.Normalized)
	}
	t.Logf("%d pages over %d files, %.0f series-days\n%s", pages, len(files), days, b.String())
}
