package detectors_test

import (
	"cmp"
	"fmt"
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
	"github.com/trendwatch/trendwatch/gen"
)

// TestGeneratorScenarios is the end-to-end proof on the generator's own traffic
// (package gen, Rate 50, three hours, all six scenarios): its messages decoded
// with the event contract, counted exactly per one-minute bucket, and the tracked
// terms' Observations run through a Set and a Lifecycle as the pipeline does.
// A seed costs about 15 s of CPU (mostly JSON decoding), too slow for the unit
// suite, which has TestScenarios instead; TRENDWATCH_GEN_SEEDS=10 runs it for the
// README's table.
func TestGeneratorScenarios(t *testing.T) {
	env := os.Getenv("TRENDWATCH_GEN_SEEDS")
	if env == "" {
		t.Skip("TRENDWATCH_GEN_SEEDS is not set; TestScenarios covers the scenarios in the unit suite")
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
	set, err := detectors.NewSet(dcfg)
	if err != nil {
		t.Fatal(err)
	}

	type agg struct {
		n, detected, alerts int
		delays              []int
		minSev              alert.Severity
		fired               map[string]int // detectors that opened alerts on the scenario's terms in time
	}
	per := map[string]*agg{}
	for _, sc := range gen.AllScenarios() {
		per[sc] = &agg{minSev: alert.SeverityCritical, fired: map[string]int{}}
	}
	var tp, fp, evaluated int
	var delays []int
	for seed := 1; seed <= seeds; seed++ {
		cfg := gen.DefaultConfig()
		cfg.Seed = int64(seed)
		cfg.Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		g, err := gen.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := newMiniPipeline(t, cfg.Start, set, detectors.NewLifecycle(dcfg.Lifecycle))
		for m, ok := g.Next(); ok; m, ok = g.Next() {
			p.add(m)
		}
		p.flush()
		evaluated += p.evaluated

		claimed := map[string]bool{}
		for _, l := range g.Labels() {
			a := per[l.Scenario]
			a.n++
			claimed[l.Term] = true
			detected := false
			// Pages are opens and escalations; only an open is a new alert.
			for _, op := range p.pages[l.Term] {
				opened := op.ev.To == alert.StatusOpen
				inside := !op.at.Before(l.Start) && !op.at.After(l.End)
				switch {
				case !l.ShouldAlert:
					if opened {
						a.alerts++
						fp++
					}
					t.Logf("seed %d: page on %s (%s): %s", seed, l.Term, l.Scenario, op.ev.Alert.Summary)
				case !inside:
					if opened {
						fp++
					}
					t.Logf("seed %d: page on %s outside [%s, %s] at %s: %s", seed, l.Term,
						l.Start.Format("15:04"), l.End.Format("15:04"), op.at.Format("15:04"), op.ev.Alert.Summary)
				default:
					if opened {
						tp++
						a.fired[op.ev.Alert.Detector]++
					}
					sevOK := !l.Watchlist || op.ev.Alert.Severity >= alert.SeverityHigh
					if !detected && slices.Contains(l.Detectors, op.ev.Alert.Detector) && sevOK {
						detected = true
						d := int(op.at.Sub(l.Start) / time.Minute)
						a.delays = append(a.delays, d)
						delays = append(delays, d)
						a.minSev = min(a.minSev, op.ev.Alert.Severity)
						if d > 2 {
							t.Logf("seed %d: %s %s found %d buckets after onset by %s: %s", seed, l.Scenario, l.Term, d,
								op.ev.Alert.Detector, op.ev.Alert.Summary)
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
		for term, ops := range p.pages {
			if claimed[term] {
				continue
			}
			for _, op := range ops {
				if op.ev.To == alert.StatusOpen {
					fp++
					t.Logf("seed %d: false alert at %s: %s", seed, op.at.Format("15:04"), op.ev.Alert.Summary)
				}
			}
		}
	}

	var b strings.Builder
	b.WriteString("| scenario | terms | detected | recall | median delay (buckets) | max delay | least severity | alerts opened, by detector |\n|---|---|---|---|---|---|---|---|\n")
	var injected, detected int
	for _, sc := range gen.AllScenarios() {
		a := per[sc]
		if sc == gen.SlowTrend || sc == gen.DailyPeak {
			fmt.Fprintf(&b, "| %s | %d | – | – | – | – | – | %d (must be 0) |\n", sc, a.n, a.alerts)
			if a.alerts > 0 {
				t.Errorf("%s: %d alerts, want none", sc, a.alerts)
			}
			continue
		}
		injected += a.n
		detected += a.detected
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %s | %s | %s | %s |\n", sc, a.n, a.detected,
			float64(a.detected)/float64(max(a.n, 1)), medianOf(a.delays), maxOf(a.delays), a.minSev, fmtFired(a.fired))
	}
	recall := float64(detected) / float64(injected)
	precision := float64(tp) / float64(max(tp+fp, 1))
	fmt.Fprintf(&b, "| **all** | %d | %d | %.3f | %s | %s | | precision %.3f (%d true, %d false) |\n",
		injected, detected, recall, medianOf(delays), maxOf(delays), precision, tp, fp)
	t.Logf("%d seed(s), %d term-buckets evaluated\n%s", seeds, evaluated, b.String())

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

func fmtFired(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
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

// miniPipeline counts decoded events exactly per bucket of event time, closes a
// bucket once events can no longer be late for it, and evaluates the tracked
// terms of the closed bucket: those with at least trackMentions mentions or a
// report, the watchlist's terms, and terms with an open alert.
type miniPipeline struct {
	t     *testing.T
	start time.Time
	dec   event.Decoder
	set   *detectors.Set
	lc    *detectors.Lifecycle
	watch []string

	open    map[int]map[string]*cell // bucket → term → counts
	done    int                      // buckets closed
	series  map[string]*series
	content map[string][]string // content ID → term keys, for the report join
	byAge   map[int][]string    // bucket → content IDs first seen in it, to forget them
	maxTS   time.Time
	events  map[int]float64 // content events per bucket
	reports map[int]float64

	evaluated int
	pages     map[string][]page
}

type page struct {
	at time.Time
	ev alert.Event
}

type cell struct {
	mentions, reports   float64
	creators, reporters map[string]struct{}
	regions, reasons    map[string]uint64
	samples             []string
}

// series holds a term's closed buckets, sparse: most terms are rarely seen.
type series struct {
	buckets                     []int
	mentions, reports, creators []float64
}

const (
	trackMentions = 3
	lateness      = 45 * time.Second // the generator delays a few events by up to 30 s
	forgetContent = 30               // buckets a content ID is kept for the report join
)

func newMiniPipeline(t *testing.T, start time.Time, s *detectors.Set, lc *detectors.Lifecycle) *miniPipeline {
	return &miniPipeline{t: t, start: start, dec: event.Decoder{Limits: event.DefaultLimits()}, set: s, lc: lc,
		watch: s.WatchTerms(), open: map[int]map[string]*cell{}, series: map[string]*series{},
		content: map[string][]string{}, byAge: map[int][]string{}, events: map[int]float64{},
		reports: map[int]float64{}, pages: map[string][]page{}}
}

func (p *miniPipeline) bucket(ts time.Time) int { return int(ts.Sub(p.start) / time.Minute) }

func (p *miniPipeline) cell(b int, term string) *cell {
	m := p.open[b]
	if m == nil {
		m = map[string]*cell{}
		p.open[b] = m
	}
	c := m[term]
	if c == nil {
		c = &cell{creators: map[string]struct{}{}, reporters: map[string]struct{}{},
			regions: map[string]uint64{}, reasons: map[string]uint64{}}
		m[term] = c
	}
	return c
}

func (p *miniPipeline) add(m gen.Message) {
	var ts time.Time
	switch m.Topic {
	case gen.Content:
		c, err := p.dec.DecodeContent(m.Value)
		if err != nil {
			p.t.Fatalf("generator content refused by the event contract: %v", err)
		}
		ts = c.TS
		b := p.bucket(c.TS)
		if b < p.done {
			break // later than the pipeline waits: dropped, as a real one would
		}
		p.events[b]++
		var keys []string
		for _, term := range c.Terms(nil) {
			k := term.String()
			keys = append(keys, k)
			ce := p.cell(b, k)
			ce.mentions++
			ce.creators[c.CreatorID] = struct{}{}
			ce.regions[c.Region]++
			if len(ce.samples) < 3 {
				ce.samples = append(ce.samples, c.ContentID)
			}
		}
		p.content[c.ContentID] = keys
		p.byAge[b] = append(p.byAge[b], c.ContentID)
	case gen.Report:
		r, err := p.dec.DecodeReport(m.Value)
		if err != nil {
			p.t.Fatalf("generator report refused by the event contract: %v", err)
		}
		ts = r.TS
		b := p.bucket(r.TS)
		if b < p.done {
			break
		}
		p.reports[b]++
		keys := slices.Clone(p.content[r.ContentID])
		for _, h := range r.Hashtags {
			if k := "hashtag:" + h; !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			ce := p.cell(b, k)
			ce.reports++
			ce.reporters[r.ReporterID] = struct{}{}
			ce.reasons[r.Reason]++
		}
	}
	if ts.After(p.maxTS) {
		p.maxTS = ts
	}
	for p.start.Add(time.Duration(p.done+1)*time.Minute + lateness).Before(p.maxTS) {
		p.close()
	}
}

func (p *miniPipeline) flush() {
	for len(p.open) > 0 {
		p.close()
	}
}

func (p *miniPipeline) close() {
	b := p.done
	cells := p.open[b]
	delete(p.open, b)
	p.done++
	for _, id := range p.byAge[b-forgetContent] {
		delete(p.content, id)
	}
	delete(p.byAge, b-forgetContent)

	tracked := map[string]bool{}
	for term, c := range cells {
		if c.mentions >= trackMentions || c.reports > 0 {
			tracked[term] = true
		}
	}
	for _, term := range p.watch {
		tracked[term] = true
	}
	for _, a := range p.lc.Open() {
		tracked[a.Term] = true
	}
	// Every counted term's bucket goes into its history, tracked or not: the
	// pipeline's count-min rings remember every term.
	var platform detectors.Platform
	var ratios []float64
	for term, c := range cells {
		s := p.series[term]
		if s == nil {
			s = &series{}
			p.series[term] = s
		}
		s.buckets = append(s.buckets, b)
		s.mentions = append(s.mentions, c.mentions)
		s.reports = append(s.reports, c.reports)
		s.creators = append(s.creators, float64(len(c.creators)))
		platform.Mentions += c.mentions
		if tracked[term] && len(c.creators) > 0 {
			ratios = append(ratios, c.mentions/float64(len(c.creators)))
		}
	}
	platform.Events, platform.Reports = p.events[b], p.reports[b]
	if platform.Events > 0 {
		platform.ReportRate = platform.Reports / platform.Events
	}
	if len(ratios) > 0 {
		slices.Sort(ratios)
		platform.MentionsPerCreator = ratios[len(ratios)/2]
	}
	delete(p.events, b)
	delete(p.reports, b)

	bucket := p.start.Add(time.Duration(b) * time.Minute)
	terms := slices.Sorted(func(yield func(string) bool) {
		for k := range tracked {
			if !yield(k) {
				return
			}
		}
	})
	for _, term := range terms {
		o := p.observe(term, b, cells[term], platform)
		o.Bucket = bucket
		p.evaluated++
		for _, ev := range p.lc.Observe(o, p.set.Evaluate(o)) {
			p.pages[term] = append(p.pages[term], page{bucket, ev})
		}
	}
	p.lc.EndBucket(bucket)
}

// observe is what the pipeline hands the detectors for term in bucket b.
func (p *miniPipeline) observe(term string, b int, c *cell, platform detectors.Platform) *detectors.Observation {
	n := min(b, 120)
	o := &detectors.Observation{
		Term: term, Width: time.Minute, DayAgo: math.NaN(), Platform: platform,
		MentionHistory: make([]float64, n), ReportHistory: make([]float64, n), CreatorHistory: make([]float64, n),
		Watch: p.set.Watch(term),
	}
	if s := p.series[term]; s != nil {
		// The series already holds bucket b; history is the buckets before it.
		for i := len(s.buckets) - 1; i >= 0; i-- {
			k := b - 1 - s.buckets[i]
			if k < 0 {
				continue
			}
			if k >= n {
				break
			}
			o.MentionHistory[n-1-k] = s.mentions[i]
			o.ReportHistory[n-1-k] = s.reports[i]
			o.CreatorHistory[n-1-k] = s.creators[i]
		}
	}
	if c == nil {
		return o
	}
	o.Mentions, o.Reports = c.mentions, c.reports
	o.UniqueCreators, o.UniqueReporters = uint64(len(c.creators)), uint64(len(c.reporters))
	o.Regions, o.ReportReasons = sortedCounts(c.regions), sortedCounts(c.reasons)
	o.Samples = c.samples
	return o
}

func sortedCounts(m map[string]uint64) []detectors.Count {
	out := make([]detectors.Count, 0, len(m))
	for k, v := range m {
		out = append(out, detectors.Count{Label: k, N: v})
	}
	slices.SortFunc(out, func(a, b detectors.Count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Label, b.Label))
	})
	return out
}
