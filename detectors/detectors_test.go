package detectors

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/alert"
	"github.com/trendwatch/trendwatch/sim/dist"
)

const unitHistory = 120

// counts draws n Poisson counts of mean lambda(i).
func counts(r *rand.Rand, n int, lambda func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = dist.Poisson(r, lambda(i))
	}
	return out
}

// fired runs d over every bucket from unitHistory on and returns the buckets
// where it found something.
func fired(d Detector, tr *track, dayAgo func(i int) float64) []int {
	var out []int
	for i := unitHistory; i < len(tr.mentions); i++ {
		o := tr.observe(i, unitHistory, Platform{MentionsPerCreator: 1.1, ReportRate: 0.002})
		if dayAgo != nil {
			o.DayAgo = dayAgo(i)
		}
		if _, ok := d.Detect(o); ok {
			out = append(out, i)
		}
	}
	return out
}

func mentionTrack(r *rand.Rand, n int, lambda func(i int) float64) *track {
	t := newTrack("hashtag:t", n)
	t.mentions = counts(r, n, lambda)
	copy(t.creators, t.mentions)
	for i, m := range t.mentions {
		t.regions[i] = spread(m, "IN", "NP", "US", "BD", "GB", "AE")
	}
	return t
}

func mustSet(t testing.TB, c Config) *Set {
	t.Helper()
	s, err := NewSet(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func detector(t testing.TB, s *Set, name string) Detector {
	t.Helper()
	for _, d := range s.Detectors() {
		if d.Name() == name {
			return d
		}
	}
	t.Fatalf("no detector %q", name)
	return nil
}

// TestSurge checks, over 20 seeds each, that the surge detector catches a surge
// within two buckets of its onset and stays silent on everything a term does
// normally: being big, growing slowly, peaking in the evening.
func TestSurge(t *testing.T) {
	const n = 420
	day := func(base float64, peak int) func(int) float64 { // evening bump, σ 90 min, peak 3×
		return func(i int) float64 {
			d := float64(i-peak) / 90
			return base * (1 + 2*math.Exp(-d*d/2))
		}
	}
	step := func(i int) float64 { // jumps to four times its level at 20:00 every day
		if i >= 300 && i < 360 {
			return 80
		}
		return 20
	}
	cases := []struct {
		name   string
		lambda func(i int) float64
		dayAgo func(i int) float64
		onset  int // -1: must not fire
	}{
		{"organic surge from near zero", func(i int) float64 {
			switch {
			case i < 300:
				return 0.2
			case i < 305:
				return 45 * float64(i-299) / 5
			}
			return 45
		}, nil, 300},
		{"always big term grows 2.5 times", func(i int) float64 {
			if i >= 300 {
				return 5000
			}
			return 2000
		}, nil, 300},
		{"always big term", func(i int) float64 { return 2000 * diurnal(float64(i), 0, 0.5) }, nil, -1},
		{"mid term with diurnal rhythm", func(i int) float64 { return 30 * diurnal(float64(i), 300, 0.5) }, nil, -1},
		{"slow trend 5 to 40 in two hours", func(i int) float64 {
			return 5 + 35*math.Min(1, math.Max(0, float64(i-150)/120))
		}, nil, -1},
		{"daily bump, no day of history", day(15, 300), nil, -1},
		{"big daily bump, no day of history", day(400, 300), nil, -1},
		{"daily bump, yesterday known", day(15, 300), day(15, 300), -1},
		{"evening step, yesterday known", step, step, -1},
		{"evening step, yesterday unknown", step, nil, 300},
	}
	s := mustSet(t, DefaultConfig())
	d := detector(t, s, NameSurge)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				r := rand.New(rand.NewPCG(seed, 1))
				got := fired(d, mentionTrack(r, n, tc.lambda), tc.dayAgo)
				if tc.onset < 0 {
					if len(got) > 0 {
						t.Fatalf("seed %d: findings at buckets %v, want none", seed, got)
					}
					continue
				}
				if len(got) == 0 || got[0] < tc.onset || got[0] > tc.onset+2 {
					t.Fatalf("seed %d: findings at %v, want the first in [%d, %d]", seed, got, tc.onset, tc.onset+2)
				}
			}
		})
	}
}

func TestSurgeNeedsHistory(t *testing.T) {
	s := mustSet(t, DefaultConfig())
	o := &Observation{Term: "hashtag:x", Mentions: 500, MentionHistory: []float64{0, 0, 0}, DayAgo: math.NaN()}
	if fs := s.Evaluate(o); len(fs) > 0 {
		t.Fatalf("findings %v on three buckets of history (a process that just started)", fs)
	}
}

