package backtest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/backtest"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// TestGeneratorScenarios is the end-to-end proof on the generator's own traffic
// (package gen, Rate 50, three hours, all six scenarios): its messages run
// through backtest.Run, so through the engine's own decoding, tracking, bucket
// close and detectors with the default pipeline and window configuration, and
// its alerts are scored per scenario against the generator's labels. There is
// no second bucket close to drift from the engine's: what the detectors see
// here is what they see in production. A seed takes about 14 s, too slow
// for the unit suite, which has detectors.TestScenarios instead;
// TRENDWATCH_GEN_SEEDS=10 runs it for the README's table.
func TestGeneratorScenarios(t *testing.T) {
	env := os.Getenv("TRENDWATCH_GEN_SEEDS")
	if env == "" {
		t.Skip("TRENDWATCH_GEN_SEEDS is not set; detectors.TestScenarios covers the scenarios in the unit suite")
	}
	seeds, err := strconv.Atoi(env)
	if err != nil || seeds < 1 {
		t.Fatalf("TRENDWATCH_GEN_SEEDS=%q: want a positive integer", env)
	}
	dcfg := detectors.DefaultConfig()
	dcfg.Watchlist.Entries = nil
	for _, term := range gen.DefaultWatchlist() {
		dcfg.Watchlist.Entries = append(dcfg.Watchlist.Entries, detectors.WatchEntry{Term: term, Category: "dangerous_challenge"})
	}
	type agg struct {
		n, detected, alerts int
		delays              []int
		// first are, per injected scenario, the buckets from its onset to
		// the first page that found any of its terms: when the team learnt
		// of it. The dangerous ramp's Devanagari hashtag rides on a share
		// of the Latin one's posts, so its own alert comes later than the
		// scenario's first page.
		first  []int
		minSev alert.Severity
		fired  map[string][]int // detector → delays of the alerts it opened on the scenario's terms in time
	}
	per := map[string]*agg{}
	for _, sc := range gen.AllScenarios() {
		per[sc] = &agg{minSev: alert.SeverityCritical, fired: map[string][]int{}}
	}
	var tp, fp int
	var evaluated int64
	var delays []int
	for seed := 1; seed <= seeds; seed++ {
		cfg := gen.DefaultConfig()
		cfg.Seed = int64(seed)
		cfg.Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		g, err := gen.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res := runGenerator(t, g, dcfg)
		evaluated += res.Observations
		// Pages are opens and escalations, at the bucket that caused them.
		pages := map[string][]alert.Event{}
		for _, ev := range res.Alerts {
			if ev.To != alert.StatusResolved {
				pages[ev.Alert.Term] = append(pages[ev.Alert.Term], ev)
			}
		}

		claimed := map[string]bool{}
		first := map[string]int{} // scenario@onset → least delay of its terms
		for _, l := range g.Labels() {
			a := per[l.Scenario]
			a.n++
			claimed[l.Term] = true
			detected := false
			// Only an open is a new alert.
			for _, ev := range pages[l.Term] {
				opened := ev.To == alert.StatusOpen
				inside := !ev.At.Before(l.Start) && !ev.At.After(l.End)
				switch {
				case !l.ShouldAlert:
					if opened {
						a.alerts++
						fp++
					}
					t.Logf("seed %d: page on %s (%s): %s", seed, l.Term, l.Scenario, ev.Alert.Summary)
				case !inside:
					if opened {
						fp++
					}
					t.Logf("seed %d: page on %s outside [%s, %s] at %s: %s", seed, l.Term,
						l.Start.Format("15:04"), l.End.Format("15:04"), ev.At.Format("15:04"), ev.Alert.Summary)
				default:
					if opened {
						tp++
						a.fired[ev.Alert.Detector] = append(a.fired[ev.Alert.Detector], int(ev.At.Sub(l.Start)/time.Minute))
					}
					sevOK := !l.Watchlist || ev.Alert.Severity >= alert.SeverityHigh
					if !detected && slices.Contains(l.Detectors, ev.Alert.Detector) && sevOK {
						detected = true
						d := int(ev.At.Sub(l.Start) / time.Minute)
						a.delays = append(a.delays, d)
						delays = append(delays, d)
						k := l.Scenario + "@" + l.Start.Format(time.RFC3339)
						if f, ok := first[k]; !ok || d < f {
							first[k] = d
						}
						a.minSev = min(a.minSev, ev.Alert.Severity)
						if d > 2 {
							t.Logf("seed %d: %s %s found %d buckets after onset by %s: %s", seed, l.Scenario, l.Term, d,
								ev.Alert.Detector, ev.Alert.Summary)
						}
					}
				}
			}
			if detected {
				a.detected++
			} else if l.ShouldAlert {
				t.Logf("seed %d: missed %s %s (onset %s)", seed, l.Scenario, l.Term, l.Start.Format("15:04"))
			}
		}
		for k, d := range first {
			sc, _, _ := strings.Cut(k, "@")
			per[sc].first = append(per[sc].first, d)
		}
		for term, evs := range pages {
			if claimed[term] {
				continue
			}
			for _, ev := range evs {
				if ev.To == alert.StatusOpen {
					fp++
					t.Logf("seed %d: false alert at %s: %s", seed, ev.At.Format("15:04"), ev.Alert.Summary)
				}
			}
		}
	}

	var b strings.Builder
	b.WriteString("| scenario | terms | detected | recall | median delay (buckets) | max delay | first page on the scenario: median (max) | least severity | alerts opened, by detector (median delay) |\n|---|---|---|---|---|---|---|---|---|\n")
	var injected, detected int
	for _, sc := range gen.AllScenarios() {
		a := per[sc]
		if sc == gen.SlowTrend || sc == gen.DailyPeak {
			fmt.Fprintf(&b, "| %s | %d | – | – | – | – | – | – | %d (must be 0) |\n", sc, a.n, a.alerts)
			if a.alerts > 0 {
				t.Errorf("%s: %d alerts, want none", sc, a.alerts)
			}
			continue
		}
		injected += a.n
		detected += a.detected
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %s | %s | %s (%s) | %s | %s |\n", sc, a.n, a.detected,
			float64(a.detected)/float64(max(a.n, 1)), medianOf(a.delays), maxOf(a.delays), medianOf(a.first), maxOf(a.first), a.minSev, fmtFired(a.fired))
	}
	recall := float64(detected) / float64(injected)
	precision := float64(tp) / float64(max(tp+fp, 1))
	fmt.Fprintf(&b, "| **all** | %d | %d | %.3f | %s | %s | | | precision %.3f (%d true, %d false) |\n",
		injected, detected, recall, medianOf(delays), maxOf(delays), precision, tp, fp)
	t.Logf("%d seed(s), %d term-buckets evaluated\n%s", seeds, evaluated, b.String())
	t.Logf("EVAL | generator scenarios (%d seeds): recall, precision | %.3f, %.3f | %d/%d terms, %d false alerts |", seeds, recall, precision, detected, injected, fp)
	t.Logf("EVAL | generator scenarios: median delay, all / dangerous ramp | %s / %s buckets | max %s; the ramp's first page (either spelling) median %s, max %s |",
		medianOf(delays), medianOf(per[gen.DangerousSurge].delays), maxOf(delays), medianOf(per[gen.DangerousSurge].first), maxOf(per[gen.DangerousSurge].first))
	t.Logf("EVAL | generator scenarios: alerts on slow trend, evening peak | %d, %d | must be 0 |", per[gen.SlowTrend].alerts, per[gen.DailyPeak].alerts)

	if recall < 0.95 {
		t.Errorf("recall %.3f, want >= 0.95", recall)
	}
	if precision < 0.9 {
		t.Errorf("precision %.3f, want >= 0.9", precision)
	}
	if m := medianFloat(delays); m > 2 {
		t.Errorf("median delay %v buckets, want <= 2", m)
	}
}

