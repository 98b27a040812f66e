package backtest_test

import (
	"context"
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

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/bench/nab"
	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/event"
	"github.com/trendwatch/trendwatch/ingest"
	"github.com/trendwatch/trendwatch/internal/testenv"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sim/backtest"
	"github.com/trendwatch/trendwatch/sim/dist"
	"github.com/trendwatch/trendwatch/sim/gen"
	"github.com/trendwatch/trendwatch/sketches"
)

// earlyTally is what early firing did over a set of runs, against the same
// runs without it.
type earlyTally struct {
	early, retracted int // early pages, and those the final judgement retracted
	// Final pages (opens not retracted) without and with early firing, and
	// the false ones among them.
	finalOff, finalOn int
	falseOff, falseOn int
}

func (t *earlyTally) add(o earlyTally) {
	t.early += o.early
	t.retracted += o.retracted
	t.finalOff += o.finalOff
	t.finalOn += o.finalOn
	t.falseOff += o.falseOff
	t.falseOn += o.falseOn
}

func (t earlyTally) String() string {
	rate := 0.0
	if t.early > 0 {
		rate = 100 * float64(t.retracted) / float64(t.early)
	}
	return fmt.Sprintf("early pages %d, retracted %d (%.2f%%); final pages %d without early firing, %d with; false final pages %d without, %d with",
		t.early, t.retracted, rate, t.finalOff, t.finalOn, t.falseOff, t.falseOn)
}

// check holds a tally to the bounds: at most 1% of early pages
// retracted, and no more false final pages than without early firing.
func (t earlyTally) check(tb testing.TB, what string) {
	tb.Helper()
	tb.Logf("%s: %s", what, t)
	if 100*t.retracted > t.early {
		tb.Errorf("%s: %d of %d early pages retracted, more than 1%%", what, t.retracted, t.early)
	}
	if t.falseOn > t.falseOff {
		tb.Errorf("%s: %d false final pages with early firing, %d without", what, t.falseOn, t.falseOff)
	}
}

// finalOpens are the opens of evs that no retraction took back.
func finalOpens(evs []alert.Event) []alert.Event {
	var out []alert.Event
	for _, ev := range evs {
		switch {
		case ev.To == alert.StatusOpen:
			out = append(out, ev)
		case ev.Reason == alert.ReasonRetracted:
			for i := len(out) - 1; i >= 0; i-- {
				if out[i].Alert.Key == ev.Alert.Key {
					out = slices.Delete(out, i, i+1)
					break
				}
			}
		}
	}
	return out
}

func countEarly(evs []alert.Event) (early, retracted int) {
	for _, ev := range evs {
		if ev.To == alert.StatusOpen && ev.Alert.Early {
			early++
		}
		if ev.Reason == alert.ReasonRetracted {
			retracted++
		}
	}
	return early, retracted
}

// earlyEval gates the measurements below, which replay a few hours of the
// generator's traffic per seed and the whole NAB corpus, twice each: minutes
// of CPU, for the README's table rather than the unit suite.
func earlyEval(t *testing.T) {
	if os.Getenv("TRENDWATCH_EARLY_EVAL") == "" {
		t.Skip("TRENDWATCH_EARLY_EVAL is not set; pipeline.TestEarlyFiring covers early firing in the unit suite")
	}
}

// firstBucket is TRENDWATCH_EARLY_FIRST_BUCKET: the measurements below then
// run early firing with detectors.early.first_bucket on, held to the same
// bounds.
func firstBucket() bool { return os.Getenv("TRENDWATCH_EARLY_FIRST_BUCKET") != "" }