func TestNovelty(t *testing.T) {
	zeros := func(n int, tail ...float64) []float64 { return append(make([]float64, n), tail...) }
	cases := []struct {
		name    string
		history []float64
		x       float64
		want    bool
	}{
		{"new term rising", zeros(60, 0, 8), 16, true},
		{"new term rising fast", zeros(60, 3, 20), 45, true},
		{"new term not rising", zeros(60, 30, 30), 30, false},
		{"new term below min_count", zeros(60, 3, 8), 12, false},
		{"established term rising", append(slices.Repeat([]float64{10}, 60), 12, 14), 30, false},
		{"process just started", []float64{0, 8}, 16, false},
	}
	d := detector(t, mustSet(t, DefaultConfig()), NameNovelty)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := d.Detect(&Observation{Term: "hashtag:new", Mentions: tc.x, MentionHistory: tc.history, DayAgo: math.NaN()})
			if ok != tc.want {
				t.Fatalf("found %v (%s), want %v", ok, f.Summary, tc.want)
			}
			if ok && (f.Detector != NameNovelty || f.Score < DefaultConfig().Novelty.MinZ || !strings.HasPrefix(f.Summary, "NEW hashtag:new")) {
				t.Fatalf("finding %+v", f)
			}
		})
	}
}

// surging is a term quiet for two hours that now has 300 mentions.
func surging(creators uint64, regions []Count) *Observation {
	return &Observation{
		Term: "hashtag:push", Mentions: 300, UniqueCreators: creators, Regions: regions,
		MentionHistory: slices.Repeat([]float64{1}, unitHistory),
		DayAgo:         math.NaN(),
		Platform:       Platform{MentionsPerCreator: 1.1},
	}
}

func TestCoordination(t *testing.T) {
	oneRegion := []Count{{"NP", 300}}
	many := []Count{{"IN", 90}, {"NP", 80}, {"US", 50}, {"BD", 40}, {"GB", 25}, {"AE", 15}}
	cases := []struct {
		name      string
		o         func() *Observation
		coord     bool
		spreading bool
	}{
		{"6 creators", func() *Observation { return surging(6, oneRegion) }, true, false},
		{"400 creators", func() *Observation { return surging(400, many) }, false, true},
		{"400 creators in one region", func() *Observation { return surging(400, oneRegion) }, false, false},
		{"6 creators, first bucket tracked", func() *Observation {
			o := surging(6, oneRegion)
			o.PartialCreators = true
			return o
		}, false, false},
		{"6 creators on a term always posted by few", func() *Observation {
			o := surging(6, oneRegion)
			o.MentionHistory = slices.Repeat([]float64{40}, unitHistory)
			o.CreatorHistory = slices.Repeat([]float64{1}, unitHistory)
			o.Mentions = 300
			return o
		}, false, false},
		{"6 creators but no surge", func() *Observation {
			o := surging(6, oneRegion)
			o.MentionHistory = slices.Repeat([]float64{290}, unitHistory)
			return o
		}, false, false},
	}
	s := mustSet(t, DefaultConfig())
	coord, spr := detector(t, s, NameCoordination), detector(t, s, NameSpreading)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := coord.Detect(tc.o())
			if ok != tc.coord {
				t.Errorf("coordination %v (%s), want %v", ok, f.Summary, tc.coord)
			}
			if ok && f.Severity < alert.SeverityMedium {
				t.Errorf("coordination severity %v, want at least medium", f.Severity)
			}
			f, ok = spr.Detect(tc.o())
			if ok != tc.spreading {
				t.Errorf("spreading %v (%s), want %v", ok, f.Summary, tc.spreading)
			}
		})
	}
}

// reportTrack is a term with mentions lambdaM(i) and reports at rate(i) per mention.
func reportTrack(r *rand.Rand, n int, lambdaM, rate func(i int) float64) *track {
	t := mentionTrack(r, n, lambdaM)
	for i, m := range t.mentions {
		t.reports[i] = dist.Binomial(r, m, rate(i))
	}
	return t
}

