package nab

import (
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/detectors"
)

// quietCeiling bounds the share of quiet days that page when each is judged
// from its first row (TestRealTweetsFirstDays): a regression guard a little
// above what detectors.DefaultConfig() measures (30.5 %; 33.5 % before a young
// term's tests had to leave its history's range, see detectors' analysis.young;
// 37.7 % before a young tail came to raise the surge's page bar, see
// detectors.Tail.youngBar).
const quietCeiling = 0.33

// TestRealTweetsFirstDays judges real social counts as `backtest --series`
// judges a short export, from its first row: each of the five realTweets
// series is cut into days, and each day runs through detectors.RunSeries on
// its own, with no history before it. A day is quiet when it overlaps none of
// the file's windows, labelled when it holds a window's middle (NAB's label),
// and a labelled day is found when it pages inside the window. The same
// files run whole give the steady state: the quiet days of their fourth day
// on that page. The gap between the two is what a term's first day costs on
// real data, which the synthetic first-day topics (detectors.TestTopicsFirstDay)
// only model.
func TestRealTweetsFirstDays(t *testing.T) {
	files, windows, _ := loadTweets(t)
	const day = 24 * time.Hour
	var quiet, quietPaged, labelled, found, steady, steadyPaged int
	for _, f := range files {
		ws := windows[f.name]
		overlaps := func(a, b time.Time) bool {
			for _, w := range ws {
				if !w.End.Before(a) && !w.Start.After(b) {
					return true
				}
			}
			return false
		}
		_, whole, err := detectors.RunSeries(detectors.DefaultConfig(), f.ts, f.values)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		for s := 0; s < len(f.ts); {
			e := s
			for e < len(f.ts) && f.ts[e].Before(f.ts[s].Add(day)) {
				e++
			}
			ts, vs := f.ts[s:e], f.values[s:e]
			a, b := ts[0], ts[len(ts)-1]
			_, alerts, err := detectors.RunSeries(detectors.DefaultConfig(), ts, vs)
			if err != nil {
				t.Fatalf("%s from %s: %v", f.name, a, err)
			}
			paged := func(alerts []bool, from, to time.Time) bool {
				for i, al := range alerts {
					if al && !ts[i].Before(from) && !ts[i].After(to) {
						return true
					}
				}
				return false
			}
			switch {
			case !overlaps(a, b):
				quiet++
				if paged(alerts, a, b) {
					quietPaged++
				}
				if !a.Before(f.ts[0].Add(3 * day)) {
					steady++
					if paged(whole[s:e], a, b) {
						steadyPaged++
					}
				}
			default:
				for _, w := range ws {
					mid := w.Start.Add(w.End.Sub(w.Start) / 2)
					if !mid.Before(a) && !mid.After(b) {
						labelled++
						if paged(alerts, w.Start, w.End) {
							found++
						}
					}
				}
			}
			s = e
		}
	}
	share := float64(quietPaged) / float64(quiet)
	t.Logf("EVAL | NAB realTweets, each day judged from its first row: quiet days paged / labelled days found | %.1f %% / %d of %d | %d of %d quiet days paged; in the series run whole, %d of %d quiet days from the fourth on (%.1f %%) |",
		100*share, found, labelled, quietPaged, quiet, steadyPaged, steady, 100*float64(steadyPaged)/float64(steady))
	if share > quietCeiling {
		t.Errorf("%.1f %% of quiet days paged when judged from their first row, above the ceiling %.0f %%", 100*share, 100*quietCeiling)
	}
}