func fmtFired(m map[string][]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d (%s)", k, len(m[k]), medianOf(m[k])))
	}
	return strings.Join(parts, ", ")
}

func medianFloat(v []int) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}

func medianOf(v []int) string {
	if len(v) == 0 {
		return "–"
	}
	return strconv.FormatFloat(medianFloat(v), 'g', -1, 64)
}

func maxOf(v []int) string {
	if len(v) == 0 {
		return "–"
	}
	return strconv.Itoa(slices.Max(v))
}

// runGenerator runs the pipeline over g's messages as JSON lines, the form
// 'trendwatch gen --out' writes and 'trendwatch backtest --events' reads,
// streamed so that a seed's half a million events are never all in memory.
func runGenerator(t *testing.T, g *gen.Generator, dcfg detectors.Config) *backtest.Result {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := bufio.NewWriterSize(pw, 1<<20)
		var err error
		for m, ok := g.Next(); ok && err == nil; m, ok = g.Next() {
			if _, err = w.Write(m.Value); err == nil {
				err = w.WriteByte('\n')
			}
		}
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
	}()
	limits := event.DefaultLimits()
	limits.MaxAge, limits.MaxFuture = 0, 0 // a replay of the past, as the backtest command runs it
	res, err := backtest.Run(context.Background(), backtest.Config{
		Pipeline: pipeline.DefaultConfig(), Window: sketches.DefaultWindowConfig(), Detectors: dcfg, Limits: limits,
	}, pr)
	pr.Close() // unblocks the writer if Run stopped early
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.Invalid > 0 {
		t.Fatalf("%d generator events refused by the event contract: %v", res.Invalid, res.Invalids)
	}
	return res
}