func TestReportRate(t *testing.T) {
	const n = 360
	flat := func(int) float64 { return 120 }
	cases := []struct {
		name     string
		mentions func(int) float64
		rate     func(int) float64
		onset    int // -1: must not fire
	}{
		{"wave on flat mentions", flat, func(i int) float64 {
			if i >= 300 && i < 315 {
				return 0.05
			}
			return 0.002
		}, 300},
		{"mentions surge, reports follow", func(i int) float64 {
			if i >= 300 {
				return 1200
			}
			return 120
		}, func(int) float64 { return 0.01 }, -1},
		{"mentions collapse, reports stay", func(i int) float64 {
			if i >= 300 {
				return 100
			}
			return 1000
		}, func(i int) float64 {
			if i >= 300 {
				return 0.1
			}
			return 0.01
		}, -1},
		{"always reported a lot", flat, func(int) float64 { return 0.05 }, -1},
	}
	d := detector(t, mustSet(t, DefaultConfig()), NameReportRate)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				r := rand.New(rand.NewPCG(seed, 2))
				got := fired(d, reportTrack(r, n, tc.mentions, tc.rate), nil)
				if tc.onset < 0 {
					if len(got) > 0 {
						t.Fatalf("seed %d: findings at %v, want none", seed, got)
					}
					continue
				}
				if len(got) == 0 || got[0] < tc.onset || got[0] > tc.onset+3 {
					t.Fatalf("seed %d: findings at %v, want the first in [%d, %d]", seed, got, tc.onset, tc.onset+3)
				}
			}
		})
	}
}

// TestWatchlistDetector: a watched term alerts on a rise too small for the other
// detectors to be sure of (2 to 10 a minute), within three buckets, at severity
// high or more; unwatched, the same rise is found less than half the time.
func TestWatchlistDetector(t *testing.T) {
	const seeds = 20
	cfg := DefaultConfig()
	cfg.Watchlist.Entries = []WatchEntry{{Term: "hashtag:blackoutchallenge", Category: "dangerous_challenge"}}
	s := mustSet(t, cfg)
	rise := func(i int) float64 { // 2 a minute, then 10: often too few for a surge
		if i >= 300 {
			return 10
		}
		return 2
	}
	detected := map[bool]int{}
	for _, watched := range []bool{true, false} {
		for seed := range uint64(seeds) {
			r := rand.New(rand.NewPCG(seed, 3))
			tr := mentionTrack(r, 320, rise)
			tr.term = "hashtag:blackoutchallenge"
			if watched {
				tr.watch = s.Watch(tr.term)
			}
			first := -1
			for i := unitHistory; i < len(tr.mentions); i++ {
				o := tr.observe(i, unitHistory, Platform{MentionsPerCreator: 1.1, ReportRate: 0.002})
				for _, f := range s.Evaluate(o) {
					if i < 300 {
						t.Fatalf("watched=%v seed %d: finding at %d before the rise: %s", watched, seed, i, f.Summary)
					}
					if watched && f.Severity < alert.SeverityHigh {
						t.Fatalf("%s severity %v on a watched term, want at least high", f.Detector, f.Severity)
					}
					if watched && !strings.HasSuffix(f.Summary, "; watchlist dangerous_challenge") {
						t.Fatalf("summary %q does not name the watchlist category", f.Summary)
					}
					if first < 0 && (f.Detector == NameWatchlist || !watched) {
						first = i
					}
				}
			}
			if first >= 0 && first <= 303 {
				detected[watched]++
			}
		}
	}
	t.Logf("rise from 2 to 10 a minute found within 3 buckets: watched %d/%d, unwatched %d/%d",
		detected[true], seeds, detected[false], seeds)
	if detected[true] < seeds*9/10 {
		t.Errorf("watched: found in %d of %d seeds, want at least 90%%", detected[true], seeds)
	}
	if detected[false] > seeds/2 {
		t.Errorf("unwatched: found in %d of %d seeds; the watchlist's lower thresholds are not what finds it", detected[false], seeds)
	}
}

func TestSeverity(t *testing.T) {
	high := &WatchMatch{Risk: alert.SeverityHigh}
	cases := []struct {
		detector string
		strength float64
		watch    *WatchMatch
		want     alert.Severity
	}{
		{NameSurge, 1, nil, alert.SeverityLow},
		{NameSurge, 2, nil, alert.SeverityMedium},
		{NameSurge, 9, nil, alert.SeverityHigh},
		{NameSpreading, 9, nil, alert.SeverityInfo},
		{NameReportRate, 1, nil, alert.SeverityMedium},
		{NameCoordination, 1, nil, alert.SeverityMedium},
		{NameSurge, 1, high, alert.SeverityHigh},
		{NameWatchlist, 1, high, alert.SeverityHigh},
		{NameSurge, 9, high, alert.SeverityCritical},
		{NameSpreading, 1, high, alert.SeverityHigh},
		{NameSurge, 2, &WatchMatch{Risk: alert.SeverityLow}, alert.SeverityHigh},
	}
	for _, tc := range cases {
		if got := severityOf(tc.detector, tc.strength, tc.watch); got != tc.want {
			t.Errorf("severityOf(%s, %v, %v) = %v, want %v", tc.detector, tc.strength, tc.watch, got, tc.want)
		}
	}
}