// TestEarlyGenerator runs the generator's scenarios (TRENDWATCH_GEN_SEEDS
// seeds, 10 by default) through the engine with and without early firing and
// holds early firing to the bounds: early pages later retracted at most
// 1% of early pages, and no more false final pages than without it.
func TestEarlyGenerator(t *testing.T) {
	earlyEval(t)
	seeds := 10
	if env := os.Getenv("TRENDWATCH_GEN_SEEDS"); env != "" {
		n, err := strconv.Atoi(env)
		if err != nil || n < 1 {
			t.Fatalf("TRENDWATCH_GEN_SEEDS=%q: want a positive integer", env)
		}
		seeds = n
	}
	on := detectors.DefaultConfig()
	on.Watchlist.Entries = nil
	for _, term := range gen.DefaultWatchlist() {
		on.Watchlist.Entries = append(on.Watchlist.Entries, detectors.WatchEntry{Term: term, Category: "dangerous_challenge"})
	}
	on.Early.FirstBucket = firstBucket()
	off := on
	off.Early.Enabled = false
	var total earlyTally
	for seed := 1; seed <= seeds; seed++ {
		run := func(dcfg detectors.Config) ([]alert.Event, []gen.Label) {
			cfg := gen.DefaultConfig()
			cfg.Seed = int64(seed)
			cfg.Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			g, err := gen.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return runGenerator(t, g, dcfg).Alerts, g.Labels()
		}
		evsOff, labels := run(off)
		evsOn, _ := run(on)
		var s earlyTally
		s.early, s.retracted = countEarly(evsOn)
		scOff, scOn := backtest.Evaluate(labels, evsOff, time.Minute), backtest.Evaluate(labels, evsOn, time.Minute)
		s.finalOff, s.finalOn = scOff.Opened-len(scOff.Retracted), scOn.Opened-len(scOn.Retracted)
		s.falseOff, s.falseOn = len(scOff.FalseAlarms), len(scOn.FalseAlarms)
		for _, ev := range evsOn {
			if ev.Reason == alert.ReasonRetracted {
				t.Logf("seed %d: retracted %s at %s: %s", seed, ev.Alert.Key, ev.At.Format("15:04"), ev.Alert.Explanation)
			}
		}
		t.Logf("seed %d: %s", seed, s)
		total.add(s)
	}
	total.check(t, fmt.Sprintf("generator, %d seeds", seeds))
}

// nabSharedData is NAB's corpus, shared by the project and never copied into it.
const nabSharedData = "../../../shared/data/nab"