func TestSignificance(t *testing.T) {
	cases := []struct {
		x, mu, disp float64
		lo, hi      float64
	}{
		{5, 0.5, 1, 3.6, 3.8},    // ≈ one-sided Poisson p of 1e-4
		{130, 100, 1, 2.8, 3.1},  // ≈ (x-mu)/sqrt(mu) = 3
		{100, 100, 1, 0, 0},      // nothing
		{0, 4, 1, -2.9, -2.7},    // a drop is negative
		{130, 100, 4, 1.3, 1.6},  // over-dispersed: ≈ 30/sqrt(400)
		{11, 1.1, 1, 5.4, 5.6},   // Poisson
		{11, 1.1, 1.5, 3.5, 4.5}, // the same count, a heavier tail
	}
	for _, tc := range cases {
		if z := significance(tc.x, tc.mu, tc.disp); z < tc.lo || z > tc.hi {
			t.Errorf("significance(%v, %v, %v) = %v, want in [%v, %v]", tc.x, tc.mu, tc.disp, z, tc.lo, tc.hi)
		}
	}
}

func TestFindingExplains(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchlist.Entries = []WatchEntry{{Term: "hashtag:blackoutchallenge", Category: "dangerous_challenge"}}
	s := mustSet(t, cfg)
	o := &Observation{
		Term: "hashtag:blackoutchallenge", Width: 60e9, Mentions: 412, UniqueCreators: 380,
		Reports: 12, UniqueReporters: 11,
		Regions:       []Count{{"IN", 200}, {"NP", 150}, {"US", 30}},
		ReportReasons: []Count{{"dangerous_acts", 12}},
		// The surge's second bucket: its first is a lone outlier until a
		// second confirms it.
		MentionHistory: append(slices.Repeat([]float64{38}, unitHistory-1), 390),
		ReportHistory:  make([]float64, unitHistory),
		DayAgo:         math.NaN(),
	}
	o.Watch = s.Watch(o.Term)
	fs := s.Evaluate(o)
	var surge *Finding
	for i := range fs {
		if fs[i].Detector == NameSurge {
			surge = &fs[i]
		}
	}
	if surge == nil {
		t.Fatalf("no surge finding in %+v", fs)
	}
	for _, want := range []string{"SURGE hashtag:blackoutchallenge 412/min vs ", " expected (", "×, z=", "380 creators", "IN NP US", "; watchlist dangerous_challenge"} {
		if !strings.Contains(surge.Summary, want) {
			t.Errorf("summary %q lacks %q", surge.Summary, want)
		}
	}
	for _, want := range []string{"detector=surge", "observed=412", "expected=", "z=", "growth=", "creators=380", "regions=IN:200,NP:150,US:30", "reports=12", "report_rate=", "reasons=dangerous_acts:12", "watch=hashtag:blackoutchallenge", "risk=high"} {
		if !strings.Contains(surge.Explanation, want) {
			t.Errorf("explanation %q lacks %q", surge.Explanation, want)
		}
	}
	if surge.Severity != alert.SeverityCritical {
		t.Errorf("severity %v of a 10× surge on a watched term, want critical", surge.Severity)
	}
}

// TestSurgeNeedsCreators: a bucket whose mentions come from fewer than
// surge.min_creators accounts is not a surge or a new term, however many
// mentions it has; unknown creators (0, a count series) are not judged by it.
func TestSurgeNeedsCreators(t *testing.T) {
	s := mustSet(t, DefaultConfig())
	h := make([]float64, 60)
	for i := range h {
		h[i] = 1
	}
	h[len(h)-1] = 40 // the surge's first bucket: the one judged is its second
	for _, tc := range []struct {
		creators uint64
		want     bool
	}{{1, false}, {2, false}, {3, true}, {40, true}, {0, true}} {
		o := &Observation{Term: "hashtag:x", Width: time.Minute, Mentions: 40, UniqueCreators: tc.creators,
			MentionHistory: h, DayAgo: math.NaN()}
		got := false
		for _, f := range s.Evaluate(o) {
			got = got || f.Detector == NameSurge || f.Detector == NameNovelty
		}
		if got != tc.want {
			t.Errorf("%d creators: surge or novelty %v, want %v", tc.creators, got, tc.want)
		}
	}
}

// TestSummaryCreators checks that a summary says the creators are a lower
// bound when they cover only part of the bucket (Observation.PartialCreators):
// an early page's, or one on a term tracked within the bucket.
func TestSummaryCreators(t *testing.T) {
	for _, tc := range []struct {
		partial bool
		want    string
	}{
		{false, "(10.0×, z=9.0), 380 creators, IN"},
		{true, "(10.0×, z=9.0), at least 380 creators, IN"},
	} {
		o := &Observation{Term: "hashtag:x", Width: time.Minute, UniqueCreators: 380, PartialCreators: tc.partial,
			Regions: []Count{{Label: "IN", N: 300}}}
		if got := summary("SURGE", o, 400, 40, 9, "", ""); !strings.Contains(got, tc.want) {
			t.Errorf("partial %v: summary %q lacks %q", tc.partial, got, tc.want)
		}
	}
}

// TestReportWaveNeedsReporters: six reports on a term that is never reported
// are a wave when six accounts sent them, and one account's opinion when one
// did (report_rate.min_reporters, watchlist.min_reporters); unknown
// reporters (0, a count series) are not judged by it.
func TestReportWaveNeedsReporters(t *testing.T) {
	const term = "hashtag:steady0"
	cfg := DefaultConfig()
	cfg.Watchlist.Entries = []WatchEntry{{Term: term}}
	s := mustSet(t, cfg)
	for _, tt := range []struct {
		name      string
		reporters uint64
		watched   bool
		want      bool
	}{
		{"six reporters", 6, false, true},
		{"three reporters", 3, false, true},
		{"one reporter", 1, false, false},
		{"two reporters", 2, false, false},
		{"reporters unknown", 0, false, true},
		{"watched, one reporter", 1, true, false},
		{"watched, two reporters", 2, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Observation{Term: term, Bucket: time.Date(2026, 11, 20, 11, 5, 0, 0, time.UTC), Width: time.Minute,
				Mentions: 10, Reports: 6, UniqueCreators: 10, UniqueReporters: tt.reporters,
				MentionHistory: make([]float64, 120), ReportHistory: make([]float64, 120), DayAgo: math.NaN(), LearnDayAgo: math.NaN()}
			for i := range o.MentionHistory {
				o.MentionHistory[i] = 10
			}
			name := NameReportRate
			if tt.watched {
				o.Watch, name = s.Watch(term), NameWatchlist
			}
			var got bool
			for _, f := range s.Evaluate(&o) {
				got = got || f.Detector == name && f.OnReports
			}
			if got != tt.want {
				t.Errorf("%s paged on reports: %v, want %v", name, got, tt.want)
			}
		})
	}
}

// TestSummaryZIsTheBucketsBeside: a surge's summary puts the bucket's
// counts, growth and z together, and the window's sum with its own z: the
// deciding test's z beside the bucket's counts read as theirs (z=14.2 next
// to a bucket at 9.6, found by a review on 7 December).
func TestSummaryZIsTheBucketsBeside(t *testing.T) {
	d := detector(t, mustSet(t, DefaultConfig()), NameSurge)
	zOf := func(s, after string) string {
		_, rest, ok := strings.Cut(s, after)
		if !ok {
			return ""
		}
		z, _, _ := strings.Cut(rest, ")")
		return z
	}
	windows := 0
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 9))
		tr := mentionTrack(r, 200, func(i int) float64 {
			if i >= 150 && i < 160 {
				return 10 + 4*float64(i-149) // a ramp the window sees before the bucket does
			}
			return 10
		})
		for i := unitHistory; i < len(tr.mentions); i++ {
			f, ok := d.Detect(tr.observe(i, unitHistory, Platform{MentionsPerCreator: 1.1, ReportRate: 0.002}))
			if !ok {
				continue
			}
			fields := alert.Fields(f.Explanation)
			want := fields["z"]
			if bz, ok := fields["bucket_z"]; ok {
				windows++
				want = bz
				if w := zOf(f.Summary, " buckets vs "); !strings.Contains(w, "z=") {
					t.Errorf("seed %d bucket %d: the window's clause says no z: %s", seed, i, f.Summary)
				}
			}
			got, gerr := strconv.ParseFloat(zOf(f.Summary, "×, z="), 64)
			// Both are rounded (the explanation to its digits, the summary
			// to one decimal).
			if wz, err := strconv.ParseFloat(want, 64); err != nil || gerr != nil || math.Abs(got-wz) > 0.051 {
				t.Errorf("seed %d bucket %d: summary z=%v beside the bucket, its z %s: %s", seed, i, got, want, f.Summary)
			}
		}
	}
	if windows == 0 {
		t.Fatal("no finding decided by a window: the test tests nothing")
	}
}