// TestEarlyNAB replays every file of the NAB corpus as a live stream, one
// event per count, through the engine with and without early firing, its
// buckets as wide as the file's rows, and holds early firing to the same
// bounds; false final pages are those outside NAB's anomaly windows. Files of
// measurements, not counts, are made counts by scaling their median to 20
// events a bucket: NAB has no event streams, and what the detectors read of
// such a file is the shape of its series.
func TestEarlyNAB(t *testing.T) {
	earlyEval(t)
	dir := testenv.SharedData(t, nabSharedData, "NAB corpus")
	windows, err := nab.LoadWindows(filepath.Join(dir, "corpus_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := backtest.ListCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total earlyTally
	for _, name := range names {
		s, err := backtest.ReadSeriesFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		outside := func(evs []alert.Event) int {
			n := 0
			for _, ev := range evs {
				in := false
				for _, w := range windows[name] {
					if !ev.At.Before(w.Start) && !ev.At.After(w.End) {
						in = true
					}
				}
				if !in {
					n++
				}
			}
			return n
		}
		evsOff := replaySeries(t, s, false)
		evsOn := replaySeries(t, s, true)
		var f earlyTally
		f.early, f.retracted = countEarly(evsOn)
		fOff, fOn := finalOpens(evsOff), finalOpens(evsOn)
		f.finalOff, f.finalOn = len(fOff), len(fOn)
		f.falseOff, f.falseOn = outside(fOff), outside(fOn)
		for _, ev := range evsOn {
			if ev.Reason == alert.ReasonRetracted {
				t.Logf("%s: retracted %s at %s: %s", name, ev.Alert.Key, ev.At.Format(time.DateTime), ev.Alert.Explanation)
			}
		}
		t.Logf("%s: %s", name, f)
		total.add(f)
	}
	total.check(t, fmt.Sprintf("NAB, %d files", len(names)))
}

// replaySeries streams s through an engine whose buckets are s.Width wide:
// each bucket's count as that many posts of one hashtag at uniformly random
// times within it, by distinct creators.
func replaySeries(t *testing.T, s *backtest.Series, early bool) []alert.Event {
	t.Helper()
	scale := 1.0
	if !s.Counts {
		vs := slices.Clone(s.Values)
		slices.Sort(vs)
		if med := vs[len(vs)/2]; med > 0 {
			scale = 20 / med
		}
	}
	wcfg := sketches.DefaultWindowConfig()
	wcfg.Bucket = s.Width
	wcfg.CoarseBucket = max(time.Hour, s.Width).Truncate(s.Width)
	wcfg.CoarseBuckets = max(wcfg.CoarseBuckets, int(48*time.Hour/wcfg.CoarseBucket)+1)
	dcfg := detectors.DefaultConfig()
	dcfg.Early.Enabled = early
	dcfg.Early.FirstBucket = early && firstBucket()
	e, err := pipeline.New(pipeline.DefaultConfig(), wcfg, dcfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := &alertLog{}
	e.AddObserver(col)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	var off int64
	var ts []time.Time
	for i, t0 := range s.Times {
		n := int(math.Round(s.Values[i] * scale))
		n = min(n, 5000)
		ts = ts[:0]
		for range n {
			ts = append(ts, t0.Add(time.Duration(rng.Float64()*float64(s.Width))))
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for _, at := range ts {
			off++
			id := strconv.FormatInt(off, 10)
			rec := ingest.Record{Source: ingest.Source{Topic: "content", Offset: off}, Kind: ingest.KindContent,
				Content: event.Content{EventID: id, TS: at, ContentID: id, CreatorID: strconv.Itoa(rng.IntN(1 << 30)), Hashtags: []string{"nabseries"}}}
			if err := e.Process(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var out []alert.Event
	for _, ev := range col.evs {
		if strings.HasSuffix(ev.Alert.Term, "nabseries") {
			out = append(out, ev)
		}
	}
	return out
}

type alertLog struct{ evs []alert.Event }

func (a *alertLog) Bucket(*pipeline.BucketReport) {}
func (a *alertLog) Alert(ev alert.Event)          { a.evs = append(a.evs, ev) }

// TestEarlyTopics replays topics that never trend (two-minute counts, a ±50 %
// day, negative binomial noise of shape 10, two one-bucket spikes a day of
// Pareto size, three days) as live streams, as TestEarlyNAB replays NAB, and
// holds early firing to the same bounds on them: social counts, where NAB's
// series are mostly machines'. Every final page is a false one here.
func TestEarlyTopics(t *testing.T) {
	earlyEval(t)
	var total earlyTally
	for _, level := range []float64{20, 200} {
		var lv earlyTally
		for k := range 25 {
			s := quietTopic(uint64(k), level)
			evsOff, evsOn := replaySeries(t, s, false), replaySeries(t, s, true)
			var f earlyTally
			f.early, f.retracted = countEarly(evsOn)
			fOff, fOn := finalOpens(evsOff), finalOpens(evsOn)
			f.finalOff, f.finalOn = len(fOff), len(fOn)
			f.falseOff, f.falseOn = f.finalOff, f.finalOn
			for _, ev := range evsOn {
				if ev.Reason == alert.ReasonRetracted {
					t.Logf("%g a bucket, topic %d: retracted %s at %s: %s", level, k, ev.Alert.Key, ev.At.Format(time.DateTime), ev.Alert.Explanation)
				}
			}
			lv.add(f)
		}
		t.Logf("%g a bucket, 25 topics: %s", level, lv)
		total.add(lv)
	}
	total.check(t, "topics that never trend, 50")
}

// quietTopic is three days of two-minute counts of a topic that never trends.
func quietTopic(seed uint64, level float64) *backtest.Series {
	r := rand.New(rand.NewPCG(seed, math.Float64bits(level)))
	const perDay = 720
	s := &backtest.Series{Counts: true, Width: 2 * time.Minute}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	phase := r.Float64() * 2 * math.Pi
	for i := range 3 * perDay {
		mu := level * (1 + 0.5*math.Sin(2*math.Pi*float64(i)/perDay+phase))
		if r.Float64() < 2.0/perDay {
			mu *= 1 + math.Pow(1-r.Float64(), -1/1.5)
		}
		s.Times = append(s.Times, start.Add(time.Duration(i)*s.Width))
		s.Values = append(s.Values, dist.NegBinomial(r, mu, 10))
	}
	return s
}
